"""What every part of the bot is handed: configuration, database, clock, Slack, metrics."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from slack_sdk.web.async_client import AsyncWebClient

from bot.policy import Policy
from bot.runtime.background import Background
from bot.runtime.clock import Clock
from bot.runtime.metrics import Metrics
from bot.settings import Settings
from storage.db import Database

if TYPE_CHECKING:
    from bot.github.client import GitHubClient
    from bot.slack.pacing import Pacer


class Sweeper(Protocol):
    """What the bot asks of bot.runtime.sweeper.Sweeper (which is built with a Context, so
    this module does not import it): send what was just scheduled, soon (or one row at
    once); run and stop, and give back its claims at shutdown."""

    max_attempts: int
    pacer: Pacer  # Slack's limits per method and channel, asked before each post

    def kick(self) -> None: ...

    def check_payload(self, kind: str, payload: dict | None) -> None: ...

    def start(self, interval: float = 5.0) -> None: ...

    def stop(self, *, finishing: bool = False) -> None: ...

    async def run_once(self) -> int: ...

    async def run_now(self, key: str) -> bool: ...

    async def release_claims(self) -> int: ...


@dataclass
class Context:
    settings: Settings
    policy: Policy
    db: Database
    clock: Clock
    slack: AsyncWebClient
    metrics: Metrics
    background: Background
    github: GitHubClient | None = None
    sweeper: Sweeper = field(init=False)
    # Small per-process caches (user groups, bot identity); never a source of truth.
    cache: dict[str, Any] = field(default_factory=dict)
