"""Step 1 checked against the pull request: a change declared standard must fit one of the
policy's pre-approved templates (else it is handled as normal, and the card says why), and
a pull request touching migration paths suggests high risk (the author may keep their
choice, on the record). The rules are in bot.review.rules."""

from __future__ import annotations

from bot.change.facts import ChangeFacts
from bot.change.states import Category, Risk, format_change_id
from bot.change.work import Loaded, audit, dm, is_slack_user, thread_note
from bot.context import Context
from bot.policy import Policy, StandardTemplate
from bot.proposal.proposals import Proposal
from bot.review.rules import standard_fit, suggested_high_risk


def template_proposal(template: StandardTemplate) -> Proposal:
    """The proposal form prefilled by a template (`/change new <template>`)."""
    prefill = template.fields
    return Proposal(title=prefill.title, description=prefill.description or template.covers,
                    category=Category.standard, risk=Risk(prefill.risk),
                    rollback_plan=prefill.rollback_plan, testing=prefill.testing)


def templates_text(policy: Policy) -> str:
    """The templates `/change new` offers, one a line."""
    return "\n".join(f"• `/change new {t.slug}` — {t.name}" + (f": {t.covers}" if t.covers
                                                              else "")
                     for t in policy.proposal.templates)


def paths_text(patterns: list[str]) -> str:
    return ", ".join(f"`{p}`" for p in patterns)


def proposal_notes(facts: ChangeFacts, policy: Policy) -> list[str]:
    """The card's lines about the category and risk the author declared."""
    notes = []
    if facts.category == Category.standard and policy.proposal.templates:
        fit, why = standard_fit(facts, policy)
        notes.append(f":package: Standard change: “{fit}”" if fit else
                     f":package: Declared standard, handled as a normal change: it fits no "
                     f"standard-change template ({why}).")
    touched = suggested_high_risk(facts, policy)
    if touched:
        notes.append(f":warning: Suggested high-risk: its pull request touches "
                     f"{paths_text(touched)} (database schema changes are high-risk); the "
                     f"author chose {facts.risk.value} risk.")
    return notes


async def reassess(loaded: Loaded, ctx: Context) -> None:
    """After a read of the pull request: the author is told once per revision when its files
    suggest high risk, and a standard change that fits no template is said in the thread;
    both are on the record."""
    session, change, facts = loaded.session, loaded.change, loaded.facts
    cid = format_change_id(change.id or 0)
    revision = f"{change.id}:r{change.revision}"
    touched = suggested_high_risk(facts, ctx.policy)
    if touched and is_slack_user(change.author_id) and await dm(
            session, ctx, change, change.author_id,
            f"The pull request of *{cid}* touches {paths_text(touched)}: database schema "
            f"changes are high-risk by the process. Make it high-risk with *Edit* on the "
            f"card, or keep *{facts.risk.value}* — your choice is on the record.",
            key=f"risk-suggested:{revision}"):
        await audit(session, ctx, change, "changebot", "risk_suggested", suggested="high",
                    chosen=facts.risk.value, paths=touched, revision=change.revision)
    if facts.category == Category.standard and ctx.policy.proposal.templates:
        fit, why = standard_fit(facts, ctx.policy)
        if fit is None and await thread_note(
                session, ctx, change, f"Declared standard, but it fits no standard-change "
                f"template ({why}): it is handled as a normal change.",
                key=f"standard-unfit:{revision}"):
            await audit(session, ctx, change, "changebot", "standard_not_fitting",
                        reason=why, revision=change.revision)
