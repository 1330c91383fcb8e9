"""The App Home tab: each person's desk (bot.overview.desk)."""

from tests.flows import click, propose


async def test_home_lists_what_waits_for_you_and_your_own_changes(bot):
    await propose(bot, user="carol", title="Carol's flag", reviewers=["U0DAVE"])
    await propose(bot, title="Alice's migration", reviewers=["U0BOB"])
    bob_home = str((await bot.open_home("bob"))["blocks"])
    assert "Waiting for you (2)" in bob_home
    # asked by name first
    assert bob_home.index("Alice's migration") < bob_home.index("Carol's flag")
    alice_home = str((await bot.open_home("alice"))["blocks"])
    your_changes = alice_home[alice_home.index("Your changes"):]
    assert "Alice's migration" in your_changes
    assert "waits for its reviews" in your_changes and "0 of 1 approval" in your_changes


async def test_home_drops_a_change_once_you_approved_it(bot):
    change_id = await propose(bot, risk="high")
    await click(bot, "bob", "change_approve", change_id)
    home = str((await bot.open_home("bob"))["blocks"])
    assert "Nothing is waiting for you." in home


async def test_the_home_button_opens_the_proposal_form(bot):
    home = await bot.open_home("alice")
    reply = await bot.click("alice", "home_new_change", view=home)
    assert reply.status == 200
    await bot.settle()
    assert bot.slack.opened_views()[-1]["callback_id"] == "change_proposal"
