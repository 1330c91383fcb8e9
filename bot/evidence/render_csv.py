"""The evidence pack as CSV, for spreadsheets: one row per change."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any

from bot.evidence.records import ChangeRecord
from bot.evidence.render import (
    Renderer,
    copy_spool,
    person,
    stamp,
    yes_no,
)
from bot.schedule.evidence import FrozenDeployment

CSV_COLUMNS = [
    "change", "title", "category", "risk", "status", "author", "created_at_utc",
    "closed_at_utc", "revision", "description", "testing", "rollback_plan", "security_notes",
    "pr_url", "reviewers", "approvals", "approvers_counted", "approvals_required",
    "tech_leads_required", "tech_lead_approvers", "approvals_met_before_deployment",
    "author_never_approved", "self_approval_attempts_refused", "segregation_of_duties",
    "ci_state", "ci_sha", "ci_checks", "security_review_required", "security_triggers",
    "security_approved_by", "security_approved_at_utc", "security_overridden_by",
    "staging_validated_at_utc", "staging_validated_by", "staging_checks", "staging_notes",
    "deployed_at_utc", "deployed_by", "deploy_method", "outside_business_hours", "emergency",
    "github_deployments", "monitoring_window_ends_utc", "verified_at_utc", "verified_by",
    "verification_checks", "verification_notes", "verified_within_window",
    "rollback_started_utc", "rollback_finished_utc", "rollback_duration_seconds",
    "rollback_trigger", "rollback_method", "rollback_notes", "emergency_approved_at_utc",
    "emergency_approved_after_deployment", "retrospective_due_utc", "retrospective_done_utc",
    "retrospective_link", "retrospective", "exceptions", "exception_list", "audit_events",
    "audit_last_hash", "audit_chain_head", "deployments_inside_freezes",
]


def _join(items) -> str:
    return "; ".join(str(i) for i in items)


def csv_row(record: ChangeRecord, head: str) -> dict[str, Any]:
    p, sod, ci, sec, st = (record.proposal, record.segregation, record.ci, record.security,
                          record.staging)
    dep, ver, rb, em = record.deployment, record.verification, record.rollback, record.emergency
    approvals = _join(
        f"{a.who} {a.kind} {a.decision} {stamp(a.at)} via {a.source}"
        f"{'' if a.before_deployment is None else (' before' if a.before_deployment else ' after')}"
        f"{' deployment' if a.before_deployment is not None else ''}"
        for a in record.approvals
    )
    return {
        "change": record.ref, "title": record.title, "category": record.category,
        "risk": record.risk, "status": record.status, "author": record.author,
        "created_at_utc": stamp(record.created_at), "closed_at_utc": stamp(record.closed_at),
        "revision": record.revision, "description": p["description"], "testing": p["testing"],
        "rollback_plan": p["rollback_plan"], "security_notes": p["security_notes"],
        "pr_url": p["pr_url"] or "", "reviewers": _join(p["reviewers"]),
        "approvals": approvals, "approvers_counted": _join(sod.approvers),
        "approvals_required": sod.required, "tech_leads_required": sod.tech_leads_required,
        "tech_lead_approvers": _join(sod.tech_lead_approvers),
        "approvals_met_before_deployment": yes_no(sod.met_before_deployment),
        "author_never_approved": yes_no(sod.author_never_approved),
        "self_approval_attempts_refused": len(sod.refused_self_approvals),
        "segregation_of_duties": sod.result,
        "ci_state": ci.state if ci.pr_url else "", "ci_sha": ci.head_sha or "",
        "ci_checks": _join(f"{c.name} {c.state}{' ' + c.url if c.url else ''}"
                           for c in ci.checks),
        "security_review_required": yes_no(sec.required),
        "security_triggers": _join(f"{t.get('reason', '')} ({t.get('source', '')})"
                                   for t in sec.triggers),
        "security_approved_by": sec.approved_by or "",
        "security_approved_at_utc": stamp(sec.approved_at),
        "security_overridden_by": sec.overridden_by or "",
        "staging_validated_at_utc": stamp(st.verified_at), "staging_validated_by": st.by or "",
        "staging_checks": _join(st.checks), "staging_notes": st.notes,
        "deployed_at_utc": stamp(dep.at) if dep else "",
        "deployed_by": (dep.by or "") if dep else "",
        "deploy_method": (dep.method or "") if dep else "",
        "outside_business_hours": yes_no(not dep.inside_business_hours) if dep else "",
        "emergency": yes_no(record.category == "emergency"),
        "github_deployments": _join(f"{g.id} {g.repo}@{g.sha}" for g in dep.github)
        if dep else "",
        "monitoring_window_ends_utc": stamp(ver.window_ends_at) if ver else "",
        "verified_at_utc": stamp(ver.verified_at) if ver else "",
        "verified_by": (ver.by or "") if ver else "",
        "verification_checks": _join(ver.checks) if ver else "",
        "verification_notes": ver.notes if ver else "",
        "verified_within_window": yes_no(ver.within_window) if ver else "",
        "rollback_started_utc": stamp(rb.started_at) if rb else "",
        "rollback_finished_utc": stamp(rb.finished_at) if rb else "",
        "rollback_duration_seconds": rb.duration_seconds if rb and rb.duration_seconds
        is not None else "",
        "rollback_trigger": rb.trigger if rb else "", "rollback_method": rb.method if rb else "",
        "rollback_notes": rb.notes if rb else "",
        "emergency_approved_at_utc": stamp(em.approved_at) if em else "",
        "emergency_approved_after_deployment": yes_no(em.approved_after_deployment)
        if em else "",
        "retrospective_due_utc": stamp(em.retrospective_due_at) if em else "",
        "retrospective_done_utc": stamp(em.retrospective_done_at) if em else "",
        "retrospective_link": (em.retrospective_link or "") if em else "",
        "retrospective": em.retrospective if em else "",
        "exceptions": len(record.exceptions),
        "exception_list": _join(f"{e.label} ({e.kind}): {e.detail}" for e in record.exceptions),
        "audit_events": len(record.timeline),
        "audit_last_hash": record.timeline[-1].hash if record.timeline else "",
        "audit_chain_head": head,
    }


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell_safe(value: Any) -> Any:
    """A spreadsheet must not run what someone typed into a proposal as a formula (CSV
    injection): such text gets a leading apostrophe, as OWASP advises."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def frozen_cell(frozen: Iterable[FrozenDeployment], names: dict[str, str]) -> str:
    return _join(f"{stamp(f.deployment.at)} by {person(f.deployment.by, names)} via "
                 f"{f.deployment.source} inside {f.freeze.name} ({f.freeze.reason}): {f.how}"
                 for f in frozen)


