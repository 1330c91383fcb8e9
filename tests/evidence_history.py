"""A realistic month of changes for the evidence tests (November 2026, policy defaults, the
tech leads as the deployers group).

Every step goes through the real code, the way it happens: Slack requests over HTTP
(tests/flows.py: proposals, approvals, the refused self-approval, the security review,
staging, production deployment, verification, rollback, cancellation) and GitHub through
the bot's real PyGithub client against tests/fake_github.FakeGitHub (pull requests, check
runs, reviews) and signed webhooks (check runs finishing, a review, production deployments),
with the ManualClock moved between steps and the sweeper sending what falls due meanwhile
(`wait_until`), as the scheduler would. The emergency (CHG-4) goes through the emergency
process's own steps: `/change emergency`, its deployment, the approval after it and the
retrospective.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.playground.standin.workspace import SECURITY_GROUP, TECH_LEADS_GROUP, demo_policy
from bot.policy import Groups, Policy
from tests import flows
from tests.fake_github import FakeGitHub
from tests.flows import PRODUCTION_CHECKS, cancel, click, click_dm, dms, fill, propose
from tests.github_flows import example, webhook
from tests.harness import BotHarness

ALICE, BOB, CAROL, DAVE, ERIN = "U0ALICE", "U0BOB", "U0CAROL", "U0DAVE", "U0ERIN"
OWNER, REPO = "acme", "api"
PR = f"https://github.com/{OWNER}/{REPO}/pull/"
# Commits (short, to keep the expected text readable; GitHub's are 40 hex digits).
NORMAL_SHA, SHORTCUT_SHA = "a1b2c3d4e5f6", "f00dfeed1234"


def policy() -> Policy:
    """The defaults, in the demo workspace, with the tech leads allowed to deploy."""
    return demo_policy(groups=Groups(security=SECURITY_GROUP, tech_leads=TECH_LEADS_GROUP,
                                     deployers=TECH_LEADS_GROUP))


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


async def wait_until(bot: BotHarness, moment: datetime) -> None:
    """Time passes until `moment`; the scheduler sends what fell due meanwhile."""
    bot.clock.set(moment)
    await bot.sweep()


async def approve(bot: BotHarness, user: str, change_id: int, moment: datetime) -> None:
    await wait_until(bot, moment)
    await click(bot, user, "change_approve", change_id)


async def modal(bot: BotHarness, user: str, action_id: str, change_id: int,
                moment: datetime, values: dict[str, Any]) -> None:
    """Press a card button that opens a modal at `moment`, fill it and submit it."""
    await wait_until(bot, moment)
    await flows.step(bot, user, action_id, change_id, values)


async def verify_from_dm(bot: BotHarness, user: str, change_id: int, moment: datetime,
                         notes: str) -> None:
    """Verify from the last monitoring-window DM the bot sent `user` about the change."""
    await wait_until(bot, moment)
    [*_, dm] = [m for m in dms(bot, user)
                if f"monitoring window for CHG-{change_id}" in m["text"]]
    await click_dm(bot, user, "change_verify", dm)
    reply = await fill(bot, user, {"checks": PRODUCTION_CHECKS, "notes": notes})
    assert reply.status == 200 and not reply.text.strip(), reply.text


# ---- GitHub's side ------------------------------------------------------------------------


def in_repo(payload: dict, full_name: str = f"{OWNER}/{REPO}") -> dict:
    """A real example payload, moved to our repository."""
    owner, name = full_name.split("/")
    payload["repository"].update(full_name=full_name, name=name)
    payload["repository"]["owner"]["login"] = owner
    return payload


async def checks_finish(bot: BotHarness, github: FakeGitHub, sha: str, moment: datetime,
                        **conclusions: str) -> dict[str, str]:
    """The check runs of `sha` finish on GitHub, which sends a `check_run` webhook for each.
    Returns each check's link."""
    await wait_until(bot, moment)
    links = {}
    for name, conclusion in conclusions.items():
        run = github.add_check_run(OWNER, REPO, sha, name, conclusion=conclusion)
        payload = in_repo(example("check_run/completed"))
        payload["check_run"].update(id=run["id"], name=name, head_sha=sha,
                                    status="completed", conclusion=conclusion,
                                    html_url=run["html_url"])
        reply = await webhook(bot, "check_run", payload)
        assert reply.status == 200, reply.text
        links[name] = run["html_url"]
    return links


async def review_on_github(bot: BotHarness, github: FakeGitHub, number: int, login: str,
                           sha: str, moment: datetime) -> None:
    """`login` approves commit `sha` of the pull request; GitHub sends the webhook."""
    await wait_until(bot, moment)
    review_id = github.add_review(OWNER, REPO, number, login, "APPROVED", commit_id=sha,
                                  submitted_at=moment)
    payload = in_repo(example("pull_request_review/submitted"))
    payload["review"].update(id=review_id, state="approved", commit_id=sha,
                             submitted_at=iso(moment))
    payload["review"]["user"]["login"] = login
    payload["pull_request"]["number"] = number
    reply = await webhook(bot, "pull_request_review", payload)
    assert reply.status == 200, reply.text


