"""Steps 5–8: staging, the production deployment, the monitoring window and rollback.

Each use case is one transaction on the locked change, like those of bot.changes: check the
rule (bot.lifecycle), record the step and its audit event, schedule what follows (card,
thread notes, DMs, the window-end reminders) as reminder rows that the sweeper sends after
the commit. A refused step returns why and writes nothing.

The monitoring window is two reminder rows written with the deployment: `monitoring_ended`
at the window's end (the DM asking to verify or roll back) and `verification_overdue` a
policy grace later (a second DM and a note in the card's thread). Both re-check the change
just before acting, and verification or rollback cancels them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import timedelta

from slack_sdk.models.views import View
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.change.actions import (
    PROPOSAL_HOOKS,
    Loaded,
    NoSuchChange,
    Outcome,
    audit,
    dm,
    editing,
    refresh_card,
    thread_note,
)
from bot.change.audit_actions import (
    DEPLOYED_TO_PRODUCTION,
    ROLLBACK_STARTED,
    STAGING_VERIFIED,
    VERIFIED_IN_PRODUCTION,
)
from bot.change.card import NOTE_PROVIDERS
from bot.change.card_view import BUTTON_PROVIDERS, CLOSED_BUTTON_PROVIDERS
from bot.change.facts import ChangeFacts
from bot.change.gates import gates
from bot.change.states import Category, Status, format_change_id
from bot.context import Context
from bot.deployment import views as views
from bot.deployment.rules import (
    DEPLOY_METHODS,
    PRODUCTION_CHECKS,
    ROLLBACK_METHODS,
    ROLLBACK_TRIGGERS,
    STAGING_CHECKS,
    DeployDecision,
    check_staging_validation,
    check_verification,
    may_deploy,
    may_finish_rollback,
    may_operate,
    may_verify_production,
    may_verify_staging,
    monitoring_window,
    needs_manual_deployment,
    rollback_duration,
    status_after_step,
)
from bot.github import deployments as github_deployments
from bot.github import pull_requests
from bot.runtime.sweeper import Skip, kind
from bot.slack import directory
from bot.slack import outbox as notify
from bot.slack.text import slack_date
from storage import reminder_store
from storage.models import Change, Reminder

WINDOW_ENDED = "monitoring_ended"
VERIFICATION_OVERDUE = "verification_overdue"
# Reminders that stop applying once the change is verified...
WINDOW_REMINDERS = (WINDOW_ENDED, VERIFICATION_OVERDUE)
# ...or rolled back: a later step whose reminders stop applying then adds its kinds here.
# (Notifications, `card`/`dm`/`thread`, are not cancelled: what was said still goes out.)
CANCELLED_BY_ROLLBACK: list[str] = list(WINDOW_REMINDERS)

UNKNOWN_DEPLOYER = ("I couldn't check with Slack whether you are in the deployers group. "
                    "Nothing was recorded; please try again in a minute.")


@dataclass(frozen=True)
class StepOutcome(Outcome):
    """An Outcome that may carry the modal to open, or the modal field a refusal is about."""

    view: View | None = None
    field: str | None = None


def refused(message: str, field: str | None = None) -> StepOutcome:
    return StepOutcome(False, message, field=field)


Act = Callable[[Loaded, bool], Awaitable[StepOutcome]]

# Hooks run inside a step's transaction once it is recorded, with the step's name and the
# change's facts before it: "staging_deployed", "staging_verified", "deployed", "verified",
# "rollback_started", "rollback_finished" (emergencies plug in here).
StepHook = Callable[[Loaded, Context, str, str, ChangeFacts], Awaitable[None]]
STEP_HOOKS: list[StepHook] = []


async def _after(loaded: Loaded, ctx: Context, step: str, user: str,
                 before: ChangeFacts) -> None:
    for hook in STEP_HOOKS:
        await hook(loaded, ctx, step, user, before)


async def _is_deployer(ctx: Context, user: str) -> bool | None:
    """In the policy's deployers group? None when Slack could not say."""
    group = ctx.policy.groups.deployers
    if not group:
        return False
    try:
        return await directory.is_member(ctx, group, user)
    except directory.DirectoryUnavailable:
        return None


