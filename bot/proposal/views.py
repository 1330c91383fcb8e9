"""The `/change new` modal (also the Edit modal, pre-filled) and the reason modals."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import (
    CheckboxesElement,
    ContextBlock,
    DateTimePickerElement,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
    UserMultiSelectElement,
)
from slack_sdk.models.views import View

from bot.policy import SERVICE_LIMIT, Policy, ProposalPolicy
from bot.proposal.proposals import LIMITS, Proposal
from bot.security.triggers import CHECKBOXES
from bot.slack.text import escape

PROPOSAL_CALLBACK = "change_proposal"
PLANNED_AT = "planned_at"  # the planned time's block and action: choosing one is sent at once
PLANNED_WARNING = "planned_at_warning"  # the context block under it
CANCEL_CALLBACK = "change_cancel_confirmed"

CATEGORY_OPTIONS = {
    "standard": "Standard — low-risk, pre-approved pattern",
    "normal": "Normal — most code and infrastructure changes",
    "high_risk": "High-risk — schema change, major architecture",
}
RISK_OPTIONS = {"low": "Low", "medium": "Medium", "high": "High"}


def _options(choices: dict[str, str]) -> list[Option]:
    return [Option(value=value, label=label) for value, label in choices.items()]


def text_input(block_id: str, label: str, hint: str, draft: Proposal | None = None, *,
               initial: str | None = None, multiline: bool = True, optional: bool = False,
               placeholder: str | None = None) -> InputBlock:
    """A text field, pre-filled with `initial` or else with the draft's field of its name."""
    if initial is None and draft is not None:
        initial = getattr(draft, block_id)
    return InputBlock(
        block_id=block_id,
        label=label,
        hint=hint,
        optional=optional,
        element=PlainTextInputElement(
            action_id=block_id,
            multiline=multiline,
            max_length=LIMITS.get(block_id, 3000),
            initial_value=initial or None,
            placeholder=placeholder,
        ),
    )


def people_input(block_id: str, label: str, hint: str, draft: Proposal | None,
                 placeholder: str) -> InputBlock:
    """An optional choice of people, pre-filled with the draft's field of its name."""
    chosen = list(getattr(draft, block_id)) if draft else []
    return InputBlock(
        block_id=block_id, label=label, hint=hint, optional=True,
        element=UserMultiSelectElement(action_id=block_id, placeholder=placeholder,
                                       initial_users=chosen or None),
    )


def _select(block_id: str, label: str, hint: str, choices: dict[str, str],
            initial: str | None) -> InputBlock:
    options = _options(choices)
    chosen = next((o for o in options if o.value == initial), None)
    return InputBlock(
        block_id=block_id, label=label, hint=hint,
        element=StaticSelectElement(
            action_id=block_id, options=options, initial_option=chosen,
            placeholder="Choose one",
        ),
    )


def service_input(rules: ProposalPolicy, initial: str | None) -> InputBlock:
    """What the change ships to: a menu of the policy's services, or a name typed."""
    hint = "Changes planned close together on one service are flagged as conflicts."
    if not rules.require_service:
        hint += " Without it, the pull request's repository counts."
    if rules.services:
        options = [Option(value=name, label=name) for name in rules.services]
        chosen = next((o for o in options
                       if initial and (o.value or "").lower() == initial.lower()), None)
        element: Any = StaticSelectElement(action_id="service", options=options,
                                           initial_option=chosen,
                                           placeholder="Choose a service")
    else:
        element = PlainTextInputElement(action_id="service", max_length=SERVICE_LIMIT,
                                        initial_value=initial or None,
                                        placeholder="e.g. payments-api")
    return InputBlock(block_id="service", label="Service", hint=hint,
                      optional=not rules.require_service, element=element)


def planned_warning(warnings: Sequence[str]) -> ContextBlock:
    """Under the planned time: it falls in a freeze or outside business hours."""
    return ContextBlock(block_id=PLANNED_WARNING,
                        elements=[MarkdownTextObject(text="\n".join(warnings))])


