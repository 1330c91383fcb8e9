"""The evidence pack written out: Markdown for people, CSV for spreadsheets, JSON complete.

A renderer receives the records one at a time and writes them to a temporary file as they
come (`change`); `finish` then writes the header and summary — known only once every
record has been seen — followed by those files. Memory holds one record at a time.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import IO, Any

from bot.deployment.business_hours import describe
from bot.deployment.rules import (
    DEPLOY_METHODS,
    PRODUCTION_CHECKS,
    ROLLBACK_METHODS,
    ROLLBACK_TRIGGERS,
    STAGING_CHECKS,
    describe_deploy_exception,
)
from bot.evidence.pack import (
    BYPASSED,
    ChangeRecord,
    GitHubDeployment,
    PackInfo,
    RuleException,
    Summary,
)
from bot.runtime.durations import spell

TITLE = "Change evidence pack"
CONTROL = "OPS-01 (change management)"


def _spool() -> IO[str]:
    return tempfile.TemporaryFile("w+", encoding="utf-8", newline="")


def _copy(spool: IO[str], out: IO[str]) -> None:
    spool.seek(0)
    shutil.copyfileobj(spool, out)


def when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else ""


def stamp(moment: datetime | None) -> str:
    """For spreadsheets: sortable, UTC, no zone suffix (the column names say UTC)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def duration(seconds: int | None) -> str:
    return "" if seconds is None else spell(timedelta(seconds=seconds))


def yes_no(value: bool | None, unknown: str = "") -> str:
    return unknown if value is None else ("yes" if value else "no")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def plain(value: Any) -> Any:
    """dataclasses.asdict without its deep copies (a JSON dump needs none)."""
    if isinstance(value, str | int | float | datetime | None):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def record_json(record: ChangeRecord) -> dict[str, Any]:
    """Everything in the record, plus the derived verdicts (segregation result, labels)."""
    data = plain(record)
    data["segregation"]["result"] = record.segregation.result
    for exception, item in zip(record.exceptions, data["exceptions"], strict=True):
        item["label"] = exception.label
    return data




