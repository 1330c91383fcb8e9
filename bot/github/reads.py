"""What a read of GitHub gives: a pull request's reference (parsed from its link), the pull
request itself, its CI checks and its reviews — plain values, free of PyGithub."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal


@dataclass(frozen=True)
class PrRef:
    """A pull request as people link it: `https://<host>/<owner>/<repo>/pull/<number>`."""

    host: str
    owner: str
    repo: str
    number: int

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.repo}"

    @property
    def url(self) -> str:
        return f"https://{self.host}/{self.owner}/{self.repo}/pull/{self.number}"

    def __str__(self) -> str:
        return f"{self.full_name}#{self.number}"


# The name of Changebot's own check run / commit status (the merge gate): never part of CI.
CHECK_NAME = "Changebot"


_OWNER_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
_REPO_RE = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
_EXAMPLE = "https://github.com/OWNER/REPO/pull/NUMBER"


def parse_pr_url(text: str) -> PrRef:
    """Read a pull-request link; raise `ValueError` with a message for a person otherwise.

    Accepts github.com and GitHub Enterprise hosts, trailing parts such as `/files`,
    `/commits`, a query or a `#fragment`, and Slack's `<url|label>` link markup.
    """
    raw = (text or "").strip()
    shown = raw if len(raw) <= 200 else raw[:200] + "…"
    if raw.startswith("<") and raw.endswith(">"):  # Slack wraps links: <url> or <url|label>
        raw = raw[1:-1].split("|", 1)[0].strip()
    if not raw:
        raise ValueError(f"Give a pull request link, like {_EXAMPLE}.")
    parsed = urllib.parse.urlsplit(raw)
    if parsed.scheme.lower() not in ("http", "https") or not parsed.hostname:
        raise ValueError(
            f"“{shown}” is not a pull request link: expected a web address like {_EXAMPLE}."
        )
    host = parsed.hostname.lower()
    if host == "www.github.com":
        host = "github.com"
    if parsed.port is not None:
        host = f"{host}:{parsed.port}"
    parts = [urllib.parse.unquote(p) for p in parsed.path.split("/") if p]
    if len(parts) >= 3 and parts[2] in ("issues", "discussions", "commit", "tree", "blob"):
        kind = {"issues": "an issue", "discussions": "a discussion", "commit": "a commit"}.get(
            parts[2], "a file or branch"
        )
        raise ValueError(f"“{shown}” is a link to {kind}, not to a pull request ({_EXAMPLE}).")
    if len(parts) < 3 or parts[2] != "pull":
        raise ValueError(f"“{shown}” is not a pull request link: expected {_EXAMPLE}.")
    if len(parts) < 4 or not parts[3].isdigit() or not parts[3].isascii():
        raise ValueError(
            f"“{shown}” has no pull request number: expected {_EXAMPLE}."
        )
    owner, repo, number = parts[0], parts[1], int(parts[3])
    if number <= 0:
        raise ValueError(f"“{shown}” has no valid pull request number (it must be 1 or more).")
    if not _OWNER_RE.match(owner) or not _REPO_RE.match(repo) or repo in (".", ".."):
        raise ValueError(f"“{shown}” does not name a valid repository: expected {_EXAMPLE}.")
    return PrRef(host=host, owner=owner, repo=repo, number=number)


# --------------------------------------------------------------------------- results

CheckState = Literal[
    "success", "failure", "pending", "neutral", "skipped", "cancelled", "timed_out", "error"
]
CiState = Literal["success", "failure", "pending"]

_GREEN: frozenset[str] = frozenset({"success", "neutral", "skipped"})
_RED: frozenset[str] = frozenset({"failure", "cancelled", "timed_out", "error"})


@dataclass(frozen=True)
class PullInfo:
    ref: PrRef
    title: str
    author: str
    base: str
    head: str
    head_sha: str
    state: str  # "open" or "closed" (a merged pull request is closed and merged)
    merged: bool
    merge_sha: str | None  # only when merged; GitHub's test-merge sha of an open PR is dropped
    url: str
    files: tuple[str, ...]
    labels: tuple[str, ...] = ()
    first_commit_at: datetime | None = None  # read apart, once (GitHubClient.first_commit_at)


@dataclass(frozen=True)
class CommitPull:
    """A pull request GitHub associates with a commit."""

    number: int
    head_sha: str
    merge_sha: str | None  # only when merged


@dataclass(frozen=True)
class Check:
    """One check run (by name) or commit status (by context), normalised."""

    name: str
    state: CheckState
    url: str | None


@dataclass(frozen=True)
class CiResult:
    sha: str
    state: CiState
    checks: tuple[Check, ...]

    @property
    def failing(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.state in _RED)

    @property
    def pending(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.state == "pending")


@dataclass(frozen=True)
class Review:
    login: str
    state: str  # APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED
    submitted_at: datetime  # aware, UTC
    commit_id: str
    id: int = 0  # GitHub's review id: the same review read twice is recorded once


def check_run_state(status: str | None, conclusion: str | None) -> CheckState:
    if (status or "").lower() != "completed":
        return "pending"  # queued, in_progress, waiting, requested, pending
    c = (conclusion or "").lower()
    if c in ("success", "neutral", "skipped", "cancelled", "timed_out", "failure"):
        return c  # type: ignore[return-value]
    if c in ("action_required", "startup_failure"):
        return "failure"
    return "pending"  # stale, or a conclusion GitHub may add later: never counts as green


def status_state(state: str | None) -> CheckState:
    s = (state or "").lower()
    if s in ("success", "failure", "error"):
        return s  # type: ignore[return-value]
    return "pending"


def combine_checks(checks: Iterable[Check]) -> CiState:
    """All green → success; any red → failure; otherwise (or nothing at all) → pending."""
    states = [c.state for c in checks]
    if any(s in _RED for s in states):
        return "failure"
    if states and all(s in _GREEN for s in states):
        return "success"
    return "pending"


@dataclass(frozen=True)
class CodeOwnersFile:
    """The CODEOWNERS found in a repository: its text, or why it cannot be read."""

    path: str
    text: str | None
    problem: str


def aware_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def split_full_name(owner_repo: str) -> str:
    owner, sep, repo = owner_repo.strip().strip("/").partition("/")
    if not sep or not owner or not repo or "/" in repo:
        raise ValueError(f"“{owner_repo}” is not a repository name like OWNER/REPO")
    return f"{owner}/{repo}"
