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
from datetime import time, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
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

from bot.runtime.durations import Duration
from bot.runtime.policy_values import Section, check_zone, parse_days
from bot.schedule.policy import Calendar, Freezes

Mode = Literal["serve", "socket", "migrate", "playground", "cli"]
_GROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")


class Channels(Section):
    changes: str | None = Field(None, description="channel id where change cards are posted")
    engineering: str | None = Field(None, description="channel id for emergency broadcasts")
    audit: str | None = Field(None, description="channel id for audit checkpoints (else changes)")


class Groups(Section):
    security: str | None = Field(None, description="security team user group id (S...)")
    tech_leads: str | None = Field(None, description="tech lead user group id (S...)")
    deployers: str | None = Field(
        None, description="user group allowed to deploy besides the author (optional)"
    )
    evidence: str | None = Field(
        None, description="user group allowed to export evidence (default: tech leads)"
    )
    infrastructure: str | None = Field(
        None, description="infrastructure team user group: approves infrastructure changes"
    )
    reviewers: str | None = Field(
        None, description="user group whose approvals count (optional; default: anyone)"
    )

    @field_validator("infrastructure", "reviewers")
    @classmethod
    def _group_id(cls, value: str | None) -> str | None:
        if value is not None and not _GROUP_ID.match(value):
            raise ValueError(
                f"{value!r} is not a user group id: copy the id (S...) from the group's "
                "page in Slack, e.g. S0123456789"
            )
        return value


class Windows(Section):
    monitoring: Duration = timedelta(minutes=30)
    monitoring_high_risk: Duration = timedelta(minutes=60)
    verification_grace: Duration = timedelta(minutes=30)
    retrospective: Duration = timedelta(hours=24)
    retrospective_warning: Duration = timedelta(hours=4)
    emergency_approval: Duration = timedelta(hours=4)
    review_reminder: Duration = timedelta(hours=4)
    review_escalation: Duration = timedelta(hours=4)
    escalation_repeat: Duration = timedelta(hours=24)
    rollback: Duration = timedelta(minutes=30)


class BusinessHours(Section):
    timezone: str = "UTC"
    days: str = "mon-fri"
    start: time = time(9, 0)
    end: time = time(17, 0)
    holidays_country: str = Field("", description="ISO country code for public holidays")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        check_zone(value)
        return value

    @field_validator("days")
    @classmethod
    def _known_days(cls, value: str) -> str:
        parse_days(value)
        return value

    @field_validator("end")
    @classmethod
    def _after_start(cls, value: time, info: ValidationInfo) -> time:
        start = info.data.get("start")
        if start is not None and value <= start:
            raise ValueError("end must be later than start, e.g. start 09:00 and end 17:00")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def weekdays(self) -> frozenset[int]:
        return parse_days(self.days)


class Review(Section):
    standard: int = Field(1, ge=0)
    normal: int = Field(1, ge=0)
    normal_high_risk: int = Field(2, ge=0)
    high_risk: int = Field(2, ge=0)
    high_risk_tech_leads: int = Field(1, ge=0)
    emergency: int = Field(1, ge=0)
    security_counts_as_peer: bool = False
    # "2 reviewer approvals + tech lead": two peers and a tech lead, three people. True
    # makes the tech lead one of the `high_risk` approvals (two people).
    tech_lead_counts_as_peer: bool = False


DEFAULT_SECURITY_KEYWORDS = [
    "auth", "oauth", "saml", "sso", "jwt", "password", "token", "secret", "credential",
    "encrypt", "decrypt", "crypto", "tls", "ssl", "certificate", "pii", "gdpr", "privacy",
    "iam", "rbac", "permission", "firewall", "security group", "vpc", "kms",
    "third party",
]
DEFAULT_SECURITY_PATHS = [
    "**/auth/**", "**/*auth*", "**/*crypto*", "**/*secret*", "terraform/**", "**/iam*",
    "**/*.tf", "**/security/**", "**/permissions/**",
]


