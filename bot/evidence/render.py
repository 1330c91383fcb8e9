"""The evidence pack written out: what every format shares (Markdown for people in
bot.evidence.render_markdown, CSV for spreadsheets in render_csv, JSON complete in
render_json).

A renderer receives the records one at a time and writes them to a temporary file as they
come (`change`); `finish` then writes the header and summary — known only once every
record has been seen — followed by those files. Memory holds one record at a time.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import IO, Any

from bot.change.states import Category, Risk
from bot.deployment.business_hours import describe
from bot.evidence.records import ChangeRecord, GitHubDeployment
from bot.evidence.summary import PackInfo, Summary
from bot.policy import Policy
from bot.review.rules import approval_rule, approvals_wanted
from bot.runtime.durations import spell
from bot.schedule.evidence import FrozenDeployment

TITLE = "Change evidence pack"
CONTROL = "OPS-01 (change management)"


def _spool() -> IO[str]:
    return tempfile.TemporaryFile("w+", encoding="utf-8", newline="")


def copy_spool(spool: IO[str], out: IO[str]) -> None:
    spool.seek(0)
    shutil.copyfileobj(spool, out)


def when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else ""


def stamp(moment: datetime | None) -> str:
    """For spreadsheets: sortable, UTC, no zone suffix (the column names say UTC)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def duration(seconds: int | None) -> str:
    return "" if seconds is None else spell(timedelta(seconds=seconds))


def yes_no(value: bool | None, unknown: str = "") -> str:
    return unknown if value is None else ("yes" if value else "no")


def json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def plain(value: Any) -> Any:
    """dataclasses.asdict without its deep copies (a JSON dump needs none)."""
    if isinstance(value, str | int | float | datetime | None):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def record_json(record: ChangeRecord) -> dict[str, Any]:
    """Everything in the record, plus the derived verdicts (segregation result, labels)."""
    data = plain(record)
    data["segregation"]["result"] = record.segregation.result
    for exception, item in zip(record.exceptions, data["exceptions"], strict=True):
        item["label"] = exception.label
    return data


def person(who: str, names: dict[str, str]) -> str:
    """A Slack user by name and id (`Alice Adams (U0ALICE)`) when Slack told the name; a
    GitHub account (`gh:login`) or an unknown id as recorded."""
    return f"{names[who]} ({who})" if names.get(who) else who


def frozen_json(frozen: FrozenDeployment, names: dict[str, str]) -> dict[str, str]:
    return {**frozen.as_row(), "by_name": names.get(frozen.deployment.by, "")}


def policy_lines(info: PackInfo) -> list[str]:
    policy = info.policy
    review, windows = policy.review, policy.windows

    def span(delta: timedelta) -> str:
        minutes = int(delta.total_seconds() // 60)
        return f"{minutes // 60} h" if minutes % 60 == 0 and minutes >= 60 else f"{minutes} min"

    high_risk = approvals_wanted(approval_rule(policy, Category.high_risk, Risk.high), policy)
    return [
        f"Approvals: standard {review.standard}; normal {review.normal} "
        f"({review.normal_high_risk} when the risk is high); high-risk {high_risk}; "
        f"emergency {review.emergency}, which may come after deployment. Nobody's approval "
        "of their own change counts.",
        *named_rules(policy),
        f"Monitoring after deployment: {span(windows.monitoring)} "
        f"({span(windows.monitoring_high_risk)} for high-risk changes); verification "
        f"expected within {span(windows.verification_grace)} of the window's end.",
        f"Emergency retrospective within {span(windows.retrospective)} of deployment.",
        f"Business hours: {describe(policy.business_hours)}.",
        f"CI must pass when a pull request is linked: {yes_no(policy.github.require_ci)}.",
    ]


def named_rules(policy: Policy) -> list[str]:
    """Who else approves, by the policy: reviewers, infrastructure team, code owners."""
    groups, lines = policy.groups, []
    if groups.reviewers:
        lines.append(f"Only the reviewers ({groups.reviewers}), the tech leads, the "
                     "infrastructure team and code owners awaited may approve.")
    if groups.infrastructure:
        paths = ", ".join(policy.infrastructure.paths) or "none"
        lines.append(f"Infrastructure changes (the checkbox; paths {paths}"
                     + "".join(f"; {c.replace('_', '-')} changes"
                               for c in policy.infrastructure.categories)
                     + f") also need an approval from the infrastructure team "
                     f"({groups.infrastructure}).")
    if policy.github.use_codeowners:
        lines.append("Code owners: the repository's CODEOWNERS names whose approval each "
                     "changed file needs — one approval from an owner of each owned path.")
    return lines


class Renderer:
    extension = ""
    media_type = ""

    def __init__(self) -> None:
        self.body = _spool()  # the changes
        # Slack user id -> name, for the people the records name (filled as they stream).
        self.names: dict[str, str] = {}
        self.exceptions = _spool()  # the summary's list of exceptions
        # The production deployments inside a freeze in the period (set before `change`).
        self.frozen: Sequence[FrozenDeployment] = ()

    def change(self, record: ChangeRecord) -> None:
        raise NotImplementedError

    def finish(self, out: IO[str], info: PackInfo, summary: Summary,
               unmatched: Sequence[GitHubDeployment], people: dict[str, str]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.body.close()
        self.exceptions.close()
