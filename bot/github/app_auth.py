"""GitHub App mode: the App's JWT and one installation token per installation.

PyGithub signs the App's JWT (`Auth.AppAuth`, RS256) and asks GitHub for an installation
token (`GithubIntegration.get_access_token`). The token is cached until shortly before it
expires — by the injected clock, so tests move time instead of waiting an hour — and every
Github object of an installation reads the current token from here at each request
(`InstallationToken`), so a refresh needs no new connection.

Which installation serves a repository comes from `GET /repos/{owner}/{repo}/installation`
(cached); a webhook's `installation.id` is checked against it before it is believed
(bot.github.events).
"""

from __future__ import annotations

import math
import threading
from datetime import UTC, datetime, timedelta

from github import Auth, GithubIntegration

from bot.github.app_credentials import AppCredentials
from bot.runtime.clock import Clock

__all__ = ["AppCredentials", "InstallationToken", "InstallationTokens"]

# A token is fetched again this long before GitHub says it expires (they last an hour).
REFRESH_BEFORE = timedelta(minutes=5)


class InstallationToken(Auth.Auth):
    """An `Authorization: token …` header with the installation's current token."""

    def __init__(self, tokens: InstallationTokens, installation_id: int) -> None:
        self._tokens = tokens
        self.installation_id = installation_id

    @property
    def token_type(self) -> str:
        return "token"

    @property
    def token(self) -> str:
        return self._tokens.token(self.installation_id)

    @property
    def _masked_token(self) -> str:
        return "token (installation token removed)"


class InstallationTokens:
    """The App's installation tokens, fetched when missing or about to expire. Thread-safe:
    PyGithub runs in worker threads."""

    def __init__(self, credentials: AppCredentials, base_url: str, *, clock: Clock,
                 timeout: float, retry: object = None) -> None:
        self.app_auth = Auth.AppAuth(int(credentials.app_id), credentials.private_key)
        self._base_url = base_url
        self._clock = clock
        self._timeout = timeout
        self._retry = retry
        self._lock = threading.Lock()
        self._tokens: dict[int, tuple[str, datetime]] = {}
        self._installations: dict[str, int] = {}

    def integration(self) -> GithubIntegration:
        return GithubIntegration(
            auth=self.app_auth, base_url=self._base_url,
            timeout=max(1, math.ceil(self._timeout)), retry=self._retry,  # type: ignore[arg-type]
            seconds_between_requests=None, seconds_between_writes=None,
        )

    def token(self, installation_id: int) -> str:
        with self._lock:
            cached = self._tokens.get(installation_id)
            if cached is not None and self._clock.now() < cached[1] - REFRESH_BEFORE:
                return cached[0]
            grant = self.integration().get_access_token(installation_id)
            expires = grant.expires_at
            if expires.tzinfo is None:
                expires = expires.replace(tzinfo=UTC)
            self._tokens[installation_id] = (grant.token, expires)
            return grant.token

    def forget(self, installation_id: int) -> None:
        """GitHub refused the token (revoked, or the App was reinstalled): fetch a new one."""
        with self._lock:
            self._tokens.pop(installation_id, None)

    def remember(self, full_name: str, installation_id: int) -> None:
        with self._lock:
            self._installations[full_name.lower()] = installation_id

    def installation_for(self, full_name: str, *, fresh: bool = False) -> int:
        """The installation serving `full_name`; asks GitHub when it is not known yet (or,
        `fresh`, whatever is known)."""
        with self._lock:
            known = None if fresh else self._installations.get(full_name.lower())
        if known is not None:
            return known
        owner, _, repo = full_name.partition("/")
        installation_id = int(self.integration().get_repo_installation(owner, repo).id)
        self.remember(full_name, installation_id)
        return installation_id

    def any_installation(self) -> int | None:
        with self._lock:
            return next(iter(self._installations.values()), None)

