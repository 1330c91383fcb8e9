"""What each person's desk (the App Home tab) holds, read from the changes as they are now.

Waiting for you: reviews you may give, security reviews (for the members they were asked of),
verifications due (the monitoring window ended for what you deployed). Your changes, with the
next step of each. In production now: monitoring windows and the time left. Overdue, for the
whole team: verifications past their grace, retrospectives, emergency approvals.
Every item carries its card's link (None until the card is posted). bot.overview.desk draws it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.change.card_view import gates_summary
from bot.change.facts import ChangeFacts
from bot.change.gates import gates
from bot.change.rows import facts_of
from bot.change.states import IN_PRODUCTION, Category, Status
from bot.context import Context
from bot.deployment.views import spell
from bot.emergency.rules import awaits_emergency_approval
from bot.review.rules import awaits_peer_review
from bot.schedule.planned import card_link
from bot.security.rules import awaits_security_review
from bot.slack.text import slack_date
from bot.slack.text import user as mention
from storage import repo
from storage.models import AuditEvent, Change

# The next step of a change of yours, by its status.
NEXT_STEP = {
    Status.proposed: "waits for its reviews",
    Status.in_review: "waits for its reviews",
    Status.approved: "approved: deploy it to staging",
    Status.staging: "on staging: verify it there",
    Status.ready: "ready: deploy it to production",
    Status.deploying: "deploying to production",
    Status.monitoring: "in production: watch it, then verify and close it",
}


@dataclass(frozen=True)
class Item:
    change_id: int
    title: str
    link: str | None  # the card in Slack
    detail: str


@dataclass
class Desk:
    waiting: list[Item] = field(default_factory=list)
    mine: list[Item] = field(default_factory=list)
    in_production: list[Item] = field(default_factory=list)
    overdue: list[Item] = field(default_factory=list)

    def items(self) -> list[Item]:
        return [*self.waiting, *self.mine, *self.in_production, *self.overdue]


def _item(change: Change, detail: str) -> Item:
    return Item(change.id or 0, change.title, card_link(change), detail)


def _watcher(change: Change) -> str:
    """Who is asked to verify: whoever deployed it, or its author."""
    return change.deployed_by or change.author_id


def sort_desk(desk: Desk, change: Change, facts: ChangeFacts, ctx: Context, viewer: str, *,
              security_reviewer: bool, now: datetime, gates: str = "") -> None:
    """Put one open change where it belongs on `viewer`'s desk (a pure step, tested alone)."""
    policy = ctx.policy
    if change.author_id != viewer and awaits_peer_review(facts, policy, viewer) and (
            facts.status in (Status.proposed, Status.in_review)):
        asked = " — you were asked by name" if viewer in change.reviewers else ""
        desk.waiting.append(_item(change, f"review for {mention(change.author_id)}{asked}"))
    if security_reviewer and awaits_security_review(facts):
        desk.waiting.append(_item(change, "security review for the security team"))
    ends = change.monitoring_ends_at
    if facts.status == Status.monitoring and ends is not None:
        if ends > now:
            desk.in_production.append(_item(
                change, f"deployed by {mention(_watcher(change))} · {spell(ends - now)} of "
                        "monitoring left"))
        elif now < ends + policy.windows.verification_grace:
            if _watcher(change) == viewer:
                desk.waiting.append(_item(change, f"verify it or roll it back: the window "
                                                  f"ended {slack_date(ends)}"))
        else:
            desk.overdue.append(_item(
                change, f"verification by {mention(_watcher(change))}: the window ended "
                        f"{spell(now - ends)} ago"))
    if change.author_id == viewer and facts.status in NEXT_STEP:
        desk.mine.append(_item(change, NEXT_STEP[facts.status] + (f" · _{gates}_" if gates
                                                                 else "")))
    if (facts.category == Category.emergency and facts.status in IN_PRODUCTION
            and change.deployed_at is not None
            and change.deployed_at <= now - policy.windows.emergency_approval
            and awaits_emergency_approval(facts, policy)):
        desk.overdue.append(_item(change, "emergency approval: deployed "
                                          f"{slack_date(change.deployed_at)}, still unapproved"))


async def _security_asked(session: AsyncSession, viewer: str, change_ids: list[int]
                          ) -> set[int]:
    """Of these changes, those whose security review was asked of `viewer`: the members the
    routing reached are on record (bot.security.routing), so no directory call is needed."""
    if not change_ids:
        return set()
    found = await session.exec(select(AuditEvent.change_id, AuditEvent.detail).where(
        col(AuditEvent.change_id).in_(change_ids),
        AuditEvent.action == "security_review_requested"))
    return {change_id or 0 for change_id, detail in found.all()
            if viewer in (detail.get("members") or ())}


# What the desk reads of each open change: what its facts (bot.change.rows) and its item
# need. Not its texts, nor the records of its staging, verification or rollback.
DESK_COLUMNS = (
    Change.id, Change.title, Change.author_id, Change.reviewers, Change.category, Change.risk,
    Change.status, Change.revision, Change.security_required, Change.security_checkboxes,
    Change.pr_url, Change.pr_info, Change.ci_state, Change.ci_detail,
    Change.staging_verified_at, Change.deployed_at, Change.deployed_by,
    Change.monitoring_ends_at, Change.rollback_started_at, Change.rollback_finished_at,
    Change.retrospective_due_at, Change.retrospective_done_at, Change.card_channel,
    Change.card_ts,
)


async def desk_of(ctx: Context, viewer: str) -> Desk:
    """Every open change sorted onto the desk: their facts only, in three queries whatever
    their number; the gates are worked out for the viewer's own changes alone."""
    now = ctx.clock.now()
    desk = Desk()
    async with ctx.db.snapshot() as session:
        changes = await repo.open_changes(session, viewer, *DESK_COLUMNS)
        approvals = await repo.approvals_by_change(session, [c.id for c in changes],
                                                   *repo.DECISION_COLUMNS)
        retrospectives = await repo.overdue_retrospectives(session, now)
        facts = {c.id: facts_of(c, approvals[c.id]) for c in changes}
        asked = await _security_asked(session, viewer, [
            change_id for change_id, f in facts.items() if awaits_security_review(f)])
    for change in changes:
        gates_text = (gates_summary(gates(facts[change.id], ctx.policy,
                                          change.deployed_at or now))
                      if change.author_id == viewer else "")
        sort_desk(desk, change, facts[change.id], ctx, viewer,
                  security_reviewer=change.id in asked, now=now, gates=gates_text)
    desk.waiting.sort(key=lambda item: "asked by name" not in item.detail)
    for change in retrospectives:
        due = change.retrospective_due_at or now
        desk.overdue.append(_item(change, f"retrospective by {mention(change.author_id)}: "
                                          f"due {slack_date(due)}"))
    return desk