def policy_lines(info: PackInfo) -> list[str]:
    policy = info.policy
    review, windows = policy.review, policy.windows

    def span(delta: timedelta) -> str:
        minutes = int(delta.total_seconds() // 60)
        return f"{minutes // 60} h" if minutes % 60 == 0 and minutes >= 60 else f"{minutes} min"

    return [
        f"Approvals: standard {review.standard}; normal {review.normal} "
        f"({review.normal_high_risk} when the risk is high); high-risk {review.high_risk} "
        f"including {review.high_risk_tech_leads} tech lead; emergency {review.emergency}, "
        "which may come after deployment. Nobody's approval of their own change counts.",
        f"Monitoring after deployment: {span(windows.monitoring)} "
        f"({span(windows.monitoring_high_risk)} for high-risk changes); verification "
        f"expected within {span(windows.verification_grace)} of the window's end.",
        f"Emergency retrospective within {span(windows.retrospective)} of deployment.",
        f"Business hours: {describe(policy.business_hours)}.",
        f"CI must pass when a pull request is linked: {yes_no(policy.github.require_ci)}.",
    ]


class Renderer:
    extension = ""
    media_type = ""

    def __init__(self) -> None:
        self.body = _spool()  # the changes
        self.exceptions = _spool()  # the summary's list of exceptions

    def change(self, record: ChangeRecord) -> None:
        raise NotImplementedError

    def finish(self, out: IO[str], info: PackInfo, summary: Summary,
               unmatched: Sequence[GitHubDeployment], people: dict[str, str]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.body.close()
        self.exceptions.close()


# --------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------


def _md(text: str | None) -> str:
    """User text inside Markdown: no HTML, no accidental table cell breaks."""
    return (text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cell(text: Any) -> str:
    return _md(str(text if text is not None else "")).replace("|", "\\|").replace(
        "\r", "").replace("\n", "<br>")


def _block(text: str) -> str:
    """Multi-line text as the continuation of a list item."""
    lines = _md(text).strip().splitlines() or ["—"]
    return "\n  ".join(lines)


def _row(*cells: Any) -> str:
    return "| " + " | ".join(_cell(c) for c in cells) + " |\n"


def _code(text: str | None) -> str:
    return f"`{text}`" if text else "—"


def _word(key: str | None, words: dict[str, str]) -> str:
    """A recorded choice (a key of the step's choices in bot.lifecycle) in the process's
    words, as the card and the modals say it; an unknown one as recorded."""
    return _md(words[key].lower() if key in words else key)


def _words(keys: Sequence[str], words: dict[str, str]) -> str:
    return ", ".join(_word(key, words) for key in keys)


class MarkdownRenderer(Renderer):
    extension = "md"
    media_type = "text/markdown"

    def change(self, record: ChangeRecord) -> None:
        self.body.write(markdown_change(record))
        self.exceptions.writelines(_row(record.ref, e.label, e.kind, e.detail)
                                   for e in record.exceptions)

    def finish(self, out, info, summary, unmatched, people) -> None:
        period = info.period
        out.write(f"# {TITLE}: {period.label}\n\n")
        out.write(f"Control {CONTROL} · generated {when(info.generated_at)} by Changebot\n\n")
        out.write(
            f"- **Period**: {when(period.start)} to {when(period.end)} (excluded): the days "
            f"{period.label} in {period.zone}, both included. A change belongs to the period "
            "of its production deployment, or of its closure if it never reached "
            "production.\n"
            f"- **Audit log**: {info.audit_events} events; head hash `{info.audit_head}`. "
            f"`changebot audit verify --expect-head {info.audit_head}` checks that the log "
            "is intact and still holds every event this pack was built from.\n\n"
        )
        out.write("## Summary\n\n| | |\n|---|---|\n")
        broken_bypassed = f"{summary.broken} rules broken, {summary.bypassed} bypassed"
        rows = [
            ("Changes", summary.changes),
            ("Deployed to production", f"{summary.deployed} ({summary.rolled_back} rolled back)"),
            ("Closed without deployment", summary.not_deployed),
            ("Emergency changes", summary.emergencies),
            ("Exceptions", f"{summary.exceptions} in {summary.changes_with_exceptions} "
                           f"change(s): {broken_bypassed}"),
            ("Segregation-of-duties failures", summary.sod_failures),
            ("GitHub production deployments matching no change",
             summary.unmatched_deployments),
        ]
        out.writelines(_row(label, value) for label, value in rows)
        if summary.by_category:
            categories = ", ".join(f"{k.replace('_', '-')} {v}"
                                   for k, v in sorted(summary.by_category.items()))
            out.write(f"\nBy category: {categories}.\n")
        out.write("\n### Exceptions\n\n")
        if summary.exceptions:
            out.write("Every rule of the process that a change broke, or bypassed under the "
                      "emergency process or an override.\n\n")
            out.write("| Change | Rule | Broken or bypassed | What happened |\n"
                      "|---|---|---|---|\n")
            _copy(self.exceptions, out)
        else:
            out.write("None: every change in the period followed the process.\n")
        out.write("\n### GitHub production deployments that match no change\n\n")
        if unmatched:
            out.write("| GitHub deployment | Repository | Environment | SHA | Created by | At |\n"
                      "|---|---|---|---|---|---|\n")
            for d in unmatched:
                out.write(_row(d.id, d.repo, d.environment, d.sha,
                               d.creator or "", when(d.at)))
        else:
            out.write("None.\n")
        out.write("\n### Policy in force when the pack was made\n\n")
        out.writelines(f"- {line}\n" for line in policy_lines(info))
        out.write("\n## Changes\n\n")
        if not summary.changes:
            out.write("No change was deployed or closed in this period.\n")
        _copy(self.body, out)
        if people:
            out.write("## People\n\n| Slack user | Name |\n|---|---|\n")
            out.writelines(_row(uid, name) for uid, name in sorted(people.items()))


def _exception_line(exception: RuleException) -> str:
    kind = "bypassed" if exception.kind == BYPASSED else "broken"
    return f"  - {exception.label} ({kind}): {_md(exception.detail)}\n"


def markdown_change(record: ChangeRecord) -> str:  # noqa: C901 - one section per step
    out: list[str] = []
    w = out.append
    category = record.category.replace("_", "-").capitalize()
    w(f"### {record.ref} · {_md(record.title)}\n\n")
    w(f"{category} · {record.risk} risk · **{record.status.replace('_', ' ')}** · proposed "
      f"by {record.author} on {when(record.created_at)} · revision {record.revision}\n\n")
    if record.exceptions:
        w(f"- **Exceptions ({len(record.exceptions)})**:\n")
        out.extend(_exception_line(e) for e in record.exceptions)
    else:
        w("- **Exceptions**: none\n")

    p = record.proposal
    w(f"- **Description**: {_block(p['description'])}\n")
    if p["impact"]:
        w(f"- **Impact (emergency)**: {_block(p['impact'])}\n")
    w(f"- **Testing performed**: {_block(p['testing'])}\n")
    w(f"- **Rollback plan**: {_block(p['rollback_plan'])}\n")
    if p["security_notes"] or p["security_checkboxes"]:
        boxes = ", ".join(p["security_checkboxes"])
        notes = _block(p["security_notes"]) if p["security_notes"] else ""
        w(f"- **Security considerations**: {notes}{' — ' if notes and boxes else ''}"
          f"{'ticked: ' + boxes if boxes else ''}\n")
    if p["pr_url"]:
        w(f"- **Pull request**: {p['pr_url']}\n")
    if p["reviewers"]:
        w(f"- **Reviewers requested**: {', '.join(p['reviewers'])}\n")
    if p["involved"]:
        w(f"- **Also involved**: {', '.join(p['involved'])}\n")
    if p["planned_at"]:
        w(f"- **Planned for**: {when(p['planned_at'])}\n")

    sod = record.segregation
    refused = sod.refused_self_approvals
    author = ("the author never approved it" if sod.author_never_approved
              else "**the author's own approval was recorded**")
    if refused:
        author += (f" ({len(refused)} self-approval attempt{'s' if len(refused) > 1 else ''} "
                   f"refused: {', '.join(when(t) for t in refused)})")
    approvers = ", ".join(sod.approvers) or "none"
    lead = ""
    if sod.tech_leads_required:
        lead = (f"; tech lead ({sod.tech_leads_required} required): "
                f"{', '.join(sod.tech_lead_approvers) or 'none'}")
    timing = ""
    if sod.met_before_deployment:
        timing = "; met before deployment"
    elif sod.met_before_deployment is False and sod.emergency and sod.met:
        timing = "; met after deployment, as the emergency process allows"
    elif sod.met_before_deployment is False:
        timing = "; **not met before deployment**"
    w(f"- **Segregation of duties: {sod.result}** — {author}; {len(sod.approvers)} distinct "
      f"approver(s) of {sod.required} required ({approvers}){lead}{timing}\n")

    w("\n**Approvals**\n\n")
    if record.approvals:
        w("| Who | Review | Decision | When | Source | Before deployment | Counts | Note |\n"
          "|---|---|---|---|---|---|---|---|\n")
        for a in record.approvals:
            source = "GitHub" if a.source == "github" else "Slack"
            if a.github_login:
                source += f" ({a.github_login})"
            note = a.reason
            if a.commit_sha:
                note = f"commit {a.commit_sha[:12]}" + (f"; {note}" if note else "")
            if a.tech_lead:
                note = "tech lead" + (f"; {note}" if note else "")
            w(_row(a.who, a.kind, a.decision.replace("_", " "), when(a.at), source,
                   yes_no(a.before_deployment, "not deployed"), yes_no(a.counted),
                   note + ("" if a.revision == record.revision
                           else f"{'; ' if note else ''}revision {a.revision}, reset")))
    else:
        w("None recorded.\n")
    w("\n")

    ci = record.ci
    if not ci.pr_url:
        w("- **CI**: no pull request linked\n")
    else:
        checks = ", ".join(f"[{_md(c.name)}]({c.url}) {c.state}" if c.url
                           else f"{_md(c.name)} {c.state}" for c in ci.checks)
        merge = f", merged as {_code(ci.merge_sha)}" if ci.merge_sha else ""
        w(f"- **CI**: {ci.state} at {_code(ci.head_sha)}{merge}"
          f"{' — ' + checks if checks else ''}"
          f"{' (last read ' + when(ci.checked_at) + ')' if ci.checked_at else ''}\n")

    sec = record.security
    if not sec.required:
        w("- **Security review**: not triggered\n")
    else:
        triggers = "; ".join(f"{t.get('reason', '')} ({t.get('source', '')})"
                             for t in sec.triggers) or "required"
        if sec.overridden_by:
            outcome = f"overridden by {sec.overridden_by}: {_md(sec.override_reason)}"
        elif sec.approved_by:
            timing = {True: " (before deployment)", False: " (**after deployment**)",
                      None: ""}[sec.before_deployment]
            outcome = f"approved by {sec.approved_by} at {when(sec.approved_at)}{timing}"
        else:
            outcome = "not approved"
        w(f"- **Security review**: required — {_md(triggers)}; {outcome}\n")
        for d in sec.decisions:
            if d.decision != "approved":
                w(f"  - {d.decision.replace('_', ' ')} by {d.who} at {when(d.at)}"
                  f"{': ' + _md(d.reason) if d.reason else ''}\n")

    st = record.staging
    if st.verified_at:
        checks = f" — checked: {_words(st.checks, STAGING_CHECKS)}" if st.checks else ""
        w(f"- **Staging**: deployed {when(st.deployed_at) or '—'}, validated "
          f"{when(st.verified_at)}{' by ' + st.by if st.by else ''}{checks}"
          f"{' — ' + _block(st.notes) if st.notes else ''}\n")
    elif st.deployed_at:
        w(f"- **Staging**: deployed {when(st.deployed_at)}, not validated\n")
    else:
        w("- **Staging**: not deployed to staging\n")

    dep = record.deployment
    if dep is None:
        w("- **Production deployment**: none\n")
    else:
        hours = ("inside business hours" if dep.inside_business_hours
                 else "**outside business hours**")
        process = "emergency process" if dep.emergency else "normal process"
        method = _word(dep.method, DEPLOY_METHODS) if dep.method else "not recorded"
        w(f"- **Production deployment**: {when(dep.at)} by {dep.by or 'unknown'}, method "
          f"{method}, {hours}, {process}\n")
        for g in dep.github:
            w(f"  - GitHub deployment {g.id} to {g.environment} of {g.repo} at "
              f"{_code(g.sha)} by {g.creator or 'unknown'}, {when(g.at)}\n")
        if dep.recorded_exceptions:
            flagged = "; ".join(_md(describe_deploy_exception(e))
                                for e in dep.recorded_exceptions)
            w(f"  - Flagged when it was deployed: {flagged}\n")

    ver = record.verification
    if ver is not None:
        if ver.verified_at:
            within = ("within the monitoring window" if ver.within_window
                      else "**late**")
            checks = (f" — checked: {_words(ver.checks, PRODUCTION_CHECKS)}" if ver.checks
                      else "")
            w(f"- **Verification**: {when(ver.verified_at)}"
              f"{' by ' + ver.by if ver.by else ''} (window ended {when(ver.window_ends_at)}; "
              f"{within}){checks}{' — ' + _block(ver.notes) if ver.notes else ''}\n")
        elif record.rollback is not None:
            w("- **Verification**: none — rolled back\n")
        else:
            w(f"- **Verification**: not recorded (window ends {when(ver.window_ends_at)})\n")

    rb = record.rollback
    if rb is not None:
        finished = (f", finished {when(rb.finished_at)} ({duration(rb.duration_seconds)})"
                    if rb.finished_at else ", **not finished**")
        w(f"- **Rollback**: started {when(rb.started_at)}{' by ' + rb.by if rb.by else ''}"
          f"{finished}; trigger: {_word(rb.trigger, ROLLBACK_TRIGGERS) or '—'}; "
          f"method: {_word(rb.method, ROLLBACK_METHODS) or '—'}"
          f"{' — ' + _block(rb.notes) if rb.notes else ''}\n")

    em = record.emergency
    if em is not None:
        if em.approved_at is None:
            approval = "**not approved**"
        else:
            after = {True: "after deployment", False: "before deployment", None: ""}[
                em.approved_after_deployment]
            approval = f"approved {after} ({when(em.approved_at)})"
        done = (f"done {when(em.retrospective_done_at)}" if em.retrospective_done_at
                else "not done")
        link = f" — {em.retrospective_link}" if em.retrospective_link else ""
        w(f"- **Emergency**: {approval}; retrospective due {when(em.retrospective_due_at)}, "
          f"{done}: **{em.retrospective}**{link}\n")

    w(f"\n**Audit trail** ({len(record.timeline)} events)\n\n")
    if record.timeline:
        w("| Event | When | Who | What | Hash |\n|---|---|---|---|---|\n")
        for e in record.timeline:
            w(_row(f"#{e.id}", when(e.at), e.actor, e.action.replace("_", " "),
                   f"{e.hash[:16]}…"))
    w("\n")
    return "".join(out)


# --------------------------------------------------------------------------------------
# CSV: one row per change
# --------------------------------------------------------------------------------------

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
    "audit_last_hash", "audit_chain_head",
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


class CsvRenderer(Renderer):
    """One row per change; the chain's head hash is in every row, so any extract of the
    sheet still names the log it came from. Summary and unmatched deployments are not
    changes: they are in the Markdown and JSON packs."""

    extension = "csv"
    media_type = "text/csv"

    def __init__(self, head: str) -> None:
        super().__init__()
        self.head = head
        self.writer = csv.DictWriter(self.body, fieldnames=CSV_COLUMNS)

    def change(self, record: ChangeRecord) -> None:
        self.writer.writerow({k: _cell_safe(v) for k, v in csv_row(record, self.head).items()})

    def finish(self, out, info, summary, unmatched, people) -> None:
        csv.writer(out).writerow(CSV_COLUMNS)
        _copy(self.body, out)


# --------------------------------------------------------------------------------------
# JSON: complete
# --------------------------------------------------------------------------------------


def _dumps(value: Any) -> str:
    return json.dumps(value, default=_plain, ensure_ascii=False)


class JsonRenderer(Renderer):
    extension = "json"
    media_type = "application/json"

    def __init__(self) -> None:
        super().__init__()
        self.changes = 0
        self.listed = 0

    def change(self, record: ChangeRecord) -> None:
        self.body.write(("\n" if self.changes == 0 else ",\n") + _dumps(record_json(record)))
        self.changes += 1
        for e in record.exceptions:
            item = {"change": record.ref, "rule": e.rule, "label": e.label, "kind": e.kind,
                    "detail": e.detail}
            self.exceptions.write(("\n" if self.listed == 0 else ",\n") + _dumps(item))
            self.listed += 1

    def finish(self, out, info, summary, unmatched, people) -> None:
        period = info.period
        pack = {
            "title": f"{TITLE}: {period.label}", "control": CONTROL,
            "generated_at": info.generated_at,
            "period": {"first_day": period.first_day.isoformat(),
                       "last_day": period.last_day.isoformat(), "time_zone": period.zone,
                       "start": period.start, "end": period.end,
                       "membership": "production deployment in the period, or closure in "
                       "the period for changes never deployed"},
            "audit_log": {"head_hash": info.audit_head, "events": info.audit_events},
        }
        out.write('{"pack": ' + _dumps(pack) + ',\n"summary": ')
        out.write(_dumps(summary.as_dict())[:-1] + ', "exception_list": [')
        _copy(self.exceptions, out)
        out.write("]},\n")
        out.write('"unmatched_deployments": '
                  + _dumps([plain(d) for d in unmatched]) + ",\n")
        out.write('"policy": ' + _dumps(info.policy.model_dump(mode="json")) + ",\n")
        out.write('"people": ' + _dumps(people) + ",\n")
        out.write('"changes": [')
        _copy(self.body, out)
        out.write("\n]}\n")


def renderer_for(fmt: str, head: str) -> Renderer:
    if fmt == "md":
        return MarkdownRenderer()
    if fmt == "csv":
        return CsvRenderer(head)
    if fmt == "json":
        return JsonRenderer()
    raise ValueError(f"{fmt!r} is not a format: use md, csv or json")
