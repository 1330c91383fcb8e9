"""The teams that approve by role on their members' desks: the security team's reviews and
the infrastructure team's approvals, read from each change's own state (like its gate), so an
item is on the desk exactly while the gate waits for that person; the team's desks are
republished when such a change moves. Over real signed HTTP; time on the injected clock."""

from datetime import timedelta

import pytest

from bot.playground.standin.workspace import SECURITY_GROUP, demo_policy
from bot.policy import Groups
from bot.slack.directory import CACHE_FOR
from tests.flows import click, propose
from tests.overview.test_desk import checked, moved, section

INFRA_GROUP = "S0INFRA"


@pytest.fixture
def policy():
    return demo_policy(groups=Groups(security=SECURITY_GROUP, tech_leads="S0TECHLEADS",
                                     infrastructure=INFRA_GROUP))


@pytest.fixture(autouse=True)
def infra_team(slack):
    slack.add_usergroup(INFRA_GROUP, "infra", ["U0CAROL"])


def waiting(bot, user_id: str) -> str:
    """The Waiting section of the desk last published for the person (checked when it lists
    any change)."""
    home = bot.slack.home(user_id)
    text = checked(home) if "CHG-" in str(home["blocks"]) else str(home["blocks"])
    return section(text, "Waiting for you")


async def test_the_infrastructure_team_sees_the_approvals_its_gate_waits_for(bot):
    change_id = await propose(bot, title="Resize the VPC", reviewers=["U0BOB"],
                              security_checkboxes=["infra"])
    await propose(bot, title="Copy edit", reviewers=["U0BOB"])  # not infrastructure
    await moved(bot)
    carol = section(checked(await bot.open_home("carol")), "Waiting for you")
    assert "Resize the VPC" in carol
    assert "infrastructure approval for <@U0ALICE> (the infrastructure checkbox)" in carol
    assert carol.count("infrastructure approval") == 1  # "Copy edit" waits for a review only
    dave = section(checked(await bot.open_home("dave")), "Waiting for you")
    assert "infrastructure approval" not in dave  # not in the team

    await click(bot, "bob", "change_approve", change_id)  # the peer review is complete …
    await moved(bot)  # … the team's desks are republished, and the gate still waits
    assert "infrastructure approval for <@U0ALICE>" in waiting(bot, "U0CAROL")
    assert "Resize the VPC" not in waiting(bot, "U0BOB")

    await click(bot, "carol", "change_approve", change_id)
    await moved(bot)
    assert "Resize the VPC" not in waiting(bot, "U0CAROL")


async def test_an_infrastructure_member_asked_to_review_has_one_item_not_two(bot):
    await propose(bot, title="Resize the VPC", reviewers=["U0CAROL"],
                  security_checkboxes=["infra"])
    carol = section(checked(await bot.open_home("carol")), "Waiting for you")
    assert carol.count("Resize the VPC") == 1
    assert "infrastructure approval for <@U0ALICE> (the infrastructure checkbox) — you were " \
           "asked by name" in carol


async def test_security_reviews_follow_the_gate_not_who_was_asked(bot, slack):
    change_id = await propose(bot, title="Rotate the keys", security_checkboxes=["crypto"])
    await moved(bot)
    assert "security review for the security team" in waiting(bot, "U0ERIN")  # republished
    assert "security review" not in section(checked(await bot.open_home("bob")),
                                            "Waiting for you")

    # Carol joins the team after the routing asked its members: the gate waits for her too.
    slack.add_usergroup(SECURITY_GROUP, "security", ["U0ERIN", "U0CAROL"])
    bot.clock.advance(CACHE_FOR)
    carol = section(checked(await bot.open_home("carol")), "Waiting for you")
    assert "Rotate the keys" in carol and "security review" in carol

    await click(bot, "erin", "security_approve", change_id)
    await moved(bot)  # decided: gone from every member's desk, republished
    assert "security review" not in waiting(bot, "U0ERIN")
    assert "security review" not in waiting(bot, "U0CAROL")


async def test_a_security_member_does_not_review_their_own_change(bot):
    await propose(bot, "erin", title="Rotate the keys", security_checkboxes=["crypto"])
    erin = checked(await bot.open_home("erin"))
    assert "security review" not in section(erin, "Waiting for you")
    assert "Rotate the keys" in section(erin, "Your changes")


async def test_when_slack_cannot_list_the_teams_the_desk_says_so(bot, slack):
    await propose(bot, title="Rotate the keys", security_checkboxes=["crypto"])
    slack.error("usergroups.users.list", "ratelimited", times=None)
    bot.clock.advance(CACHE_FOR + timedelta(seconds=1))
    erin = checked(await bot.open_home("erin"))
    assert "security review" not in section(erin, "Waiting for you")
    assert ("Slack did not say just now whether you are in the security team: what waits "
            "for them is not listed here") in erin  # the only team that would change it


async def test_slack_is_asked_only_about_teams_that_would_change_the_desk(bot, slack):
    await propose(bot, title="Copy edit")  # waits for no team
    before = len(slack.calls_to("usergroups.users.list"))
    checked(await bot.open_home("carol"))
    assert len(slack.calls_to("usergroups.users.list")) == before
