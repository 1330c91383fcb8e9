"""Builds an evidence pack: reads a period from one consistent snapshot of the database,
a batch at a time, and writes it in the chosen format (bot.evidence_render)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import IO

from bot.evidence import witness
from bot.evidence.pack import github_deployment, record_of
from bot.evidence.period import Period
from bot.evidence.render import Renderer
from bot.evidence.render_csv import CsvRenderer
from bot.evidence.render_json import JsonRenderer
from bot.evidence.render_markdown import MarkdownRenderer
from bot.evidence.summary import PackInfo, Summary
from bot.policy import Policy
from bot.schedule.evidence import frozen_deployments
from storage import audit_chain, evidence_store
from storage.db import Database

FORMATS = ("md", "csv", "json")

# Slack user ids -> names, for the pack's who's-who (optional).
NameLookup = Callable[[set[str]], Awaitable[dict[str, str]]]


@dataclass(frozen=True)
class Pack:
    info: PackInfo
    summary: Summary
    format: str

    @property
    def filename(self) -> str:
        period = self.info.period
        return (f"changebot-evidence-{period.first_day.isoformat()}-to-"
                f"{period.last_day.isoformat()}.{self.format}")

    def describe(self) -> str:
        s = self.summary
        return (f"Evidence pack {self.info.period.label}: {s.changes} change(s), "
                f"{s.exceptions} exception(s) ({s.broken} broken, {s.bypassed} bypassed), "
                f"{s.unmatched_deployments} unmatched GitHub production deployment(s), "
                f"{s.inside_freezes} production deployment(s) inside a freeze; "
                f"audit log head {self.info.audit_head} ({self.info.audit_events} events)")


async def export(
    db: Database, policy: Policy, period: Period, fmt: str, out: IO[str], *,
    now: datetime, batch: int = evidence_store.BATCH, names: NameLookup | None = None,
) -> Pack:
    """Write the pack of `period` to `out`; memory holds one batch of changes at a time."""
    if fmt not in FORMATS:
        raise ValueError(f"{fmt!r} is not a format: use md, csv or json")
    people: set[str] = set()
    known: dict[str, str] = {}  # Slack id -> name ("" when Slack does not know it)

    async def learn(named: set[str]) -> None:
        """Each person by name beside their Slack id."""
        unknown = {p for p in named if _slack_id(p) and p not in known}
        if names is not None and unknown:
            found = await names(unknown)
            known.update({p: found.get(p, "") for p in unknown})

    async with db.snapshot() as session:
        head, events = await audit_chain.chain_state(session)
        witnessed = await evidence_store.checkpoints_in_period(
            session, period.start, period.end, witness.CHECKPOINT)
        info = PackInfo(period, now, head, events, policy,
                        tuple(witness.recorded(e) for e in witnessed))
        renderer = renderer_for(fmt, head)
        try:
            unmatched = [github_deployment(d) for d in await evidence_store.unmatched_deployments(
                session, period.start, period.end)]
            summary = Summary(unmatched_deployments=len(unmatched))
            frozen = await frozen_deployments(session, policy, period.start, period.end)
            summary.add_frozen(frozen)
            renderer.frozen = frozen
            people |= {f.deployment.by for f in frozen}
            await learn(people)
            renderer.names = known
            async for rows in evidence_store.changes_in_period(
                session, period.start, period.end, batch=batch
            ):
                record = record_of(rows, policy, now)
                summary.add(record)
                people |= record.people
                await learn(record.people)
                renderer.change(record)
                if summary.changes % 50 == 0:
                    await asyncio.sleep(0)  # a long export inside the bot lets Slack in
        except BaseException:
            renderer.close()
            raise
    try:
        who = {p: name for p, name in known.items() if name and p in people}
        renderer.finish(out, info, summary, unmatched, who)
    finally:
        renderer.close()
    return Pack(info, summary, fmt)


def _slack_id(who: str) -> bool:
    return who[:1] in ("U", "W")


def renderer_for(fmt: str, head: str) -> Renderer:
    if fmt == "md":
        return MarkdownRenderer()
    if fmt == "csv":
        return CsvRenderer(head)
    if fmt == "json":
        return JsonRenderer()
    raise ValueError(f"{fmt!r} is not a format: use md, csv or json")
