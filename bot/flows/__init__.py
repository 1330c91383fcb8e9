"""What happens after each event of the process, written out step by step.

A use case (bot.change.actions, bot.security.review, bot.deployment.*, bot.github.*,
bot.emergency.emergencies) checks its rule and records the event; the flow here then calls
each step that follows, in the order of the process. Read one function to know the story:

- proposal.py — a change is proposed, revised, or opened from an EMERGENCY label on GitHub.
- review.py — an approval counted (from Slack, a GitHub review, the security team or a
  GitHub account linked later), a GitHub approval withdrawn, a rejection, a cancellation.
- github.py — a pull request linked, a new push, a read of the pull request applied.
- deployment.py — staging, the production deployment (from Slack or reported by GitHub),
  verification, rollback, and an emergency's retrospective.
- kinds.py — which function carries out each kind of durable reminder row (the sweeper's
  table).
"""
