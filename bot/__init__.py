"""Changebot: a team's production change-management process, run in Slack."""
