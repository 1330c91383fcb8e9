"""Which function carries out each kind of durable reminder row, and the shape of its payload,
in the order of the process. Handed to the Sweeper (bot.app.create_context); a kind missing
here is skipped."""

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
    gate_lookup,
    login_proof,
    merge_gate,
    pr_proposal,
    sync,
)
from bot.github.pull_requests import SYNC
from bot.overview import desk, desk_refresh
from bot.proposal import submissions
from bot.review import reminders
from bot.runtime.sweeper import Kind, NoPayload
from bot.security import routing
from bot.slack import outbox

KINDS: dict[str, Kind] = {
    # Step 1: a change's form, kept before Slack was answered, recorded after.
    submissions.KIND: Kind(submissions.record, submissions.FormPayload),
    # Notifications: the card, direct messages, notes in the card's thread and the channel.
    "card": Kind(card.send_card, NoPayload),
    "dm": Kind(outbox.send_dm, outbox.DmPayload),
    "thread": Kind(outbox.send_thread_note, outbox.ThreadNotePayload),
    "channel_note": Kind(deployments.post_channel_note, deployments.ChannelNotePayload),
    # Each person's App Home (their desk), republished when a change of theirs moves.
    desk_refresh.DESK: Kind(desk.publish_desk, NoPayload),
    # Step 2: reading GitHub, and the EMERGENCY label both ways.
    SYNC: Kind(sync.sync, sync.SyncPayload),
    "github_ci": Kind(sync.read_ci, sync.CiPayload),
    "github_review": Kind(sync.record_review, sync.ReviewPayload),
    "github_label": Kind(emergency_label.add_label, emergency_label.LabelPayload),
    "github_emergency_pr": Kind(emergency_pr.open_emergency, emergency_pr.EmergencyPrPayload),
    pr_proposal.KIND: Kind(pr_proposal.open_from_pull_request, pr_proposal.PrProposalPayload),
    # Where changes ship: the merge gate (the `Changebot` check) and the deploy gate
    # (GitHub's deployment protection rule), re-evaluated with every card refresh.
    GATES_RECHECK: Kind(merge_gate.recheck, NoPayload),
    merge_gate.NO_CHANGE: Kind(merge_gate.no_change, merge_gate.NoChangePayload),
    deploy_gate.RECHECK_AT: Kind(deploy_gate.recheck_at, NoPayload),
    deploy_gate.ANSWER: Kind(deploy_gate.send_answer, deploy_gate.AnswerPayload),
    gate_lookup.LOOKUP: Kind(gate_lookup.look_up, gate_lookup.LookupPayload),
    # A GitHub login proven by a pull-request comment: its reviews count.
    login_proof.ADOPT: Kind(login_proof.adopt_proven, login_proof.AdoptPayload),
    # Step 3: peer review reminders.
    reminders.PEER_REMINDER: Kind(reminders.remind_reviewer, reminders.ReviewReminderPayload),
    reminders.PEER_ESCALATION: Kind(reminders.escalate_reviewers, reminders.ReviewReminderPayload),
    # Step 4: asking the security team, reminding it.
    routing.ROUTE: Kind(routing.send_route, routing.RoutePayload),
    reminders.SECURITY_REMINDER: Kind(
        routing.remind_security_team, reminders.ReviewReminderPayload),
    reminders.SECURITY_ESCALATION: Kind(
        reminders.escalate_security, reminders.ReviewReminderPayload),
    # Step 7: the monitoring window.
    monitoring.WINDOW_ENDED: Kind(monitoring.send_window_ended, monitoring.WindowPayload),
    monitoring.VERIFICATION_OVERDUE: Kind(monitoring.chase_verification, monitoring.WindowPayload),
    # Steps 6-8: the engineer on watch, and a rollback that takes too long.
    watch.WATCH: Kind(watch.send_watch, NoPayload),
    watch.ROLLBACK_OVERDUE: Kind(watch.chase_rollback, NoPayload),
    watch.ROLLBACK_ESCALATION: Kind(watch.chase_rollback, NoPayload),
    # Emergencies: the broadcast, the missing approval, the retrospective.
    broadcast.BROADCAST: Kind(broadcast.send_broadcast, NoPayload),
    broadcast.BROADCAST_NOTE: Kind(broadcast.send_broadcast_note, broadcast.BroadcastNotePayload),
    after_deployment.APPROVAL_MISSING: Kind(
        after_deployment.remind_tech_leads_of_approval, after_deployment.RoundPayload),
    after_deployment.RETROSPECTIVE_WARNING: Kind(
        after_deployment.remind_retrospective, after_deployment.RoundPayload),
    after_deployment.RETROSPECTIVE_DUE: Kind(
        after_deployment.remind_retrospective, after_deployment.RoundPayload),
    after_deployment.RETROSPECTIVE_OVERDUE: Kind(
        after_deployment.escalate_retrospective, after_deployment.RoundPayload),
    # Evidence: the audit trail's head witnessed in Slack.
    witness.CHECKPOINT: Kind(witness.send_checkpoint, witness.CheckpointPayload),
}

# Kinds the sweeper runs with nothing else in flight: a checkpoint witnesses the audit
# trail's head and records itself right after it, so no other row may append in between.
ALONE: frozenset[str] = frozenset({witness.CHECKPOINT})
# Kinds the sweeper runs first in a batch, one after the other in claim order: a card links
# the cards it conflicts with, so a refresh must not render before the card it links to is up.
IN_ORDER: frozenset[str] = frozenset({"card"})