async def deployed_by_github(bot: BotHarness, deployment_id: int, sha: str, creator: str,
                             moment: datetime, full_name: str = f"{OWNER}/{REPO}") -> str:
    """GitHub reports a successful deployment to production."""
    await wait_until(bot, moment)
    payload = in_repo(example("deployment_status"), full_name)
    payload["deployment"].update(id=deployment_id, sha=sha, environment="production")
    payload["deployment_status"].update(state="success", environment="production")
    for part in (payload["deployment"], payload["deployment_status"]):
        part["creator"]["login"] = creator
    payload["sender"]["login"] = creator
    reply = await webhook(bot, "deployment_status", payload)
    assert reply.status == 200, reply.text
    return reply.text


# ---- Slack's side -------------------------------------------------------------------------


async def declare_emergency(bot: BotHarness, user: str, values: dict[str, Any]) -> int:
    """`/change emergency`, its modal filled and submitted; returns the change's number."""
    view = await flows.open_modal(bot, user, "emergency")
    reply = await bot.submit(user, view, values)
    await bot.settle()
    assert reply.status == 200 and not reply.text.strip(), f"modal not closed: {reply.text}"
    return len(flows.cards(bot))


# ---- the month ------------------------------------------------------------------------------


@dataclass
class History:
    normal: int = 0  # CHG-1: by the book, PR with green CI and a GitHub review, a refused
    #                  self-approval, deployed in Slack and reported by GitHub
    high_risk: int = 0  # CHG-2: 2 + tech lead, security review, deployed, rolled back
    shortcut: int = 0  # CHG-3: deployed by GitHub with red CI, no staging, at night;
    #                    verified late, after the reminders
    emergency: int = 0  # CHG-4: deployed at once, approved after, retrospective late
    cancelled: int = 0  # CHG-5: cancelled before production
    later: int = 0  # CHG-6: deployed in December, outside the period
    # The links GitHub gave the CI checks of CHG-1 and CHG-3, by check name.
    normal_checks: dict[str, str] = field(default_factory=dict)
    shortcut_checks: dict[str, str] = field(default_factory=dict)


