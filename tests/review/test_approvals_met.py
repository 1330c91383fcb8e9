"""Approvals met from Slack: a reviewer's click, or the security team's approval when the
policy counts it as a peer one. Both end the same way (tests/approvals_met.py)."""

from bot.playground.standin.workspace import demo_policy
from bot.policy import Review
from tests.approvals_met import assert_approvals_met
from tests.flows import click, propose
from tests.harness import start_bot


async def test_a_slack_approval_cancels_the_reminders_and_tells_the_author(bot):
    change_id = await propose(bot, reviewers=["U0BOB", "U0CAROL"])
    await click(bot, "bob", "change_approve", change_id)
    await assert_approvals_met(bot, change_id)


async def test_a_security_approval_that_completes_them_does_the_same(db, slack, clock):
    policy = demo_policy(review=Review(security_counts_as_peer=True))
    bot = await start_bot(db=db, slack=slack, clock=clock, policy=policy)
    try:
        change_id = await propose(bot, reviewers=["U0BOB"], security_checkboxes=["crypto"])
        await bot.sweep()  # the security team is asked
        await click(bot, "erin", "security_approve", change_id)
        await assert_approvals_met(bot, change_id)
    finally:
        await bot.stop()