async def _on_change(ctx: Context, change_id: int, user: str, act: Act) -> StepOutcome:
    """Run one step on the locked change; kick the sweeper when something was recorded."""
    deployer = await _is_deployer(ctx, user)
    try:
        async with editing(ctx, change_id) as loaded:
            if deployer is None and user != loaded.change.author_id:
                return refused(UNKNOWN_DEPLOYER)
            outcome = await act(loaded, bool(deployer))
    except NoSuchChange as missing:
        return refused(str(missing))
    if outcome.ok and outcome.view is None:
        ctx.sweeper.kick()
    return outcome


def _validation_text(checks: Collection[str], labels: dict[str, str]) -> str:
    return ", ".join(labels[c].lower() for c in labels if c in checks) or "nothing ticked"


# ---- Step 5: staging -----------------------------------------------------------------------


async def mark_staging_deployed(ctx: Context, change_id: int, user: str) -> StepOutcome:
    async def act(loaded: Loaded, deployer: bool) -> StepOutcome:
        change, facts = loaded.change, loaded.facts
        decision = may_operate(facts, user, deployer, "staging")
        if not decision:
            return refused(decision.reason)
        now = ctx.clock.now()
        change.status = Status.staging.value
        change.staging_deployed_at = change.updated_at = now
        await audit(loaded.session, ctx, change, user, "staging_deployed")
        await _after(loaded, ctx, "staging_deployed", user, facts)
        await thread_note(loaded.session, ctx, change,
                          f":test_tube: <@{user}> deployed it to staging.")
        await refresh_card(loaded.session, ctx, change)
        return StepOutcome(True, f"{format_change_id(change_id)} is in staging. Press "
                           "*Staging verified* on the card once it is validated.", change)

    return await _on_change(ctx, change_id, user, act)


async def staging_form(ctx: Context, change_id: int, user: str) -> StepOutcome:
    async def act(loaded: Loaded, deployer: bool) -> StepOutcome:
        decision = may_verify_staging(loaded.facts, user, deployer)
        if not decision:
            return refused(decision.reason)
        return StepOutcome(True, "", view=views.staging_modal(change_id, loaded.facts))

    return await _on_change(ctx, change_id, user, act)


async def verify_staging(ctx: Context, change_id: int, user: str, *,
                         checks: Collection[str], notes: str) -> StepOutcome:
    async def act(loaded: Loaded, deployer: bool) -> StepOutcome:
        change, facts = loaded.change, loaded.facts
        decision = may_verify_staging(facts, user, deployer)
        if not decision:
            return refused(decision.reason)
        validated = check_staging_validation(facts, checks)
        if not validated:
            return refused(validated.reason, "checks")
        now = ctx.clock.now()
        change.status = status_after_step(facts, "verify").value  # type: ignore[union-attr]
        change.staging_verified_at = change.updated_at = now
        ticked = [c for c in STAGING_CHECKS if c in checks]
        change.staging_validation = {"checks": ticked, "notes": notes, "by": user}
        await audit(loaded.session, ctx, change, user, STAGING_VERIFIED, checks=ticked,
                    notes=notes)
        await _after(loaded, ctx, "staging_verified", user, facts)
        await thread_note(loaded.session, ctx, change,
                          f":test_tube: <@{user}> verified it in staging: "
                          f"{_validation_text(checks, STAGING_CHECKS)}."
                          + views.quote(notes))
        await refresh_card(loaded.session, ctx, change)
        return StepOutcome(True, f"{format_change_id(change_id)} is ready for production.",
                           change)

    return await _on_change(ctx, change_id, user, act)


async def _staging_again_after_revision(session: AsyncSession, ctx: Context,
                                        change: Change) -> None:
    """A revised change is a different change: what staging validated no longer holds."""
    if change.revision > 1 and change.staging_deployed_at is not None:
        change.staging_deployed_at = change.staging_verified_at = None
        change.staging_validation = {}


# ---- Step 6: production --------------------------------------------------------------------


