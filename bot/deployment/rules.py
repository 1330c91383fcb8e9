"""Steps 5-8: staging, production deployment, post-deployment verification and rollback."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.change.decisions import ALLOWED, Decision, joined, refuse, this_is
from bot.change.facts import ChangeFacts
from bot.change.gates import GATE_LABELS, Gate, production_blockers
from bot.change.states import (
    EMERGENCY_SHORTCUTS,
    IN_PRODUCTION,
    PRE_PRODUCTION,
    Category,
    Risk,
    Status,
)
from bot.deployment.business_hours import (
    format_moment,
)
from bot.policy import Policy
from bot.runtime.durations import spell


@dataclass(frozen=True)
class Operation:
    """A step someone performs on a change: where it may start, and where it leads."""

    verb: str
    moves: dict[Status, Status]
    emergency_moves: dict[Status, Status]
    hint: str


_PRE_DEPLOY_EMERGENCY = tuple(EMERGENCY_SHORTCUTS)


OPERATIONS: dict[str, Operation] = {
    # Step 5: deploy to staging, then mark it validated.
    "staging": Operation(
        "deploy to staging",
        {Status.approved: Status.staging},
        {},
        "it must be approved first",
    ),
    # Step 5 (in staging) or Step 7 (in production, once monitoring is over).
    "verify": Operation(
        "verify",
        {Status.staging: Status.ready, Status.monitoring: Status.completed},
        {},
        "only a change in staging or being monitored in production can be verified",
    ),
    # Step 6: start the production deployment.
    "deploy": Operation(
        "deploy to production",
        {Status.ready: Status.deploying},
        {s: Status.deploying for s in _PRE_DEPLOY_EMERGENCY},
        "it must be validated in staging first",
    ),
    # Step 6 done: the deployment finished (or happened outside the bot); monitoring starts.
    "deployed": Operation(
        "mark as deployed",
        {Status.ready: Status.monitoring, Status.deploying: Status.monitoring},
        {s: Status.monitoring for s in _PRE_DEPLOY_EMERGENCY},
        "it must be validated in staging first",
    ),
    # Step 8: any time after a production deployment.
    "rollback": Operation(
        "roll back",
        {
            Status.deploying: Status.rolled_back,
            Status.monitoring: Status.rolled_back,
            Status.completed: Status.rolled_back,
        },
        {},
        "it has not been deployed to production",
    ),
}


def status_after_step(facts: ChangeFacts, step: str) -> Status | None:
    """Where `step` takes the change from its current status; None when it cannot."""
    operation = _operation(step)
    if facts.category == Category.emergency and facts.status in operation.emergency_moves:
        return operation.emergency_moves[facts.status]
    return operation.moves.get(facts.status)


def may_operate(facts: ChangeFacts, user: str, is_deployer: bool, step: str) -> Decision:
    """Staging, deployment, verification, rollback: the author or the deployers group.

    This checks who and when in the lifecycle; before a production deploy, also check
    `production_blockers`, and before completing, `may_complete`.
    """
    operation = _operation(step)
    if user != facts.author and not is_deployer:
        return refuse(
            f"Only the author (<@{facts.author}>) or a member of the deployers group can "
            f"{operation.verb}."
        )
    if status_after_step(facts, step) is not None:
        return ALLOWED
    if facts.status in {*operation.moves.values(), *operation.emergency_moves.values()}:
        # Where this step leads: someone (or a double click) did it already.
        return refuse(f"You can't {operation.verb} now. {this_is(facts.status)} already: "
                      "nothing was changed.")
    return refuse(f"You can't {operation.verb} now. {this_is(facts.status)}: {operation.hint}.")


# What a production deployment skipped of the process is recorded in `Change.deploy_exceptions`
# as `"<key>: <why>"`: the key names the rule (a gate, or NOT_READY: the change was not ready
# for production, e.g. still in review or cancelled) for the evidence pack, the why is for
# people. `describe_deploy_exception` turns an entry into what the card and messages show.
NOT_READY = "status"


DEPLOY_EXCEPTION_LABELS: dict[str, str] = {**GATE_LABELS, NOT_READY: "Change status"}


def deploy_exception(key: str, why: str) -> str:
    if key not in DEPLOY_EXCEPTION_LABELS:
        raise ValueError(f"{key!r} is not a gate key nor {NOT_READY!r}")
    return f"{key}: {why}"


def parse_deploy_exception(entry: str) -> tuple[str | None, str]:
    """`"ci: failing: build"` -> ("ci", "failing: build"); a bare key -> (key, ""). An entry
    recorded before keys were used (`"CI: failing: build"`) is read by its label; free text
    -> (None, the text)."""
    head, _, why = entry.partition(":")
    head = head.strip()
    if head not in DEPLOY_EXCEPTION_LABELS:
        by_label = {label.lower(): key for key, label in DEPLOY_EXCEPTION_LABELS.items()}
        if head.lower() not in by_label:
            return None, entry.strip()
        head = by_label[head.lower()]
    return head, why.strip()


def describe_deploy_exception(entry: str) -> str:
    """`"ci: failing: build"` -> `CI: failing: build`, as people read it."""
    key, why = parse_deploy_exception(entry)
    if key is None:
        return why
    label = DEPLOY_EXCEPTION_LABELS[key]
    if not why:
        return label
    return why if key == NOT_READY else f"{label}: {why}"


def deployment_exceptions(facts: ChangeFacts, policy: Policy, at: datetime) -> list[str]:
    """What a production deployment that already happened (reported by GitHub) skipped of the
    process, as `deploy_exception` entries: empty when it was in order. It is recorded and
    flagged, never undone."""
    if facts.status in IN_PRODUCTION:
        return []  # the deployment was started through the bot, gates checked then
    found = []
    if status_after_step(facts, "deployed") is None:
        found.append(
            deploy_exception(
                NOT_READY,
                f"deployed while the change was {facts.status.label}, not ready for production",
            )
        )
    found += [
        deploy_exception(gate.key, gate.detail) for gate in production_blockers(facts, policy, at)
    ]
    return found


def closed_change_deployed(facts: ChangeFacts) -> str:
    """The exception of a production deployment of a change that was closed (cancelled,
    rolled back): recorded, the change keeps its status."""
    return deploy_exception(
        NOT_READY, f"deployed by GitHub after the change was {facts.status.label}"
    )


def _operation(step: str) -> Operation:
    try:
        return OPERATIONS[step]
    except KeyError:
        raise ValueError(f"{step!r} is not a step: use one of {', '.join(OPERATIONS)}") from None


@dataclass(frozen=True)
class DeployDecision(Decision):
    """May this person deploy now? When refused by the gates, `blockers` lists each one."""

    blockers: tuple[Gate, ...] = ()


def may_deploy(
    facts: ChangeFacts, user: str, is_deployer: bool, policy: Policy, now: datetime
) -> DeployDecision:
    """Step 6: the author or a deployer, before production, with every gate open.

    Before production every unmet gate is reported at once (staging, approvals, business
    hours…), so that one refusal says everything that stands in the way.
    """
    operate = may_operate(facts, user, is_deployer, "deploy")
    if user != facts.author and not is_deployer:
        return DeployDecision(False, operate.reason)
    if facts.status not in PRE_PRODUCTION:
        return DeployDecision(False, operate.reason)
    blockers = tuple(production_blockers(facts, policy, now))
    if blockers:
        noun = "gate is" if len(blockers) == 1 else "gates are"
        return DeployDecision(False, f"{len(blockers)} {noun} not met", blockers)
    if not operate:
        return DeployDecision(False, operate.reason)
    return DeployDecision(True)


def needs_manual_deployment(facts: ChangeFacts) -> bool:
    """ "Manual deployment for high-risk changes (database migrations, infrastructure)"."""
    return facts.category == Category.high_risk


# The process's words for how a change reaches production (Step 6) and leaves it (Step 8).
DEPLOY_METHODS: dict[str, str] = {
    "blue_green": "Blue/green",
    "rolling": "Rolling",
    "feature_flag": "Feature flag",
    "other": "Other",
}


ROLLBACK_TRIGGERS: dict[str, str] = {
    "errors": "Application errors or crashes",
    "performance": "Performance degradation",
    "security": "Security issue introduced",
    "failed_verification": "Failed verification",
    "other": "Other",
}


ROLLBACK_METHODS: dict[str, str] = {
    "revert": "Revert commit and redeploy",
    "previous_image": "Previous image",
    "feature_flag_off": "Feature flag off",
    "restore_backup": "Restore from backup",
    "other": "Other",
}


STAGING_CHECKS: dict[str, str] = {
    "functional": "Functional testing",
    "performance": "Performance testing",
    "security": "Security testing",
    "no_breaking_changes": "No breaking changes",
}


def required_staging_checks(facts: ChangeFacts) -> list[str]:
    """Functional testing and no breaking changes; security testing "if needed", i.e. when
    the change needs a security review. Performance testing is recorded when done."""
    required = ["functional", "no_breaking_changes"]
    if facts.security_required:
        required.append("security")
    return required


def may_verify_staging(facts: ChangeFacts, user: str, is_deployer: bool) -> Decision:
    """The author or a deployer marks a change in staging as validated."""
    decision = may_operate(facts, user, is_deployer, "verify")
    if decision and facts.status != Status.staging:
        return refuse(
            f"{this_is(facts.status)}: only a change in staging can be marked verified in staging."
        )
    return decision


def check_staging_validation(facts: ChangeFacts, checks: Collection[str]) -> Decision:
    missing = [c for c in required_staging_checks(facts) if c not in checks]
    if not missing:
        return ALLOWED
    why = " (this change needs a security review)" if "security" in missing else ""
    labels = joined([STAGING_CHECKS[c] for c in missing]).lower()
    return refuse(
        f"Staging must validate {labels}{why}: tick what you checked, or keep testing "
        "before marking staging verified."
    )


PRODUCTION_CHECKS: dict[str, str] = {
    "logs": "Logs checked for errors",
    "metrics": "Metrics checked (error rate, latency, resources)",
    "functionality": "Functionality verified in production",
}


def may_verify_production(
    facts: ChangeFacts, user: str, is_deployer: bool, policy: Policy, now: datetime
) -> Decision:
    """The author or a deployer closes a change once its monitoring window is over."""
    decision = may_operate(facts, user, is_deployer, "verify")
    if not decision:
        return decision
    return may_complete(facts, policy, now)


def check_verification(checks: Collection[str]) -> Decision:
    """The process's verification: logs, metrics and functionality, each of them."""
    missing = [label for key, label in PRODUCTION_CHECKS.items() if key not in checks]
    if not missing:
        return ALLOWED
    return refuse(
        f"Not verified yet: {joined(missing).lower()}. Close the change once each is done, "
        "or roll it back if something is wrong."
    )


