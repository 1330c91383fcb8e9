"""From stored rows to the facts the pure rules read (bot.lifecycle)."""

from collections.abc import Iterable, Sequence

from bot.change.facts import ChangeFacts, Vote
from bot.change.states import Category, Risk, Status
from bot.github import codeowners_rules
from bot.schedule.freeze import Freeze
from storage.models import Approval, Change


def current(approvals: Sequence[Approval], change: Change, kind: str,
            sha: str | None = None) -> list[Approval]:
    """Decisions of this kind on the change's current revision (older ones were reset);
    with `sha`, only those given for that commit. A decision given before GitHub was read
    is bound to the first head read (bot.github.pull_requests.new_head); one recorded with
    no commit at all (a security decision stored before they carried one) is bound to
    none, and counts."""
    return [a for a in approvals if a.revision == change.revision and a.kind == kind
            and (sha is None or a.commit_sha in (sha, None))]


def facts_of(change: Change, approvals: Sequence[Approval],
             freezes: Iterable[Freeze] = (), sha: str | None = None) -> ChangeFacts:
    """`sha`: count only the decisions given for that commit (the gates where it ships)."""
    peer = current(approvals, change, "peer", sha)
    security = current(approvals, change, "security", sha)
    rejected = [a for a in peer if a.decision == "rejected"]

    def last_security(decision: str) -> str | None:
        found = [a.actor for a in security if a.decision == decision]
        return found[-1] if found else None

    return ChangeFacts(
        category=Category(change.category),
        risk=Risk(change.risk),
        status=Status(change.status),
        author=change.author_id,
        approvals=tuple(
            Vote(user=a.user_id or a.actor, at=a.created_at, is_tech_lead=a.tech_lead,
                 source=a.source, is_infrastructure=a.infrastructure)
            for a in peer
            if a.decision == "approved" and (a.user_id or a.source == "slack")
        ),
        rejected_by=rejected[-1].actor if rejected else None,
        security_required=change.security_required,
        security_approved_by=last_security("approved"),
        security_changes_requested=last_security("changes_requested") is not None,
        security_override_by=last_security("overridden"),
        checkboxes=tuple(change.security_checkboxes),
        changed_files=tuple(change.pr_info.get("files", [])),
        pr_labels=tuple(change.pr_info.get("labels", [])),
        code_owners=codeowners_rules.from_record(change.pr_info.get("codeowners")),
        github_approvals=tuple(a.github_login.lower() for a in peer if a.source == "github"
                               and a.decision == "approved" and a.github_login),
        pr_linked=bool(change.pr_url),
        ci_state=change.ci_state,
        ci_failing=tuple(c["name"] for c in change.ci_detail.get("failing", [])),
        ci_checks=tuple(c["name"] for c in change.ci_detail.get("checks", [])),
        ci_problem=change.ci_detail.get("problem") or "",
        staging_verified=change.staging_verified_at is not None,
        deployed_at=change.deployed_at,
        rollback_started_at=change.rollback_started_at,
        rollback_finished_at=change.rollback_finished_at,
        retrospective_due_at=change.retrospective_due_at,
        retrospective_done_at=change.retrospective_done_at,
        freezes=tuple(freezes),
        pr_author=_pr_author(change),
    )


def _pr_author(change: Change) -> str | None:
    info = change.pr_info or {}
    login = info.get("author")
    return info.get("author_user") or (f"gh:{login.lower()}" if login else None)
