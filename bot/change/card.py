"""Gathers what a change card shows from each step of the process, posts or updates it (the
`card` reminder kind), and keeps the card's address."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import InteractiveElement
from sqlalchemy import update
from sqlmodel import col

from bot.change.card_view import (
    CardInput,
    card_message,
    more_menu,
    review_buttons,
    review_more,
)
from bot.change.dms import retire_stale_dms
from bot.change.gates import gates
from bot.change.rows import facts_of
from bot.change.states import CLOSED
from bot.context import Context
from bot.deployment import views as deployment
from bot.deployment import watch
from bot.emergency import views as emergency
from bot.github import views as github
from bot.review import standard
from bot.schedule.conflicts import Planned
from bot.schedule.declared import declared_freezes
from bot.schedule.freeze import Freeze
from bot.schedule.planned import conflict_notes, conflicting, planned_time_notes
from bot.security import views as security
from bot.slack.outbox import load_change, point_extra_cards_to, post_once
from storage import github_store, repo
from storage.models import Approval, Change, DeployGate, Reminder


def revision_notes(change: Change, _approvals: Sequence[Approval]) -> list[str]:
    if change.revision == 1:
        return []
    return [f"Revision {change.revision}: approvals of earlier revisions were reset."]


def card_notes(change: Change, approvals: Sequence[Approval],
               deploy_gates: Sequence[DeployGate] = ()) -> tuple[str, ...]:
    """The context lines of the card, in the order of the process."""
    return (
        *revision_notes(change, approvals),  # Step 1: the proposal was revised
        *github.pull_request_notes(change, approvals),  # Step 2: the PR, CI, its reviews
        *security.security_notes(change, approvals),  # Step 4: why a review is needed
        *security.security_decision_notes(change, approvals),  # ... what the team decided
        *security.dismissal_notes(change, approvals),  # ... or that none is needed
        *deployment.deployment_notes(change, approvals),  # Steps 5-8
        *watch.watch_notes(change, approvals),  # ... who watches the rollout, when
        *github.deploy_gate_notes(deploy_gates),  # Step 6, a GitHub Actions job waiting
        *github.deployment_notes(change, approvals),  # Step 6, when GitHub deployed it
        *emergency.emergency_notes(change, approvals),  # an emergency's obligations
    )


def card_buttons(card: CardInput) -> list[InteractiveElement]:
    """What can be done now, in the order of the process, then the overflow menu of what is
    rarely done. Once the change is closed, only what still applies (finishing a rollback,
    an emergency's retrospective)."""
    if card.facts.status in CLOSED:
        return [*deployment.rollback_in_progress_buttons(card),
                *emergency.retrospective_buttons(card)]
    buttons: list[InteractiveElement] = [
        *review_buttons(card),  # Steps 1 and 3: approve, reject; revise once rejected
        *security.security_buttons(card),  # Step 4, while the review is awaited
        *security.dismiss_buttons(card.change_id, card.facts, card.security_triggers),
        *deployment.deployment_buttons(card),  # Steps 5-8
        *emergency.retrospective_buttons(card),  # an emergency's retrospective
    ]
    more = [
        *review_more(card),  # edit, cancel
        *github.github_more(card),  # Step 2: read the pull request again
        *deployment.deployment_more(card),  # roll back a completed change
    ]
    if more:
        buttons.append(more_menu(card.change_id, more))
    return buttons


def card_input(ctx: Context, change: Change, approvals: Sequence[Approval],
               freezes: Sequence[Freeze] = (), conflicts: Sequence[Planned] = (),
               deploy_gates: Sequence[DeployGate] = ()) -> CardInput:
    facts = facts_of(change, approvals, freezes)
    return CardInput(
        change_id=change.id or 0,
        revision=change.revision,
        security_triggers=tuple(change.security_triggers),
        title=change.title,
        author=change.author_id,
        description=change.description,
        rollback_plan=change.rollback_plan,
        pr_url=change.pr_url,
        planned_at=change.planned_at,
        service=change.service,
        facts=facts,
        # Once deployed, the gates are shown as they stood at the deployment.
        gates=gates(facts, ctx.policy, change.deployed_at or ctx.clock.now()),
        notes=(*card_notes(change, approvals, deploy_gates),
               # When it may ship: its planned time against the freezes, and conflicts.
               *planned_time_notes(ctx.policy, freezes, change), *conflict_notes(conflicts),
               # Step 1 against the pull request: standard templates, suggested risk.
               *standard.proposal_notes(facts, ctx.policy)),
    )


async def render(ctx: Context, change: Change) -> dict:
    async with ctx.db.session() as session:
        approvals = await repo.approvals_of(session, change.id or 0)
        freezes = await declared_freezes(session, change.deployed_at or ctx.clock.now())
        conflicts = [other for other, _ in await conflicting(session, ctx.policy, change)]
        deploy_gates = await github_store.deploy_gates_of(session, change.id or 0)
    card = card_input(ctx, change, approvals, freezes, conflicts, deploy_gates)
    return card_message(card, card_buttons(card))


async def remember_card(ctx: Context, change_id: int, channel: str, ts: str) -> None:
    async with ctx.db.session() as session:
        await session.exec(  # type: ignore[call-overload]
            update(Change)
            .where(col(Change.id) == change_id)
            .values(card_channel=channel, card_ts=ts)
        )


async def send_card(ctx: Context, reminder: Reminder) -> None:
    """Post the change card, or bring the posted one up to date (and the DMs that asked
    for what the change no longer needs)."""
    change = await load_change(ctx, reminder)
    message = await render(ctx, change)
    if change.card_ts is None:
        posted = await post_once(
            ctx, reminder, channel=ctx.policy.channels.changes or "", **message
        )
        await remember_card(ctx, change.id or 0, posted["channel"], posted["ts"])
        if posted["retried"]:  # a post that may have got through twice: keep one card
            await point_extra_cards_to(ctx, change, reminder.key, posted)
    else:
        await ctx.slack.chat_update(channel=change.card_channel or "", ts=change.card_ts,
                                    **message)
    await retire_stale_dms(ctx, change)
