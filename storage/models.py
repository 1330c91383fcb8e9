"""The tables. Times are aware UTC on SQLite and PostgreSQL alike (`UTCDateTime`).

Status, category and risk are their enums in Python and short strings in the database
(storage.enums). JSON columns hold lists and small records that are read whole and written
whole, never edited in place; each write is checked against its shape (storage.shapes).

Ids are `int`: the database gives them when the row is flushed, and nothing reads an id
before that.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import TypeAdapter
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Dialect,
    Index,
    String,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeEngine
from sqlmodel import Field, SQLModel

from storage.enums import Category, Risk, Status
from storage.shapes import (
    CiDetail,
    PullRequestInfo,
    Retrospective,
    Rollback,
    SecurityTrigger,
    Validation,
    Watch,
)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, even on SQLite which keeps no zone."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database: use the injected clock")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


E = TypeVar("E", bound=StrEnum)


class ShortEnum(TypeDecorator[E]):
    """A StrEnum stored as its value in a VARCHAR: the enum in Python, a short string in the
    database (the schema of the migrations, no native enum type)."""

    impl = String
    cache_ok = True

    def __init__(self, enum_class: type[E], length: int) -> None:
        super().__init__(length)
        self.enum_class = enum_class
        self.length = length

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum_class(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> E | None:
        return None if value is None else self.enum_class(value)


def enum_field(enum_class: type[StrEnum], length: int, *, index: bool = False) -> Any:
    return Field(sa_column=Column(ShortEnum(enum_class, length), nullable=False, index=index))


JSONType = JSON().with_variant(JSONB(), "postgresql")


class ShapedJSON(TypeDecorator[Any]):
    """A JSON column whose every write is checked against a pydantic shape; the stored JSON
    is the record as written (a bad key or type raises before anything is sent)."""

    impl = JSONType
    cache_ok = True

    def __init__(self, shape: Any) -> None:
        super().__init__()
        self.shape = shape
        self._adapter: TypeAdapter[Any] = TypeAdapter(shape)

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return dialect.type_descriptor(JSONB() if dialect.name == "postgresql" else JSON())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is not None:
            self._adapter.validate_python(value)
        return value


def utc_field(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index)
    )


def json_field(default_factory: Callable[[], Any] = list, shape: Any = None) -> Any:
    """A JSON column; `shape` (a pydantic model, or e.g. `list[Model]`) checks each write."""
    column_type = JSONType if shape is None else ShapedJSON(shape)
    return Field(default_factory=default_factory, sa_column=Column(column_type, nullable=False))


OPEN_SQL = "status NOT IN ('completed', 'cancelled', 'rolled_back')"


class Change(SQLModel, table=True):
    """A proposed production change: the PR/ticket of Step 1 and where it stands."""

    __tablename__ = "changes"
    # The open changes (/change list, App Home) are a few hundred among 100k closed ones.
    __table_args__ = (
        Index("ix_changes_open", "id",
              sqlite_where=text(OPEN_SQL), postgresql_where=text(OPEN_SQL)),
    )

    id: int = Field(default=None, primary_key=True)
    title: str = Field(max_length=150)
    description: str
    category: Category = enum_field(Category, 16)
    risk: Risk = enum_field(Risk, 8)
    rollback_plan: str
    testing: str = ""
    security_notes: str = ""
    security_checkboxes: list[str] = json_field()
    pr_url: str | None = Field(default=None, max_length=500)
    reviewers: list[str] = json_field()
    planned_at: datetime | None = utc_field()
    # The service it ships to, as the form names it (policy `proposal.services`); conflicts
    # fall back on the linked pull request's repository without it.
    service: str | None = Field(default=None, max_length=100)
    impact: str = ""  # emergencies: what is broken or at risk
    involved: list[str] = json_field()

    # A Slack user id, or gh:<login> for a change opened from GitHub by an unlinked person.
    author_id: str = Field(max_length=64, index=True)
    status: Status = enum_field(Status, 16, index=True)
    revision: int = 1
    created_at: datetime = utc_field(nullable=False)
    updated_at: datetime = utc_field(nullable=False)
    closed_at: datetime | None = utc_field()

    # The Slack view whose submission created it: a retried submission finds this row.
    source_key: str | None = Field(default=None, max_length=64, unique=True)
    card_channel: str | None = Field(default=None, max_length=32)
    card_ts: str | None = Field(default=None, max_length=32)

    # Step 4: security review
    security_required: bool = False
    security_triggers: list[dict[str, Any]] = json_field(list, list[SecurityTrigger])
    # When the security team was last asked (DMs and mention scheduled) for this revision;
    # why it could not be reached yet while the routing is being retried.
    security_routed_at: datetime | None = utc_field()
    security_route_error: str | None = None

    # Step 2: the linked pull request and its CI, as last read from GitHub
    pr_repo: str | None = Field(default=None, max_length=200)
    pr_number: int | None = None
    pr_info: dict[str, Any] = json_field(dict, PullRequestInfo)
    head_sha: str | None = Field(default=None, max_length=64, index=True)
    merge_sha: str | None = Field(default=None, max_length=64, index=True)
    ci_state: str = Field(default="none", max_length=16)
    ci_detail: dict[str, Any] = json_field(dict, CiDetail)
    github_error: str | None = None
    github_checked_at: datetime | None = utc_field()

    # Steps 5-8
    staging_deployed_at: datetime | None = utc_field()
    staging_verified_at: datetime | None = utc_field()
    staging_validation: dict[str, Any] = json_field(dict, Validation)
    deployed_at: datetime | None = utc_field(index=True)
    deployed_by: str | None = Field(default=None, max_length=64)
    deploy_method: str | None = Field(default=None, max_length=32)
    deploy_exceptions: list[str] = json_field()
    monitoring_ends_at: datetime | None = utc_field()
    watch: dict[str, Any] = json_field(dict, Watch)
    verified_at: datetime | None = utc_field()
    verification: dict[str, Any] = json_field(dict, Validation)
    rollback_started_at: datetime | None = utc_field()
    rollback_finished_at: datetime | None = utc_field()
    rollback: dict[str, Any] = json_field(dict, Rollback)

    # Emergencies
    broadcast_channel: str | None = Field(default=None, max_length=32)
    broadcast_ts: str | None = Field(default=None, max_length=32)
    retrospective_due_at: datetime | None = utc_field(index=True)
    retrospective_done_at: datetime | None = utc_field()
    retrospective: dict[str, Any] = json_field(dict, Retrospective)
    fixes_change_id: int | None = Field(default=None, foreign_key="changes.id", index=True)


class Approval(SQLModel, table=True):
    """One person's decision on one revision of a change (peer review or security review)."""

    __tablename__ = "approvals"
    __table_args__ = (
        # The same person deciding twice on the same revision counts once.
        UniqueConstraint("change_id", "revision", "kind", "actor", name="uq_approval_once"),
    )

    id: int = Field(default=None, primary_key=True)
    change_id: int = Field(foreign_key="changes.id", index=True)
    revision: int
    kind: str = Field(max_length=16)  # peer | security
    decision: str = Field(max_length=24)  # approved | rejected | changes_requested
    actor: str = Field(max_length=120)  # Slack user id, or gh:<login> when unmapped
    user_id: str | None = Field(default=None, max_length=32)
    github_login: str | None = Field(default=None, max_length=100)
    source: str = Field(default="slack", max_length=16)  # slack | github
    tech_lead: bool = False  # was in the tech-lead group when deciding
    infrastructure: bool = False  # was in the infrastructure team's group when deciding
    commit_sha: str | None = Field(default=None, max_length=64)
    reason: str = ""
    created_at: datetime = utc_field(nullable=False)