def proposal_modal(policy: Policy, initial: Proposal | None = None, *,
                   change_id: int | None = None, warnings: Sequence[str] = ()) -> View:
    """The form of Step 1: everything the process requires a PR or ticket to say.
    `warnings`: what is wrong with the planned time it holds (bot.schedule.planned)."""
    p = initial
    checkbox_options = _options(CHECKBOXES)
    chosen_boxes = [o for o in checkbox_options if p and o.value in p.security_checkboxes]
    blocks: list[Any] = [
        text_input("title", "Title", "One line a reviewer understands: what changes, where.",
                   p, multiline=False,
                   placeholder="Add an index on orders.created_at"),
        text_input("description", "Description and business justification",
                   "What changes, and why the business needs it now.", p),
        _select("category", "Category",
                "Standard: pre-approved pattern (1 approval). Normal: most changes. "
                "High-risk: 2 approvals and a tech lead.",
                CATEGORY_OPTIONS, p.category if p else "normal"),
        _select("risk", "Risk", "How bad is it if this goes wrong?", RISK_OPTIONS,
                p.risk if p else None),
        text_input("rollback_plan", "Rollback plan",
                   "The exact steps to undo it: revert and redeploy, previous image, flag off…",
                   p),
        text_input("testing", "Testing performed",
                   "Unit, integration, manual checks: what ran and what it showed.", p),
        text_input("security_notes", "Security considerations",
                   "Anything touching auth, secrets, personal data or network exposure.",
                   p, optional=True),
        InputBlock(
            block_id="security_checkboxes",
            label="This change touches…",
            hint="Any ticked box asks the security team to review the change.",
            optional=True,
            element=CheckboxesElement(
                action_id="security_checkboxes", options=checkbox_options,
                initial_options=chosen_boxes or None,
            ),
        ),
        text_input("pr_url", "Pull request",
                   "e.g. https://github.com/acme/api/pull/123 — CI and reviews are read from it.",
                   p, multiline=False, optional=True),
        people_input("reviewers", "Reviewers",
                     "They get a direct message with a link to the change. Not yourself.",
                     p, "Choose reviewers"),
        service_input(policy.proposal, p.service if p else None),
        InputBlock(
            block_id=PLANNED_AT,
            label="Planned deployment",
            hint="When you intend to deploy to production; must be in the future.",
            optional=True,
            # Choosing a time is sent at once, so a freeze is said under it (handlers.review).
            dispatch_action=True,
            element=DateTimePickerElement(
                action_id=PLANNED_AT,
                initial_date_time=int(p.planned_at.timestamp()) if p and p.planned_at else None,
            ),
        ),
    ]
    if warnings:
        blocks.append(planned_warning(warnings))
    title = f"Edit CHG-{change_id}" if change_id else "Propose a change"
    return View(
        type="modal",
        callback_id=PROPOSAL_CALLBACK,
        private_metadata=json.dumps({"change_id": change_id} if change_id else {}),
        title=title,
        submit="Save and re-request" if change_id else "Propose",
        close="Cancel",
        blocks=blocks,
    )


def reason_modal(*, callback_id: str, change_id: int, title: str, label: str, hint: str,
                 submit: str, intro: str | None = None) -> View:
    """A small modal asking for one required reason (reject, request changes, cancel)."""
    blocks: list = []
    if intro:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=intro)]))
    blocks.append(text_input("reason", label, hint))
    return View(
        type="modal",
        callback_id=callback_id,
        private_metadata=json.dumps({"change_id": change_id}),
        title=title,
        submit=submit,
        close="Back",
        blocks=blocks,
    )


def cancel_modal(change_id: int, title: str) -> View:
    """"Cancel change…" from the card's overflow menu: final, so asked once more."""
    cid = f"CHG-{change_id}"
    return View(
        type="modal", callback_id=CANCEL_CALLBACK,
        private_metadata=json.dumps({"change_id": change_id}),
        title=f"Cancel {cid}", submit="Cancel the change", close="Keep it",
        blocks=[SectionBlock(text=MarkdownTextObject(
            text=f"*{cid}: {escape(title)}* will be closed as cancelled. This cannot be undone."
        ))],
    )


def notice_modal(title: str, text: str) -> View:
    """What a modal turns into when its submission was refused and has no field to say it."""
    return View(type="modal", title=title[:24], close="Close",
                blocks=[SectionBlock(text=MarkdownTextObject(text=text))])


# What Slack sends back of a view that may be sent again in views.update (not its id, hash
# or state: Slack keeps what was typed in the inputs whose block and action ids stay).
_VIEW_KEYS = ("type", "callback_id", "private_metadata", "title", "submit", "close",
              "clear_on_close", "notify_on_close", "external_id")


def shown_warning(view: dict) -> str:
    """What the open form `view` (as Slack sent it) says under its planned time ("")."""
    shown = next((b for b in view.get("blocks") or []
                  if b.get("block_id") == PLANNED_WARNING), None)
    return "\n".join(str(e.get("text", "")) for e in (shown or {}).get("elements", []))


def with_planned_warning(view: dict, warnings: Sequence[str]) -> dict:
    """The open form `view` (as Slack sent it) with `warnings` right under its planned time,
    or without any: what to send to views.update."""
    blocks = [b for b in view.get("blocks") or [] if b.get("block_id") != PLANNED_WARNING]
    if warnings:
        where = next((i for i, b in enumerate(blocks) if b.get("block_id") == PLANNED_AT),
                     len(blocks) - 1)
        blocks.insert(where + 1, planned_warning(warnings).to_dict())
    kept = {key: view[key] for key in _VIEW_KEYS if view.get(key) not in (None, "")}
    return {**kept, "blocks": blocks}
