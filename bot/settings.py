"""Deployment settings (secrets, URLs) and the team's policy.

Settings come from the environment and `.env`. The policy comes from a TOML file
(`CHANGEBOT_POLICY`, else `./changebot.toml`), overridden one key at a time by
`CHANGEBOT_<SECTION>__<KEY>`. Every number of the written process is a default here.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from bot.policy import Policy

Mode = Literal["serve", "socket", "migrate", "playground", "cli"]
class Settings(BaseSettings):
    """Where the bot runs and the secrets it holds; 12-factor, read from the environment."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    database_url: str = "sqlite+aiosqlite:///changebot.db"
    # Seconds: to open a PostgreSQL connection; for one statement (migrations excepted);
    # to get the database while someone waits for an answer in Slack (then they are told
    # it cannot be reached: Slack gives up after 3 s).
    database_connect_timeout: float = Field(10.0, gt=0)
    database_command_timeout: float = Field(60.0, gt=0)
    database_answer_timeout: float = Field(2.0, gt=0, le=2.5)
    github_token: str | None = None
    github_api_url: str = "https://api.github.com"
    github_webhook_secret: str | None = None
    github_timeout: float = Field(10.0, gt=0, description="seconds to wait for GitHub's answer")
    # GitHub App mode (check runs, the deploy gate): the App's id and private key (PEM text,
    # or a file holding it).
    github_app_id: str | None = None
    github_app_private_key: str | None = None
    github_app_private_key_file: Path | None = None
    changebot_policy: Path | None = None
    # How long a sweeper's claim on a reminder row holds without a heartbeat (renewed every
    # quarter of it while the work runs): a crashed replica's rows wait this long.
    changebot_claim_lease_seconds: float = Field(
        20.0, gt=0, description="seconds a claimed reminder stays with a replica that died")
    # How long the work after the answers waits for a burst of Slack requests to end (every
    # request answered, none for this long), so that a burst is acknowledged first.
    changebot_answer_quiet_seconds: float = Field(
        0.02, ge=0, le=1, description="seconds without a Slack request before work after "
        "the answers starts")
    changebot_audit_key: SecretStr | None = None  # HMAC key of the audit chain (never stored)

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if re.match(r"^postgres(ql)?://", value):
            raise ValueError(
                "use the asyncpg driver: write postgresql+asyncpg://user@host/db"
            )
        if value.startswith("sqlite://"):
            raise ValueError("use the aiosqlite driver: write sqlite+aiosqlite:///changebot.db")
        return value


@dataclass(frozen=True)
class Config:
    settings: Settings
    policy: Policy


