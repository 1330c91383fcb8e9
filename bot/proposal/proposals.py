"""Step 1, the change proposal: what a PR/ticket must say, and checking what was typed."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from bot.change.states import Category, Risk
from bot.github.client import parse_pr_url
from bot.policy import SERVICE_LIMIT, ProposalPolicy

LIMITS = {
    "title": 150,
    "description": 3000,
    "rollback_plan": 3000,
    "testing": 3000,
    "security_notes": 3000,
    "impact": 3000,
}
REQUIRED = ("title", "description", "category", "risk", "rollback_plan", "testing")
CATEGORIES = (Category.standard, Category.normal, Category.high_risk)  # emergencies: their form
RISKS = tuple(Risk)


@dataclass(frozen=True)
class Proposal:
    title: str
    description: str
    category: Category
    risk: Risk
    rollback_plan: str
    testing: str
    security_notes: str = ""
    security_checkboxes: tuple[str, ...] = ()
    pr_url: str | None = None
    reviewers: tuple[str, ...] = ()
    planned_at: datetime | None = None
    impact: str = ""  # emergencies: what is broken or at risk, and the impact
    involved: tuple[str, ...] = ()  # emergencies: who else is working on it
    fixes_change_id: int | None = None  # emergencies: the deployed change it repairs
    service: str | None = None  # what it ships to (policy `proposal.services`)

    def differences(self, other: Proposal) -> dict[str, dict[str, Any]]:
        """{field: {"from": old, "to": new}} for every field that changed: for the audit log."""
        changed = {}
        for field in fields(self):
            old, new = getattr(other, field.name), getattr(self, field.name)
            if old != new:
                changed[field.name] = {"from": _plain(old), "to": _plain(new)}
        return changed


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


class Invalid(Exception):
    """What is wrong, keyed by the modal's block_id, as Slack's `response_action: errors`."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def check_text(values: dict[str, Any], errors: dict[str, str]) -> None:
    """Required fields present and every text within Slack's and our limits."""
    for name, limit in LIMITS.items():
        text = values.get(name) or ""
        if len(text) > limit:
            errors[name] = f"Keep this under {limit} characters (it has {len(text)})."
    for name in REQUIRED:
        if name in values and not values.get(name):
            errors.setdefault(name, "This is required.")


def check_pr_url(url: str | None, errors: dict[str, str]) -> None:
    if not url:
        return
    try:
        parse_pr_url(url)
    except ValueError as exc:
        errors["pr_url"] = f"{exc} Paste a link like https://github.com/acme/api/pull/123."


def check_service(text: str | None, rules: ProposalPolicy, errors: dict[str, str]
                  ) -> str | None:
    """The form's service: one of the policy's `services` when it lists them (spelled as
    listed), any name otherwise; an error under the field when it is required and missing."""
    text = (text or "").strip()
    if not text:
        if rules.require_service:
            errors["service"] = ("Name the service this change ships to: changes planned "
                                 "close together on one service are flagged as conflicts.")
        return None
    if rules.services:
        known = {name.lower(): name for name in rules.services}
        if text.lower() not in known:
            listed = ", ".join(rules.services[:10]) + ("…" if len(rules.services) > 10 else "")
            errors["service"] = (f"{text[:SERVICE_LIMIT]!r} is not one of the team's "
                                 f"services: choose one of {listed}.")
            return None
        return known[text.lower()]
    if len(text) > SERVICE_LIMIT:
        errors["service"] = f"Keep this under {SERVICE_LIMIT} characters (it has {len(text)})."
        return None
    return text


def validate_proposal(values: dict[str, Any], *, author: str, now: datetime,
                      rules: ProposalPolicy) -> Proposal:
    """Turn the modal's values into a Proposal, or raise Invalid naming each bad field."""
    errors: dict[str, str] = {}
    check_text(values, errors)
    service = check_service(values.get("service"), rules, errors)
    category: str = values.get("category") or ""
    risk: str = values.get("risk") or ""
    if category and category not in CATEGORIES:
        errors["category"] = "Choose standard, normal or high-risk."
    if risk and risk not in RISKS:
        errors["risk"] = "Choose low, medium or high."
    if category == "standard" and risk == "high":
        errors["category"] = (
            "A standard change is a low-risk, pre-approved pattern: "
            "choose Normal or High-risk for a high-risk change."
        )
    check_pr_url(values.get("pr_url"), errors)
    reviewers = tuple(values.get("reviewers") or ())
    if author in reviewers:
        errors["reviewers"] = (
            "You can't review your own change: segregation of duties needs someone else."
        )
    planned_at = values.get("planned_at")
    if planned_at is not None and planned_at <= now:
        errors["planned_at"] = "That time has passed: pick a time in the future or leave it empty."
    if not category or not risk:
        errors.setdefault("category" if not category else "risk", "This is required.")
    if errors:
        raise Invalid(errors)
    return Proposal(
        title=values["title"],
        description=values["description"],
        category=Category(category),
        risk=Risk(risk),
        rollback_plan=values["rollback_plan"],
        testing=values["testing"],
        security_notes=values.get("security_notes") or "",
        security_checkboxes=tuple(values.get("security_checkboxes") or ()),
        pr_url=values.get("pr_url") or None,
        reviewers=reviewers,
        planned_at=planned_at,
        service=service,
    )
