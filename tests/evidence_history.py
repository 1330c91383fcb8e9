"""A realistic month of changes for the evidence tests (November 2026, policy defaults).

Proposals, approvals, the refused self-approval and the cancellation go through the real
code: Slack requests over HTTP (tests/flows.py), or the core use case where no Slack entry
exists yet (the emergency proposal: `/change emergency` is the emergency issue's).

STAND-INS: staging, production deployment, verification and rollback (deployment issue),
CI, GitHub reviews and GitHub deployments (GitHub issue), the security decision (security
issue) and the emergency deployment and retrospective (emergency issue) were built on other
branches. `step()` writes their rows the way those steps record them — the Change columns,
Approval/Deployment rows and an audit event through `repo.add_audit`, in one transaction,
with the same keys and action names (checked against bot/deployments.py and
bot/security_review.py as merged on main). After merging, switch each `step()` to the real
flow: the deployment and security ones can use bot.deployments / bot.security_review now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update

from bot import changes
from bot.proposals import Proposal
from storage import repo
from storage.models import Approval, Change, Deployment
from tests.flows import click, propose
from tests.harness import BotHarness

ALICE, BOB, CAROL, DAVE, ERIN = "U0ALICE", "U0BOB", "U0CAROL", "U0DAVE", "U0ERIN"
PR = "https://github.com/acme/api/pull/"


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


async def step(bot: BotHarness, change_id: int | None, actor: str, action: str, moment: datetime,
               *, detail: dict | None = None, rows: list | None = None,
               **columns: Any) -> None:
    """STAND-IN for a step built on another branch: its columns, rows and audit event."""
    async with bot.ctx.db.session() as session:
        if columns:
            await session.exec(  # type: ignore[call-overload]
                update(Change).where(Change.id == change_id).values(updated_at=moment, **columns)
            )
        for row in rows or []:
            session.add(row)
        await repo.add_audit(session, at=moment, actor=actor, action=action,
                             change_id=change_id, detail=detail or {})


async def approve(bot: BotHarness, user: str, change_id: int, moment: datetime) -> None:
    bot.clock.set(moment)
    await click(bot, user, "change_approve", change_id)


@dataclass
class History:
    normal: int = 0  # CHG-1: by the book, PR with green CI, a refused self-approval
    high_risk: int = 0  # CHG-2: 2 + tech lead, security review, rolled back
    shortcut: int = 0  # CHG-3: deployed with red CI, no staging, at night, verified late
    emergency: int = 0  # CHG-4: deployed at once, approved after, retrospective late
    cancelled: int = 0  # CHG-5: cancelled before production
    later: int = 0  # CHG-6: deployed in December, outside the period


async def build(bot: BotHarness) -> History:
    h = History()

    # CHG-1 — a normal change by the book.
    bot.clock.set(at(25, 10))
    h.normal = await propose(bot, "alice", title="Add an index on orders.created_at",
                             pr_url=PR + "12", reviewers=[BOB, CAROL])
    bot.clock.set(at(25, 10, 5))
    await click(bot, "alice", "change_approve", h.normal)  # refused: her own change
    await approve(bot, "bob", h.normal, at(25, 10, 10))
    await step(bot, h.normal, "github", "ci_updated", at(25, 10, 12),
               detail={"state": "success", "sha": "a1b2c3d4e5f6"},
               pr_repo="acme/api", pr_number=12, head_sha="a1b2c3d4e5f6", ci_state="success",
               ci_detail={"checks": [
                   {"name": "unit-tests", "state": "success",
                    "url": "https://github.com/acme/api/runs/1"},
                   {"name": "sast", "state": "success",
                    "url": "https://github.com/acme/api/runs/2"}]},
               github_checked_at=at(25, 10, 12))
    await step(bot, h.normal, "gh:carol-gh", "approval_given", at(25, 10, 20),
               detail={"source": "github", "commit_sha": "a1b2c3d4e5f6"},
               rows=[Approval(change_id=h.normal, revision=1, kind="peer", decision="approved",
                              actor=CAROL, user_id=CAROL, github_login="carol-gh",
                              source="github", commit_sha="a1b2c3d4e5f6",
                              created_at=at(25, 10, 20))])
    await step(bot, h.normal, ALICE, "staging_deployed", at(25, 10, 30),
               status="staging", staging_deployed_at=at(25, 10, 30))
    await step(bot, h.normal, ALICE, "staging_verified", at(25, 11),
               status="ready", staging_verified_at=at(25, 11),
               staging_validation={"checks": ["functional", "performance"],
                                   "notes": "Report runs in 2 s instead of 40 s.", "by": ALICE})
    await step(bot, h.normal, ALICE, "deployed_to_production", at(25, 11, 30),
               detail={"method": "blue_green"}, status="monitoring",
               deployed_at=at(25, 11, 30), deployed_by=ALICE, deploy_method="blue_green",
               monitoring_ends_at=at(25, 12),
               rows=[Deployment(github_deployment_id=9001, repo="acme/api",
                                environment="production", sha="a1b2c3d4e5f6",
                                creator="alice-gh", change_id=h.normal, at=at(25, 11, 31))])
    await step(bot, h.normal, ALICE, "verified_in_production", at(25, 12, 10), status="completed",
               verified_at=at(25, 12, 10), closed_at=at(25, 12, 10),
               verification={"checks": ["logs", "metrics", "functionality"],
                             "notes": "Error rate flat; p99 of the report down 95%.",
                             "by": ALICE})

    # CHG-2 — high-risk: two approvals and a tech lead, a security review, rolled back.
    bot.clock.set(at(25, 13))
    h.high_risk = await propose(
        bot, "alice", title="Rotate the session-signing keys", category="high_risk",
        risk="high", security_checkboxes=["crypto"], reviewers=[BOB, CAROL, DAVE],
        description="Move session signing to the new KMS key.",
    )
    await approve(bot, "bob", h.high_risk, at(25, 13, 10))
    await approve(bot, "carol", h.high_risk, at(25, 13, 20))
    await approve(bot, "dave", h.high_risk, at(25, 13, 30))
    await step(bot, h.high_risk, ERIN, "security_review_approved", at(25, 13, 40),
               rows=[Approval(change_id=h.high_risk, revision=1, kind="security",
                              decision="approved", actor=ERIN, user_id=ERIN,
                              created_at=at(25, 13, 40))])
    await step(bot, h.high_risk, ALICE, "staging_deployed", at(25, 14),
               status="staging", staging_deployed_at=at(25, 14))
    await step(bot, h.high_risk, ALICE, "staging_verified", at(25, 14, 30), status="ready",
               staging_verified_at=at(25, 14, 30),
               staging_validation={"checks": ["functional", "security"],
                                   "notes": "Old and new tokens both accepted.", "by": DAVE})
    await step(bot, h.high_risk, DAVE, "deployed_to_production", at(26, 10), status="monitoring",
               deployed_at=at(26, 10), deployed_by=DAVE, deploy_method="manual",
               monitoring_ends_at=at(26, 11))
    await step(bot, h.high_risk, DAVE, "rollback_started", at(26, 10, 20),
               detail={"trigger": "errors", "method": "previous_image"},
               status="rolled_back", rollback_started_at=at(26, 10, 20),
               closed_at=at(26, 10, 20),
               rollback={"trigger": "errors", "method": "previous_image",
                         "notes": "Logins failed for 3% of users.", "by": DAVE,
                         "from_status": "monitoring"})
    await step(bot, h.high_risk, DAVE, "rollback_finished", at(26, 10, 32),
               detail={"duration_seconds": 720}, rollback_finished_at=at(26, 10, 32))

    # CHG-3 — normal, approved, then deployed by automation with the gates closed.
    bot.clock.set(at(26, 15))
    h.shortcut = await propose(bot, "bob", title="Bump the HTTP client", risk="low",
                               pr_url=PR + "15", reviewers=[CAROL])
    await approve(bot, "carol", h.shortcut, at(26, 15, 30))
    await step(bot, h.shortcut, "github", "ci_updated", at(26, 16),
               pr_repo="acme/api", pr_number=15, head_sha="f00dfeed1234", ci_state="failure",
               ci_detail={"checks": [
                   {"name": "unit-tests", "state": "failure",
                    "url": "https://github.com/acme/api/runs/7"},
                   {"name": "lint", "state": "success"}],
                   "failing": [{"name": "unit-tests",
                                "url": "https://github.com/acme/api/runs/7"}]})
    await step(bot, h.shortcut, "gh:bob-gh", "deployed_to_production", at(26, 19),
               detail={"method": "automated", "gates_closed": ["ci", "staging",
                                                                "business_hours"]},
               status="monitoring", deployed_at=at(26, 19), deployed_by="gh:bob-gh",
               deploy_method="automated", monitoring_ends_at=at(26, 19, 30),
               deploy_exceptions=["ci: unit-tests red when GitHub reported the deployment",
                                  "staging", "business_hours"],
               rows=[Deployment(github_deployment_id=9003, repo="acme/api",
                                environment="production", sha="f00dfeed1234",
                                creator="bob-gh", change_id=h.shortcut, at=at(26, 19))])
    await step(bot, h.shortcut, "U0BOB", "verified_in_production", at(26, 21), status="completed",
               verified_at=at(26, 21), closed_at=at(26, 21),
               verification={"checks": ["logs", "metrics"],
                             "notes": "Looked fine the next morning."})

    # An unmatched GitHub production deployment (and one outside the period).
    await step(bot, None, "github", "unmatched_deployment", at(27, 15),
               rows=[Deployment(github_deployment_id=9002, repo="acme/api",
                                environment="production", sha="deadbeef0000",
                                creator="mallory-gh", at=at(27, 15))])
    await step(bot, None, "github", "unmatched_deployment", at(2, 9, month=12),
               rows=[Deployment(github_deployment_id=9009, repo="acme/web",
                                environment="production", sha="cafe00000000",
                                creator="mallory-gh", at=at(2, 9, month=12))])

    # CHG-4 — an emergency at night: deployed at once, approved after, retrospective late.
    bot.clock.set(at(28, 2))
    emergency, _ = await changes.propose(bot.ctx, author=ALICE, source_key=None, proposal=Proposal(
        title="Hotfix: payments webhook crashes", description="Guard against a null amount.",
        category="emergency", risk="high", rollback_plan="Revert the commit and redeploy.",
        testing="Reproduced with the failing payload; fixed locally.",
    ))
    await bot.settle()
    h.emergency = emergency.id or 0
    await step(bot, h.emergency, ALICE, "deployed_to_production", at(28, 2, 10),
               detail={"method": "rolling", "bypassed": ["staging", "business_hours"]},
               impact="Card payments failing for every customer.", involved=[DAVE],
               status="monitoring", deployed_at=at(28, 2, 10), deployed_by=ALICE,
               deploy_method="rolling", monitoring_ends_at=at(28, 2, 40),
               retrospective_due_at=at(29, 2, 10),
               deploy_exceptions=[
                   "business_hours: deployed outside business hours under the emergency "
                   "process", "staging"])
    await step(bot, h.emergency, ALICE, "verified_in_production", at(28, 2, 45), status="completed",
               verified_at=at(28, 2, 45), closed_at=at(28, 2, 45),
               verification={"checks": ["logs", "metrics"], "notes": "Payments flowing.",
                             "by": ALICE})
    await approve(bot, "bob", h.emergency, at(28, 9))  # after the deployment
    await step(bot, h.emergency, ALICE, "retrospective_done", at(30, 10),
               retrospective_done_at=at(30, 10),
               retrospective={"link": "https://wiki.example.com/retro/payments-webhook",
                              "root_cause": "Unvalidated input.", "by": ALICE})

    # CHG-5 — proposed and cancelled before production.
    bot.clock.set(at(30, 9))
    h.cancelled = await propose(bot, "carol", title="Try a new cache TTL", reviewers=[BOB])
    bot.clock.set(at(30, 9, 30))
    await click(bot, "carol", "change_cancel", h.cancelled)

    # CHG-6 — deployed on 1 December: belongs to the next period.
    bot.clock.set(at(30, 11))
    h.later = await propose(bot, "alice", title="December change", reviewers=[BOB])
    await approve(bot, "bob", h.later, at(30, 11, 30))
    await step(bot, h.later, ALICE, "deployed_to_production", at(1, 10, month=12),
               status="monitoring", deployed_at=at(1, 10, month=12), deployed_by=ALICE,
               deploy_method="rolling")
    bot.clock.set(at(2, 12, month=12))
    return h
