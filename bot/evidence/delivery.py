"""`/change evidence` in Slack: who may ask, and the pack built and put in their DM.

The pack is read-only work on a snapshot: if the bot stops half-way nothing is lost and
asking again builds it again, so it is not carried by a reminder row.
"""

from __future__ import annotations

import logging
import os
import tempfile

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.change.actions import Outcome, refused
from bot.context import Context
from bot.evidence import witness
from bot.evidence.export import Pack, export
from bot.evidence.period import Period
from bot.evidence.rules import evidence_group, may_export_evidence
from bot.slack import directory

log = logging.getLogger(__name__)


async def may_export(ctx: Context, user: str) -> Outcome:
    group = evidence_group(ctx.policy)
    try:
        member = await directory.is_member(ctx, group, user)
    except directory.DirectoryUnavailable:
        return refused("I couldn't check with Slack who may export evidence. Nothing was "
                       "built; please try again in a minute.")
    decision = may_export_evidence(member, group)
    return Outcome(decision.allowed, decision.reason)


async def names(slack: AsyncWebClient, user_ids: set[str]) -> dict[str, str]:
    """Slack user id -> real name, for naming people in the pack; an unknown id keeps no
    name."""
    found = {}
    for user_id in sorted(user_ids):
        try:
            profile = (await slack.users_info(user=user_id))["user"]
        except SlackApiError:
            continue
        found[user_id] = profile.get("real_name") or profile.get("name") or user_id
    return found


async def deliver(ctx: Context, user: str, period: Period, fmt: str) -> Outcome:
    """Post a progress message in the person's DM, build the pack, upload it there as a
    file (files_upload_v2) and update the progress message with what it holds."""
    dm = (await ctx.slack.conversations_open(users=user))["channel"]["id"]
    progress = await ctx.slack.chat_postMessage(
        channel=dm, text=f":hourglass_flowing_sand: Building the evidence pack for "
        f"{period.label}… I'll post it here as a file.",
    )
    handle, path = tempfile.mkstemp(prefix="changebot-evidence-", suffix=f".{fmt}")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            pack = await export(ctx.db, ctx.policy, period, fmt, out, now=ctx.clock.now(),
                                names=lambda ids: names(ctx.slack, ids))
        await ctx.slack.files_upload_v2(
            channel=dm, file=path, filename=pack.filename, title=pack.filename,
            initial_comment=summary_text(pack), request_file_info=False,
        )
    except Exception:
        log.exception("evidence pack for %s failed", period.label)
        ctx.metrics.errors.labels(where="evidence pack").inc()
        text = (f":x: I couldn't build or upload the evidence pack for {period.label}. "
                "Nothing was shared; please ask again with `/change evidence`.")
        await ctx.slack.chat_update(channel=dm, ts=progress["ts"], text=text)
        return refused(text)
    finally:
        os.unlink(path)
    await ctx.slack.chat_update(
        channel=dm, ts=progress["ts"],
        text=f":white_check_mark: The evidence pack for {period.label} is ready below: "
        f"{summary_text(pack)}",
    )
    try:  # the head the pack names, witnessed outside the database
        await witness.checkpoint(ctx, why="evidence export")
    except Exception:
        log.exception("audit checkpoint after the evidence pack for %s failed", period.label)
        ctx.metrics.errors.labels(where="audit checkpoint").inc()
    return Outcome(True, summary_text(pack))


def summary_text(pack: Pack) -> str:
    s = pack.summary
    return (f"{s.changes} change(s), {s.exceptions} exception(s) ({s.broken} rule(s) broken, "
            f"{s.bypassed} bypassed), {s.unmatched_deployments} GitHub production "
            f"deployment(s) matching no change. Audit log head `{pack.info.audit_head}` "
            f"({pack.info.audit_events} events): check it with `changebot audit verify "
            f"--expect-head {pack.info.audit_head}`.")
