"""The facts of a change that every rule reads: no Slack, GitHub or database here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.change.states import Category, Risk, Status
from bot.github.codeowners_rules import CodeOwners
from bot.schedule.freeze import Freeze


@dataclass(frozen=True)
class Vote:
    """One approval as recorded: the same person may appear twice (double click, GitHub)."""

    user: str
    at: datetime
    is_tech_lead: bool = False
    source: str = "slack"  # slack | github
    is_infrastructure: bool = False  # was in groups.infrastructure when approving


@dataclass(frozen=True)
class ChangeFacts:
    """What the rules need to know about one change; storage builds it, the rules read it."""

    category: Category
    risk: Risk
    status: Status
    author: str
    approvals: tuple[Vote, ...] = ()
    rejected_by: str | None = None
    security_required: bool = False
    security_approved_by: str | None = None
    security_changes_requested: bool = False
    security_override_by: str | None = None
    checkboxes: tuple[str, ...] = ()  # the proposal's security checkboxes (infra, auth, …)
    changed_files: tuple[str, ...] = ()  # the linked pull request's, as last read
    pr_labels: tuple[str, ...] = ()  # likewise
    # What CODEOWNERS says of those files (None: not read, or not used by policy), and the
    # GitHub logins (lower case) whose review approves the current revision, linked or not.
    code_owners: CodeOwners | None = None
    github_approvals: tuple[str, ...] = ()
    pr_linked: bool = False
    ci_state: str = "none"  # none | success | failure | pending | unknown
    ci_failing: tuple[str, ...] = ()
    ci_checks: tuple[str, ...] = ()  # every check reported on the head commit, by name
    ci_problem: str = ""  # why CI is unknown when it is not an outage (PR unreadable, …)
    staging_verified: bool = False
    deployed_at: datetime | None = None
    rollback_started_at: datetime | None = None
    rollback_finished_at: datetime | None = None
    retrospective_due_at: datetime | None = None
    retrospective_done_at: datetime | None = None
    # The one-off freezes declared in Slack (the policy's own are in the policy).
    freezes: tuple[Freeze, ...] = ()
    # Who wrote the linked pull request: a Slack user when the login is linked, else
    # `gh:<login>`. They count as an author: they review neither the change nor its security.
    pr_author: str | None = None

    def is_author(self, user: str | None) -> bool:
        """The change's author, or the author of its pull request."""
        return bool(user) and user in (self.author, self.pr_author)