class Security(Section):
    keywords: list[str] = Field(default_factory=lambda: list(DEFAULT_SECURITY_KEYWORDS))
    paths: list[str] = Field(default_factory=lambda: list(DEFAULT_SECURITY_PATHS))
    # "High-risk changes: security review required": a tech lead may not override it.
    tech_lead_overrides_high_risk: bool = False


DEFAULT_INFRASTRUCTURE_PATHS = ["terraform/**", "**/*.tf", "k8s/**", "helm/**"]
_CATEGORIES = ("standard", "normal", "high_risk", "emergency")


class Infrastructure(Section):
    """What makes a change an infrastructure change, which the infrastructure team approves
    (groups.infrastructure): the proposal's infrastructure checkbox, these paths in its pull
    request, or its category."""

    paths: list[str] = Field(default_factory=lambda: list(DEFAULT_INFRASTRUCTURE_PATHS))
    categories: list[str] = Field(default_factory=list)

    @field_validator("paths")
    @classmethod
    def _globs(cls, value: list[str]) -> list[str]:
        return check_globs(value)

    @field_validator("categories")
    @classmethod
    def _known_categories(cls, value: list[str]) -> list[str]:
        unknown = [c for c in value if c not in _CATEGORIES]
        if unknown:
            raise ValueError(
                f"unknown categor{'y' if len(unknown) == 1 else 'ies'} "
                f"{', '.join(map(repr, unknown))}: the categories are {', '.join(_CATEGORIES)}"
            )
        return value


def glob_problem(pattern: str) -> str | None:
    """Why `pattern` is not a usable glob (paths or check names), or None."""
    if not pattern.strip():
        return "an empty pattern matches nothing: remove it"
    if pattern.startswith("/"):
        return f"{pattern!r} starts with /: paths are relative to the repository root"
    for open_, close in ("[]", "{}"):
        depth = 0
        for char in pattern:
            depth += (char == open_) - (char == close)
            if depth < 0:
                break
        if depth != 0:
            return f"{pattern!r} is a malformed glob: unbalanced {open_}{close}"
    return None


def check_globs(patterns: list[str]) -> list[str]:
    problems = [p for p in map(glob_problem, patterns) if p]
    if problems:
        raise ValueError("; ".join(problems))
    return patterns


class Prefill(Section):
    """What a standard-change template writes into the proposal form."""

    title: str = ""
    description: str = ""
    risk: Literal["low", "medium"] = "low"
    rollback_plan: str = ""
    testing: str = ""


class StandardTemplate(Section):
    """A pre-approved pattern ("Standard changes: low-risk, pre-approved patterns"): what it
    covers, the fields it prefills, and what a change must fit to be handled as standard."""

    name: str = Field("", validate_default=True)
    covers: str = ""
    # Every file of the change's pull request matches one of these (e.g. only lock files);
    # empty: no pull request needed, the declaration is enough.
    only_paths: list[str] = Field(default_factory=list)
    fields: Prefill = Prefill()

    @field_validator("name")
    @classmethod
    def _named(cls, value: str) -> str:
        if not value.strip():
            raise ValueError('every template needs a name, e.g. name = "Dependency update"')
        return value.strip()

    @field_validator("only_paths")
    @classmethod
    def _globs(cls, value: list[str]) -> list[str]:
        return check_globs(value)

    @property
    def slug(self) -> str:
        """How `/change new <slug>` names it: "Dependency update" -> dependency-update."""
        return re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")


DEFAULT_MIGRATION_PATHS = ["**/migrations/**", "**/*.sql"]


