"""The evidence pack in Markdown, for people: the summary, then a section per change."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.change.gates import GATE_LABELS
from bot.deployment.rules import (
    DEPLOY_METHODS,
    PRODUCTION_CHECKS,
    ROLLBACK_METHODS,
    ROLLBACK_TRIGGERS,
    STAGING_CHECKS,
    describe_deploy_exception,
)
from bot.evidence.records import BYPASSED, ChangeRecord, RuleException
from bot.evidence.render import (
    CONTROL,
    TITLE,
    Renderer,
    copy_spool,
    duration,
    person,
    policy_lines,
    when,
    yes_no,
)
from bot.security.triggers import Trigger, summary

_VIA = {"slack": "Slack", "github": "GitHub"}


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
        self.body.write(markdown_change(record, self.names))
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
            "is intact and still holds every event this pack was built from.\n"
        )
        if info.checkpoints:
            listed = "; ".join(f"{when(c.at)}, {c.events} events, head `{c.head}`"
                               f"{f' (message {c.ts} in {c.channel})' if c.ts else ''}"
                               for c in info.checkpoints)
            out.write(f"- **Witnessed in Slack**: {len(info.checkpoints)} checkpoint(s) of "
                      f"the audit log in the period: {listed}. `changebot audit verify "
                      "--witness slack` checks the log against them.\n\n")
        else:
            out.write("- **Witnessed in Slack**: no checkpoint of the audit log in the "
                      "period.\n\n")
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
            ("Production deployments inside a freeze",
             f"{summary.inside_freezes} ({summary.inside_freezes - summary.inside_freezes_bypassed}"
             f" broken, {summary.inside_freezes_bypassed} bypassed)"),
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
            copy_spool(self.exceptions, out)
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
        out.write("\n### Deployments inside a freeze\n\n")
        if self.frozen:
            out.write("Every production deployment made while a freeze held: *broken* for a "
                      "normal change or a deployment GitHub reported, *bypassed* under the "
                      "emergency process.\n\n"
                      "| Change | When | By | Freeze | Reason | Broken or bypassed | Via |\n"
                      "|---|---|---|---|---|---|---|\n")
            for f in self.frozen:
                d = f.deployment
                out.write(_row(f.change, when(d.at), person(d.by, self.names), f.freeze.name,
                               f.freeze.reason, f.how, _VIA.get(d.source, d.source)))
        else:
            out.write("None.\n")
        out.write("\n### Policy in force when the pack was made\n\n")
        out.writelines(f"- {line}\n" for line in policy_lines(info))
        out.write("\n## Changes\n\n")
        if not summary.changes:
            out.write("No change was deployed or closed in this period.\n")
        copy_spool(self.body, out)
        if people:
            out.write("## People\n\n| Slack user | Name |\n|---|---|\n")
            out.writelines(_row(uid, name) for uid, name in sorted(people.items()))


def _exception_line(exception: RuleException) -> str:
    kind = "bypassed" if exception.kind == BYPASSED else "broken"
    return f"  - {exception.label} ({kind}): {_md(exception.detail)}\n"


def named(who: str | None, names: dict[str, str]) -> str:
    """A person by name and Slack id (`Alice Adams (U0ALICE)`) when Slack told the name."""
    if not who:
        return ""
    return f"{_md(names[who])} ({who})" if names.get(who) else who


def markdown_change(record: ChangeRecord,  # noqa: C901 - one section per step
                    names: dict[str, str] | None = None) -> str:
    out: list[str] = []
    w = out.append
    names = names or {}

    def n(who: str | None) -> str:
        return named(who, names)

    category = record.category.replace("_", "-").capitalize()
    w(f"### {record.ref} · {_md(record.title)}\n\n")
    w(f"{category} · {record.risk} risk · **{record.status.replace('_', ' ')}** · proposed "
      f"by {n(record.author)} on {when(record.created_at)} · revision {record.revision}\n\n")
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
    required = sod.requirement or f"{sod.required} approval(s)"
    w(f"- **Segregation of duties: {sod.result}** — {author}; {len(sod.approvers)} distinct "
      f"approver(s) ({approvers}) of {required} required{lead}{timing}\n")
    for also in sod.named:
        w(f"- **{GATE_LABELS.get(also.rule, also.rule)}**: {also.detail}\n")

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
            w(_row(n(a.who), a.kind, a.decision.replace("_", " "), when(a.at), source,
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
        deployed = " when it was deployed" if record.deployment is not None else ""
        w(f"- **CI**: {ci.state} at {_code(ci.head_sha)}{deployed}{merge}"
          f"{' — ' + checks if checks else ''}"
          f"{' (last read ' + when(ci.checked_at) + ')' if ci.checked_at else ''}\n")
        if ci.head_now:
            w(f"  - Since then the pull request moved to {_code(ci.head_now)} (CI "
              f"{ci.state_now}): not deployed by this change\n")
    if record.commits:
        w("- **Commits of the pull request** (each head it was pushed at):\n")
        for c in record.commits:
            reviews = "; ".join(_md(r) for r in c.reviews) or "no review"
            w(f"  - {_code(c.sha)}{' (deployed)' if c.deployed else ''}: {reviews}\n")

    sec = record.security
    if not sec.required:
        w("- **Security review**: not triggered\n")
    else:
        triggers = summary([Trigger(t.get("source", ""), t.get("reason", ""))
                            for t in sec.triggers]) or "required"
        if sec.overridden_by:
            outcome = f"overridden by {n(sec.overridden_by)}: {_md(sec.override_reason)}"
        elif sec.approved_by:
            timing = {True: " (before deployment)", False: " (**after deployment**)",
                      None: ""}[sec.before_deployment]
            outcome = f"approved by {n(sec.approved_by)} at {when(sec.approved_at)}{timing}"
        else:
            outcome = "not approved"
        w(f"- **Security review**: required — {_md(triggers)}; {outcome}\n")
        for d in sec.decisions:
            if d.decision != "approved":
                w(f"  - {d.decision.replace('_', ' ')} by {n(d.who)} at {when(d.at)}"
                  f"{': ' + _md(d.reason) if d.reason else ''}\n")

    st = record.staging
    if st.verified_at:
        checks = f" — checked: {_words(st.checks, STAGING_CHECKS)}" if st.checks else ""
        w(f"- **Staging**: deployed {when(st.deployed_at) or '—'}, validated "
          f"{when(st.verified_at)}{' by ' + n(st.by) if st.by else ''}{checks}"
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
        w(f"- **Production deployment**: {when(dep.at)} by {n(dep.by) or 'unknown'}, method "
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
              f"{' by ' + n(ver.by) if ver.by else ''} (window ended {when(ver.window_ends_at)}; "
              f"{within}){checks}{' — ' + _block(ver.notes) if ver.notes else ''}\n")
        elif record.rollback is not None:
            w("- **Verification**: none — rolled back\n")
        else:
            w(f"- **Verification**: not recorded (window ends {when(ver.window_ends_at)})\n")

    rb = record.rollback
    if rb is not None:
        finished = (f", finished {when(rb.finished_at)} ({duration(rb.duration_seconds)})"
                    if rb.finished_at else ", **not finished**")
        w(f"- **Rollback**: started {when(rb.started_at)}{' by ' + n(rb.by) if rb.by else ''}"
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
            w(_row(f"#{e.id}", when(e.at), n(e.actor), e.action.replace("_", " "),
                   f"{e.hash[:16]}…"))
    w("\n")
    return "".join(out)
