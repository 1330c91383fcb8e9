"""The evidence pack of a period in its three formats, exported as the bot does it (people
named through Slack), for the freeze tests to read the deployments inside a freeze from."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

from bot.evidence.delivery import names
from bot.evidence.export import export
from bot.evidence.period import parse_period
from tests.harness import BotHarness


@dataclass(frozen=True)
class Packs:
    markdown: str
    json: dict[str, Any]
    csv: list[dict[str, str]]
    described: str  # what the bot says of the pack when it posts it

    def markdown_section(self, heading: str) -> list[str]:
        """The table rows of a `###` section of the Markdown pack (or its one line)."""
        section = self.markdown.split(f"\n### {heading}\n\n", 1)[1].split("\n### ", 1)[0]
        rows = [line for line in section.splitlines() if line.startswith("| ")]
        return rows[1:] if rows else [section.strip()]  # without the header


async def exported(bot: BotHarness, first_day: str, last_day: str) -> Packs:
    texts = {}
    described = ""
    for fmt in ("md", "json", "csv"):
        out = io.StringIO()
        pack = await export(bot.ctx.db, bot.ctx.policy, parse_period(first_day, last_day), fmt,
                            out, now=bot.clock.now(),
                            names=lambda ids: names(bot.ctx.slack, ids))
        texts[fmt] = out.getvalue()
        described = pack.describe()
    return Packs(texts["md"], json.loads(texts["json"]),
                 list(csv.DictReader(io.StringIO(texts["csv"]))), described)
