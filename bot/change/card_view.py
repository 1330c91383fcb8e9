"""The change card: posted in the changes channel, updated in place at every event."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.change.facts import ChangeFacts
from bot.change.gates import Gate
from bot.change.states import Category, GateState, Status, format_change_id
from bot.slack.blocks import to_dicts
from bot.slack.text import clip, escape, slack_date, user

STATE_ICONS = {
    GateState.met: ":white_check_mark:",
    GateState.pending: ":hourglass_flowing_sand:",
    GateState.failed: ":x:",
    GateState.unknown: ":grey_question:",
    GateState.not_required: ":heavy_minus_sign:",
    GateState.bypassed: ":warning:",
}
STATUS_LABELS = {
    Status.proposed: "Proposed",
    Status.in_review: "In review",
    Status.approved: "Approved",
    Status.staging: "In staging",
    Status.ready: "Ready for production",
    Status.deploying: "Deploying to production",
    Status.monitoring: "Deployed — monitoring",
    Status.completed: "Completed",
    Status.rejected: "Rejected",
    Status.cancelled: "Cancelled",
    Status.rolled_back: "Rolled back",
}


@dataclass(frozen=True)
class CardInput:
    """Everything a card shows, gathered by the caller (the card itself reads nothing)."""

    change_id: int
    title: str
    author: str
    description: str
    rollback_plan: str
    pr_url: str | None
    planned_at: datetime | None
    facts: ChangeFacts
    gates: list[Gate]
    notes: tuple[str, ...] = ()  # extra context lines (security triggers, PR state, …)
    revision: int = 1  # what an Approve click approves (see review_buttons)


def _button(action_id: str, text: str, change_id: int, *, style: str | None = None,
            confirm: ConfirmObject | None = None) -> ButtonElement:
    return ButtonElement(
        action_id=action_id, text=text, value=str(change_id), style=style, confirm=confirm
    )


def review_buttons(card: CardInput) -> list[ButtonElement]:
    """Approve / Reject / Edit / Cancel while the change can still be reviewed."""
    status, cid = card.facts.status, card.change_id
    buttons: list[ButtonElement] = []
    reviewable = {Status.proposed, Status.in_review, Status.approved, Status.staging,
                  Status.ready}
    if card.facts.category == Category.emergency:
        reviewable |= {Status.deploying, Status.monitoring, Status.completed}
    if status in reviewable:
        # The revision rides on the button: a click on a card shown before a revision or a
        # new push approves nothing ("approve a commit, not a branch").
        buttons.append(ButtonElement(action_id="change_approve", text="Approve", style="primary",
                                     value=f"{cid}:r{card.revision}"))
        if status not in {Status.deploying, Status.monitoring, Status.completed}:
            buttons.append(_button("change_reject", "Reject", cid, style="danger"))
    if status in {Status.proposed, Status.in_review, Status.approved, Status.staging,
                  Status.ready, Status.rejected}:
        buttons.append(_button("change_edit", "Revise" if status == Status.rejected else "Edit",
                               cid))
        buttons.append(_button(
            "change_cancel", "Cancel change", cid,
            confirm=ConfirmObject(
                title="Cancel this change?",
                text=f"{format_change_id(cid)} will be closed as cancelled. "
                "This cannot be undone.",
                confirm="Cancel the change", deny="Keep it",
            ),
        ))
    return buttons


def gate_line(gate: Gate) -> str:
    line = f"{STATE_ICONS[gate.state]} *{gate.label}*: {gate.detail}"
    if gate.how_to_open and gate.state not in (GateState.met, GateState.not_required):
        line += f" — _{gate.how_to_open}_"
    return line


def card_message(card: CardInput, buttons: Sequence[ButtonElement] = ()) -> dict:
    """The card's message; `buttons` are gathered by bot.change.card from each step."""
    facts = card.facts
    cid = format_change_id(card.change_id)
    status = STATUS_LABELS[facts.status]
    fields = [
        MarkdownTextObject(text=f"*Status*\n{status}"),
        MarkdownTextObject(text=f"*Author*\n{user(card.author)}"),
        MarkdownTextObject(text=f"*Category*\n{facts.category.label}"),
        MarkdownTextObject(text=f"*Risk*\n{facts.risk.value.capitalize()}"),
    ]
    if card.pr_url:
        fields.append(MarkdownTextObject(text=f"*Pull request*\n<{card.pr_url}>"))
    if card.planned_at:
        fields.append(MarkdownTextObject(text=f"*Planned*\n{slack_date(card.planned_at)}"))
    blocks: list[Block] = [
        HeaderBlock(text=clip(f"{cid} · {card.title}", 150)),
        SectionBlock(fields=fields),
        SectionBlock(text=MarkdownTextObject(text=clip(escape(card.description), 600))),
        SectionBlock(text=MarkdownTextObject(
            text=clip(f"*Rollback plan*\n{escape(card.rollback_plan)}", 1000)
        )),
        DividerBlock(),
        SectionBlock(text=MarkdownTextObject(
            text=clip("*Gates before production*\n" + "\n".join(map(gate_line, card.gates)))
        )),
    ]
    if card.notes:
        blocks.append(ContextBlock(elements=[
            MarkdownTextObject(text=clip(note, 2000)) for note in card.notes[:10]
        ]))
    if buttons:
        blocks.append(ActionsBlock(block_id="change_actions", elements=list(buttons[:25])))
    text = f"{cid} · {card.title} — {status}"
    return {"text": text, "blocks": to_dicts(blocks)}


def gates_summary(gates: list[Gate]) -> str:
    """One line for lists: the gates that are not open yet."""
    waiting = [g for g in gates if g.state not in (GateState.met, GateState.not_required,
                                                   GateState.bypassed)]
    if not waiting:
        return "all gates met"
    return "; ".join(f"{g.label.lower()}: {g.detail}" for g in waiting)


