"""Steps 5–8 in Slack: the card's buttons and notes, the modals, the window-end DM."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    CheckboxesElement,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.change.card_view import CardInput, MoreItem
from bot.change.facts import ChangeFacts
from bot.change.gates import Gate
from bot.change.states import Category, Status, format_change_id
from bot.deployment.rules import (
    DEPLOY_METHODS,
    PRODUCTION_CHECKS,
    ROLLBACK_METHODS,
    ROLLBACK_TRIGGERS,
    STAGING_CHECKS,
    required_staging_checks,
)
from bot.runtime.durations import spell
from bot.slack.blocks import to_dicts
from bot.slack.text import clip, escape, slack_date, user
from storage.models import Approval, Change

STAGING_VERIFIED_CALLBACK = "change_staging_verified"
DEPLOY_CALLBACK = "change_deploy"
VERIFIED_CALLBACK = "change_verified"
ROLLBACK_CALLBACK = "change_rollback"

STAGING_DEPLOYED = "change_staging_deployed"
STAGING_VERIFY = "change_staging_verify"
DEPLOY = "change_deploy"
VERIFY = "change_verify"
ROLLBACK = "change_rollback"
ROLLBACK_FINISHED = "change_rollback_finished"

NOTES_LIMIT = 2000


# ---- the card ---------------------------------------------------------------------------


def _button(action_id: str, text: str, change_id: int, style: str | None = None
            ) -> ButtonElement:
    return ButtonElement(action_id=action_id, text=text, value=str(change_id), style=style)


def deployment_buttons(card: CardInput) -> list[ButtonElement]:
    """Staging, production, verification and rollback, each only when its step is next."""
    status, cid = card.facts.status, card.change_id
    buttons: list[ButtonElement] = []
    emergency = card.facts.category == Category.emergency
    if emergency and status in (Status.proposed, Status.in_review, Status.approved,
                                Status.staging):
        # "Deploy immediately": no staging, no business hours, approval may come after.
        buttons.append(_button(DEPLOY, "Deploy to production", cid, "primary"))
    elif status == Status.approved:
        buttons.append(_button(STAGING_DEPLOYED, "Deployed to staging", cid))
    elif status == Status.staging:
        buttons.append(_button(STAGING_VERIFY, "Staging verified", cid))
    elif status == Status.ready:
        # Shown before every gate is open too: pressing it lists what is still missing.
        buttons.append(_button(DEPLOY, "Deploy to production", cid, "primary"))
    if status == Status.monitoring:
        buttons.append(_button(VERIFY, "Verified — close change", cid, "primary"))
    if status in (Status.deploying, Status.monitoring):
        buttons.append(_button(ROLLBACK, "Roll back", cid, "danger"))
    return buttons


def deployment_more(card: CardInput) -> list[MoreItem]:
    """A completed change can still be rolled back: rarely, so from the overflow menu."""
    if card.facts.status == Status.completed:
        return [MoreItem(ROLLBACK, "Roll back…")]
    return []


def rollback_in_progress_buttons(card: CardInput) -> list[ButtonElement]:
    """A rolled-back change is closed, but its rollback is timed until someone ends it."""
    facts = card.facts
    if facts.status == Status.rolled_back and facts.rollback_finished_at is None:
        return [_button(ROLLBACK_FINISHED, "Rollback finished", card.change_id, "primary")]
    return []


def deployment_notes(change: Change, _approvals: Sequence[Approval]) -> list[str]:
    """What the card says about staging, the deployment, monitoring and rollback."""
    notes: list[str] = []
    if change.category == Category.high_risk.value and change.rollback_started_at is None:
        notes.append(":raised_hand: *Manual deployment*: high-risk changes are deployed by "
                     "hand, with the engineer watching the rollout.")
    if change.staging_verified_at is not None:
        checks = ", ".join(STAGING_CHECKS[c].lower() for c in
                           change.staging_validation.get("checks", []) if c in STAGING_CHECKS)
        notes.append(f":test_tube: Validated in staging by "
                     f"{user(change.staging_validation.get('by'))} "
                     f"{slack_date(change.staging_verified_at)}: {checks}")
    elif change.staging_deployed_at is not None:
        notes.append(f":test_tube: In staging since {slack_date(change.staging_deployed_at)}")
    if change.deployed_at is not None:
        method = DEPLOY_METHODS.get(change.deploy_method or "", change.deploy_method or "")
        notes.append(f":rocket: Deployed to production {slack_date(change.deployed_at)} by "
                     f"{user(change.deployed_by)} ({method})")
    if change.status == Status.monitoring.value and change.monitoring_ends_at is not None:
        notes.append(f":eyes: Monitoring window ends {slack_date(change.monitoring_ends_at)}")
    if change.verified_at is not None:
        notes.append(f":white_check_mark: Verified in production by "
                     f"{user(change.verification.get('by'))} {slack_date(change.verified_at)}")
    if change.rollback_started_at is not None:
        notes.append(rollback_note(change))
    return notes


def rollback_note(change: Change) -> str:
    rollback = change.rollback
    trigger = ROLLBACK_TRIGGERS.get(rollback.get("trigger", ""), "")
    method = ROLLBACK_METHODS.get(rollback.get("method", ""), "")
    started = change.rollback_started_at or change.updated_at
    note = (f":rewind: Rollback started {slack_date(started)} by "
            f"{user(rollback.get('by'))} — {trigger}; {method}")
    if change.rollback_finished_at is None or change.rollback_started_at is None:
        return note + ". In progress."
    took = spell(change.rollback_finished_at - change.rollback_started_at)
    return note + f". Finished {slack_date(change.rollback_finished_at)}: took {took}."


def quote(notes: str) -> str:
    """Someone's notes under a thread note: quoted, and never read as mentions or links."""
    if not notes:
        return ""
    return "\n" + "\n".join(f"> {line}" for line in escape(notes).splitlines())


