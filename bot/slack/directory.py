"""Who is in which Slack user group (security team, tech leads, deployers), cached briefly."""

from __future__ import annotations

from datetime import timedelta

from slack_sdk.errors import SlackApiError

from bot.context import Context
from bot.runtime.clock import ttl_cache

CACHE_FOR = timedelta(minutes=5)


class DirectoryUnavailable(Exception):  # noqa: N818
    """Slack did not tell us a group's members; the caller retries or says so."""


async def group_members(ctx: Context, group_id: str | None) -> frozenset[str]:
    if not group_id:
        return frozenset()
    cache = ttl_cache(ctx.cache, "groups", ctx.clock, CACHE_FOR)
    if (cached := cache.get(group_id)) is not None:
        return cached
    try:
        response = await ctx.slack.usergroups_users_list(usergroup=group_id)
    except SlackApiError as exc:
        raise DirectoryUnavailable(
            f"Slack did not list the members of <!subteam^{group_id}>: "
            f"{exc.response.get('error', 'error')}"
        ) from exc
    except Exception as exc:  # connection refused, timeout
        raise DirectoryUnavailable(f"Slack could not be reached: {exc!r}") from exc
    members = frozenset[str](response.get("users", []))
    cache[group_id] = members
    return members


def known_members(ctx: Context, group_id: str) -> frozenset[str] | None:
    """The group's members as the cache has them now, without asking Slack (None: unknown)."""
    found: frozenset[str] | None = ttl_cache(ctx.cache, "groups", ctx.clock, CACHE_FOR).get(
        group_id)
    return found


async def is_member(ctx: Context, group_id: str | None, user: str) -> bool:
    return user in await group_members(ctx, group_id)
