"""What each person's desk (the App Home tab) holds, read from the changes as they are now.

Waiting for you: reviews you may give; security reviews and infrastructure approvals, for the
members of those teams (groups.security, groups.infrastructure), read from each change's own
state like its gate, so an item is there exactly while the gate waits for someone who may
give it; verifications due (the monitoring window ended for what you deployed). Your changes,
with the next step of each. In production now: monitoring windows and the time left. Overdue,
for the whole team: verifications past their grace, retrospectives, emergency approvals.
Every item carries its card's link (None until the card is posted). bot.overview.desk draws it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.change.card_view import gates_summary
from bot.change.facts import ChangeFacts
from bot.change.gates import (
    GateState,
    infrastructure_gate,
    infrastructure_reasons,
    owner_awaited,
)
from bot.change.states import IN_PRODUCTION, Category, Status
from bot.context import Context
from bot.deployment.views import spell
from bot.emergency.rules import awaits_emergency_approval
from bot.overview.queries import Summary, open_changes
from bot.policy import Policy
from bot.review.rules import awaits_peer_review, may_add_approval
from bot.schedule.planned import card_link
from bot.security.rules import may_decide_security
from bot.slack import directory
from bot.slack.text import slack_date
from bot.slack.text import user as mention
from storage import repo
from storage.models import Change

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


@dataclass(frozen=True)
class Teams:
    """The teams that approve by role which the viewer is in (Slack user groups)."""

    security: bool = False
    infrastructure: bool = False


@dataclass
class Desk:
    waiting: list[Item] = field(default_factory=list)
    mine: list[Item] = field(default_factory=list)
    in_production: list[Item] = field(default_factory=list)
    overdue: list[Item] = field(default_factory=list)
    unknown_teams: list[str] = field(default_factory=list)  # Slack could not say

    def items(self) -> list[Item]:
        return [*self.waiting, *self.mine, *self.in_production, *self.overdue]


def _item(change: Change, detail: str) -> Item:
    return Item(change.id or 0, change.title, card_link(change), detail)


def _watcher(change: Change) -> str:
    """Who is asked to verify: whoever deployed it, or its author."""
    return change.deployed_by or change.author_id


def awaits_infrastructure_approval(facts: ChangeFacts, policy: Policy, viewer: str,
                                   now: datetime) -> bool:
    """The infrastructure gate waits, and `viewer` (one of the team) may give the approval."""
    return infrastructure_gate(facts, policy, now).state == GateState.pending and (
        may_add_approval(facts, viewer, policy, completes_gate=True).allowed)


def sort_desk(desk: Desk, change: Change, facts: ChangeFacts, ctx: Context, viewer: str, *,
              teams: Teams, now: datetime, gates: str = "") -> None:
    """Put one open change where it belongs on `viewer`'s desk (a pure step, tested alone)."""
    policy = ctx.policy
    asked = " — you were asked by name" if viewer in change.reviewers else ""
    if teams.infrastructure and awaits_infrastructure_approval(facts, policy, viewer, now):
        # One approval of theirs is the team's and counts as a review: one item.
        why = ", ".join(infrastructure_reasons(facts, policy))
        desk.waiting.append(_item(change, f"infrastructure approval for "
                                          f"{mention(change.author_id)} ({why}){asked}"))
    elif owner_awaited(facts, policy, viewer) and may_add_approval(
            facts, viewer, policy, completes_gate=True).allowed:
        owned = ", ".join(f"`{g.pattern}`" for g in (facts.code_owners.groups
                                                      if facts.code_owners else ())
                          if viewer in g.approvers)
        desk.waiting.append(_item(change, f"code owner approval for "
                                          f"{mention(change.author_id)} ({owned}){asked}"))
    elif change.author_id != viewer and awaits_peer_review(facts, policy, viewer) and (
            facts.status in (Status.proposed, Status.in_review)):
        desk.waiting.append(_item(change, f"review for {mention(change.author_id)}{asked}"))
    if teams.security and may_decide_security(facts, viewer, in_security_group=True).allowed:
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


def teams_that_matter(summaries: list[Summary], policy: Policy, viewer: str,
                      now: datetime) -> Teams:
    """The teams whose membership would put something on the viewer's desk: one of the open
    changes waits for that team and the viewer, were they in it, may give its decision."""
    return Teams(
        security=any(may_decide_security(s.card.facts, viewer, in_security_group=True).allowed
                     for s in summaries),
        infrastructure=any(awaits_infrastructure_approval(s.card.facts, policy, viewer, now)
                           for s in summaries),
    )


async def teams_of(ctx: Context, viewer: str, asked: Teams) -> tuple[Teams, list[str]]:
    """Of the teams `asked` about, those the viewer is in (the directory caches them), and
    those Slack could not list now. Slack is asked only when the answer changes the desk."""
    groups, unknown = ctx.policy.groups, []

    async def member(name: str, group: str | None, wanted: bool) -> bool:
        if not wanted:
            return False
        try:
            return await directory.is_member(ctx, group, viewer)
        except directory.DirectoryUnavailable:
            unknown.append(name)
            return False

    security = await member("security", groups.security, asked.security)
    infrastructure = await member("infrastructure", groups.infrastructure, asked.infrastructure)
    return Teams(security, infrastructure), unknown


async def desk_of(ctx: Context, viewer: str) -> Desk:
    now = ctx.clock.now()
    summaries = await open_changes(ctx, viewer)
    teams, unknown = await teams_of(
        ctx, viewer, teams_that_matter(summaries, ctx.policy, viewer, now))
    desk = Desk(unknown_teams=unknown)
    for summary in summaries:
        sort_desk(desk, summary.change, summary.card.facts, ctx, viewer, teams=teams, now=now,
                  gates=gates_summary(summary.card.gates))
    desk.waiting.sort(key=lambda item: "asked by name" not in item.detail)
    async with ctx.db.session() as session:
        for change in await repo.overdue_retrospectives(session, now):
            due = change.retrospective_due_at or now
            desk.overdue.append(_item(change, f"retrospective by {mention(change.author_id)}: "
                                              f"due {slack_date(due)}"))
    return desk