class AuditEvent(SQLModel, table=True):
    """Append-only: every change of state is written with one of these, in one transaction.

    A hash chain (storage.audit_chain): `hash` covers the content and `prev_hash`; one
    successor per event at most (the unique `prev_hash`), so the chain cannot fork.
    """

    __tablename__ = "audit_events"
    __table_args__ = (UniqueConstraint("prev_hash", name="uq_audit_events_prev_hash"),)

    id: int = Field(default=None, primary_key=True)
    change_id: int | None = Field(default=None, foreign_key="changes.id", index=True)
    at: datetime = utc_field(nullable=False, index=True)
    actor: str = Field(max_length=120)
    action: str = Field(max_length=48)
    detail: dict[str, Any] = json_field(dict)  # what the action says about itself
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)


class Reminder(SQLModel, table=True):
    """Due work that must happen exactly once: a row, claimed atomically by one sweeper."""

    __tablename__ = "reminders"
    # Only the rows still to send are indexed, in the order they are claimed: a table of
    # millions of sent rows costs the claim nothing.
    __table_args__ = (
        Index("ix_reminders_due", "priority", "due_at",
              sqlite_where=text("sent_at IS NULL AND cancelled_at IS NULL"),
              postgresql_where=text("sent_at IS NULL AND cancelled_at IS NULL")),
    )

    id: int = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=48)
    change_id: int | None = Field(default=None, foreign_key="changes.id", index=True)
    recipient: str | None = Field(default=None, max_length=32)
    payload: dict[str, Any] = json_field(dict)
    due_at: datetime = utc_field(nullable=False)
    # 0: a person is waiting for it (due when scheduled: a card, an answer, a review
    # request); 1: a scheduled reminder. Lower goes first, so a burst never queues people.
    priority: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_until: datetime | None = utc_field()
    attempts: int = 0
    last_error: str | None = None
    sent_at: datetime | None = utc_field()
    cancelled_at: datetime | None = utc_field()
    created_at: datetime = utc_field(nullable=False)


