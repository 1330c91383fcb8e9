"""The change card: posted in the changes channel, updated in place at every event."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InteractiveElement,
    MarkdownTextObject,
    Option,
    OverflowMenuElement,
    SectionBlock,
)

from bot.change.facts import ChangeFacts
from bot.change.gates import Gate
from bot.change.states import (
    APPROVABLE,
    APPROVABLE_EMERGENCY,
    PRE_PRODUCTION,
    Category,
    GateState,
    Risk,
    Status,
    format_change_id,
)
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
    # Why a security review is asked for (bot.security.triggers), as stored on the change.
    security_triggers: tuple[dict[str, Any], ...] = ()
    service: str | None = None  # what it ships to, as its form named it


def _button(action_id: str, text: str, change_id: int, *, style: str | None = None
            ) -> ButtonElement:
    return ButtonElement(action_id=action_id, text=text, value=str(change_id), style=style)


# The card's overflow menu ("…"): the actions people rarely take. Each option's value is
# `<change id>:<action_id>`; handlers.more routes it to the handler of that action.
MORE_ACTION = "change_more"
MORE_LIMIT = 5  # Slack's limit of options in an overflow menu


@dataclass(frozen=True)
class MoreItem:
    """One option of the card's overflow menu: the action it stands for, and its label."""

    action_id: str
    label: str


def more_menu(change_id: int, items: Sequence[MoreItem]) -> OverflowMenuElement:
    return OverflowMenuElement(action_id=MORE_ACTION, options=[
        Option(value=f"{change_id}:{item.action_id}", label=item.label)
        for item in items[:MORE_LIMIT]
    ])


def approvals_open(card: CardInput) -> bool:
    """The change still needs approvals: its approvals gate (or the infrastructure team's,
    who approve with the same button) is neither met nor unneeded, or a code owner's is
    awaited."""
    return any((g.key in ("approvals", "infrastructure")
                and g.state not in (GateState.met, GateState.not_required))
               or (g.key == "code_owners" and g.state == GateState.pending)
               for g in card.gates)


def review_buttons(card: CardInput) -> list[ButtonElement]:
    """Approve and Reject while approvals are awaited; Revise once rejected."""
    status, cid = card.facts.status, card.change_id
    approvable = APPROVABLE_EMERGENCY if card.facts.category == Category.emergency else APPROVABLE
    buttons: list[ButtonElement] = []
    if status in approvable and approvals_open(card):
        # The revision rides on the button: a click on a card shown before a revision or a
        # new push approves nothing ("approve a commit, not a branch").
        buttons.append(ButtonElement(action_id="change_approve", text="Approve", style="primary",
                                     value=f"{cid}:r{card.revision}"))
        if status == Status.in_review:
            buttons.append(_button("change_reject", "Reject", cid, style="danger"))
    if status == Status.rejected:
        buttons.append(_button("change_edit", "Revise", cid))
    return buttons


def review_more(card: CardInput) -> list[MoreItem]:
    """Edit and Cancel, in the overflow menu, while the change is before production."""
    status = card.facts.status
    items: list[MoreItem] = []
    if status in PRE_PRODUCTION and status != Status.rejected:
        items.append(MoreItem("change_edit", "Edit"))
    if status in PRE_PRODUCTION:
        items.append(MoreItem("change_cancel", "Cancel change…"))
    return items


def gate_line(gate: Gate) -> str:
    line = f"{STATE_ICONS[gate.state]} *{gate.label}*: {gate.detail}"
    if gate.how_to_open and gate.state not in (GateState.met, GateState.not_required):
        line += f" — _{gate.how_to_open}_"
    return line


def status_label(facts: ChangeFacts) -> str:
    """The status in words; a few statuses say more than their name (who sent it back, a
    rollback still running)."""
    if facts.status == Status.rejected and facts.security_changes_requested \
            and facts.rejected_by is None:
        return "Changes requested (security)"
    if facts.status == Status.rolled_back and facts.rollback_finished_at is None:
        return "Rolling back"
    return STATUS_LABELS[facts.status]


def risk_label(facts: ChangeFacts) -> str:
    return facts.risk.value.capitalize()


def kind_words(facts: ChangeFacts) -> str:
    """Category and risk in a list's line, without saying "high" twice."""
    if facts.category == Category.high_risk and facts.risk == Risk.high:
        return facts.category.label
    return f"{facts.category.label} · {facts.risk.value} risk"


def card_message(card: CardInput, buttons: Sequence[InteractiveElement] = ()) -> dict:
    """The card's message; `buttons` (and the overflow menu) are gathered by bot.change.card
    from each step."""
    facts = card.facts
    cid = format_change_id(card.change_id)
    status = status_label(facts)
    fields = [
        MarkdownTextObject(text=f"*Status*\n{status}"),
        MarkdownTextObject(text=f"*Author*\n{user(card.author)}"),
        MarkdownTextObject(text=f"*Category*\n{facts.category.label}"),
        MarkdownTextObject(text=f"*Risk*\n{risk_label(facts)}"),
    ]
    if card.pr_url:
        fields.append(MarkdownTextObject(text=f"*Pull request*\n<{card.pr_url}>"))
    if card.service:
        fields.append(MarkdownTextObject(text=f"*Service*\n{escape(card.service)}"))
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