# ---- ephemeral answers ---------------------------------------------------------------------


def blockers_text(change_id: int, reason: str, blockers: Sequence[Gate]) -> str:
    """A refused deploy: every gate that is not met, and what would open it."""
    cid = format_change_id(change_id)
    lines = [f"{cid} was not deployed: {reason}."]
    for gate in blockers:
        line = f"• *{gate.label}*: {gate.detail}"
        if gate.how_to_open:
            line += f" — to open it: {gate.how_to_open}"
        lines.append(line)
    lines.append("Nothing was changed.")
    return "\n".join(lines)


# ---- modals ----------------------------------------------------------------------------------


def _options(choices: dict[str, str]) -> list[Option]:
    return [Option(value=value, label=label) for value, label in choices.items()]


def _notes(label: str, hint: str, *, optional: bool = True) -> InputBlock:
    return InputBlock(
        block_id="notes", label=label, hint=hint, optional=optional,
        element=PlainTextInputElement(action_id="notes", multiline=True,
                                      max_length=NOTES_LIMIT),
    )


def _modal(callback_id: str, change_id: int, title: str, submit: str, blocks: list) -> View:
    return View(
        type="modal", callback_id=callback_id,
        private_metadata=json.dumps({"change_id": change_id}),
        title=title, submit=submit, close="Back", blocks=blocks,
    )


def staging_modal(change_id: int, facts: ChangeFacts) -> View:
    required = [STAGING_CHECKS[c].lower() for c in required_staging_checks(facts)]
    blocks = [
        InputBlock(
            block_id="checks", label="What did staging validate?",
            hint=f"Required: {', '.join(required)}.",
            element=CheckboxesElement(action_id="checks", options=_options(STAGING_CHECKS)),
        ),
        _notes("Notes", "What you tested and what it showed (kept as evidence)."),
    ]
    return _modal(STAGING_VERIFIED_CALLBACK, change_id,
                  f"Staging {format_change_id(change_id)}", "Staging verified", blocks)