async def deploy_form(ctx: Context, change_id: int, user: str) -> StepOutcome:
    """Pressing "Deploy to production": every unmet gate at once, or the method modal."""
    async def act(loaded: Loaded, deployer: bool) -> StepOutcome:
        facts = loaded.facts
        decision = may_deploy(facts, user, deployer, ctx.policy, ctx.clock.now())
        if not decision:
            return refused(_refusal(change_id, decision))
        view = views.deploy_modal(change_id, loaded.change.title,
                                  manual=needs_manual_deployment(facts),
                                  emergency=facts.category == Category.emergency)
        return StepOutcome(True, "", view=view)

    return await _on_change(ctx, change_id, user, act)


def _refusal(change_id: int, decision: DeployDecision) -> str:
    if decision.blockers:
        return views.blockers_text(change_id, decision.reason, decision.blockers)
    return decision.reason


async def deploy(ctx: Context, change_id: int, user: str, *, method: str | None,
                 notes: str) -> StepOutcome:
    """Record the production deployment (who, when, how) and start the monitoring window."""
    if method not in DEPLOY_METHODS:
        return refused("Choose how you deploy it.", "method")
    if method == "other" and not notes:
        return refused("Say how you deploy it when you choose “Other”.", "notes")

    async def act(loaded: Loaded, deployer: bool) -> StepOutcome:
        change, facts = loaded.change, loaded.facts
        now = ctx.clock.now()
        decision = may_deploy(facts, user, deployer, ctx.policy, now)  # authoritative
        if not decision:
            return refused(_refusal(change_id, decision), "method")
        ends = now + monitoring_window(ctx.policy, facts.category)
        manual = needs_manual_deployment(facts)
        change.status = status_after_step(facts, "deployed").value  # type: ignore[union-attr]
        change.deployed_at = change.updated_at = now
        change.deployed_by = user
        change.deploy_method = method
        change.monitoring_ends_at = ends
        await audit(loaded.session, ctx, change, user, DEPLOYED_TO_PRODUCTION,
                    method=method, notes=notes, manual=manual,
                    monitoring_ends_at=ends.isoformat(),
                    gates={g.key: g.state.value for g in gates(facts, ctx.policy, now)})
        how = DEPLOY_METHODS[method] + (", manual deployment" if manual else "")
        await thread_note(loaded.session, ctx, change,
                          f":rocket: <@{user}> deployed it to production ({how}). "
                          f"Monitoring window ends {slack_date(ends)}."
                          + views.quote(notes))
        await _schedule_window(loaded.session, ctx, change, ends)
        await _after(loaded, ctx, "deployed", user, facts)
        await refresh_card(loaded.session, ctx, change)
        return StepOutcome(True, f"{format_change_id(change_id)} is in production.", change)

    return await _on_change(ctx, change_id, user, act)


async def _schedule_window(session: AsyncSession, ctx: Context, change: Change, ends) -> None:
    """The window-end reminders, to whoever deployed it (or its author, when a GitHub login
    nobody linked deployed it)."""
    recipient = next((who for who in (change.deployed_by, change.author_id)
                      if pull_requests.is_slack_user(who)), None)
    if recipient is None:
        return  # nobody in Slack to ask; the card shows the window
    for reminder, due in ((WINDOW_ENDED, ends),
                          (VERIFICATION_OVERDUE, ends + ctx.policy.windows.verification_grace)):
        await notify.schedule(session, ctx, key=f"{reminder}:{change.id}", kind=reminder,
                              change_id=change.id, recipient=recipient, due_at=due)


# ---- Step 7: the monitoring window and verification -------------------------------------------


def _still_monitoring(change: Change) -> None:
    if change.status != Status.monitoring.value:
        raise Skip(f"the change is {change.status.replace('_', ' ')}, no longer monitored")


@kind(WINDOW_ENDED)
async def send_window_ended(ctx: Context, reminder: Reminder) -> None:
    """The DM at the end of the window (or the grace reminder): verify, or roll back."""
    change = await notify.load_change(ctx, reminder)
    _still_monitoring(change)
    link = await notify.card_link(ctx, change)
    change = await notify.load_change(ctx, reminder)  # re-checked right before sending
    _still_monitoring(change)
    overdue = reminder.payload.get("overdue_seconds")
    message = views.window_end_message(
        change, link, overdue=timedelta(seconds=overdue) if overdue is not None else None
    )
    await notify.post_once(ctx, reminder, channel=reminder.recipient or "", **message)


