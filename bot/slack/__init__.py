"""Slack: the Web API client, the outbox that sends each message once, people and Block Kit."""
