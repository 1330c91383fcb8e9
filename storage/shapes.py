"""The shapes of the JSON columns: what a change keeps of its pull request, CI, staging,
verification, rollback and retrospective.

Each record is written whole, as a plain dict, and read whole. The column type
(storage.models.ShapedJSON) checks every write against its model here, so a misspelt key or
a wrong type is refused at the storage edge instead of surfacing in an evidence pack months
later. Readers that want attributes and types parse the dict: `Rollback.of(change.rollback)`.
Every field is optional because `{}` means "not yet" and records grow step by step.
"""

from typing import Any, Self

from pydantic import BaseModel, ConfigDict


class Shape(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @classmethod
    def of(cls, record: dict[str, Any]) -> Self:
        return cls.model_validate(record)


class SecurityTrigger(Shape):
    """Why a change needs a security review (Step 4)."""

    source: str
    reason: str


class CheckLink(Shape):
    name: str
    state: str | None = None
    url: str | None = None


class CiDetail(Shape):
    """CI of the head commit as last read, or why it could not be read (Step 2)."""

    sha: str | None = None
    checks: list[CheckLink] = []
    failing: list[CheckLink] = []
    pending: list[CheckLink] = []
    problem: str | None = None


class PullRequestReview(Shape):
    id: int | None = None
    login: str | None = None
    state: str | None = None
    commit: str | None = None
    at: str | None = None  # ISO 8601
    slack_user: str | None = None
    outcome: str | None = None


class CodeOwnersGroup(Shape):
    pattern: str
    owners: list[str] = []
    files: list[str] = []
    approvers: list[str] = []  # Slack users and GitHub logins (lower case)


class CodeOwnersRead(Shape):
    """What the repository's CODEOWNERS says of the pull request's files, as last read."""

    source: str | None = None  # where it was found; None: nowhere
    groups: list[CodeOwnersGroup] = []
    problems: list[str] = []
    notes: list[str] = []
    retry: bool = False


class PullRequestInfo(Shape):
    """The linked pull request as last read from GitHub, and its reviews as evidence."""

    repo: str | None = None
    number: int | None = None
    url: str | None = None
    title: str | None = None
    author: str | None = None
    base: str | None = None
    head: str | None = None
    state: str | None = None
    merged: bool | None = None
    files: list[str] = []
    previous_heads: list[str] = []
    reviews: list[PullRequestReview] = []
    # When the pull request's first commit was made (ISO 8601): where DORA's lead time starts.
    first_commit_at: str | None = None
    author_user: str | None = None  # the Slack user linked to `author`, when known
    labels: list[str] = []
    codeowners: CodeOwnersRead | None = None  # when the policy uses CODEOWNERS


class Validation(Shape):
    """Staging validation (Step 5) or verification in production (Step 7)."""

    checks: list[str] = []
    notes: str = ""
    by: str | None = None


class Watch(Shape):
    """Step 6, "Engineer available for monitoring during rollout": who watches until when,
    and whether that runs outside their working hours in their Slack time zone."""

    by: str | None = None
    until: str | None = None  # ISO 8601
    timezone: str | None = None
    outside_hours: bool | None = None


class Rollback(Shape):
    """Step 8: why, how and by whom a change was rolled back."""

    trigger: str | None = None
    method: str | None = None
    notes: str = ""
    by: str | None = None
    from_status: str | None = None


class Retrospective(Shape):
    """An emergency's retrospective: when it went overdue, and what it found."""

    overdue_since: str | None = None  # ISO 8601
    document: str | None = None
    root_cause: str | None = None
    follow_ups: str | None = None
    by: str | None = None
    overdue: bool | None = None
    link: str | None = None  # older records named the document so; still read
    url: str | None = None  # likewise
