"""Code owners, read through GitHub when a change's pull request is read (bot.github.sync):
the CODEOWNERS file on the pull request's base branch, the lines owning its changed files
(bot.github.codeowners_rules), and the people behind each owner — a login linked to a Slack
person (bot.github.accounts), the members of a `@org/team` when GitHub lists them, the Slack
person with an owner's email. What is read is kept with the pull request
(`pr_info["codeowners"]`); the gate is bot.change.gates.code_owners_gate.

Never raises: GitHub down, a file that cannot be read or a malformed line is written as a
problem, which keeps the gate closed and is said on the card.
"""

from __future__ import annotations

import logging

from bot.context import Context
from bot.github import accounts
from bot.github.client import GitHubError, GitHubNotFound, PullInfo
from bot.github.codeowners_rules import CodeOwners, OwnedGroup, owned_groups, owner_kind, parse

log = logging.getLogger(__name__)

# A team's members are read once per read of the pull request, at most this many.
TEAM_MEMBERS = 100


async def read(ctx: Context, pull: PullInfo) -> CodeOwners | None:
    """What CODEOWNERS says of `pull`'s files; None when the policy does not use it."""
    if not ctx.policy.github.use_codeowners or ctx.github is None:
        return None
    try:
        found = await ctx.github.get_codeowners(pull.ref.full_name, pull.base)
    except GitHubError as exc:
        return CodeOwners(None, problems=(f"CODEOWNERS could not be read from GitHub: "
                                          f"{exc.message}",),
                          retry=not isinstance(exc, GitHubNotFound))
    if found is None:
        return CodeOwners(None)
    if found.text is None:
        return CodeOwners(found.path, problems=(f"{found.path} cannot be read: "
                                                f"{found.problem}",))
    parsed = parse(found.text, found.path)
    groups = owned_groups(parsed.rules, pull.files)
    resolved, notes = await _approvers(ctx, {o for g in groups for o in g.owners})
    return CodeOwners(
        found.path,
        groups=tuple(OwnedGroup(g.pattern, g.owners, g.files,
                                frozenset(who for o in g.owners for who in resolved.get(o, ())))
                     for g in groups),
        problems=parsed.problems, notes=tuple(notes))


async def _approvers(ctx: Context, owners: set[str]) -> tuple[dict[str, set[str]], list[str]]:
    """For each owner, who may approve in their name: GitHub logins (lower case) and the
    Slack people behind them; and the card's notes on teams and emails."""
    resolved: dict[str, set[str]] = {}
    notes: list[str] = []
    for owner in sorted(owners):
        kind = owner_kind(owner)
        if kind == "login":
            resolved[owner] = await _person(ctx, owner.removeprefix("@"))
        elif kind == "team":
            org, _, slug = owner.removeprefix("@").partition("/")
            try:
                assert ctx.github is not None
                members = (await ctx.github.get_team_members(org, slug))[:TEAM_MEMBERS]
            except GitHubError as exc:
                notes.append(f"team {owner} could not be listed ({exc.message}): an approval "
                             "in its name is not recognised — give the bot read access to "
                             "the organisation's members, or name people in CODEOWNERS")
                continue
            resolved[owner] = {who for m in members for who in await _person(ctx, m)}
            notes.append(f"team {owner} counts as any of its members ("
                         f"{', '.join(members) or 'none'})")
        elif kind == "email":
            user = await _by_email(ctx, owner)
            resolved[owner] = {user} if user else set()
            if user is None:
                notes.append(f"{owner} is no Slack person's email: only their GitHub review "
                             "could count, and GitHub does not say whose email it is")
    return resolved, notes


async def _person(ctx: Context, login: str) -> set[str]:
    user = await accounts.slack_user_for(ctx, login)
    return {login.lower(), *([user] if user else [])}


async def _by_email(ctx: Context, email: str) -> str | None:
    try:
        user = (await ctx.slack.users_lookupByEmail(email=email)).get("user") or {}
    except Exception as exc:  # users_not_found, or Slack trouble: not known for now
        log.info("no Slack user for CODEOWNERS email %s: %r", email, exc)
        return None
    return None if user.get("deleted") or user.get("is_bot") else user.get("id")
