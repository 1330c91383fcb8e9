"""Where changes ship: what the merge gate and the deploy gate say, as pure rules.

The merge gate is the `Changebot` check (or commit status) on the pull request's head
commit: pending until the approvals and the security review are met *for that commit*,
success then, failure when the change is rejected, cancelled or rolled back.

The deploy gate answers GitHub's deployment protection rule for one commit: approved when
every production gate is open (the same `gates()` the card shows, so a gate added there
holds deployments too), rejected when the change can no longer ship or the commit is not
the one approved, else a status report of what is missing, and the job keeps waiting.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.change.facts import ChangeFacts
from bot.change.gates import OPEN_GATE_STATES, Gate, gates
from bot.change.states import Category, GateState, Status
from bot.deployment.business_hours import next_business_time
from bot.github.reads import CHECK_NAME
from bot.policy import Policy
from bot.schedule.freeze import thaw_at

COMMENT_LIMIT = 1024  # GitHub's limit on a protection rule's comment
REPORT_LIMIT = 10  # status reports GitHub takes per deployment
FINAL = (Status.rejected, Status.cancelled, Status.rolled_back)

__all__ = ["CHECK_NAME", "DeployAnswer", "MergeGate", "deploy_answer", "merge_gate"]

MergeState = Literal["pending", "success", "failure", "neutral"]


@dataclass(frozen=True)
class MergeGate:
    state: MergeState
    text: str


def merge_gate(facts: ChangeFacts, policy: Policy, now: datetime, cid: str) -> MergeGate:
    """The `Changebot` check of the change's pull request head."""
    if facts.status in FINAL:
        return MergeGate("failure", f"{cid} was {facts.status.value.replace('_', ' ')}")
    checked = [g for g in gates(facts, policy, now) if g.key in ("approvals", "security_review")]
    missing = [g for g in checked if g.state not in OPEN_GATE_STATES and g.blocks_production]
    if not missing:
        held = [g for g in checked if g.state not in OPEN_GATE_STATES]
        after = " (an emergency: its review may follow)" if held else ""
        return MergeGate("success", f"{cid}: approvals and security review met{after}")
    if any(g.state == GateState.failed for g in missing):
        return MergeGate("failure", plain(f"{cid}: " + "; ".join(_short(g) for g in missing)))
    return MergeGate("pending", plain(f"{cid}: " + "; ".join(_short(g) for g in missing)))


def no_change_gate(policy: Policy) -> MergeGate:
    """A pull request no change links: neutral (may merge) or pending, by policy."""
    state: MergeState = "neutral" if policy.github.merge_without_change == "neutral" else "pending"
    return MergeGate(state, "no change record — `/change new` or link it")


def _short(gate: Gate) -> str:
    if gate.key == "approvals":
        return gate.detail.split(" — ")[0]
    if gate.key == "security_review":
        return ("security review: changes requested" if gate.state == GateState.failed
                else "security review waiting")
    return f"{gate.label.lower()}: {gate.detail}"


@dataclass(frozen=True)
class DeployAnswer:
    """How to answer the protection rule: `state` None is a status report (keep waiting).
    `bypassed`: gates an emergency passed while they were still open (on record).
    `recheck_at`: when time alone may open the last gate (business hours)."""

    state: Literal["approved", "rejected"] | None
    comment: str
    bypassed: tuple[str, ...] = ()
    recheck_at: datetime | None = None


def deploy_answer(facts: ChangeFacts, policy: Policy, now: datetime, *, cid: str, sha: str,
                  head_sha: str | None, merge_sha: str | None,
                  approvers: Sequence[str]) -> DeployAnswer:
    """The deploy gate for commit `sha` of change `cid`."""
    if facts.status in FINAL:
        return DeployAnswer("rejected", _fit(
            f"{cid} was {facts.status.value.replace('_', ' ')}: it may not be deployed."))
    if sha not in {head_sha, merge_sha}:
        approved = head_sha or "none yet"
        return DeployAnswer("rejected", _fit(
            f"{cid}: commit {sha[:7]} is not the one its approvals are for (the pull "
            f"request's head is {approved[:7]}). Push or link the commit, and approve it."))
    evaluated = gates(facts, policy, now)
    closed = [g for g in evaluated if g.state not in OPEN_GATE_STATES]
    blocking = [g for g in closed if g.blocks_production]
    if not blocking:
        who = ", ".join(approvers) if approvers else "nobody yet"
        bypassed = tuple(g.key for g in closed)
        more = ""
        if bypassed:
            more = (" Emergency change: " + ", ".join(g.label.lower() for g in closed)
                    + " may follow the deployment, on record.")
        kind = "emergency change" if facts.category == Category.emergency else "change"
        return DeployAnswer("approved", _fit(
            f"{cid} is cleared by Changebot ({kind}; approved by {who}); every production "
            f"gate is met for {sha[:7]}.{more}"), bypassed)
    recheck = None
    if {g.key for g in blocking} <= set(_TIME_GATES):
        # Only time holds it: look again when it opens (or at the next thing that holds it).
        recheck = max(_TIME_GATES[g.key](facts, policy, now) for g in blocking)
    lines = "; ".join(f"{g.label}: {g.detail}" for g in blocking)
    return DeployAnswer(None, _fit(f"{cid} is not cleared yet — {lines}."), recheck_at=recheck)


def _business_hours_open(facts: ChangeFacts, policy: Policy, now: datetime) -> datetime:
    return next_business_time(policy.business_hours, now)


def _freeze_thaws(facts: ChangeFacts, policy: Policy, now: datetime) -> datetime:
    return thaw_at(policy, facts.freezes, now)


# The gates that open by themselves as time passes, and when they next open.
_TIME_GATES: dict[str, Callable[[ChangeFacts, Policy, datetime], datetime]] = {
    "business_hours": _business_hours_open,
    "freeze": _freeze_thaws,
}


def not_production_answer(environment: str) -> DeployAnswer:
    return DeployAnswer("approved", f"{environment} is not a production environment: "
                                    "Changebot does not hold it.")


def no_change_answer(policy: Policy, sha: str) -> DeployAnswer:
    if policy.github.deploy_without_change == "approve":
        return DeployAnswer("approved", f"No change record links {sha[:7]}; the policy lets "
                                        "it deploy.")
    return DeployAnswer("rejected", f"No change record links commit {sha[:7]}: propose one "
                                    "with `/change new` and link its pull request.")


def waiting_for_pull(sha: str, number: int, *, linked: bool) -> str:
    """A status report for a commit no change knows yet, of pull request #`number`."""
    if linked:
        return _fit(f"Changebot is waiting for the pull request of {sha[:7]} (#{number}): "
                    "GitHub has not yet told it that this commit is the pull request's head "
                    "or merge commit. It looks again as soon as it hears of it.")
    return _fit(f"Changebot is waiting for the pull request of {sha[:7]}: no change links "
                f"pull request #{number} yet — propose one with `/change new` or link it.")


def plain(text: str) -> str:
    """Slack's markup out, for GitHub: `<@U1>` -> `@U1`, `<url|label>` -> `label`."""
    text = re.sub(r"<@([UW][A-Z0-9]+)>", r"@\1", text)
    return re.sub(r"<([^<>|]+)\|([^<>]+)>", r"\2", text)


def _fit(text: str) -> str:
    text = plain(text)
    return text if len(text) <= COMMENT_LIMIT else text[: COMMENT_LIMIT - 1] + "…"
