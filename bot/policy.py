"""The team's policy: every number and name of the written process, as defaults a team may
change (bot.settings reads it from the TOML file and the environment).
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from bot.runtime.durations import Duration
from bot.runtime.policy_values import Section, check_group, check_zone, parse_days
from bot.schedule.policy import Calendar, Freezes


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
        return check_group(value)


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


# A list of globs (paths, check names), each checked as the policy is read.
Globs = Annotated[list[str], AfterValidator(check_globs)]


class Infrastructure(Section):
    """What makes a change an infrastructure change, which the infrastructure team approves
    (groups.infrastructure): the proposal's infrastructure checkbox, these paths in its pull
    request, or its category."""

    paths: Globs = Field(default_factory=lambda: list(DEFAULT_INFRASTRUCTURE_PATHS))
    categories: list[str] = Field(default_factory=list)

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
    only_paths: Globs = Field(default_factory=list)
    # The pull request carries one of these labels (compared without case); with only_paths
    # too, both must hold.
    labels: list[str] = Field(default_factory=list)
    fields: Prefill = Prefill()

    @field_validator("name")
    @classmethod
    def _named(cls, value: str) -> str:
        if not value.strip():
            raise ValueError('every template needs a name, e.g. name = "Dependency update"')
        return value.strip()

    @field_validator("labels")
    @classmethod
    def _named_labels(cls, value: list[str]) -> list[str]:
        if any(not label.strip() for label in value):
            raise ValueError('an empty label matches no pull request: remove it, or name the '
                             'label, e.g. labels = ["dependencies"]')
        return [label.strip() for label in value]

    @property
    def slug(self) -> str:
        """How `/change new <slug>` names it: "Dependency update" -> dependency-update."""
        return re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")


DEFAULT_MIGRATION_PATHS = ["**/migrations/**", "**/*.sql"]


# The longest service name: what Slack shows of a menu option.
SERVICE_LIMIT = 75
SERVICES_LIMIT = 100  # the options a Slack menu holds


class ProposalPolicy(Section):
    templates: list[StandardTemplate] = Field(default_factory=list)
    # A change whose pull request touches these is suggested high-risk ("High-risk changes:
    # database schema changes"); the author may keep their choice, on the record.
    migration_paths: Globs = Field(default_factory=lambda: list(DEFAULT_MIGRATION_PATHS))
    # The service a change ships to (the forms' *Service* field; conflicts are found on it):
    # with `services`, the forms offer these in a menu and accept nothing else; without,
    # any name is typed. `require_service`: no change without one.
    services: list[str] = Field(default_factory=list)
    require_service: bool = False

    @field_validator("services")
    @classmethod
    def _services(cls, value: list[str]) -> list[str]:
        names = [name.strip() for name in value]
        problems = []
        if any(not name for name in names):
            problems.append("a service has an empty name")
        problems += [f"the service name {name!r} is longer than {SERVICE_LIMIT} characters"
                     for name in names if len(name) > SERVICE_LIMIT]
        lowered = [name.lower() for name in names]
        twice = sorted({name for name in lowered if lowered.count(name) > 1})
        if twice:
            problems.append(f"services listed twice: {', '.join(twice)}")
        if len(names) > SERVICES_LIMIT:
            problems.append(f"{len(names)} services: a Slack menu holds {SERVICES_LIMIT}")
        if problems:
            raise ValueError("; ".join(problems))
        return names

    @field_validator("templates")
    @classmethod
    def _unique(cls, value: list[StandardTemplate]) -> list[StandardTemplate]:
        slugs = [t.slug for t in value]
        twice = sorted({s for s in slugs if slugs.count(s) > 1})
        if twice:
            raise ValueError(f"two templates share the name {', '.join(twice)}: rename one")
        return value

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
    required_checks: Globs = Field(default_factory=list)
    # A pull request whose description follows .github/pull_request_template.md, or that
    # carries `change_label`, opens its change when no change links it yet.
    propose_from_pull_requests: bool = True
    change_label: str = ""
    # The repository's CODEOWNERS (read through GitHub, on the pull request's base branch)
    # names whose approval each changed file needs: the card's "Code owners" gate.
    use_codeowners: bool = False
    # The deploy gate (GitHub's custom deployment protection rule, App mode only): a job
    # waiting on another environment is approved at once, unless this is false (then it is
    # left for another rule to decide); a production job whose commit no change links is
    # rejected, unless `deploy_without_change` is "approve".
    approve_other_environments: bool = True
    deploy_without_change: Literal["reject", "approve"] = "reject"
    # The merge gate on a pull request that no change links: "neutral" lets it merge,
    # "pending" holds it (when `Changebot` is a required check).
    merge_without_change: Literal["neutral", "pending"] = "neutral"

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
