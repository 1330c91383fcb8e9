"""Who a reviewer is, as the process names the roles: a tech lead, a member of the
infrastructure team, one of the reviewers (each a Slack user group of the policy). Read
when the person decides and recorded with their decision."""

from __future__ import annotations

from dataclasses import dataclass

from bot.context import Context
from bot.review.rules import may_count_approval
from bot.slack import directory


@dataclass(frozen=True)
class Standing:
    tech_lead: bool = False
    infrastructure: bool = False
    eligible: bool = True  # their approval counts by groups.reviewers (bot.review.rules)


async def standing(ctx: Context, user: str) -> Standing:
    """The person's groups; a group Slack cannot list now counts as not theirs (a GitHub
    review is read again at the next sync)."""
    groups = ctx.policy.groups

    async def member(group: str | None) -> bool:
        try:
            return await directory.is_member(ctx, group, user)
        except directory.DirectoryUnavailable:
            return False

    tech_lead = await member(groups.tech_leads)
    infrastructure = await member(groups.infrastructure)
    eligible = may_count_approval(ctx.policy, reviewer=await member(groups.reviewers),
                                  tech_lead=tech_lead, infrastructure=infrastructure).allowed
    return Standing(tech_lead, infrastructure, eligible)
