"""One-off freezes: a tech lead declares one (`/change freeze`), anyone lists them
(`/change freeze list`), a tech lead lifts one (`/change unfreeze FRZ-n`). Each declaration
and lift is an audit event, announced in the changes and engineering channels; a refusal
records nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from slack_sdk.models.blocks import ContextBlock, HeaderBlock, MarkdownTextObject, SectionBlock
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.change.states import PRE_PRODUCTION, Status
from bot.context import Context
from bot.deployment.business_hours import describe_days
from bot.runtime.policy_values import parse_days
from bot.schedule.declare import Invalid, overlap_problem, parse_declaration
from bot.schedule.declared import declared_freezes
from bot.schedule.freeze import (
    Freeze,
    dated_span,
    format_freeze_id,
    freeze_at,
    parse_freeze_id,
    zone_of,
)
from bot.slack import directory
from bot.slack import outbox as notify
from bot.slack.blocks import to_dicts
from bot.slack.text import clip, escape, slack_date
from storage import freeze_store, repo
from storage.models import DeclaredFreeze

FREEZE_DECLARED = "freeze_declared"
FREEZE_LIFTED = "freeze_lifted"

NOT_A_TECH_LEAD = ("Only a tech lead (<!subteam^{group}>) can {what}: ask one of them. "
                   "Nothing was recorded.")
COULD_NOT_CHECK = ("I couldn't check with Slack whether you are a tech lead. Nothing was "
                   "recorded; please try again in a minute.")


@dataclass(frozen=True)
class Answer:
    """What to tell the person who typed the command (ephemeral)."""

    ok: bool
    text: str


async def _tech_lead(ctx: Context, user: str) -> bool | None:
    try:
        return await directory.is_member(ctx, ctx.policy.groups.tech_leads, user)
    except directory.DirectoryUnavailable:
        return None


def _refused_to(ctx: Context, is_lead: bool | None, what: str) -> Answer | None:
    if is_lead is None:
        return Answer(False, COULD_NOT_CHECK)
    if not is_lead:
        return Answer(False, NOT_A_TECH_LEAD.format(group=ctx.policy.groups.tech_leads,
                                                    what=what))
    return None


async def _announce(session: AsyncSession, ctx: Context, key: str, text: str) -> None:
    """The same note in the changes and the engineering channels (once each)."""
    channels = dict.fromkeys(c for c in (ctx.policy.channels.changes,
                                         ctx.policy.channels.engineering) if c)
    for channel in channels:
        await notify.schedule(session, ctx, key=f"{key}:{channel}", kind="channel_note",
                              payload={"channel": channel, "text": text})


async def _refresh_cards(session: AsyncSession, ctx: Context, why: str) -> None:
    """The posted cards of changes not yet in production: their Freeze gate changed."""
    for change in await repo.open_changes(session):
        if change.card_ts and Status(change.status) in PRE_PRODUCTION:
            await notify.schedule(session, ctx, key=f"card:{change.id}:{why}", kind="card",
                                  change_id=change.id)


async def declare(ctx: Context, user: str, words: Sequence[str]) -> Answer:
    """`/change freeze FROM TO [ZONE] REASON` by a tech lead."""
    now = ctx.clock.now()
    try:
        declaration = parse_declaration(words, ctx.policy, now)
    except Invalid as invalid:
        return Answer(False, f"{invalid} Nothing was recorded.")
    refusal = _refused_to(ctx, await _tech_lead(ctx, user), "declare a freeze")
    if refusal:
        return refusal
    async with ctx.db.session() as session:
        await freeze_store.lock_declarations(session)
        problem = overlap_problem(declaration, ctx.policy,
                                  await declared_freezes(session, now))
        if problem:
            return Answer(False, f"{problem} Nothing was recorded.")
        row = DeclaredFreeze(starts_at=declaration.starts_at, ends_at=declaration.ends_at,
                             timezone=declaration.timezone, reason=declaration.reason,
                             declared_by=user, declared_at=now)
        session.add(row)
        await session.flush()
        name = format_freeze_id(row.id or 0)
        await repo.add_audit(session, at=now, actor=user, action=FREEZE_DECLARED, detail={
            "freeze": row.id, "starts_at": row.starts_at.isoformat(),
            "ends_at": row.ends_at.isoformat(), "timezone": row.timezone,
            "reason": row.reason})
        span = f"from {slack_date(row.starts_at)} to {slack_date(row.ends_at)}"
        await _announce(session, ctx, f"freeze-declared:{row.id}",
                        f":snowflake: *Production freeze {name}* declared by <@{user}>: {span}"
                        f" — {escape(row.reason)}. Only emergency changes may deploy then.")
        await _refresh_cards(session, ctx, f"freeze-declared-{row.id}")
    ctx.sweeper.kick()
    return Answer(True, f"{name} is declared: production is frozen {span} "
                  f"({declaration.timezone}). It is on the record and announced in "
                  f"<#{ctx.policy.channels.changes}> and <#{ctx.policy.channels.engineering}>. "
                  f"`/change unfreeze {name}` lifts it.")


async def lift(ctx: Context, user: str, words: Sequence[str]) -> Answer:
    """`/change unfreeze FRZ-n` by a tech lead: the freeze ends now."""
    try:
        freeze_id = parse_freeze_id(words[0] if words else "")
    except ValueError as exc:
        return Answer(False, f"{exc} Write `/change unfreeze FRZ-3`; `/change freeze list` "
                      "shows them.")
    refusal = _refused_to(ctx, await _tech_lead(ctx, user), "lift a freeze")
    if refusal:
        return refusal
    name, now = format_freeze_id(freeze_id), ctx.clock.now()
    async with ctx.db.session() as session:
        row = await freeze_store.get(session, freeze_id, lock=True)
        if row is None:
            return Answer(False, f"There is no {name}: `/change freeze list` shows the "
                          "freezes. Nothing was changed.")
        if row.lifted_at is not None:
            return Answer(False, f"{name} was already lifted by <@{row.lifted_by}>.")
        if row.ends_at <= now:
            return Answer(False, f"{name} is already over. Nothing was changed.")
        row.lifted_at, row.lifted_by = now, user
        session.add(row)
        await repo.add_audit(session, at=now, actor=user, action=FREEZE_LIFTED,
                             detail={"freeze": freeze_id, "reason": row.reason})
        await _announce(session, ctx, f"freeze-lifted:{freeze_id}",
                        f":sunny: <@{user}> lifted the production freeze {name} "
                        f"({escape(row.reason)}): changes may deploy again.")
        await _refresh_cards(session, ctx, f"freeze-lifted-{freeze_id}")
    ctx.sweeper.kick()
    return Answer(True, f"{name} is lifted. It is on the record and announced.")


async def list_message(ctx: Context) -> dict:
    """`/change freeze list`: the freeze in effect, the declared and dated ones to come,
    the weekly ones of the policy."""
    now = ctx.clock.now()
    async with ctx.db.session() as session:
        declared = await declared_freezes(session, now)
    policy = ctx.policy
    holding = freeze_at(policy, declared, now)
    lines = [f":snowflake: *Frozen now*: {escape(holding.said)} until "
             f"{slack_date(holding.ends_at)}" if holding else ":sunny: No freeze now."]

    def span(freeze: Freeze) -> str:
        by = f", declared by <@{freeze.declared_by}>" if freeze.declared_by else ""
        return (f"• *{escape(freeze.name)}* {slack_date(freeze.starts_at)} → "
                f"{slack_date(freeze.ends_at)} — {escape(freeze.reason or 'no reason given')}"
                f"{by}")

    dated = [s for rule in policy.freezes.dated if (s := dated_span(
        rule, zone_of(rule.timezone, policy))).ends_at > now]
    sections = [
        ("Declared in Slack", [span(f) for f in declared]),
        ("Dated, from the policy", [span(f) for f in sorted(dated, key=lambda f: f.starts_at)]),
        ("Every week, from the policy", [
            f"• *{escape(rule.name)}* {describe_days(parse_days(rule.days))} "
            f"{rule.start}–{rule.end} {rule.timezone or policy.business_hours.timezone}"
            + (f" — {escape(rule.reason)}" if rule.reason else "")
            for rule in policy.freezes.recurring]),
    ]
    blocks = [HeaderBlock(text="Freeze windows"),
              SectionBlock(text=MarkdownTextObject(text=lines[0]))]
    for title, items in sections:
        body = "\n".join(items) if items else "_none_"
        blocks.append(SectionBlock(text=MarkdownTextObject(text=clip(f"*{title}*\n{body}"))))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(
        text="Inside a freeze only emergency changes deploy, and the bypass is recorded. "
             "Tech leads: `/change freeze FROM TO REASON`, `/change unfreeze FRZ-n`.")]))
    text = lines[0].replace("*", "")
    return {"text": text, "blocks": to_dicts(blocks), "response_type": "ephemeral"}

