"""Queries about what GitHub tells us: changes by pull request or commit, people by login,
deployments, and the deliveries already handled."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    Approval,
    Change,
    CheckRunClaim,
    DeployGate,
    Deployment,
    InboundRequest,
    LoginClaim,
    MergeGate,
    Reminder,
    UserLink,
)
from storage.repo import CLOSED_STATUSES, is_postgresql

# A cancelled or rolled-back change no longer follows its pull request.
FINISHED = ("cancelled", "rolled_back")


def repo_key(full_name: str) -> str:
    """GitHub names are case-insensitive: `Acme/App` and `acme/app` are one repository."""
    return full_name.strip().lower()


async def first_delivery(session: AsyncSession, key: str, now: datetime) -> bool:
    """Record a delivery key in the caller's transaction; False when it was handled before."""
    dialect = postgresql if is_postgresql(session) else sqlite
    statement = (
        dialect.insert(InboundRequest)
        .values(key=key, received_at=now)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    result = await session.exec(statement)  # type: ignore[call-overload]
    return bool(result.rowcount)


async def changes_linking(
    session: AsyncSession, repo: str, number: int, *, include_finished: bool = False
) -> Sequence[Change]:
    query = select(Change).where(Change.pr_repo == repo_key(repo), Change.pr_number == number)
    if not include_finished:
        query = query.where(col(Change.status).not_in(FINISHED))
    return (await session.exec(query.order_by(col(Change.id)))).all()


async def changes_at_head(session: AsyncSession, repo: str, sha: str) -> Sequence[Change]:
    """Open changes whose linked pull request's head is `sha` (CI events are per commit)."""
    query = (
        select(Change)
        .where(Change.pr_repo == repo_key(repo), Change.head_sha == sha)
        .where(col(Change.status).not_in(CLOSED_STATUSES))
        .order_by(col(Change.id))
    )
    return (await session.exec(query)).all()


async def change_for_commit(session: AsyncSession, repo: str, sha: str) -> Change | None:
    """The change a deployed commit belongs to: its PR's head or merge commit. The newest
    change still open wins; else the newest of all."""
    query = (
        select(Change)
        .where(col(Change.pr_repo) == repo_key(repo))
        .where(or_(col(Change.head_sha) == sha, col(Change.merge_sha) == sha))
        .order_by(col(Change.id).desc())
    )
    found = (await session.exec(query)).all()
    open_ = [c for c in found if c.status not in CLOSED_STATUSES]
    return next(iter(open_ or found), None)


async def user_link(session: AsyncSession, login: str) -> UserLink | None:
    return await session.get(UserLink, login.lower())


async def add_user_link(
    session: AsyncSession, *, login: str, slack_user: str, how: str, now: datetime
) -> bool:
    """Link a GitHub login to a Slack user unless it is linked already; True when added."""
    dialect = postgresql if is_postgresql(session) else sqlite
    statement = (
        dialect.insert(UserLink)
        .values(github_login=login.lower(), slack_user_id=slack_user, linked_by=how,
                created_at=now)
        .on_conflict_do_nothing(index_elements=["github_login"])
    )
    result = await session.exec(statement)  # type: ignore[call-overload]
    return bool(result.rowcount)


async def unlinked_reviews(session: AsyncSession, login: str) -> Sequence[Approval]:
    """GitHub reviews by `login` recorded before anyone knew whose login it is."""
    query = (
        select(Approval)
        .where(Approval.source == "github", col(Approval.user_id).is_(None))
        .where(func.lower(Approval.github_login) == login.lower())
    )
    return (await session.exec(query)).all()


async def changes_by_author(session: AsyncSession, author: str) -> Sequence[Change]:
    return (await session.exec(select(Change).where(Change.author_id == author))).all()


async def changes_by_pr_author(session: AsyncSession, login: str) -> Sequence[Change]:
    """Open changes whose linked pull request `login` wrote, locked."""
    author = func.lower(col(Change.pr_info)["author"].as_string())
    query = (
        select(Change)
        .where(author == login.lower(), col(Change.status).not_in(FINISHED))
        .order_by(col(Change.id))
        .with_for_update()
    )
    return (await session.exec(query)).all()


async def deployment(session: AsyncSession, github_deployment_id: int) -> Deployment | None:
    query = select(Deployment).where(Deployment.github_deployment_id == github_deployment_id)
    return (await session.exec(query)).first()


async def pending_reminder(
    session: AsyncSession, change_id: int, kind: str, *, key_prefix: str = "",
    exclude: int | None = None, unclaimed_at: datetime | None = None,
) -> Reminder | None:
    """A reminder of this kind not yet sent for the change (optionally: not being handled)."""
    query = (
        select(Reminder)
        .where(Reminder.change_id == change_id, Reminder.kind == kind)
        .where(col(Reminder.sent_at).is_(None), col(Reminder.cancelled_at).is_(None))
    )
    if key_prefix:
        query = query.where(col(Reminder.key).startswith(key_prefix))
    if exclude is not None:
        query = query.where(Reminder.id != exclude)
    if unclaimed_at is not None:
        query = query.where(or_(col(Reminder.claimed_until).is_(None),
                                col(Reminder.claimed_until) < unclaimed_at))
    return (await session.exec(query.limit(1))).first()


# --------------------------------------------------------------------------- the gates


async def add_deploy_gate(session: AsyncSession, gate: DeployGate) -> DeployGate | None:
    """Record a waiting job (once per repository, run and environment); None when it was
    recorded before (a redelivery, or GitHub asking again)."""
    dialect = postgresql if is_postgresql(session) else sqlite
    values = gate.model_dump(exclude={"id"})
    statement = (
        dialect.insert(DeployGate).values(**values)
        .on_conflict_do_nothing(index_elements=["repo", "run_id", "environment"])
        .returning(col(DeployGate.id))
    )
    result = await session.exec(statement)  # type: ignore[call-overload]
    new_id = result.scalar_one_or_none()
    if new_id is None:
        return None
    return await session.get(DeployGate, new_id)


async def waiting_deploy_gates(session: AsyncSession, change_id: int) -> Sequence[DeployGate]:
    """The change's jobs still waiting for an answer, locked (the change is locked too)."""
    query = (
        select(DeployGate)
        .where(DeployGate.change_id == change_id, DeployGate.state == "waiting")
        .order_by(col(DeployGate.id))
        .with_for_update()
    )
    return (await session.exec(query)).all()


async def deploy_gates_of(session: AsyncSession, change_id: int) -> Sequence[DeployGate]:
    query = select(DeployGate).where(DeployGate.change_id == change_id)
    return (await session.exec(query.order_by(col(DeployGate.id)))).all()


async def knows_repo(session: AsyncSession, repo: str) -> bool:
    """Whether any change ever linked a pull request of `repo`."""
    query = select(Change.id).where(Change.pr_repo == repo_key(repo)).limit(1)
    return (await session.exec(query)).first() is not None


async def merge_gate(session: AsyncSession, change_id: int) -> MergeGate | None:
    """What the `Changebot` check said last on the change's pull request."""
    return await session.get(MergeGate, change_id)


async def deploy_gate(session: AsyncSession, gate_id: int, *, lock: bool = False
                      ) -> DeployGate | None:
    return await session.get(DeployGate, gate_id, with_for_update=lock)


async def unmatched_deploy_gates(session: AsyncSession, repo: str, shas: Sequence[str]
                                 ) -> Sequence[DeployGate]:
    """Jobs of `repo` waiting to deploy one of `shas` that no change was known for, locked."""
    query = (
        select(DeployGate)
        .where(func.lower(DeployGate.repo) == repo_key(repo), col(DeployGate.sha).in_(shas))
        .where(col(DeployGate.change_id).is_(None), DeployGate.state == "waiting")
        .order_by(col(DeployGate.id))
        .with_for_update()
    )
    return (await session.exec(query)).all()


async def claim_by_code(session: AsyncSession, code: str) -> LoginClaim | None:
    """The claim with this one-time code, locked."""
    query = select(LoginClaim).where(LoginClaim.code == code).with_for_update()
    return (await session.exec(query)).first()


async def claim_check_run(session: AsyncSession, repo: str, sha: str, name: str, *,
                          claim: str, now: datetime, stale_before: datetime
                          ) -> tuple[bool, int | None]:
    """(claimed, run id): claimed when this caller is to create the check run `name` of
    `sha` — it inserted the row, or took over a claim older than `stale_before` that never
    got its run id. Otherwise the run's id, or None while another process creates it."""
    dialect = postgresql if is_postgresql(session) else sqlite
    key = {"repo": repo_key(repo), "sha": sha, "name": name}
    inserted = await session.exec(  # type: ignore[call-overload]
        dialect.insert(CheckRunClaim).values(**key, claim=claim, claimed_at=now)
        .on_conflict_do_nothing(index_elements=["repo", "sha", "name"]))
    if inserted.rowcount:
        return True, None
    taken = await session.exec(  # type: ignore[call-overload]
        update(CheckRunClaim)
        .where(col(CheckRunClaim.repo) == key["repo"], col(CheckRunClaim.sha) == sha,
               col(CheckRunClaim.name) == name, col(CheckRunClaim.check_run_id).is_(None),
               col(CheckRunClaim.claimed_at) < stale_before)
        .values(claim=claim, claimed_at=now))
    if taken.rowcount:
        return True, None
    row = await session.get(CheckRunClaim, (key["repo"], sha, name))
    return False, row.check_run_id if row is not None else None


async def check_run_created(session: AsyncSession, repo: str, sha: str, name: str, *,
                            claim: str, run_id: int) -> None:
    """The claimer created (or found) the run: its id, for every process to update."""
    await session.exec(  # type: ignore[call-overload]
        update(CheckRunClaim)
        .where(col(CheckRunClaim.repo) == repo_key(repo), col(CheckRunClaim.sha) == sha,
               col(CheckRunClaim.name) == name, col(CheckRunClaim.claim) == claim)
        .values(check_run_id=run_id, claim=None))
