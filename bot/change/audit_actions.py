"""Audit actions that are written in one module and read in another (the evidence pack reads
them), named once here. Actions only their writer uses stay plain strings there."""

SELF_APPROVAL_REFUSED = "self_approval_refused"  # bot.changes.approve: the author's own
STAGING_VERIFIED = "staging_verified"  # bot.deployments
# The production deployment, recorded in Slack (bot.deployments: its detail holds the gate
# states, `gates`) or reported by GitHub (bot.github_deployments: `method` "automated").
DEPLOYED_TO_PRODUCTION = "deployed_to_production"
VERIFIED_IN_PRODUCTION = "verified_in_production"  # bot.deployments
ROLLBACK_STARTED = "rollback_started"  # bot.deployments
# An emergency's deployment: one per gate the emergency process skipped, {gate, reason,
# process} (bot.emergencies).
GATE_BYPASSED = "gate_bypassed"