async def build(bot: BotHarness, github: FakeGitHub) -> History:
    h = History()
    github.add_user("carol-gh", "carol@example.com")  # her public email: linked to Slack

    # CHG-1 — a normal change by the book.
    github.add_pull(OWNER, REPO, 12, title="Index orders.created_at", author="alice-gh",
                    head_sha=NORMAL_SHA, files=["migrations/0042_orders_created_at.sql"])
    for name in ("unit-tests", "sast"):
        github.add_check_run(OWNER, REPO, NORMAL_SHA, name, status="in_progress",
                             conclusion=None)
    await wait_until(bot, at(25, 10))
    h.normal = await propose(bot, "alice", title="Add an index on orders.created_at",
                             pr_url=PR + "12", reviewers=[BOB, CAROL])
    await wait_until(bot, at(25, 10, 5))
    await click(bot, "alice", "change_approve", h.normal)  # refused: her own change
    await approve(bot, "bob", h.normal, at(25, 10, 10))
    h.normal_checks = await checks_finish(bot, github, NORMAL_SHA, at(25, 10, 12),
                                      **{"unit-tests": "success", "sast": "success"})
    await review_on_github(bot, github, 12, "carol-gh", NORMAL_SHA, at(25, 10, 20))
    await wait_until(bot, at(25, 10, 30))
    await click(bot, "alice", "change_staging_deployed", h.normal)
    await modal(bot, "alice", "change_staging_verify", h.normal, at(25, 11), {
        "checks": ["functional", "performance", "no_breaking_changes"],
        "notes": "Report runs in 2 s instead of 40 s."})
    await modal(bot, "alice", "change_deploy", h.normal, at(25, 11, 30),
                {"method": "blue_green", "notes": None})
    await deployed_by_github(bot, 9001, NORMAL_SHA, "alice-gh", at(25, 11, 31))
    await wait_until(bot, at(25, 12))  # the monitoring window ends: a DM to verify
    await verify_from_dm(bot, "alice", h.normal, at(25, 12, 10),
                         "Error rate flat; p99 of the report down 95%.")

    # CHG-2 — high-risk: two approvals and a tech lead, a security review, rolled back.
    await wait_until(bot, at(25, 13))
    h.high_risk = await propose(
        bot, "alice", title="Rotate the session-signing keys", category="high_risk",
        risk="high", security_checkboxes=["crypto"], reviewers=[BOB, CAROL, DAVE],
        description="Move session signing to the new KMS key.",
        testing="Signed and verified sessions with both keys in a copy of production.",
        rollback_plan="Switch signing back to the old key; sessions signed with either "
                      "stay valid for a day.",
    )
    await approve(bot, "bob", h.high_risk, at(25, 13, 10))
    await approve(bot, "carol", h.high_risk, at(25, 13, 20))
    await approve(bot, "dave", h.high_risk, at(25, 13, 30))
    await wait_until(bot, at(25, 13, 40))
    await click(bot, "erin", "security_approve", h.high_risk)
    await wait_until(bot, at(25, 14))
    await click(bot, "alice", "change_staging_deployed", h.high_risk)
    await modal(bot, "dave", "change_staging_verify", h.high_risk, at(25, 14, 30), {
        "checks": ["functional", "security", "no_breaking_changes"],
        "notes": "Old and new tokens both accepted."})
    await modal(bot, "dave", "change_deploy", h.high_risk, at(26, 10),
                {"method": "rolling", "notes": "Rolled out by hand, one region at a time."})
    await modal(bot, "dave", "change_rollback", h.high_risk, at(26, 10, 20), {
        "trigger": "errors", "method": "previous_image",
        "notes": "Logins failed for 3% of users."})
    await wait_until(bot, at(26, 10, 32))
    await click(bot, "dave", "change_rollback_finished", h.high_risk)

    # CHG-3 — normal, approved, then deployed by GitHub with the gates closed.
    github.add_pull(OWNER, REPO, 15, title="Bump httpx to 0.28", author="bob-gh",
                    head_sha=SHORTCUT_SHA, files=["requirements.txt"])
    for name in ("unit-tests", "lint"):
        github.add_check_run(OWNER, REPO, SHORTCUT_SHA, name, status="in_progress",
                             conclusion=None)
    await wait_until(bot, at(26, 15))
    h.shortcut = await propose(
        bot, "bob", title="Bump the HTTP client", risk="low", pr_url=PR + "15",
        reviewers=[CAROL], description="httpx 0.28 fixes a connection-pool leak.",
        testing="Unit tests.", rollback_plan="Pin httpx 0.27 again and redeploy.",
    )
    await approve(bot, "carol", h.shortcut, at(26, 15, 30))
    h.shortcut_checks = await checks_finish(bot, github, SHORTCUT_SHA, at(26, 16),
                                        **{"unit-tests": "failure", "lint": "success"})
    await deployed_by_github(bot, 9003, SHORTCUT_SHA, "bob-gh", at(26, 19))
    await wait_until(bot, at(26, 19, 30))  # the window ends: a DM to bob, the author
    await wait_until(bot, at(26, 20))  # and the grace: a reminder, a note in the thread
    await verify_from_dm(bot, "bob", h.shortcut, at(26, 21),
                         "Error rate unchanged since the deployment.")

    # A GitHub production deployment that matches no change.
    await deployed_by_github(bot, 9002, "deadbeef0000", "mallory-gh", at(27, 15))

    # CHG-4 — an emergency on a Saturday night: `/change emergency`, deployed at once (no
    # staging, outside business hours), approved after the deployment (the tech leads were
    # chased meanwhile), retrospective late (escalated when it fell due).
    await wait_until(bot, at(28, 2))
    h.emergency = await declare_emergency(bot, "alice", {
        "impact": "Card payments failing for every customer.",
        "description": "Hotfix: payments webhook crashes\nGuard against a null amount.",
        "rollback_plan": "Revert the commit and redeploy.",
        "pr_url": None,
        "involved": [DAVE],
    })
    await modal(bot, "alice", "change_deploy", h.emergency, at(28, 2, 10),
                {"method": "rolling", "notes": None})
    # An emergency is high-risk: its monitoring window is an hour.
    await modal(bot, "alice", "change_verify", h.emergency, at(28, 3, 15),
                {"checks": PRODUCTION_CHECKS, "notes": "Payments flowing."})
    await wait_until(bot, at(28, 6, 10))  # still not approved: the tech leads are chased
    await approve(bot, "bob", h.emergency, at(28, 9))  # after the deployment
    await wait_until(bot, at(29, 2, 10))  # the retrospective falls due: escalated

    # CHG-5 — proposed and cancelled before production.
    await wait_until(bot, at(30, 9))
    h.cancelled = await propose(bot, "carol", title="Try a new cache TTL", reviewers=[BOB])
    await wait_until(bot, at(30, 9, 30))
    await cancel(bot, "carol", h.cancelled)

    # CHG-4's retrospective, a day and a half late.
    await modal(bot, "alice", "change_retrospective", h.emergency, at(30, 10), {
        "document": "https://wiki.example.com/retro/payments-webhook",
        "root_cause": "Unvalidated input.",
        "follow_ups": "Validate webhook payloads against the schema (PAY-12, alice)."})

    # CHG-6 — deployed on 1 December: belongs to the next period.
    await wait_until(bot, at(30, 11))
    h.later = await propose(bot, "alice", title="December change", reviewers=[BOB])
    await approve(bot, "bob", h.later, at(30, 11, 30))
    await wait_until(bot, at(30, 12))
    await flows.staged(bot, h.later)
    await modal(bot, "alice", "change_deploy", h.later, at(1, 10, month=12),
                {"method": "rolling", "notes": None})
    # Another unmatched deployment, in December too.
    await deployed_by_github(bot, 9009, "cafe00000000", "mallory-gh", at(2, 9, month=12),
                             full_name="acme/web")
    await wait_until(bot, at(2, 12, month=12))
    return h
