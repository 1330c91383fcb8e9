"""The bot's view of GitHub: pull requests, CI, reviews and labels, plus webhook signatures.

PyGithub is synchronous, so every call runs in a worker thread (`asyncio.to_thread`), never
on the event loop. A PyGithub connection object is not safe to share between threads (it
keeps the pending request on itself), so each worker thread gets its own `github.Github`.

Handlers only ever see `GitHubError` subclasses, each with a `message` fit to show a person.
What a read returns (bot.github.reads) and the errors (bot.github.errors) are importable from
here too: the callers of the client need nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from bot.github.client_gates import GateCalls
from bot.github.errors import (
    GitHubAuthError,
    GitHubError,
    GitHubNotFound,
    GitHubRateLimited,
    GitHubUnavailable,
    translate,
)
from bot.github.reads import (
    CHECK_NAME,
    Check,
    CheckState,
    CiResult,
    CiState,
    PrRef,
    PullInfo,
    Review,
    aware_utc,
    check_run_state,
    combine_checks,
    parse_pr_url,
    split_full_name,
    status_state,
)
from bot.github.repository_files import RepositoryFiles
from bot.github.signature import verify_webhook_signature
from bot.runtime.clock import Clock, SystemClock

if TYPE_CHECKING:
    from github import Auth, Github

    from bot.github.app_auth import InstallationTokens
    from bot.github.app_credentials import AppCredentials

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


# --------------------------------------------------------------------------- client


class GitHubClient(GateCalls, RepositoryFiles):
    """Async facade over PyGithub. Every method runs PyGithub in a worker thread.

    `on_call(operation, outcome)` is called after each method (outcome: "ok", or the
    error class name such as "GitHubNotFound"), e.g. to count calls in metrics.
    """

    def __init__(
        self,
        token: str | None,
        base_url: str = "https://api.github.com",
        *,
        app: AppCredentials | None = None,
        timeout: float = 10.0,
        retry: Any = None,
        clock: Clock | None = None,
        on_call: Callable[[str, str], None] | None = None,
    ) -> None:
        """`token`: a personal token; `app`: GitHub App mode (installation tokens), which
        wins when both are given."""
        if not token and app is None:
            raise ValueError("a GitHub token or GitHub App credentials are needed")
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
        self.tokens: InstallationTokens | None = None
        if app is not None:
            # Imported here, as PyGithub is everywhere in this module: PyGithub (with
            # requests and cryptography) loads on first use, so a bot without GitHub does
            # not carry it.
            from bot.github.app_auth import InstallationTokens

            self.tokens = InstallationTokens(app, self.base_url, clock=self._clock,
                                             timeout=timeout, retry=retry)

    @property
    def app_mode(self) -> bool:
        """True in GitHub App mode: check runs and deployment protection rules work."""
        return self.tokens is not None

    def remember_installation(self, full_name: str, installation_id: int) -> None:
        """A webhook said which installation serves `full_name`."""
        if self.tokens is not None:
            self.tokens.remember(full_name, installation_id)

    # One Github per worker thread (and installation): PyGithub's connection object is not
    # thread-safe.
    def _make_github(self, auth: Auth.Auth) -> Github:
        import github  # loaded on first use (see __init__)

        gh = github.Github(
            base_url=self.base_url,
            auth=auth,
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

    def _github(self, full_name: str | None) -> Github:
        """The thread's Github for `full_name` (its installation, in App mode)."""
        installation: int | None = None
        if self.tokens is not None:
            installation = (self.tokens.installation_for(full_name) if full_name
                            else self.tokens.any_installation())
            if installation is None:
                raise GitHubNotFound("no installation of the GitHub App is known yet")
        per_thread: dict[int | None, Github] | None = getattr(self._local, "gh", None)
        if per_thread is None:
            per_thread = self._local.gh = {}
        gh = per_thread.get(installation)
        if gh is None:
            from github import Auth  # loaded on first use (see __init__)

            from bot.github.app_auth import InstallationToken

            auth: Auth.Auth = (InstallationToken(self.tokens, installation)
                               if self.tokens is not None and installation is not None
                               else Auth.Token(self._token or ""))
            with self._lock:
                if self._closed:
                    raise GitHubError("the GitHub client is closed")
                gh = self._make_github(auth)
                self._instances.append(gh)
            per_thread[installation] = gh
        return gh

    async def _run(self, operation: str, work: Callable[[Github], T], *, not_found: str,
                   repo: str | None = None) -> T:
        if self._closed:
            raise GitHubError("the GitHub client is closed")

        def call() -> T:
            from github import BadCredentialsException  # loaded on first use (see __init__)

            try:
                return work(self._github(repo))
            except BadCredentialsException as exc:
                if self.tokens is not None and repo:  # a revoked token: a new one next time
                    with contextlib.suppress(Exception):
                        self.tokens.forget(self.tokens.installation_for(repo))
                raise translate(exc, not_found=not_found, now=self._clock.now(),
                                timeout=self.timeout) from exc
            except GitHubError:
                raise
            except Exception as exc:  # every failure becomes a GitHubError
                raise translate(
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
                labels=tuple(label.name for label in pr.labels),
            )

        return await self._run("get_pull", work, not_found=GitHubNotFound.default_message,
                               repo=ref.full_name)

    async def get_ci(self, owner_repo: str, sha: str) -> CiResult:
        """Check runs and commit statuses of `sha`, combined into one verdict."""
        full_name = split_full_name(owner_repo)
        if not sha or not sha.strip():
            raise ValueError("a commit sha is needed to look up CI")
        sha = sha.strip()

        def work(gh: Github) -> CiResult:
            commit = gh.get_repo(full_name).get_commit(sha)
            checks: list[Check] = []
            for run in commit.get_check_runs():
                if run.name == CHECK_NAME:
                    continue  # Changebot's own merge gate is not CI
                checks.append(
                    Check(
                        name=run.name,
                        state=check_run_state(run.status, run.conclusion),
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
                if status.context in seen or status.context == CHECK_NAME:
                    continue  # an older status of a context already counted, or ours
                seen.add(status.context)
                checks.append(
                    Check(
                        name=status.context,
                        state=status_state(status.state),
                        url=status.target_url,
                    )
                )
            return CiResult(sha=sha, state=combine_checks(checks), checks=tuple(checks))

        return await self._run(
            "get_ci",
            work,
            not_found="the repository or commit does not exist or the token cannot see it",
            repo=full_name,
        )

    async def get_reviews(self, ref: PrRef) -> list[Review]:
        """Submitted reviews in the order GitHub gives them (oldest first); drafts left out."""

        def work(gh: Github) -> list[Review]:
            pr = gh.get_repo(ref.full_name).get_pull(ref.number)
            reviews: list[Review] = []
            for r in pr.get_reviews():
                submitted = aware_utc(r.submitted_at)
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

        return await self._run("get_reviews", work, not_found=GitHubNotFound.default_message,
                               repo=ref.full_name)

    async def first_commit_at(self, ref: PrRef) -> datetime | None:
        """When the pull request's first commit was authored (GitHub lists its commits
        oldest first; only the first page is read); None for a pull request without one."""

        def work(gh: Github) -> datetime | None:
            commits = gh.get_repo(ref.full_name).get_pull(ref.number).get_commits()
            first = next(iter(commits), None)
            author = first.commit.author if first is not None else None
            return aware_utc(author.date) if author is not None else None

        return await self._run("first_commit", work, not_found=GitHubNotFound.default_message,
                               repo=ref.full_name)

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

        await self._run("add_label", work, not_found=GitHubNotFound.default_message,
                        repo=ref.full_name)

    async def add_comment(self, ref: PrRef, body: str) -> None:
        """Comment on the pull request (its conversation, as an issue comment)."""

        def work(gh: Github) -> None:
            gh.get_repo(ref.full_name).get_issue(ref.number).create_comment(body)

        await self._run("add_comment", work, not_found=GitHubNotFound.default_message)

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
