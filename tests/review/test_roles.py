"""The roles as the process names them, over real HTTP: the infrastructure team approves
infrastructure changes, only the reviewers' approvals count when the policy names them,
high-risk changes need two peers and a tech lead, and a tech lead may not bypass a
high-risk change's security review."""

import pytest
from sqlmodel import select

from bot.playground.standin.workspace import demo_policy
from bot.policy import Groups, Infrastructure, Review, Security
from storage.models import Approval, AuditEvent, Change
from tests.flows import card_text, click, last_answer, propose, thread

INFRA_GROUP = "S0INFRA"
REVIEWERS_GROUP = "S0REVIEWERS"


def groups(**more) -> Groups:
    return Groups(security="S0SECURITY", tech_leads="S0TECHLEADS", **more)


@pytest.fixture
def policy(request):
    return demo_policy(**getattr(request, "param", {}))


@pytest.fixture(autouse=True)
def teams(slack):
    slack.add_usergroup(INFRA_GROUP, "infra", ["U0CAROL"])
    slack.add_usergroup(REVIEWERS_GROUP, "reviewers", ["U0BOB"])


async def status(bot, change_id: int) -> str:
    async with bot.ctx.db.session() as session:
        return (await session.exec(select(Change).where(Change.id == change_id))).one().status


async def approvals(bot) -> list[Approval]:
    async with bot.ctx.db.session() as session:
        return list((await session.exec(select(Approval).order_by(Approval.id))).all())


# --- the infrastructure team ------------------------------------------------------------

INFRA = {"groups": groups(infrastructure=INFRA_GROUP)}


@pytest.mark.parametrize("policy", [INFRA], indirect=True)
async def test_an_infrastructure_change_waits_for_the_infrastructure_team(bot):
    change_id = await propose(bot, security_checkboxes=["infra"])
    assert ("*Infrastructure team*: waiting for the infrastructure team "
            "(the infrastructure checkbox)") in card_text(bot, change_id)
    [asked] = [n for n in thread(bot, change_id) if f"<!subteam^{INFRA_GROUP}>" in n]
    assert "this is an infrastructure change (the infrastructure checkbox)" in asked
    await click(bot, "bob", "change_approve", change_id)  # a peer: the approvals gate
    assert await status(bot, change_id) == "approved"
    assert "waiting for the infrastructure team" in card_text(bot, change_id)

    await click(bot, "carol", "change_approve", change_id)  # carol is in the infra team
    assert "*Infrastructure team*: approved by <@U0CAROL>" in card_text(bot, change_id)
    assert [(a.actor, a.infrastructure) for a in await approvals(bot)] == [
        ("U0BOB", False), ("U0CAROL", True)]


@pytest.mark.parametrize("policy", [INFRA], indirect=True)
async def test_a_change_outside_infrastructure_does_not_wait_for_the_team(bot):
    change_id = await propose(bot)
    assert "*Infrastructure team*: not an infrastructure change" in card_text(bot, change_id)


@pytest.mark.parametrize("policy", [{
    **INFRA, "infrastructure": Infrastructure(categories=["high_risk"])}], indirect=True)
async def test_the_policy_may_make_a_category_an_infrastructure_change(bot):
    change_id = await propose(bot, category="high_risk", risk="high")
    assert "waiting for the infrastructure team (high-risk changes (policy))" in card_text(
        bot, change_id)


async def test_without_an_infrastructure_team_the_gate_says_so(bot):
    change_id = await propose(bot, security_checkboxes=["infra"])
    assert ("*Infrastructure team*: the infrastructure checkbox — no infrastructure team "
            "set by policy") in card_text(bot, change_id)


# --- who may review ---------------------------------------------------------------------


@pytest.mark.parametrize("policy", [{"groups": groups(reviewers=REVIEWERS_GROUP)}],
                         indirect=True)
async def test_only_the_reviewers_approvals_count_when_the_policy_names_them(bot):
    change_id = await propose(bot, risk="high")  # normal, high risk: two approvals
    await click(bot, "carol", "change_approve", change_id)
    assert "Only the reviewers (<!subteam^S0REVIEWERS>)" in last_answer(bot, "carol")
    assert await approvals(bot) == []
    await click(bot, "bob", "change_approve", change_id)  # a reviewer
    await click(bot, "dave", "change_approve", change_id)  # a tech lead counts too
    assert await status(bot, change_id) == "approved"
    assert [a.actor for a in await approvals(bot)] == ["U0BOB", "U0DAVE"]


# --- high-risk: two peers and a tech lead -----------------------------------------------


async def test_a_high_risk_change_needs_two_peers_and_a_tech_lead(bot):
    change_id = await propose(bot, category="high_risk", risk="high")
    await click(bot, "bob", "change_approve", change_id)
    await click(bot, "dave", "change_approve", change_id)  # the tech lead
    assert await status(bot, change_id) == "in_review"
    assert "2 of 3 approvals" in card_text(bot, change_id)
    await click(bot, "carol", "change_approve", change_id)
    assert await status(bot, change_id) == "approved"


@pytest.mark.parametrize("policy", [{"review": Review(tech_lead_counts_as_peer=True)}],
                         indirect=True)
async def test_the_policy_may_count_the_tech_lead_as_one_of_two(bot):
    change_id = await propose(bot, category="high_risk", risk="high")
    await click(bot, "bob", "change_approve", change_id)
    await click(bot, "dave", "change_approve", change_id)
    assert await status(bot, change_id) == "approved"


# --- a high-risk change's security review -----------------------------------------------


async def test_a_tech_lead_may_not_override_a_high_risk_security_review(bot):
    change_id = await propose(bot, category="high_risk", risk="high")
    await bot.command("dave", f"override-security CHG-{change_id} the team is away")
    await bot.settle()
    assert "high-risk change's security review can't be overridden" in last_answer(
        bot, "dave")
    assert await approvals(bot) == []
    assert "waiting for the security team" in card_text(bot, change_id)


@pytest.mark.parametrize("policy", [{"security": Security(tech_lead_overrides_high_risk=True)}],
                         indirect=True)
async def test_the_policy_may_let_a_tech_lead_override_it_on_the_record(bot):
    change_id = await propose(bot, category="high_risk", risk="high")
    await bot.command("dave", f"override-security CHG-{change_id} the team is away")
    await bot.settle()
    assert "You overrode the security review" in last_answer(bot, "dave")
    async with bot.ctx.db.session() as session:
        event = (await session.exec(select(AuditEvent).where(
            AuditEvent.action == "security_review_overridden"))).one()
    assert event.detail["high_risk_allowed_by_policy"] is True