class InboundRequest(SQLModel, table=True):
    """Keys of requests already handled, so that a retry from Slack or GitHub is ignored."""

    __tablename__ = "inbound_requests"

    key: str = Field(primary_key=True, max_length=200)
    received_at: datetime = utc_field(nullable=False)


class UserLink(SQLModel, table=True):
    """GitHub login <-> Slack user, so that reviews on GitHub count as the person's."""

    __tablename__ = "user_links"

    github_login: str = Field(primary_key=True, max_length=100)
    slack_user_id: str = Field(max_length=32, index=True)
    linked_by: str = Field(max_length=16)  # email | command
    created_at: datetime = utc_field(nullable=False)


class Deployment(SQLModel, table=True):
    """A production deployment reported by GitHub; change_id is empty when none matched."""

    __tablename__ = "deployments"

    id: int = Field(default=None, primary_key=True)
    github_deployment_id: int = Field(unique=True)
    repo: str = Field(max_length=200)
    environment: str = Field(max_length=100)
    sha: str = Field(max_length=64, index=True)
    creator: str | None = Field(default=None, max_length=100)
    change_id: int | None = Field(default=None, foreign_key="changes.id", index=True)
    at: datetime = utc_field(nullable=False, index=True)


class DeployGate(SQLModel, table=True):
    """A GitHub Actions job waiting on Changebot's deployment protection rule, and how it
    was answered: `waiting` until a decision, then `approved` or `rejected` (once). Status
    reports (a comment without a decision, 10 at most per deployment) are counted here."""

    __tablename__ = "deploy_gates"
    __table_args__ = (UniqueConstraint("repo", "run_id", "environment",
                                       name="uq_deploy_gates_run"),)

    id: int = Field(default=None, primary_key=True)
    repo: str = Field(max_length=200)
    run_id: int = Field(sa_type=BigInteger)
    environment: str = Field(max_length=100)
    sha: str = Field(max_length=64)
    ref: str | None = Field(default=None, max_length=255)
    run_url: str | None = Field(default=None, max_length=500)
    installation_id: int | None = Field(default=None, sa_type=BigInteger)
    change_id: int | None = Field(default=None, foreign_key="changes.id", index=True)
    state: str = Field(default="waiting", max_length=16, index=True)
    reports: int = 0
    last_report: str | None = None
    reason: str | None = None
    created_at: datetime = utc_field(nullable=False)
    decided_at: datetime | None = utc_field()


class MergeGate(SQLModel, table=True):
    """What the `Changebot` check run (App mode) or commit status (token mode) last said on
    a pull request's head commit, so it is written again only when it changes."""

    __tablename__ = "merge_gates"

    change_id: int = Field(foreign_key="changes.id", primary_key=True)
    sha: str = Field(max_length=64)
    state: str = Field(max_length=16)
    text: str
    check_run_id: int | None = Field(default=None, sa_type=BigInteger)
    updated_at: datetime = utc_field(nullable=False)


class CheckRunClaim(SQLModel, table=True):
    """The `Changebot` check run of one commit, created once across replicas: the process
    that inserts this row (or takes over a claim left unfinished past its lease) creates the
    run and writes its id here; the others update that run."""

    __tablename__ = "check_run_claims"

    repo: str = Field(primary_key=True, max_length=200)
    sha: str = Field(primary_key=True, max_length=64)
    name: str = Field(primary_key=True, max_length=100)
    check_run_id: int | None = Field(default=None, sa_type=BigInteger)
    claim: str | None = Field(default=None, max_length=64)
    claimed_at: datetime = utc_field(nullable=False)


class LoginClaim(SQLModel, table=True):
    """Someone in Slack says a GitHub login is theirs: linked once the login posts `code`
    in a pull-request comment (read from the signed webhook), before `expires_at`."""

    __tablename__ = "login_claims"

    id: int = Field(default=None, primary_key=True)
    code: str = Field(max_length=16, unique=True)
    github_login: str = Field(max_length=100)  # lower case
    slack_user_id: str = Field(max_length=32)
    created_at: datetime = utc_field(nullable=False)
    expires_at: datetime = utc_field(nullable=False)
    used_at: datetime | None = utc_field()


class DeclaredFreeze(SQLModel, table=True):
    """A one-off freeze window a tech lead declared in Slack (`/change freeze`); lifting it
    (`/change unfreeze`) ends it early and keeps the row, so the record stays whole."""

    __tablename__ = "freezes"

    id: int | None = Field(default=None, primary_key=True)
    starts_at: datetime = utc_field(nullable=False, index=True)
    ends_at: datetime = utc_field(nullable=False, index=True)
    timezone: str = Field(max_length=64)  # the zone the dates were given in
    reason: str = Field(max_length=500)
    declared_by: str = Field(max_length=64)
    declared_at: datetime = utc_field(nullable=False)
    lifted_at: datetime | None = utc_field()
    lifted_by: str | None = Field(default=None, max_length=64)