def monitoring_window(policy: Policy, category: Category, risk: Risk | None = None
                      ) -> timedelta:
    """The process: "Monitoring period: 30 minutes minimum"; high-risk: "extra monitoring".
    An emergency has no high-risk category: its high risk gets the high-risk window."""
    if category == Category.high_risk or (category == Category.emergency
                                          and risk == Risk.high):
        return policy.windows.monitoring_high_risk
    return policy.windows.monitoring


def monitoring_ends_at(facts: ChangeFacts, policy: Policy) -> datetime | None:
    """When the monitoring window after the production deployment is over (UTC)."""
    if facts.deployed_at is None:
        return None
    window = monitoring_window(policy, facts.category, facts.risk)
    return facts.deployed_at.astimezone(UTC) + window


def may_complete(facts: ChangeFacts, policy: Policy, now: datetime) -> Decision:
    """A change being monitored completes once the monitoring window is over."""
    if facts.status != Status.monitoring:
        return refuse(f"{this_is(facts.status)}: only a change being monitored can complete.")
    ends = monitoring_ends_at(facts, policy)
    if ends is not None and now < ends:
        window = spell(monitoring_window(policy, facts.category, facts.risk), words=True)
        return refuse(
            f"Keep monitoring until {format_moment(policy.business_hours, ends)}: the "
            f"process asks for {window} of monitoring after the deployment."
        )
    return ALLOWED


def may_finish_rollback(facts: ChangeFacts, user: str, is_deployer: bool) -> Decision:
    """Whoever may roll back marks the rollback finished, once, so its duration is known."""
    if user != facts.author and not is_deployer:
        return refuse(
            f"Only the author (<@{facts.author}>) or a member of the deployers group can "
            "mark the rollback finished."
        )
    if facts.status != Status.rolled_back or facts.rollback_started_at is None:
        return refuse(f"{this_is(facts.status)}: there is no rollback to finish.")
    if facts.rollback_finished_at is not None:
        return refuse("This rollback is already marked finished.")
    return ALLOWED


def rollback_duration(facts: ChangeFacts) -> timedelta | None:
    if facts.rollback_started_at is None or facts.rollback_finished_at is None:
        return None
    return facts.rollback_finished_at - facts.rollback_started_at
