"""The bot's view of GitHub: pull requests, CI, reviews and labels, plus webhook signatures.

PyGithub is synchronous, so every call runs in a worker thread (`asyncio.to_thread`), never
on the event loop. A PyGithub connection object is not safe to share between threads (it
keeps the pending request on itself), so each worker thread gets its own `github.Github`.

Handlers only ever see `GitHubError` subclasses, each with a `message` fit to show a person.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import math
import re
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar

import github
import requests
from github import Auth, Github
from github.GithubException import BadAttributeException, GithubException

from bot.runtime.clock import Clock, SystemClock

T = TypeVar("T")
log = logging.getLogger(__name__)

__all__ = [
    "Check",
    "CheckState",
    "CiResult",
    "CiState",
    "GitHubAuthError",
    "GitHubClient",
    "GitHubError",
    "GitHubNotFound",
    "GitHubRateLimited",
    "GitHubUnavailable",
    "PrRef",
    "PullInfo",
    "Review",
    "parse_pr_url",
    "verify_webhook_signature",
]


# --------------------------------------------------------------------------- references


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


def _check_run_state(status: str | None, conclusion: str | None) -> CheckState:
    if (status or "").lower() != "completed":
        return "pending"  # queued, in_progress, waiting, requested, pending
    c = (conclusion or "").lower()
    if c in ("success", "neutral", "skipped", "cancelled", "timed_out", "failure"):
        return c  # type: ignore[return-value]
    if c in ("action_required", "startup_failure"):
        return "failure"
    return "pending"  # stale, or a conclusion GitHub may add later: never counts as green


def _status_state(state: str | None) -> CheckState:
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


# --------------------------------------------------------------------------- errors


class GitHubError(Exception):
    """Anything that went wrong talking to GitHub; `message` is for people."""

    default_message = "GitHub could not do that"

    def __init__(self, message: str | None = None, *, status: int | None = None) -> None:
        self.message = message or self.default_message
        self.status = status
        super().__init__(self.message)


class GitHubNotFound(GitHubError):
    default_message = "the pull request does not exist or the token cannot see it"


class GitHubAuthError(GitHubError):
    default_message = "GitHub refused the token (bad credentials or missing permission)"


class GitHubRateLimited(GitHubError):
    def __init__(
        self, reset_at: datetime, message: str | None = None, *, status: int | None = None
    ) -> None:
        self.reset_at = reset_at
        super().__init__(
            message or f"GitHub's rate limit is used up until {reset_at:%H:%M} UTC; try again then",
            status=status,
        )


class GitHubUnavailable(GitHubError):
    default_message = "GitHub is not answering right now; try again in a minute"


def _header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    if not headers:
        return None
    for key, value in headers.items():
        if key.lower() == name.lower():
            return None if value is None else str(value)
    return None


def _translate_github_exception(
    exc: GithubException, *, not_found: str, now: datetime
) -> GitHubError:
    status = exc.status
    headers = exc.headers
    data = exc.data if isinstance(exc.data, dict) else {}
    gh_message = str(data.get("message") or "").strip()
    remaining = _header(headers, "x-ratelimit-remaining")
    retry_after = _header(headers, "retry-after")
    rate_limited = status == 429 or (
        status == 403
        and (
            remaining == "0"
            or retry_after is not None
            or "rate limit" in gh_message.lower()
        )
    )
    if rate_limited:
        reset_at = now + timedelta(minutes=1)
        reset = _header(headers, "x-ratelimit-reset")
        if retry_after is not None and retry_after.strip().isdigit():
            reset_at = now + timedelta(seconds=int(retry_after))
        elif reset is not None:
            with contextlib.suppress(ValueError, OverflowError, OSError):
                reset_at = datetime.fromtimestamp(int(float(reset)), UTC)
        return GitHubRateLimited(reset_at, status=status)
    if status == 401:
        return GitHubAuthError(
            "GitHub rejected the token (bad credentials): check GITHUB_TOKEN", status=status
        )
    if status == 403:
        detail = f" ({gh_message})" if gh_message else ""
        return GitHubAuthError(
            f"the GitHub token is not allowed to do that{detail}", status=status
        )
    if status in (404, 410):
        return GitHubNotFound(not_found, status=status)
    if status >= 500:
        return GitHubUnavailable(
            f"GitHub answered with an error ({status}); try again in a minute", status=status
        )
    detail = f": {gh_message}" if gh_message else ""
    return GitHubError(f"GitHub refused the request ({status}){detail}", status=status)


def _translate(exc: BaseException, *, not_found: str, now: datetime, timeout: float) -> GitHubError:
    if isinstance(exc, GitHubError):
        return exc
    if isinstance(exc, GithubException):
        return _translate_github_exception(exc, not_found=not_found, now=now)
    if isinstance(exc, requests.exceptions.Timeout):
        return GitHubUnavailable(f"GitHub did not answer within {timeout:g} s; try again later")
    if isinstance(exc, (requests.exceptions.RequestException, OSError)):
        return GitHubUnavailable("could not reach GitHub; try again in a minute")
    # Not a failure of GitHub's: a bad answer, a wrong GITHUB_API_URL (PyGithub asserts that
    # URLs in answers belong to the configured server), or a bug. Logged with its traceback.
    log.error("unexpected error while calling GitHub", exc_info=exc)
    if isinstance(exc, BadAttributeException):
        return GitHubError("GitHub sent an answer the bot could not read")
    if isinstance(exc, AssertionError):
        return GitHubError(
            "the bot could not use GitHub's answer: check GITHUB_API_URL"
        )
    return GitHubError(f"unexpected problem talking to GitHub ({type(exc).__name__})")


# --------------------------------------------------------------------------- client


def _aware_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _split_full_name(owner_repo: str) -> str:
    owner, sep, repo = owner_repo.strip().strip("/").partition("/")
    if not sep or not owner or not repo or "/" in repo:
        raise ValueError(f"“{owner_repo}” is not a repository name like OWNER/REPO")
    return f"{owner}/{repo}"


class GitHubClient:
    """Async facade over PyGithub. Every method runs PyGithub in a worker thread.

    `on_call(operation, outcome)` is called after each method (outcome: "ok", or the
    error class name such as "GitHubNotFound"), e.g. to count calls in metrics.
    """

    def __init__(
        self,
        token: str,
        base_url: str = "https://api.github.com",
        *,
        timeout: float = 10.0,
        retry: Any = None,
        clock: Clock | None = None,
        on_call: Callable[[str, str], None] | None = None,
    ) -> None:
        self._token = token
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._retry = retry
        self._clock = clock or SystemClock()
        self._on_call = on_call
        self._local = threading.local()
        self._instances: list[Github] = []
        self._lock = threading.Lock()
        self._closed = False

    # One Github per worker thread: PyGithub's connection object is not thread-safe.
    def _make_github(self) -> Github:
        gh = github.Github(
            base_url=self.base_url,
            auth=Auth.Token(self._token),
            # PyGithub asserts an int here, though requests takes any float (see below).
            timeout=max(1, math.ceil(self.timeout)),
            retry=self._retry,
            seconds_between_requests=None,
            seconds_between_writes=None,
            per_page=100,
            # Lazy: building a repository, pull request or commit from its URL costs no
            # request; only reading its attributes or listing its children does.
            lazy=True,
        )
        if self.timeout != int(self.timeout):
            # Sub-second timeouts: hand requests the float PyGithub would not take. The
            # Requester passes this private value to each connection it opens.
            requester = gh.requester
            if "_Requester__timeout" in vars(requester):
                requester._Requester__timeout = self.timeout  # type: ignore[attr-defined]
        return gh

    def _github(self) -> Github:
        gh: Github | None = getattr(self._local, "gh", None)
        if gh is None:
            with self._lock:
                if self._closed:
                    raise GitHubError("the GitHub client is closed")
                gh = self._make_github()
                self._instances.append(gh)
            self._local.gh = gh
        return gh

    async def _run(self, operation: str, work: Callable[[Github], T], *, not_found: str) -> T:
        if self._closed:
            raise GitHubError("the GitHub client is closed")

        def call() -> T:
            try:
                return work(self._github())
            except Exception as exc:  # every failure becomes a GitHubError
                raise _translate(
                    exc, not_found=not_found, now=self._clock.now(), timeout=self.timeout
                ) from exc

        try:
            result = await asyncio.to_thread(call)
        except GitHubError as exc:
            self._record(operation, type(exc).__name__)
            raise
        self._record(operation, "ok")
        return result

    def _record(self, operation: str, outcome: str) -> None:
        if self._on_call is not None:
            with contextlib.suppress(Exception):  # metrics must never break a call
                self._on_call(operation, outcome)

    # ---- operations

    async def get_pull(self, ref: PrRef) -> PullInfo:
        """The pull request with all its changed files (paged, 100 a page)."""

        def work(gh: Github) -> PullInfo:
            pr = gh.get_repo(ref.full_name).get_pull(ref.number)
            title = pr.title  # the first attribute read fetches the pull request
            files = tuple(f.filename for f in pr.get_files())
            merged = bool(pr.merged)
            return PullInfo(
                ref=ref,
                title=title,
                author=pr.user.login if pr.user is not None else "ghost",
                base=pr.base.ref,
                head=pr.head.ref,
                head_sha=pr.head.sha,
                state=pr.state,
                merged=merged,
                merge_sha=pr.merge_commit_sha if merged else None,
                url=pr.html_url or ref.url,
                files=files,
            )

        return await self._run("get_pull", work, not_found=GitHubNotFound.default_message)

    async def get_ci(self, owner_repo: str, sha: str) -> CiResult:
        """Check runs and commit statuses of `sha`, combined into one verdict."""
        full_name = _split_full_name(owner_repo)
        if not sha or not sha.strip():
            raise ValueError("a commit sha is needed to look up CI")
        sha = sha.strip()

        def work(gh: Github) -> CiResult:
            commit = gh.get_repo(full_name).get_commit(sha)
            checks: list[Check] = []
            for run in commit.get_check_runs():
                checks.append(
                    Check(
                        name=run.name,
                        state=_check_run_state(run.status, run.conclusion),
                        url=run.html_url or run.details_url,
                    )
                )
            combined = commit.get_combined_status()
            statuses = list(combined.statuses)
            if combined.total_count and combined.total_count > len(statuses):
                # More contexts than one page: walk the full list, newest first.
                statuses = list(commit.get_statuses())
            seen: set[str] = set()
            for status in statuses:
                if status.context in seen:
                    continue  # an older status of a context already counted
                seen.add(status.context)
                checks.append(
                    Check(
                        name=status.context,
                        state=_status_state(status.state),
                        url=status.target_url,
                    )
                )
            return CiResult(sha=sha, state=combine_checks(checks), checks=tuple(checks))

        return await self._run(
            "get_ci",
            work,
            not_found="the repository or commit does not exist or the token cannot see it",
        )

    async def get_reviews(self, ref: PrRef) -> list[Review]:
        """Submitted reviews in the order GitHub gives them (oldest first); drafts left out."""

        def work(gh: Github) -> list[Review]:
            pr = gh.get_repo(ref.full_name).get_pull(ref.number)
            reviews: list[Review] = []
            for r in pr.get_reviews():
                submitted = _aware_utc(r.submitted_at)
                state = (r.state or "").upper()
                if submitted is None or state == "PENDING":
                    continue
                reviews.append(
                    Review(
                        login=r.user.login if r.user is not None else "ghost",
                        state=state,
                        submitted_at=submitted,
                        commit_id=r.commit_id,
                        id=r.id,
                    )
                )
            return reviews

        return await self._run("get_reviews", work, not_found=GitHubNotFound.default_message)

    async def get_user_email(self, login: str) -> str | None:
        """The public email of a GitHub user, or None when they keep it private."""
        if not login or not login.strip():
            raise ValueError("a GitHub login is needed")

        def work(gh: Github) -> str | None:
            return gh.get_user(login.strip()).email or None

        return await self._run(
            "get_user_email", work, not_found=f"GitHub has no user “{login.strip()}”"
        )

    async def add_label(self, ref: PrRef, label: str) -> None:
        """Add `label` to the pull request (GitHub creates the label if it is new)."""
        if not label or not label.strip():
            raise ValueError("a label needs a name")

        def work(gh: Github) -> None:
            gh.get_repo(ref.full_name).get_issue(ref.number).add_to_labels(label.strip())

        await self._run("add_label", work, not_found=GitHubNotFound.default_message)

    async def close(self) -> None:
        with self._lock:
            self._closed = True
            instances, self._instances = self._instances, []

        def close_all() -> None:
            for gh in instances:
                gh.close()

        await asyncio.to_thread(close_all)

    async def __aenter__(self) -> GitHubClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


# --------------------------------------------------------------------------- webhooks


def verify_webhook_signature(secret: str, body: bytes, header: str | None) -> bool:
    """Check GitHub's `X-Hub-Signature-256: sha256=<hex>` in constant time."""
    if not secret or not header:
        return False
    scheme, sep, given = header.strip().partition("=")
    if not sep or scheme.lower() != "sha256" or len(given) != 64:
        return False
    try:
        given_bytes = bytes.fromhex(given)
    except ValueError:
        return False
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return hmac.compare_digest(expected, given_bytes)
