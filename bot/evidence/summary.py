"""The summary at the top of the pack, counted as the records stream past, and what names
the pack."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.change.states import Category
from bot.evidence.period import Period
from bot.evidence.records import (
    BYPASSED,
    ChangeRecord,
    Checkpoint,
)
from bot.policy import Policy
from bot.schedule.evidence import FrozenDeployment


@dataclass
class Summary:
    """Counted as the records stream past (nothing but counters is kept)."""

    changes: int = 0
    deployed: int = 0
    rolled_back: int = 0
    not_deployed: int = 0
    emergencies: int = 0
    exceptions: int = 0
    broken: int = 0
    bypassed: int = 0
    sod_failures: int = 0
    changes_with_exceptions: int = 0
    unmatched_deployments: int = 0
    inside_freezes: int = 0  # production deployments while a freeze held
    inside_freezes_bypassed: int = 0  # of which under the emergency process
    by_category: Counter = field(default_factory=Counter)
    by_status: Counter = field(default_factory=Counter)
    by_rule: Counter = field(default_factory=Counter)

    def add(self, record: ChangeRecord) -> None:
        self.changes += 1
        self.by_category[record.category] += 1
        self.by_status[record.status] += 1
        if record.deployment is not None:
            self.deployed += 1
        else:
            self.not_deployed += 1
        if record.rollback is not None:
            self.rolled_back += 1
        if record.category == Category.emergency:
            self.emergencies += 1
        if record.segregation.result == "fail":
            self.sod_failures += 1
        if record.exceptions:
            self.changes_with_exceptions += 1
        for exception in record.exceptions:
            self.exceptions += 1
            self.by_rule[exception.rule] += 1
            if exception.kind == BYPASSED:
                self.bypassed += 1
            else:
                self.broken += 1

    def add_frozen(self, frozen: Sequence[FrozenDeployment]) -> None:
        self.inside_freezes = len(frozen)
        self.inside_freezes_bypassed = sum(1 for f in frozen if f.how == "bypassed")

    def as_dict(self) -> dict[str, Any]:
        return {
            "changes": self.changes, "deployed": self.deployed,
            "rolled_back": self.rolled_back, "not_deployed": self.not_deployed,
            "emergencies": self.emergencies, "exceptions": self.exceptions,
            "broken": self.broken, "bypassed": self.bypassed,
            "changes_with_exceptions": self.changes_with_exceptions,
            "segregation_of_duties_failures": self.sod_failures,
            "unmatched_deployments": self.unmatched_deployments,
            "deployments_inside_freezes": self.inside_freezes,
            "deployments_inside_freezes_by_rule": {
                "broken": self.inside_freezes - self.inside_freezes_bypassed,
                "bypassed": self.inside_freezes_bypassed},
            "by_category": dict(self.by_category), "by_status": dict(self.by_status),
            "exceptions_by_rule": dict(self.by_rule),
        }


@dataclass(frozen=True)
class PackInfo:
    """What names the pack: the period, when it was made, and the audit log it came from."""

    period: Period
    generated_at: datetime
    audit_head: str
    audit_events: int
    policy: Policy
    checkpoints: tuple[Checkpoint, ...] = ()  # the chain's head witnessed in Slack

