"""The GitHub App's credentials as the settings give them; apart from bot.github.app_auth so
that reading the settings does not load PyGithub."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AppCredentials:
    app_id: str
    private_key: str  # PEM text
