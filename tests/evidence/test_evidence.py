"""The evidence pack of a realistic month, asserted row by row in Markdown, CSV and JSON."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import sys
import tempfile
from pathlib import Path

import pytest

from bot.cli import main
from bot.evidence import witness
from bot.evidence.export import export
from bot.evidence.period import parse_period
from bot.evidence.records import RULE_LABELS
from bot.playground.standin.workspace import CHANGES
from storage import audit_chain
from tests import flows
from tests.evidence_history import History, at, build, declare_emergency, modal, wait_until
from tests.evidence_history import policy as history_policy
from tests.fake_github import FakeGitHub
from tests.flows import PRODUCTION_CHECKS
from tests.github_flows import TOKEN, pending, start

ROOT = Path(__file__).resolve().parents[2]
NOVEMBER = ("2026-11-01", "2026-11-30")


@pytest.fixture
def policy():
    return history_policy()


@pytest.fixture
async def github():
    async with FakeGitHub(token=TOKEN) as fake:
        yield fake


@pytest.fixture
async def bot(db, slack, clock, policy, github):
    harness = await start(db, slack, clock, policy, github)
    yield harness
    await harness.stop()


async def pack(bot, fmt: str, *, batch: int = 500, period=NOVEMBER) -> str:
    out = io.StringIO()
    await export(bot.ctx.db, bot.ctx.policy, parse_period(*period), fmt, out,
                 now=bot.clock.now(), batch=batch)
    return out.getvalue()


async def head(bot) -> str:
    async with bot.ctx.db.session() as session:
        return (await audit_chain.chain_state(session))[0]


# What each change of the month must show, in every format.
EXPECTED_EXCEPTIONS = {
    "CHG-1": [],
    "CHG-2": [],
    "CHG-3": [
        ("ci", "broken", "deployed with CI failing (unit-tests) at f00dfeed1234"),
        ("staging", "broken", "deployed without validation in staging"),
        ("business_hours", "broken", "deployed outside business hours"),
        ("verification", "broken", "verified 1 h 30 min after the monitoring window ended "
                                   "(beyond the grace of 30 min)"),
        # Recorded by GitHub's deployment (bot.lifecycle.NOT_READY): it skipped staging.
        ("status", "broken", "deployed while the change was approved, not ready for "
                             "production"),
    ],
    "CHG-4": [
        # Approved, but later than `windows.emergency_approval` (4 h) allows: broken.
        ("approvals", "broken", "approved 6 h 50 min after deployment, 2 h 50 min later than "
                                "the emergency process allows (4 h) (1 approval), after 1 "
                                "escalation to the tech leads (4 h after deployment)"),
        ("staging", "bypassed", "no staging validation under the emergency process"),
        ("business_hours", "bypassed", "deployed outside business hours under the emergency "
                                       "process"),
        ("retrospective", "broken", "retrospective done 31 h 50 min late, after 2 "
                                    "escalations to the tech leads (the last 30 h 50 min "
                                    "after it was due)"),
    ],
    "CHG-5": [],
}


async def test_a_month_of_changes_in_json_csv_and_markdown(bot, github, tmp_path):
    h = await build(bot, github)
    chain_head = await head(bot)
    check_json(json.loads(await pack(bot, "json")), chain_head, h)
    check_csv(list(csv.DictReader(io.StringIO(await pack(bot, "csv")))), chain_head, h)
    check_markdown(await pack(bot, "md"), chain_head, h)

    # Streamed a batch at a time: small batches give the same pack.
    for fmt in ("md", "csv", "json"):
        assert await pack(bot, fmt, batch=2) == await pack(bot, fmt, batch=500), fmt

    december = list(csv.DictReader(io.StringIO(
        await pack(bot, "csv", period=("2026-12-01", "2026-12-31")))))
    assert [r["change"] for r in december] == ["CHG-6"]

    # The command line writes the same pack to a file.
    out = tmp_path / "november.json"
    code, _, err = await cli(bot, "evidence", "--from", "2026-11-01", "--to", "2026-11-30",
                             "--format", "json", "--out", str(out))
    assert code == 0, err
    data = json.loads(out.read_text(encoding="utf-8"))
    check_json(data, chain_head, h)
    assert "5 change(s), 9 exception(s) (7 broken, 2 bypassed), 1 unmatched" in err
    # The running bot posts the head that pack names to the audit channel.
    [request] = await pending(bot, witness.CHECKPOINT)
    assert request.payload == {"why": "evidence export"}
    bot.clock.set(request.due_at)  # the command line's time: the bot's sweeper sends it then
    await bot.sweep()
    [posted] = [m for m in bot.slack.messages(CHANGES)
                if (m.get("metadata") or {}).get("event_type") == witness.METADATA_TYPE]
    assert posted["metadata"]["event_payload"]["head"] == chain_head


def check_json(data: dict, chain_head: str, h: History) -> None:
    assert data["pack"]["audit_log"]["head_hash"] == chain_head
    assert data["pack"]["period"]["start"] == "2026-11-01T00:00:00+00:00"
    assert data["pack"]["period"]["end"] == "2026-12-01T00:00:00+00:00"
    summary = data["summary"]
    assert {k: summary[k] for k in ("changes", "deployed", "rolled_back", "not_deployed",
                                    "emergencies", "exceptions", "broken", "bypassed",
                                    "unmatched_deployments", "segregation_of_duties_failures")
            } == {"changes": 5, "deployed": 4, "rolled_back": 1, "not_deployed": 1,
                  "emergencies": 1, "exceptions": 9, "broken": 7, "bypassed": 2,
                  "unmatched_deployments": 1, "segregation_of_duties_failures": 0}
    assert [(e["change"], e["rule"], e["kind"], e["detail"]) for e in summary["exception_list"]
            ] == [(ref, *e) for ref, found in EXPECTED_EXCEPTIONS.items() for e in found]
    assert [(d["id"], d["sha"], d["creator"])
            for d in data["unmatched_deployments"]] == [(9002, "deadbeef0000", "mallory-gh")]
    assert data["policy"]["review"]["high_risk_tech_leads"] == 1
    assert (summary["deployments_inside_freezes"], data["deployments_inside_freezes"]) == (0, [])

    changes = data["changes"]
    # Ordered by deployment (or closure); CHG-6 was deployed in December.
    assert [c["ref"] for c in changes] == ["CHG-1", "CHG-2", "CHG-3", "CHG-4", "CHG-5"]
    for change in changes:
        assert [(e["rule"], e["kind"], e["detail"]) for e in change["exceptions"]
                ] == EXPECTED_EXCEPTIONS[change["ref"]], change["ref"]
    normal, high, shortcut, emergency, cancelled = changes

    # CHG-1: proposal, approvals from Slack and GitHub, the refused self-approval, CI, staging,
    # deployment (and GitHub's report of it), verification in time.
    assert normal["proposal"]["rollback_plan"].startswith("Drop the index")
    assert normal["proposal"]["testing"].startswith("Ran the migration")
    assert [(a["who"], a["kind"], a["decision"], a["at"], a["source"], a["before_deployment"],
             a["counted"], a["commit_sha"]) for a in normal["approvals"]] == [
        # A Slack approval records the commit the card showed, like a GitHub review.
        ("U0BOB", "peer", "approved", "2026-11-25T10:10:00+00:00", "slack", True, True,
         "a1b2c3d4e5f6"),
        ("U0CAROL", "peer", "approved", "2026-11-25T10:20:00+00:00", "github", True, True,
         "a1b2c3d4e5f6"),
    ]
    sod = normal["segregation"]
    assert sod["result"] == "pass" and sod["author_never_approved"] is True
    assert sod["refused_self_approvals"] == ["2026-11-25T10:05:00+00:00"]
    assert sod["approvers"] == ["U0BOB", "U0CAROL"] and sod["met_before_deployment"] is True
    assert normal["ci"]["state"] == "success" and normal["ci"]["head_sha"] == "a1b2c3d4e5f6"
    assert [(c["name"], c["state"], c["url"]) for c in normal["ci"]["checks"]] == [
        ("unit-tests", "success", h.normal_checks["unit-tests"]),
        ("sast", "success", h.normal_checks["sast"]),
    ]
    assert normal["ci"]["pull_request"]["title"] == "Index orders.created_at"
    assert normal["staging"]["checks"] == ["functional", "performance", "no_breaking_changes"]
    assert normal["staging"]["notes"] == "Report runs in 2 s instead of 40 s."
    assert {k: normal["deployment"][k] for k in ("at", "by", "method", "inside_business_hours",
                                                 "emergency")} == {
        "at": "2026-11-25T11:30:00+00:00", "by": "U0ALICE", "method": "blue_green",
        "inside_business_hours": True, "emergency": False}
    assert [g["id"] for g in normal["deployment"]["github"]] == [9001]
    assert normal["verification"]["within_window"] is True
    assert normal["verification"]["verified_at"] == "2026-11-25T12:10:00+00:00"
    assert normal["verification"]["checks"] == ["logs", "metrics", "functionality"]
    assert normal["rollback"] is None and normal["emergency"] is None
    assert [(e["action"], e["actor"], e["at"][11:16]) for e in normal["timeline"]] == [
        ("proposed", "U0ALICE", "10:00"), ("ci_changed", "github", "10:00"),  # pending
        ("risk_suggested", "changebot", "10:00"),  # its PR adds a migration; medium kept
        ("self_approval_refused", "U0ALICE", "10:05"), ("approval_given", "U0BOB", "10:10"),
        ("approved", "changebot", "10:10"), ("ci_changed", "github", "10:12"),  # success
        ("github_review", "gh:carol-gh", "10:20"), ("staging_deployed", "U0ALICE", "10:30"),
        ("staging_verified", "U0ALICE", "11:00"),
        ("deployed_to_production", "U0ALICE", "11:30"),
        ("watch_started", "changebot", "11:30"),  # alice told she watches it until 12:00
        ("deployed_again", "gh:alice-gh", "11:31"),  # GitHub reports the deployment
        ("verified_in_production", "U0ALICE", "12:10"),
    ]
    assert all(len(e["hash"]) == 64 for e in normal["timeline"])

    # CHG-2: high-risk: 2 peers + a tech lead, security review before deployment, rollback.
    assert high["segregation"]["tech_lead_approvers"] == ["U0DAVE"]
    assert high["segregation"]["required"] == 3 and high["segregation"]["result"] == "pass"
    assert high["security"]["required"] is True
    assert [t["source"] for t in high["security"]["triggers"]] == ["checkbox", "category",
                                                                   "keyword"]
    assert (high["security"]["approved_by"], high["security"]["approved_at"],
            high["security"]["before_deployment"]) == (
        "U0ERIN", "2026-11-25T13:40:00+00:00", True)
    assert high["staging"]["checks"] == ["functional", "security", "no_breaking_changes"]
    assert (high["staging"]["by"], high["staging"]["verified_at"]) == (
        "U0DAVE", "2026-11-25T14:30:00+00:00")
    assert (high["deployment"]["by"], high["deployment"]["method"]) == ("U0DAVE", "rolling")
    assert [e["action"] for e in high["timeline"]][:2] == [
        "proposed", "security_review_requested"]
    rollback = high["rollback"]
    assert (rollback["trigger"], rollback["method"], rollback["duration_seconds"],
            rollback["by"]) == ("errors", "previous_image", 720, "U0DAVE")

    # CHG-3: deployed by GitHub with CI red, no staging, at night; verified late.
    deployment = shortcut["deployment"]
    assert (deployment["by"], deployment["method"], deployment["inside_business_hours"]) == (
        "gh:bob-gh", "automated", False)
    assert [(g["id"], g["sha"], g["creator"]) for g in deployment["github"]] == [
        (9003, "f00dfeed1234", "bob-gh")]
    assert deployment["recorded_exceptions"] == [
        "status: deployed while the change was approved, not ready for production",
        "ci: failing: unit-tests",
        "staging: not validated in staging yet",
        "business_hours: outside business hours (Mon–Fri 09:00–17:00 UTC)",
    ]
    assert shortcut["verification"]["within_window"] is False
    assert (shortcut["ci"]["state"], shortcut["ci"]["failing"]) == ("failure", ["unit-tests"])
    assert [(c["name"], c["state"], c["url"]) for c in shortcut["ci"]["checks"]] == [
        ("unit-tests", "failure", h.shortcut_checks["unit-tests"]),
        ("lint", "success", h.shortcut_checks["lint"]),
    ]
    # The window-end reminders chased the author before the late verification.
    assert "verification_overdue" in [e["action"] for e in shortcut["timeline"]]

    # CHG-4: emergency: approved after deployment, retrospective late.
    em = emergency["emergency"]
    assert (em["approved_at"], em["approved_after_deployment"], em["retrospective"],
            em["retrospective_link"]) == (
        "2026-11-28T09:00:00+00:00", True, "late",
        "https://wiki.example.com/retro/payments-webhook")
    assert emergency["deployment"]["emergency"] is True
    assert (em["recorded"]["document"], em["recorded"]["overdue"], em["recorded"]["by"]) == (
        "https://wiki.example.com/retro/payments-webhook", True, "U0ALICE")
    assert [(e["action"], e["actor"], e["at"][8:16]) for e in emergency["timeline"]] == [
        ("proposed", "U0ALICE", "28T02:00"), ("emergency_declared", "U0ALICE", "28T02:00"),
        ("deployed_to_production", "U0ALICE", "28T02:10"),
        ("gate_bypassed", "U0ALICE", "28T02:10"), ("gate_bypassed", "U0ALICE", "28T02:10"),
        ("gate_bypassed", "U0ALICE", "28T02:10"),
        ("retrospective_scheduled", "changebot", "28T02:10"),
        ("watch_started", "changebot", "28T02:10"),
        ("verified_in_production", "U0ALICE", "28T03:15"),
        ("approval_missing_reminded", "changebot", "28T06:10"),
        ("approval_given", "U0BOB", "28T09:00"), ("approved", "changebot", "28T09:00"),
        ("retrospective_overdue", "changebot", "29T02:10"),
        ("retrospective_overdue", "changebot", "30T09:00"),  # a day later, escalated again
        ("retrospective_recorded", "U0ALICE", "30T10:00"),
    ]
    assert [e.split(":")[0] for e in emergency["deployment"]["recorded_exceptions"]] == [
        "approvals", "staging", "business_hours"]
    assert emergency["approvals"][0]["before_deployment"] is False
    assert emergency["segregation"]["result"] == "pass"

    # CHG-5: cancelled before production.
    assert cancelled["status"] == "cancelled" and cancelled["deployment"] is None
    assert cancelled["segregation"]["result"] == "not deployed"


def check_csv(rows: list[dict], chain_head: str, h: History) -> None:
    assert [r["change"] for r in rows] == ["CHG-1", "CHG-2", "CHG-3", "CHG-4", "CHG-5"]
    assert {r["audit_chain_head"] for r in rows} == {chain_head}
    by = {r["change"]: r for r in rows}

    def cols(ref: str, *names: str) -> tuple:
        return tuple(by[ref][n] for n in names)

    assert cols("CHG-1", "approvals", "approvers_counted", "segregation_of_duties",
                "self_approval_attempts_refused", "ci_state", "ci_sha", "deployed_at_utc",
                "deploy_method", "outside_business_hours", "verified_within_window",
                "exceptions") == (
        "U0BOB peer approved 2026-11-25 10:10:00 via slack before deployment; "
        "U0CAROL peer approved 2026-11-25 10:20:00 via github before deployment",
        "U0BOB; U0CAROL", "pass", "1", "success", "a1b2c3d4e5f6", "2026-11-25 11:30:00",
        "blue_green", "no", "yes", "0")
    assert by["CHG-1"]["ci_checks"] == (f"unit-tests success {h.normal_checks['unit-tests']}; "
                                        f"sast success {h.normal_checks['sast']}")
    assert cols("CHG-2", "tech_lead_approvers", "security_review_required",
                "security_approved_by", "rollback_duration_seconds", "rollback_trigger",
                "rollback_method", "status") == (
        "U0DAVE", "yes", "U0ERIN", "720", "errors", "previous_image", "rolled_back")
    assert cols("CHG-3", "deployed_by", "deploy_method", "github_deployments",
                "outside_business_hours", "verified_within_window", "exceptions") == (
        "gh:bob-gh", "automated", "9003 acme/api@f00dfeed1234", "yes", "no", "5")
    for ref, found in EXPECTED_EXCEPTIONS.items():
        assert by[ref]["exception_list"] == "; ".join(
            f"{RULE_LABELS[rule]} ({kind}): {detail}" for rule, kind, detail in found)
    assert cols("CHG-4", "emergency", "emergency_approved_after_deployment", "retrospective",
                "retrospective_link", "retrospective_due_utc", "retrospective_done_utc") == (
        "yes", "yes", "late", "https://wiki.example.com/retro/payments-webhook",
        "2026-11-29 02:10:00", "2026-11-30 10:00:00")
    assert cols("CHG-5", "status", "deployed_at_utc", "segregation_of_duties") == (
        "cancelled", "", "not deployed")
    # Multi-line text stays in its cell.
    assert all(len(r) == len(rows[0]) for r in rows)
    assert {r["deployments_inside_freezes"] for r in rows} == {""}


def check_markdown(text: str, chain_head: str, h: History) -> None:
    assert text.startswith("# Change evidence pack: 2026-11-01 to 2026-11-30\n")
    assert f"head hash `{chain_head}`" in text
    assert "| Changes | 5 |" in text
    assert "| Deployed to production | 4 (1 rolled back) |" in text
    assert "| Exceptions | 9 in 2 change(s): 7 rules broken, 2 bypassed |" in text
    assert "| GitHub production deployments matching no change | 1 |" in text
    assert "| Production deployments inside a freeze | 0 (0 broken, 0 bypassed) |" in text
    assert "\n### Deployments inside a freeze\n\nNone.\n" in text
    # Why CHG-2 needed a security review, in the words the card uses (not raw keys).
    assert "- **Security review**: required — touches cryptography (checkbox)" in text
    exception_rows = [line for line in text.splitlines()
                      if line.startswith("| CHG-") and ("| broken |" in line
                                                        or "| bypassed |" in line)]
    assert exception_rows == [
        "| CHG-3 | CI | broken | deployed with CI failing (unit-tests) at f00dfeed1234 |",
        "| CHG-3 | Staging | broken | deployed without validation in staging |",
        "| CHG-3 | Business hours | broken | deployed outside business hours |",
        "| CHG-3 | Verification | broken | verified 1 h 30 min after the monitoring window "
        "ended (beyond the grace of 30 min) |",
        "| CHG-3 | Change status | broken | deployed while the change was approved, not ready "
        "for production |",
        "| CHG-4 | Approvals | broken | approved 6 h 50 min after deployment, 2 h 50 min "
        "later than the emergency process allows (4 h) (1 approval), after 1 escalation to "
        "the tech leads (4 h after deployment) |",
        "| CHG-4 | Staging | bypassed | no staging validation under the emergency process |",
        "| CHG-4 | Business hours | bypassed | deployed outside business hours under the "
        "emergency process |",
        "| CHG-4 | Retrospective | broken | retrospective done 31 h 50 min late, after 2 "
        "escalations to the tech leads (the last 30 h 50 min after it was due) |",
    ]
    assert ("| 9002 | acme/api | production | deadbeef0000 | mallory-gh | "
            "2026-11-27 15:00 UTC |") in text
    headings = [line for line in text.splitlines() if line.startswith("### CHG-")]
    assert headings == [
        "### CHG-1 · Add an index on orders.created_at",
        "### CHG-2 · Rotate the session-signing keys",
        "### CHG-3 · Bump the HTTP client",
        "### CHG-4 · Hotfix: payments webhook crashes",
        "### CHG-5 · Try a new cache TTL",
    ]
    sections = dict(zip([h[4:9] for h in headings], text.split("\n### CHG-")[1:], strict=True))
    chg1 = sections["CHG-1"]
    assert ("**Segregation of duties: pass** — the author never approved it (1 self-approval "
            "attempt refused: 2026-11-25 10:05 UTC); 2 distinct approver(s) (U0BOB, U0CAROL) "
            "of 1 approval required; met before deployment") in chg1
    assert ("| U0CAROL | peer | approved | 2026-11-25 10:20 UTC | GitHub (carol-gh) | yes | "
            "yes | commit a1b2c3d4e5f6 |") in chg1
    assert ("- **CI**: success at `a1b2c3d4e5f6` when it was deployed — "
            f"[unit-tests]({h.normal_checks['unit-tests']}) success, "
            f"[sast]({h.normal_checks['sast']}) success") in chg1
    assert ("- **Staging**: deployed 2026-11-25 10:30 UTC, validated 2026-11-25 11:00 UTC by "
            "U0ALICE — checked: functional testing, performance testing, no breaking changes "
            "— Report runs in 2 s instead of 40 s.\n") in chg1
    assert ("- **Production deployment**: 2026-11-25 11:30 UTC by U0ALICE, method blue/green, "
            "inside business hours, normal process\n"
            "  - GitHub deployment 9001 to production of acme/api at `a1b2c3d4e5f6` by "
            "alice-gh, 2026-11-25 11:31 UTC\n") in chg1
    assert ("- **Verification**: 2026-11-25 12:10 UTC by U0ALICE (window ended 2026-11-25 "
            "12:00 UTC; within the monitoring window) — checked: logs checked for errors, "
            "metrics checked (error rate, latency, resources), functionality verified in "
            "production — Error rate flat; p99 of the report down 95%.\n") in chg1
    chg2 = sections["CHG-2"]
    assert "tech lead (1 required): U0DAVE" in chg2
    assert ("approved by U0ERIN at 2026-11-25 13:40 UTC (before deployment)") in chg2
    assert ("- **Rollback**: started 2026-11-26 10:20 UTC by U0DAVE, finished 2026-11-26 "
            "10:32 UTC (12 min); trigger: application errors or crashes; method: previous "
            "image — Logins failed for 3% of users.\n") in chg2
    chg3 = sections["CHG-3"]
    assert ("- **Production deployment**: 2026-11-26 19:00 UTC by gh:bob-gh, method automated, "
            "**outside business hours**, normal process") in chg3
    assert ("  - Flagged when it was deployed: deployed while the change was approved, not "
            "ready for production; CI: failing: unit-tests; Staging: not validated in staging "
            "yet; Business hours: outside business hours (Mon–Fri 09:00–17:00 UTC)\n") in chg3
    chg4 = sections["CHG-4"]
    assert "**outside business hours**, emergency process" in chg4
    assert ("- **Emergency**: approved after deployment (2026-11-28 09:00 UTC); retrospective "
            "due 2026-11-29 02:10 UTC, done 2026-11-30 10:00 UTC: **late** — "
            "https://wiki.example.com/retro/payments-webhook") in chg4
    assert "- **Production deployment**: none" in sections["CHG-5"]
    assert "December change" not in text


async def test_an_emergency_missing_its_approval_is_an_exception_only_after_the_delay(bot):
    """Deployed from Slack before any approval: the deployment records the approvals gate as
    pending (it does not hold an emergency); the pack follows the policy: nothing within
    `windows.emergency_approval`, broken once it has passed, and still broken (with how
    late) when the approval comes after it."""
    await wait_until(bot, at(28, 2))
    change_id = await declare_emergency(bot, "alice", {
        "impact": "Card payments failing.", "description": "Hotfix: null amounts",
        "rollback_plan": "Revert.", "pr_url": None, "involved": []})
    await modal(bot, "alice", "change_deploy", change_id, at(28, 2, 10),
                {"method": "rolling", "notes": None})
    await modal(bot, "alice", "change_verify", change_id, at(28, 3, 15),
                {"checks": PRODUCTION_CHECKS, "notes": None})

    async def found() -> list[tuple[str, str, str]]:
        [record] = json.loads(await pack(bot, "json"))["changes"]
        return [(e["rule"], e["kind"], e["detail"]) for e in record["exceptions"]]

    bypassed = [
        ("staging", "bypassed", "no staging validation under the emergency process"),
        ("business_hours", "bypassed", "deployed outside business hours under the emergency "
                                       "process"),
    ]
    await wait_until(bot, at(28, 6, 10))  # the policy's delay: 4 h
    assert await found() == bypassed
    await wait_until(bot, at(28, 6, 11))
    assert await found() == [
        ("approvals", "broken", "emergency change still not approved 4 h 1 min after "
                                "deployment (1 approval needed), after 1 escalation to the "
                                "tech leads (4 h after deployment)"), *bypassed]
    await wait_until(bot, at(28, 7))
    await flows.click(bot, "bob", "change_approve", change_id)
    # Approved, but later than the process allows: still broken, saying how late.
    assert await found() == [
        ("approvals", "broken", "approved 4 h 50 min after deployment, 50 min later than the "
                                "emergency process allows (4 h) (1 approval), after 1 "
                                "escalation to the tech leads (4 h after deployment)"),
        *bypassed]
    [record] = json.loads(await pack(bot, "json"))["changes"]
    # What the deployment recorded skipping, in the emergency process's words.
    assert record["deployment"]["recorded_exceptions"] == [
        "approvals: deployed before approval (0 of 1) under the emergency process: the "
        "approval may come after deployment",
        "staging: deployed without validation in staging under the emergency process",
        "business_hours: deployed outside business hours (Mon–Fri 09:00–17:00 UTC) under "
        "the emergency process",
    ]


async def cli(bot, *args: str) -> tuple[int, str, str]:
    """`python -m bot ...` in a clean directory, on the test's database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHANGEBOT_", "SLACK_"))}
    env.update(DATABASE_URL=bot.ctx.db.url, PYTHONPATH=str(ROOT), LOG_LEVEL="WARNING")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, env=env, cwd=tempfile.gettempdir(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()
    return process.returncode or 0, stdout.decode(), stderr.decode()


def test_a_period_is_whole_days_in_the_team_time_zone():
    period = parse_period("2026-01-01", "2026-03-31", "Europe/Paris")
    assert period.start.isoformat() == "2025-12-31T23:00:00+00:00"
    assert period.end.isoformat() == "2026-03-31T22:00:00+00:00"  # summer time by then
    assert period.label == "2026-01-01 to 2026-03-31"
    with pytest.raises(ValueError, match="ends .* before it starts"):
        parse_period("2026-03-31", "2026-01-01")
    with pytest.raises(ValueError, match="'Q1' is not a date"):
        parse_period("Q1", "2026-01-01")


def test_a_bad_date_is_explained_and_exports_nothing(monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'none.db'}")
    out = tmp_path / "pack.md"
    assert main(["evidence", "--from", "2026-11-31", "--to", "2026-12-31",
                 "--out", str(out)]) == 2
    assert "'2026-11-31' is not a date: write it as YYYY-MM-DD" in capsys.readouterr().err
    assert not out.exists() and not (tmp_path / "none.db").exists()
