"""Emergency changes: "for critical security patches or production outages".

The process: create the PR with the EMERGENCY label, post to #engineering, minimal review
(1 approval, may come after deployment), deploy immediately, retrospective within 24 hours.

- `/change emergency` proposes a change of category `emergency` (bot.change.actions.propose);
  the proposal flow (bot.flows.proposal) records it as declared, schedules the broadcast in
  the engineering channel (bot.emergency.broadcast) and the EMERGENCY label of its PR.
- It deploys through bot.deployment like any change; the lifecycle lets it skip staging and
  business hours. The deployment flow records each gate it skipped, sets the retrospective's
  due time and arms its reminders (bot.emergency.after_deployment).
- The retrospective, recorded here, closes it.
"""

from __future__ import annotations

import re
from typing import Any

from bot.change.states import Category, Risk, Status, format_change_id
from bot.change.transition import transition
from bot.change.work import NoSuchChange, editing
from bot.context import Context
from bot.deployment.steps import StepOutcome, refused
from bot.emergency import views as views
from bot.emergency.rules import (
    may_record_retrospective,
    retrospective_overdue,
    status_after_retrospective,
)
from bot.flows import deployment as deployment_flow
from bot.policy import ProposalPolicy
from bot.proposal.proposals import Invalid, Proposal, check_pr_url, check_service, check_text
from bot.slack import directory, payloads
from bot.slack.text import clip
from storage import repo
from storage.models import Change

TITLE_LIMIT = 100
_URL = re.compile(r"^https?://[^\s<>|]+$")


def validate_emergency(values: dict[str, Any], *, author: str, rules: ProposalPolicy
                       ) -> Proposal:
    """The emergency modal's values as a Proposal, or Invalid naming each bad field."""
    errors: dict[str, str] = {}
    check_text(values, errors)
    service = check_service(values.get("service"), rules, errors)
    for name in ("impact", "description", "rollback_plan"):
        if not values.get(name):
            errors.setdefault(name, "This is required.")
    check_pr_url(values.get("pr_url"), errors)
    fixes = _fixes_ref(values.get("fixes"), errors)
    if errors:
        raise Invalid(errors)
    description = values["description"]
    return Proposal(
        title=clip(description.splitlines()[0].strip(), TITLE_LIMIT),
        description=description,
        category=Category.emergency,
        risk=Risk.high,  # an emergency goes to production with no staging and no prior review
        rollback_plan=values["rollback_plan"],
        testing="",
        pr_url=values.get("pr_url") or None,
        impact=values["impact"],
        involved=tuple(u for u in values.get("involved") or () if u != author),
        fixes_change_id=fixes,
        service=service,
    )


def _fixes_ref(text: str | None, errors: dict[str, str]) -> int | None:
    """The optional "Fixes CHG-n" field: a change number, or an error under the field."""
    if not text or not text.strip():
        return None
    try:
        return payloads.change_ref(text)
    except payloads.Refused as bad:
        errors["fixes"] = f"{bad} Leave it empty if no deployment caused this."
        return None


async def check_fixes(ctx: Context, proposal: Proposal, change_id: int | None) -> None:
    """The change an emergency says it repairs must exist and have reached production:
    DORA's change fail rate and recovery time count that deployment as failed (bot.insights).
    Invalid under the field otherwise; `change_id` is the emergency itself when edited."""
    fixes = proposal.fixes_change_id
    if fixes is None:
        return
    cid = format_change_id(fixes)
    if fixes == change_id:
        raise Invalid({"fixes": "An emergency cannot repair itself: name the change whose "
                                "deployment broke production, or leave it empty."})
    async with ctx.db.session() as session:
        fixed = await repo.get_change(session, fixes)
    if fixed is None:
        raise Invalid({"fixes": f"There is no {cid}. Name the change whose deployment broke "
                                "production, or leave it empty."})
    if fixed.deployed_at is None:
        raise Invalid({"fixes": f"{cid} has not been deployed to production, so it cannot "
                                "have broken it. Name a deployed change, or leave it empty."})


async def _is_tech_lead(ctx: Context, user: str) -> bool | None:
    try:
        return await directory.is_member(ctx, ctx.policy.groups.tech_leads, user)
    except directory.DirectoryUnavailable:
        return None


UNKNOWN_TECH_LEAD = ("I couldn't check with Slack whether you are a tech lead. Nothing was "
                     "recorded; please try again in a minute.")


async def retrospective_form(ctx: Context, change_id: int, user: str) -> StepOutcome:
    """Pressing "Retrospective done": the modal, or why not."""
    tech_lead = await _is_tech_lead(ctx, user)
    try:
        async with editing(ctx, change_id) as loaded:
            facts = loaded.facts
            if tech_lead is None and user != facts.author:
                return refused(UNKNOWN_TECH_LEAD)
            decision = may_record_retrospective(facts, user, bool(tech_lead))
            if not decision:
                return refused(decision.reason)
            overdue = retrospective_overdue(facts, ctx.clock.now())
            view = views.retrospective_modal(change_id, facts.retrospective_due_at,
                                             overdue=overdue)
            return StepOutcome(True, "", view=view)
    except NoSuchChange as missing:
        return refused(str(missing))


async def record_retrospective(ctx: Context, change_id: int, user: str, *, document: str,
                               root_cause: str, follow_ups: str) -> StepOutcome:
    """The retrospective is held: keep it, and close the emergency (see the lifecycle)."""
    if not _URL.match(document):
        return refused("Paste a link to the retrospective document (https://…).", "document")
    if not root_cause:
        return refused("Say what the root cause was.", "root_cause")
    if not follow_ups:
        return refused("Say what follows: actions, owners or tickets (or that nothing does, "
                       "and why).", "follow_ups")
    tech_lead = await _is_tech_lead(ctx, user)
    try:
        async with editing(ctx, change_id) as loaded:
            change, facts = loaded.change, loaded.facts
            if tech_lead is None and user != facts.author:
                return refused(UNKNOWN_TECH_LEAD, "document")
            decision = may_record_retrospective(facts, user, bool(tech_lead))
            if not decision:
                return refused(decision.reason, "document")
            now = ctx.clock.now()
            overdue = retrospective_overdue(facts, now)
            status = status_after_retrospective(facts, ctx.policy, now)
            change.retrospective = {**change.retrospective, "document": document,
                                    "root_cause": root_cause, "follow_ups": follow_ups,
                                    "by": user, "overdue": overdue}
            change.retrospective_done_at = change.updated_at = now
            if status == Status.completed:
                change.closed_at = now
            await transition(loaded.session, ctx, change, status, actor=user,
                             action="retrospective_recorded", document=document,
                             root_cause=root_cause, follow_ups=follow_ups, overdue=overdue,
                             status={"from": facts.status.value, "to": status.value})
            await deployment_flow.retrospective_recorded(loaded, ctx, user, facts)
    except NoSuchChange as missing:
        return refused(str(missing))
    ctx.sweeper.kick()
    closed = " and closed" if status == Status.completed else ""
    return StepOutcome(True, f"Retrospective of {format_change_id(change_id)} "
                             f"recorded{closed}.", change)


# ---- /change list overdue --------------------------------------------------------------------


async def overdue(ctx: Context) -> list[Change]:
    async with ctx.db.session() as session:
        return list(await repo.overdue_retrospectives(session, ctx.clock.now()))