class ProposalPolicy(Section):
    templates: list[StandardTemplate] = Field(default_factory=list)
    # A change whose pull request touches these is suggested high-risk ("High-risk changes:
    # database schema changes"); the author may keep their choice, on the record.
    migration_paths: list[str] = Field(default_factory=lambda: list(DEFAULT_MIGRATION_PATHS))

    @field_validator("templates")
    @classmethod
    def _unique(cls, value: list[StandardTemplate]) -> list[StandardTemplate]:
        slugs = [t.slug for t in value]
        twice = sorted({s for s in slugs if slugs.count(s) > 1})
        if twice:
            raise ValueError(f"two templates share the name {', '.join(twice)}: rename one")
        return value

    @field_validator("migration_paths")
    @classmethod
    def _globs(cls, value: list[str]) -> list[str]:
        return check_globs(value)

    def template(self, slug: str) -> StandardTemplate | None:
        return next((t for t in self.templates if t.slug == slug.lower()), None)


class GitHubPolicy(Section):
    # One name, or a list of them: each counts as production (compared without case).
    production_environment: str | list[str] = "production"
    require_ci: bool = True
    reset_approvals_on_push: bool = True
    count_pr_reviews: bool = True
    # Checks (check runs or commit statuses, by name or glob) that must report success: a
    # required check that did not run fails the CI gate.
    required_checks: list[str] = Field(default_factory=list)
    # A pull request whose description follows .github/pull_request_template.md, or that
    # carries `change_label`, opens its change when no change links it yet.
    propose_from_pull_requests: bool = True
    change_label: str = ""
    # The deploy gate (GitHub's custom deployment protection rule, App mode only): a job
    # waiting on another environment is approved at once, unless this is false (then it is
    # left for another rule to decide); a production job whose commit no change links is
    # rejected, unless `deploy_without_change` is "approve".
    approve_other_environments: bool = True
    deploy_without_change: Literal["reject", "approve"] = "reject"
    # The merge gate on a pull request that no change links: "neutral" lets it merge,
    # "pending" holds it (when `Changebot` is a required check).
    merge_without_change: Literal["neutral", "pending"] = "neutral"

    @field_validator("required_checks")
    @classmethod
    def _globs(cls, value: list[str]) -> list[str]:
        return check_globs(value)

    def is_production(self, environment: str | None) -> bool:
        names = ([self.production_environment] if isinstance(self.production_environment, str)
                 else self.production_environment)
        return (environment or "").strip().lower() in {n.strip().lower() for n in names}

    @property
    def production_name(self) -> str:
        """How production is named to people: the first of the names."""
        if isinstance(self.production_environment, str):
            return self.production_environment
        return next(iter(self.production_environment), "production")


class Emergency(Section):
    mention_here: bool = True
    # DESIGN: CI green is a gate for every change with a PR, emergencies included; a team
    # may let an outage fix go out before CI reports (the deploy then records the bypass).
    require_ci: bool = True


class Audit(Section):
    checkpoint: Duration = timedelta(hours=1)  # how often the chain's head goes to Slack


class Policy(BaseModel):
    """The team's process. Build one directly in tests; `load_config` reads it from files."""

    model_config = ConfigDict(frozen=True)

    channels: Channels = Channels()
    groups: Groups = Groups()
    windows: Windows = Windows()
    business_hours: BusinessHours = BusinessHours()
    review: Review = Review()
    security: Security = Security()
    infrastructure: Infrastructure = Infrastructure()
    proposal: ProposalPolicy = ProposalPolicy()
    github: GitHubPolicy = GitHubPolicy()
    emergency: Emergency = Emergency()
    freezes: Freezes = Freezes()
    calendar: Calendar = Calendar()
    audit: Audit = Audit()


class Settings(BaseSettings):
    """Where the bot runs and the secrets it holds; 12-factor, read from the environment."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    database_url: str = "sqlite+aiosqlite:///changebot.db"
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
    "github_token": "GITHUB_TOKEN",
    "github_api_url": "GITHUB_API_URL",
    "github_webhook_secret": "GITHUB_WEBHOOK_SECRET",
    "github_timeout": "GITHUB_TIMEOUT",
    "github_app_id": "GITHUB_APP_ID",
    "github_app_private_key": "GITHUB_APP_PRIVATE_KEY",
    "github_app_private_key_file": "GITHUB_APP_PRIVATE_KEY_FILE",
    "changebot_policy": "CHANGEBOT_POLICY",
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