def deploy_modal(change_id: int, title: str, *, manual: bool, emergency: bool = False) -> View:
    cid = format_change_id(change_id)
    intro = f"Deploying *{cid}: {escape(title)}* to production now."
    if manual:
        intro += ("\n:raised_hand: *Manual deployment*: this is a high-risk change. Deploy it "
                  "by hand and stay available to watch the rollout.")
    if emergency:
        intro += ("\n:rotating_light: *Emergency process*: staging and business hours are "
                  "skipped and the approval may come after deployment; what is skipped is "
                  "recorded, and the retrospective falls due from the deployment.")
    blocks = [
        SectionBlock(text=MarkdownTextObject(text=clip(intro))),
        InputBlock(
            block_id="method", label="Deployment method",
            hint="How the change reaches production.",
            element=RadioButtonsElement(action_id="method", options=_options(DEPLOY_METHODS)),
        ),
        _notes("Notes", "Required for “Other”: say how you deploy it."),
        ContextBlock(elements=[MarkdownTextObject(
            text="The gates are checked again when you submit; the monitoring window starts "
            "when the deployment is recorded."
        )]),
    ]
    return _modal(DEPLOY_CALLBACK, change_id, f"Deploy {cid}", "Deploy", blocks)


def verification_modal(change_id: int) -> View:
    blocks = [
        InputBlock(
            block_id="checks", label="Post-deployment verification",
            hint="Tick each check you did. If something is wrong, roll back instead.",
            element=CheckboxesElement(action_id="checks", options=_options(PRODUCTION_CHECKS)),
        ),
        _notes("Notes", "What you looked at and what it showed (kept as evidence)."),
    ]
    return _modal(VERIFIED_CALLBACK, change_id, f"Verify {format_change_id(change_id)}",
                  "Close change", blocks)


def rollback_modal(change_id: int) -> View:
    def select(block_id: str, label: str, choices: dict[str, str]) -> InputBlock:
        return InputBlock(
            block_id=block_id, label=label,
            element=StaticSelectElement(action_id=block_id, options=_options(choices),
                                        placeholder="Choose one"),
        )

    blocks = [
        select("trigger", "Why roll back?", ROLLBACK_TRIGGERS),
        select("method", "How?", ROLLBACK_METHODS),
        _notes("Notes", "What happened. Required when you chose “Other”."),
        ContextBlock(elements=[MarkdownTextObject(
            text="The rollback starts now; press *Rollback finished* on the card when it is "
            "done, so its duration is on record."
        )]),
    ]
    return _modal(ROLLBACK_CALLBACK, change_id, f"Roll back {format_change_id(change_id)}",
                  "Start rollback", blocks)


# ---- the window-end DM -----------------------------------------------------------------------


def window_end_message(change: Change, link: str, *, overdue: timedelta | None = None
                       ) -> dict:
    """The DM at the end of the monitoring window (and the reminder when it is overdue)."""
    cid = format_change_id(change.id or 0)
    if overdue is None:
        text = f"Your monitoring window for {cid} has ended."
        ask = "If all is well, verify and close it; if not, roll it back."
    else:
        text = (f"Reminder: your monitoring window for {cid} ended {spell(overdue)} ago and "
                "it is not verified yet.")
        ask = "Verify and close it, or roll it back."
    section = f"{text}\n*{escape(change.title)}* {link}\n{ask}"
    blocks = [
        SectionBlock(text=MarkdownTextObject(text=clip(section))),
        ActionsBlock(block_id="change_actions", elements=[
            _button(VERIFY, "Verified — close change", change.id or 0, "primary"),
            _button(ROLLBACK, "Roll back", change.id or 0, "danger"),
        ]),
    ]
    return {"text": text, "blocks": to_dicts(blocks)}