def frozen_row(frozen: FrozenDeployment, names: dict[str, str], head: str) -> dict[str, Any]:
    """A deployment inside a freeze that is not in a change's row of this sheet (one that
    matched no change, or a change of another period deployed again): a row of its own."""
    d = frozen.deployment
    row: dict[str, Any] = dict.fromkeys(CSV_COLUMNS, "")
    row.update({"change": frozen.change, "deployed_at_utc": stamp(d.at),
                "deployed_by": person(d.by, names), "deploy_method": d.source,
                "emergency": yes_no(d.emergency), "audit_chain_head": head,
                "deployments_inside_freezes": frozen_cell([frozen], names)})
    return row


class CsvRenderer(Renderer):
    """One row per change; the chain's head hash is in every row, so any extract of the
    sheet still names the log it came from. Summary and unmatched deployments are not
    changes: they are in the Markdown and JSON packs. A production deployment inside a
    freeze is in its change's row (`deployments_inside_freezes`), or else in a row of its
    own after the changes, so the sheet lists them all."""

    extension = "csv"
    media_type = "text/csv"

    def __init__(self, head: str) -> None:
        super().__init__()
        self.head = head
        self.writer = csv.DictWriter(self.body, fieldnames=CSV_COLUMNS)
        self.listed: set[int] = set()  # the frozen deployments written in a change's row

    def change(self, record: ChangeRecord) -> None:
        row = csv_row(record, self.head)
        own = [f for f in self.frozen if f.deployment.change_id == record.id]
        row["deployments_inside_freezes"] = frozen_cell(own, self.names)
        self.listed.update(id(f) for f in own)
        self.writer.writerow({k: _cell_safe(v) for k, v in row.items()})

    def finish(self, out, info, summary, unmatched, people) -> None:
        for frozen in self.frozen:
            if id(frozen) not in self.listed:
                self.writer.writerow({k: _cell_safe(v) for k, v in
                                      frozen_row(frozen, self.names, self.head).items()})
        csv.writer(out).writerow(CSV_COLUMNS)
        copy_spool(self.body, out)
