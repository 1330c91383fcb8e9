"""For the evidence pack: every production deployment that happened inside a freeze.

The pack (bot.evidence) calls `frozen_deployments(session, policy, start, end)` for its
period and lists what it returns. A change deployed inside a freeze also carries the rule
on its own record (a `freeze` deploy exception, or the emergency's `gate_bypassed` event);
this list adds GitHub deployments that matched no change, and puts them all in one place.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.change.states import Category, format_change_id
from bot.policy import Policy
from bot.schedule.declared import as_freeze
from bot.schedule.freeze import Freeze, freeze_at
from storage import freeze_store


@dataclass(frozen=True)
class ProductionDeployment:
    at: datetime
    change_id: int | None  # None: a GitHub deployment that matched no change
    by: str
    emergency: bool = False
    source: str = "slack"  # slack | github
    where: str = ""  # the repository, for a GitHub deployment


@dataclass(frozen=True)
class FrozenDeployment:
    deployment: ProductionDeployment
    freeze: Freeze

    @property
    def change(self) -> str:
        cid = self.deployment.change_id
        return format_change_id(cid) if cid else f"unmatched ({self.deployment.where})"

    @property
    def how(self) -> str:
        """`bypassed` under the emergency process, else `broken`."""
        return "bypassed" if self.deployment.emergency else "broken"

    def as_row(self) -> dict[str, str]:
        """One line of the pack: change, when, by whom, which freeze, broken or bypassed."""
        return {"change": self.change, "at": self.deployment.at.isoformat(),
                "by": self.deployment.by, "source": self.deployment.source,
                "freeze": self.freeze.name, "reason": self.freeze.reason, "rule": self.how}


def deployments_in_freezes(policy: Policy, declared: Sequence[Freeze],
                           deployments: Iterable[ProductionDeployment]) -> list[FrozenDeployment]:
    """The deployments that happened while a freeze held, oldest first."""
    found = []
    for deployment in sorted(deployments, key=lambda d: d.at):
        holding = freeze_at(policy, declared, deployment.at)
        if holding is not None:
            found.append(FrozenDeployment(deployment, holding))
    return found


async def frozen_deployments(session: AsyncSession, policy: Policy, start: datetime,
                             end: datetime) -> list[FrozenDeployment]:
    """Every production deployment in [start, end) that happened inside a freeze: changes
    deployed (through Slack or GitHub), and GitHub deployments that matched no change or
    deployed a change again."""
    changes, reported = await freeze_store.production_deployments(session, start, end)
    declared = [as_freeze(row) for row in await freeze_store.overlapping(session, start, end)]
    emergency = {c.id for c in changes if c.category == Category.emergency.value}
    seen = {(c.id, c.deployed_at) for c in changes}
    deployments = [
        ProductionDeployment(c.deployed_at, c.id, c.deployed_by or "",  # type: ignore[arg-type]
                             c.id in emergency,
                             "github" if c.deploy_method == "automated" else "slack")
        for c in changes
    ]
    deployments += [
        ProductionDeployment(d.at, d.change_id, f"gh:{d.creator}", d.change_id in emergency,
                             "github", d.repo)
        for d in reported if (d.change_id, d.at) not in seen
    ]
    return deployments_in_freezes(policy, declared, deployments)