@kind(VERIFICATION_OVERDUE)
async def chase_verification(ctx: Context, reminder: Reminder) -> None:
    """The grace is over and nobody verified: a second DM, and a note in the card's thread."""
    try:
        async with editing(ctx, reminder.change_id or 0) as loaded:
            change = loaded.change
            _still_monitoring(change)
            now = ctx.clock.now()
            overdue = now - (change.monitoring_ends_at or now)
            first = await notify.schedule(
                loaded.session, ctx, key=f"verification-reminder:{change.id}",
                kind=WINDOW_ENDED, change_id=change.id, recipient=reminder.recipient,
                payload={"overdue_seconds": int(overdue.total_seconds())},
            )
            if not first:  # a retry after a crash: this was done already
                return
            await thread_note(
                loaded.session, ctx, change,
                f":hourglass: The monitoring window ended {views.spell(overdue)} ago and "
                f"{format_change_id(change.id or 0)} is not verified yet: "
                f"<@{reminder.recipient}>, verify and close it, or roll it back.",
                key=f"verification-overdue:{change.id}",
            )
            await audit(loaded.session, ctx, change, "changebot", "verification_overdue",
                        window_ended_at=(change.monitoring_ends_at or now).isoformat())
    except NoSuchChange as missing:
        raise Skip(str(missing)) from None


async def verification_form(ctx: Context, change_id: int, user: str) -> StepOutcome:
    async def act(loaded: Loaded, deployer: bool) -> StepOutcome:
        decision = may_verify_production(loaded.facts, user, deployer, ctx.policy,
                                         ctx.clock.now())
        if not decision:
            return refused(decision.reason)
        return StepOutcome(True, "", view=views.verification_modal(change_id))

    return await _on_change(ctx, change_id, user, act)


async def verify_production(ctx: Context, change_id: int, user: str, *,
                            checks: Collection[str], notes: str) -> StepOutcome:
    async def act(loaded: Loaded, deployer: bool) -> StepOutcome:
        change, facts = loaded.change, loaded.facts
        now = ctx.clock.now()
        decision = may_verify_production(facts, user, deployer, ctx.policy, now)
        if not decision:
            return refused(decision.reason, "checks")
        verified = check_verification(checks)
        if not verified:
            return refused(verified.reason, "checks")
        ticked = [c for c in PRODUCTION_CHECKS if c in checks]
        change.status = Status.completed.value
        change.verified_at = change.closed_at = change.updated_at = now
        change.verification = {"checks": ticked, "notes": notes, "by": user}
        await reminder_store.cancel(loaded.session, now=now, change_id=change_id,
                                    kinds=WINDOW_REMINDERS, reason="the change was verified")
        await audit(loaded.session, ctx, change, user, VERIFIED_IN_PRODUCTION,
                    checks=ticked, notes=notes)
        await _after(loaded, ctx, "verified", user, facts)
        await thread_note(loaded.session, ctx, change,
                          f":white_check_mark: <@{user}> verified it in production "
                          f"({_validation_text(checks, PRODUCTION_CHECKS)}): completed."
                          + views.quote(notes))
        await refresh_card(loaded.session, ctx, change)
        return StepOutcome(True, f"{format_change_id(change_id)} is verified and completed.",
                           change)

    return await _on_change(ctx, change_id, user, act)


# ---- Step 8: rollback ----------------------------------------------------------------------


async def rollback_form(ctx: Context, change_id: int, user: str) -> StepOutcome:
    async def act(loaded: Loaded, deployer: bool) -> StepOutcome:
        decision = may_operate(loaded.facts, user, deployer, "rollback")
        if not decision:
            return refused(decision.reason)
        return StepOutcome(True, "", view=views.rollback_modal(change_id))

    return await _on_change(ctx, change_id, user, act)


