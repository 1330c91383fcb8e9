"""Emergency changes in Slack: the modal, the broadcast, the retrospective and its reminders."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.change.card_view import STATUS_LABELS, CardInput
from bot.change.rows import current
from bot.change.states import Category, Status, format_change_id
from bot.deployment.views import spell
from bot.emergency.rules import needs_retrospective
from bot.policy import Policy
from bot.proposal.proposals import Proposal
from bot.proposal.views import people_input, service_input, text_input
from bot.slack.blocks import first_listed, section, to_dicts
from bot.slack.text import clip, escape, slack_date, user, users
from storage.models import Approval, Change

EMERGENCY_CALLBACK = "change_emergency"
RETROSPECTIVE = "change_retrospective"  # the card's (and the reminders') button
RETROSPECTIVE_CALLBACK = "change_retrospective"  # its modal

MAX_LISTED = 20


# ---- the modal -----------------------------------------------------------------------------


def emergency_modal(policy: Policy, initial: Proposal | None = None, *,
                    change_id: int | None = None) -> View:
    """`/change emergency`: the short form of the emergency process (also its Edit form)."""
    p = initial
    here = " with @here" if policy.emergency.mention_here else ""
    channel = f"<#{policy.channels.engineering}>" if policy.channels.engineering else "engineering"
    intro = (
        ":rotating_light: For a production outage or a critical security patch. Submitting "
        f"posts it in {channel}{here}, and you may deploy at once: no staging, no business "
        "hours. One approval from someone else may come after the deployment; a "
        f"retrospective is due within {spell(policy.windows.retrospective)} of it."
    )
    blocks = [
        ContextBlock(elements=[MarkdownTextObject(text=intro)]),
        text_input("impact", "What is broken or at risk, and the impact",
                   "e.g. Checkout answers 500 for every EU customer since 02:40.", p),
        text_input("description", "What the change does",
                   "The fix in a few lines; its first line is the change's title.", p),
        text_input("rollback_plan", "Rollback plan",
                   "How to undo it if it makes things worse.", p),
        text_input("pr_url", "Pull request",
                   "e.g. https://github.com/acme/api/pull/123 — it gets the EMERGENCY label.",
                   p, multiline=False, optional=True),
        service_input(policy.proposal, p.service if p else None),
        text_input("fixes", "Fixes CHG-n: the deployment it repairs",
                   "e.g. CHG-41, when a change deployed earlier broke production.",
                   initial=format_change_id(p.fixes_change_id)
                   if p and p.fixes_change_id else None, multiline=False, optional=True),
        people_input("involved", "Who else is involved", "They are named in the broadcast.",
                     p, "Choose people"),
    ]
    return View(
        type="modal", callback_id=EMERGENCY_CALLBACK,
        private_metadata=json.dumps({"change_id": change_id} if change_id else {}),
        title=f"Edit CHG-{change_id}" if change_id else "Emergency change",
        submit="Save" if change_id else "Broadcast and open",
        close="Cancel", blocks=blocks,
    )


# ---- the broadcast in the engineering channel ------------------------------------------------


def broadcast_message(change: Change, link: str, *, mention_here: bool,
                      retrospective_within: str) -> dict:
    """EMERGENCY: who, what, the impact, the rollback plan and the PR, with the card's link."""
    cid = format_change_id(change.id or 0)
    here = "<!here> " if mention_here else ""
    head = (f"{here}:rotating_light: *EMERGENCY* — {user(change.author_id)} is changing "
            f"production: *{cid}: {escape(change.title)}*")
    pr = f"<{change.pr_url}>" if change.pr_url else "none linked"

    blocks = [
        section(head),
        section(f"*What is broken or at risk*\n{escape(change.impact)}"),
        section(f"*What the change does*\n{escape(change.description)}"),
        section(f"*Rollback plan*\n{escape(change.rollback_plan)}"),
        SectionBlock(fields=[
            MarkdownTextObject(text=f"*Pull request*\n{pr}"),
            MarkdownTextObject(text=clip(f"*Also involved*\n{users(change.involved)}", 2000)),
        ]),
        ContextBlock(elements=[MarkdownTextObject(text=(
            f"{link} · It may deploy at once; one approval from someone other than the "
            "author is needed, before or after the deployment; the retrospective is due "
            f"within {retrospective_within} of it. Updates follow in this thread."
        ))]),
    ]
    text = (f"{here}EMERGENCY {cid} by {user(change.author_id)}: {change.title} — rollback "
            f"plan: {change.rollback_plan}")
    return {"text": clip(text), "blocks": to_dicts(blocks)}


# ---- the card --------------------------------------------------------------------------------