class ConfigError(Exception):
    """Start-up cannot go on; each problem names the setting, what is wrong and the fix."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


_ENV_NAMES = {
    "slack_bot_token": "SLACK_BOT_TOKEN",
    "slack_signing_secret": "SLACK_SIGNING_SECRET",
    "slack_app_token": "SLACK_APP_TOKEN",
    "slack_api_url": "SLACK_API_URL",
    "database_url": "DATABASE_URL",
    "database_connect_timeout": "DATABASE_CONNECT_TIMEOUT",
    "database_command_timeout": "DATABASE_COMMAND_TIMEOUT",
    "database_answer_timeout": "DATABASE_ANSWER_TIMEOUT",
    "github_token": "GITHUB_TOKEN",
    "github_api_url": "GITHUB_API_URL",
    "github_webhook_secret": "GITHUB_WEBHOOK_SECRET",
    "github_timeout": "GITHUB_TIMEOUT",
    "github_app_id": "GITHUB_APP_ID",
    "github_app_private_key": "GITHUB_APP_PRIVATE_KEY",
    "github_app_private_key_file": "GITHUB_APP_PRIVATE_KEY_FILE",
    "changebot_policy": "CHANGEBOT_POLICY",
    "changebot_claim_lease_seconds": "CHANGEBOT_CLAIM_LEASE_SECONDS",
    "changebot_answer_quiet_seconds": "CHANGEBOT_ANSWER_QUIET_SECONDS",
}


def policy_env_name(*path: str) -> str:
    return "CHANGEBOT_" + "__".join(p.upper() for p in path)


def _policy_settings_class(toml_file: Path | None, env_file: str | None) -> type[BaseSettings]:
    class PolicySettings(BaseSettings, Policy):
        model_config = SettingsConfigDict(
            env_prefix="CHANGEBOT_",
            env_nested_delimiter="__",
            env_file=env_file,
            toml_file=toml_file,
            extra="ignore",
            frozen=True,
        )

        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            sources = [init_settings, env_settings, dotenv_settings]
            if toml_file is not None:
                sources.append(TomlConfigSettingsSource(settings_cls))
            return tuple(sources)

    return PolicySettings


def _describe(error: ErrorDetails, *, policy: bool) -> str:
    loc = [str(part) for part in error["loc"]]
    if policy:
        name = ".".join(loc) + f" ({policy_env_name(*loc[:2])})"
    else:
        name = _ENV_NAMES.get(loc[0], loc[0].upper())
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown setting: check its spelling against changebot.example.toml"
    return f"{name}: {message}"


_REQUIRED_POLICY = [
    (("channels", "changes"), "the channel id (C...) where change cards are posted"),
    (("channels", "engineering"), "the channel id (C...) for emergency broadcasts"),
    (("groups", "security"), "the security team's user group id (S...)"),
    (("groups", "tech_leads"), "the tech leads' user group id (S...)"),
]


def load_config(mode: Mode, env_file: str | None = ".env") -> Config:
    """Read settings and policy for `mode`; raise ConfigError listing every problem."""
    problems: list[str] = []
    settings: Settings | None = None
    try:
        settings = Settings(_env_file=env_file)
    except ValidationError as exc:
        problems += [_describe(e, policy=False) for e in exc.errors()]

    toml_file, toml_problems = _policy_file(settings)
    problems += toml_problems

    policy: Policy | None = None
    try:
        loaded = _policy_settings_class(toml_file, env_file)()
        policy = Policy.model_validate(loaded.model_dump())
    except ValidationError as exc:
        problems += [_describe(e, policy=True) for e in exc.errors()]
    except SettingsError as exc:  # an environment value that is not JSON where JSON is needed
        problems += _not_json(exc)

    problems += _missing(mode, settings, policy)
    if settings is not None and mode in ("serve", "socket"):
        problems += github_app_problems(settings)
    if problems:
        raise ConfigError(problems)
    assert settings and policy
    return Config(settings, policy)


def _not_json(exc: SettingsError) -> list[str]:
    section = re.search(r'field "(\w+)"', str(exc))
    prefix = policy_env_name(section.group(1)) + "__" if section else "CHANGEBOT_"
    names = [name for name in os.environ if name.upper().startswith(prefix)]
    return [
        f"{name}: a list must be written as JSON, e.g. {name}='[\"jwt\", \"tls\"]'"
        for name in sorted(names) or [prefix + "…"]
    ]


def _policy_file(settings: Settings | None) -> tuple[Path | None, list[str]]:
    """The TOML policy to read, and what is wrong with it before pydantic looks."""
    named = settings.changebot_policy if settings else os.environ.get("CHANGEBOT_POLICY")
    if named:
        path = Path(named)
        if not path.is_file():
            return None, [
                f"CHANGEBOT_POLICY: no policy file at {path}: "
                "copy changebot.example.toml there or unset the variable"
            ]
    elif Path("changebot.toml").is_file():
        path = Path("changebot.toml")
    else:
        return None, []
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        return None, [f"CHANGEBOT_POLICY: cannot read {path}: {exc}"]
    unknown = [key for key in data if key not in Policy.model_fields]
    return path, [
        f"[{key}] in {path}: unknown section: the sections are "
        + ", ".join(Policy.model_fields)
        for key in unknown
    ]


def _missing(mode: Mode, settings: Settings | None, policy: Policy | None) -> list[str]:
    """What is required for `mode` and not set (on whatever part of the config loaded)."""
    if mode in ("migrate", "playground", "cli"):
        return []
    if settings is None:  # invalid itself (reported): still say what else is missing
        known: dict[str, Any] = {
            name: os.environ[env] for name, env in _ENV_NAMES.items() if env in os.environ
        }
        settings = Settings.model_construct(**known)
    problems = []
    if not settings.slack_bot_token:
        problems.append(
            "SLACK_BOT_TOKEN: missing: set it to the app's bot token (xoxb-...), "
            "found under OAuth & Permissions"
        )
    if mode == "serve" and not settings.slack_signing_secret:
        problems.append(
            "SLACK_SIGNING_SECRET: missing: set it to the signing secret "
            "under Basic Information > App Credentials"
        )
    if mode == "socket" and not settings.slack_app_token:
        problems.append(
            "SLACK_APP_TOKEN: missing: create an app-level token (xapp-...) "
            "with connections:write under Basic Information"
        )
    if policy and policy.github.use_codeowners and not (settings.github_token
                                                        or settings.github_app_id):
        problems.append(
            f"github.use_codeowners ({policy_env_name('github', 'use_codeowners')}): true "
            "needs GitHub to read CODEOWNERS: set GITHUB_TOKEN (or GITHUB_APP_ID and its "
            "key), or set it to false"
        )
    for path, what in _REQUIRED_POLICY if policy else ():
        section = getattr(policy, path[0])
        if not getattr(section, path[1]):
            problems.append(
                f"{'.'.join(path)} ({policy_env_name(*path)}): missing: set it to {what} "
                "in changebot.toml or the environment"
            )
    return problems


def github_app_key(settings: Settings) -> str | None:
    """The GitHub App's private key (PEM text), from the setting or the file it names.
    OSError when the file cannot be read (load_config reports it at start)."""
    if settings.github_app_private_key:
        # An environment variable often carries the PEM with literal "\\n" for newlines.
        return settings.github_app_private_key.replace("\\n", "\n").strip() + "\n"
    if settings.github_app_private_key_file:
        return settings.github_app_private_key_file.read_text(encoding="utf-8")
    return None


def github_app_problems(settings: Settings) -> list[str]:
    """Settings of GitHub App mode that contradict each other: one line each."""
    app_id = (settings.github_app_id or "").strip()
    has_key = bool(settings.github_app_private_key or settings.github_app_private_key_file)
    if not app_id and not has_key:
        return []
    if settings.github_app_private_key and settings.github_app_private_key_file:
        return ["GITHUB_APP_PRIVATE_KEY_FILE: both it and GITHUB_APP_PRIVATE_KEY are set: "
                "keep one of them"]
    if not app_id:
        return ["GITHUB_APP_ID: missing: a GitHub App private key is set, so set the App's "
                "id too (App settings > General > App ID), or remove the key"]
    if not app_id.isdigit():
        return [f"GITHUB_APP_ID: {app_id!r} is not an App id: it is a number, found under "
                "App settings > General > App ID"]
    if not has_key:
        return ["GITHUB_APP_PRIVATE_KEY: missing: GITHUB_APP_ID is set, so set the App's "
                "private key (the .pem text), or GITHUB_APP_PRIVATE_KEY_FILE to its path"]
    name = ("GITHUB_APP_PRIVATE_KEY_FILE" if settings.github_app_private_key_file
            else "GITHUB_APP_PRIVATE_KEY")
    try:
        pem = github_app_key(settings) or ""
    except OSError as exc:
        return [f"{name}: cannot read {settings.github_app_private_key_file}: "
                f"{exc.strerror or exc}"]
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(pem.encode("utf-8"), password=None)
    except (ValueError, TypeError):
        return [f"{name}: not a readable private key: use the .pem file GitHub generated "
                "under App settings > Private keys, unencrypted"]
    if not isinstance(key, RSAPrivateKey):
        return [f"{name}: not an RSA key: GitHub signs App tokens with RS256, so use the "
                ".pem file GitHub generated under App settings > Private keys"]
    return []