async def start_rollback(ctx: Context, change_id: int, user: str, *, trigger: str | None,
                         method: str | None, notes: str) -> StepOutcome:
    if trigger not in ROLLBACK_TRIGGERS:
        return refused("Choose why you roll it back.", "trigger")
    if method not in ROLLBACK_METHODS:
        return refused("Choose how you roll it back.", "method")
    if "other" in (trigger, method) and not notes:
        return refused("Say what happened when you choose “Other”.", "notes")

    async def act(loaded: Loaded, deployer: bool) -> StepOutcome:
        change, facts = loaded.change, loaded.facts
        decision = may_operate(facts, user, deployer, "rollback")
        if not decision:
            return refused(decision.reason, "trigger")
        now = ctx.clock.now()
        change.status = Status.rolled_back.value
        change.rollback_started_at = change.closed_at = change.updated_at = now
        change.rollback = {"trigger": trigger, "method": method, "notes": notes, "by": user,
                           "from_status": facts.status.value}
        await reminder_store.cancel(loaded.session, now=now, change_id=change_id,
                                    kinds=CANCELLED_BY_ROLLBACK,
                                    reason="the change was rolled back")
        await audit(loaded.session, ctx, change, user, ROLLBACK_STARTED, trigger=trigger,
                    method=method, notes=notes)
        await _after(loaded, ctx, "rollback_started", user, facts)
        cid = format_change_id(change_id)
        what = f"{ROLLBACK_TRIGGERS[trigger]} — {ROLLBACK_METHODS[method]}"
        await thread_note(loaded.session, ctx, change,
                          f":rewind: <@{user}> started a rollback: {what}."
                          + views.quote(notes))
        if change.author_id != user:
            await dm(loaded.session, ctx, change, change.author_id,
                     f"<@{user}> is rolling back *{cid}*: {what}.",
                     key=f"rollback-started:{change_id}")
        await refresh_card(loaded.session, ctx, change)
        return StepOutcome(True, f"Rollback of {cid} started. Press *Rollback finished* on "
                           "the card when it is done.", change)

    return await _on_change(ctx, change_id, user, act)


async def finish_rollback(ctx: Context, change_id: int, user: str) -> StepOutcome:
    async def act(loaded: Loaded, deployer: bool) -> StepOutcome:
        change, facts = loaded.change, loaded.facts
        decision = may_finish_rollback(facts, user, deployer)
        if not decision:
            return refused(decision.reason)
        now = ctx.clock.now()
        change.rollback_finished_at = change.updated_at = now
        took = rollback_duration(loaded.facts) or timedelta(0)
        await audit(loaded.session, ctx, change, user, "rollback_finished",
                    duration_seconds=int(took.total_seconds()))
        await _after(loaded, ctx, "rollback_finished", user, facts)
        cid = format_change_id(change_id)
        await thread_note(loaded.session, ctx, change,
                          f":rewind: <@{user}> finished the rollback: it took "
                          f"{views.spell(took)}.")
        if change.author_id != user:
            await dm(loaded.session, ctx, change, change.author_id,
                     f"The rollback of *{cid}* is finished (it took {views.spell(took)}).",
                     key=f"rollback-finished:{change_id}")
        await refresh_card(loaded.session, ctx, change)
        return StepOutcome(True, f"Rollback of {cid} finished: it took {views.spell(took)}.",
                           change)

    return await _on_change(ctx, change_id, user, act)


BUTTON_PROVIDERS.append(views.deployment_buttons)
CLOSED_BUTTON_PROVIDERS.append(views.rollback_in_progress_buttons)
NOTE_PROVIDERS.append(views.deployment_notes)
PROPOSAL_HOOKS.append(_staging_again_after_revision)


async def _deployed_by_github(loaded: Loaded, ctx: Context, before: ChangeFacts,
                              by: str) -> None:
    """A production deployment GitHub reported is a deployment like ours: its monitoring
    window is watched, and what follows a deployment (an emergency's retrospective) too."""
    change = loaded.change
    if change.monitoring_ends_at is not None:
        await _schedule_window(loaded.session, ctx, change, change.monitoring_ends_at)
    await _after(loaded, ctx, "deployed", by, before)


github_deployments.DEPLOY_HOOKS.append(_deployed_by_github)