def emergency_notes(change: Change, approvals: Sequence[Approval]) -> list[str]:
    """What the card of an emergency says: the impact, who is involved, the approval given
    after the deployment, and where the retrospective stands."""
    if change.category != Category.emergency.value:
        return []
    notes = [f":rotating_light: *Emergency* — broken or at risk: {escape(change.impact)}"]
    if change.involved:
        notes.append(f"Also involved: {users(change.involved)}")
    if change.fixes_change_id:
        notes.append(fixes_note(change.fixes_change_id))
    deployed = change.deployed_at
    for vote in current(approvals, change, "peer"):
        if (deployed is not None and vote.decision == "approved" and vote.user_id
                and vote.user_id != change.author_id and vote.created_at > deployed):
            notes.append(f":white_check_mark: Approved after deployment by "
                         f"{user(vote.user_id)} {slack_date(vote.created_at)}")
    retro = change.retrospective
    if change.retrospective_done_at is not None:
        notes.append(f":memo: Retrospective recorded {slack_date(change.retrospective_done_at)} "
                     f"by {user(retro.get('by'))}: <{retro.get('document')}|document>")
    elif change.retrospective_due_at is not None:
        due = slack_date(change.retrospective_due_at)
        if retro.get("overdue_since"):
            notes.append(f":warning: *Retrospective overdue* — it was due {due}")
        else:
            notes.append(f":memo: Retrospective due {due}")
    return notes


def fixes_note(fixes_change_id: int) -> str:
    return (f":hammer_and_wrench: Fixes *{format_change_id(fixes_change_id)}*: the deployment it "
            "repairs counts as failed in the delivery metrics")


def retrospective_buttons(card: CardInput) -> list[ButtonElement]:
    """"Retrospective done" on a deployed emergency until it is recorded (rolled back too)."""
    if not needs_retrospective(card.facts):
        return []
    return [ButtonElement(action_id=RETROSPECTIVE, text="Retrospective done",
                          value=str(card.change_id))]


# ---- the retrospective -----------------------------------------------------------------------


def retrospective_modal(change_id: int, due: datetime | None, *, overdue: bool) -> View:
    cid = format_change_id(change_id)
    when = ""
    if due is not None:
        when = f" It {'was' if overdue else 'is'} due {slack_date(due)}."
    blocks = [
        ContextBlock(elements=[MarkdownTextObject(
            text=f"What the team learned from the emergency {cid}.{when} Recording it closes "
            "the emergency."
        )]),
        text_input("document", "Retrospective document",
                   "A link to the write-up, e.g. https://wiki.example.com/incidents/42",
                   multiline=False),
        text_input("root_cause", "Root cause", "What really caused the outage or the risk."),
        text_input("follow_ups", "What follows",
                   "Follow-up actions, with owners or tickets, so it does not happen again."),
    ]
    return View(
        type="modal", callback_id=RETROSPECTIVE_CALLBACK,
        private_metadata=json.dumps({"change_id": change_id}),
        title=f"Retrospective {cid}", submit="Record retrospective", close="Back",
        blocks=blocks,
    )


def retrospective_reminder(change: Change, link: str, *, now: datetime, at_due: bool) -> dict:
    """The DM to the engineer before the retrospective is due, and when it is."""
    cid = format_change_id(change.id or 0)
    due = change.retrospective_due_at or now
    if at_due:
        text = f"The retrospective of the emergency {cid} is due now."
    else:
        text = (f"Reminder: the retrospective of the emergency {cid} is due "
                f"{slack_date(due)}, in {spell(due - now)}.")
    body = (f"{text}\n*{escape(change.title)}* {link}\nReview with the team what happened, "
            "then press *Retrospective done* with the document, the root cause and what "
            "follows.")
    blocks = [
        section(body),
        ActionsBlock(block_id="change_actions", elements=[
            ButtonElement(action_id=RETROSPECTIVE, text="Retrospective done",
                          value=str(change.id or 0), style="primary"),
        ]),
    ]
    return {"text": text, "blocks": to_dicts(blocks)}


# ---- /change list overdue ----------------------------------------------------------------------


def overdue_message(changes: Sequence[Change], now: datetime) -> dict:
    if not changes:
        return {"text": "No overdue retrospective: every deployed emergency has its "
                        "retrospective on record or not due yet.",
                "response_type": "ephemeral"}
    blocks: list = [HeaderBlock(text=f"Overdue retrospectives ({len(changes)})")]

    def line(change: Change) -> str:
        due = change.retrospective_due_at or now
        deployed = (f"deployed {slack_date(change.deployed_at)} · "
                    if change.deployed_at else "")
        return (f"*{format_change_id(change.id or 0)}* {escape(change.title)}\n"
                f"by {user(change.author_id)} · *{STATUS_LABELS[Status(change.status)]}* · "
                f"{deployed}due {slack_date(due)}, overdue by {spell(now - due)}")

    blocks += first_listed(changes, line, MAX_LISTED, ".")
    return {"text": f"{len(changes)} overdue retrospective(s)", "blocks": to_dicts(blocks),
            "response_type": "ephemeral"}
