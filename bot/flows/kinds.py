"""Which function carries out each kind of durable reminder row, in the order of the
process. Handed to the Sweeper (bot.app.create_context); a kind missing here is skipped."""

from __future__ import annotations

from bot.change import card
from bot.change.work import GATES_RECHECK
from bot.deployment import monitoring, watch
from bot.emergency import after_deployment, broadcast
from bot.evidence import witness
from bot.github import (
    deploy_gate,
    deployments,
    emergency_label,
    emergency_pr,
    login_proof,
    merge_gate,
    pr_proposal,
    sync,
)
from bot.github.pull_requests import SYNC
from bot.overview import desk, desk_refresh
from bot.review import reminders
from bot.runtime.sweeper import Handler
from bot.security import routing
from bot.slack import outbox

KINDS: dict[str, Handler] = {
    # Notifications: the card, direct messages, notes in the card's thread and the channel.
    "card": card.send_card,
    "dm": outbox.send_dm,
    "thread": outbox.send_thread_note,
    "channel_note": deployments.post_channel_note,
    # Each person's App Home (their desk), republished when a change of theirs moves.
    desk_refresh.DESK: desk.publish_desk,
    # Step 2: reading GitHub, and the EMERGENCY label both ways.
    SYNC: sync.sync,
    "github_ci": sync.read_ci,
    "github_review": sync.record_review,
    "github_label": emergency_label.add_label,
    "github_emergency_pr": emergency_pr.open_emergency,
    pr_proposal.KIND: pr_proposal.open_from_pull_request,
    # Where changes ship: the merge gate (the `Changebot` check) and the deploy gate
    # (GitHub's deployment protection rule), re-evaluated with every card refresh.
    GATES_RECHECK: merge_gate.recheck,
    merge_gate.NO_CHANGE: merge_gate.no_change,
    deploy_gate.RECHECK_AT: deploy_gate.recheck_at,
    deploy_gate.ANSWER: deploy_gate.send_answer,
    # A GitHub login proven by a pull-request comment: its reviews count.
    login_proof.ADOPT: login_proof.adopt_proven,
    # Step 3: peer review reminders.
    reminders.PEER_REMINDER: reminders.remind_reviewer,
    reminders.PEER_ESCALATION: reminders.escalate_reviewers,
    # Step 4: asking the security team, reminding it.
    routing.ROUTE: routing.send_route,
    reminders.SECURITY_REMINDER: routing.remind_security_team,
    reminders.SECURITY_ESCALATION: reminders.escalate_security,
    # Step 7: the monitoring window.
    monitoring.WINDOW_ENDED: monitoring.send_window_ended,
    monitoring.VERIFICATION_OVERDUE: monitoring.chase_verification,
    # Steps 6-8: the engineer on watch, and a rollback that takes too long.
    watch.WATCH: watch.send_watch,
    watch.ROLLBACK_OVERDUE: watch.chase_rollback,
    watch.ROLLBACK_ESCALATION: watch.chase_rollback,
    # Emergencies: the broadcast, the missing approval, the retrospective.
    broadcast.BROADCAST: broadcast.send_broadcast,
    broadcast.BROADCAST_NOTE: broadcast.send_broadcast_note,
    after_deployment.APPROVAL_MISSING: after_deployment.remind_tech_leads_of_approval,
    after_deployment.RETROSPECTIVE_WARNING: after_deployment.remind_retrospective,
    after_deployment.RETROSPECTIVE_DUE: after_deployment.remind_retrospective,
    after_deployment.RETROSPECTIVE_OVERDUE: after_deployment.escalate_retrospective,
    # Evidence: the audit trail's head witnessed in Slack.
    witness.CHECKPOINT: witness.send_checkpoint,
}

# Kinds the sweeper runs with nothing else in flight: a checkpoint witnesses the audit
# trail's head and records itself right after it, so no other row may append in between.
ALONE: frozenset[str] = frozenset({witness.CHECKPOINT})
# Kinds the sweeper runs first in a batch, one after the other in claim order: a card links
# the cards it conflicts with, so a refresh must not render before the card it links to is up.
IN_ORDER: frozenset[str] = frozenset({"card"})
