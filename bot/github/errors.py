"""What can go wrong talking to GitHub, each with a `message` fit to show a person, and the
translation of PyGithub's and requests' exceptions into them."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from github.GithubException import GithubException

log = logging.getLogger(__name__)


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


def translate(exc: BaseException, *, not_found: str, now: datetime, timeout: float) -> GitHubError:
    if isinstance(exc, GitHubError):
        return exc
    # Here, not at the top: PyGithub and requests load only once GitHub is called.
    import requests
    from github.GithubException import BadAttributeException, GithubException

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
