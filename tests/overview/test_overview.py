"""What people read across changes says things as the card does: people and groups by name,
triggers as sentences, no Python values, the risk once, every command's formats."""

from storage import repo
from tests.flows import click, propose


async def answer(bot, user: str, text: str) -> str:
    reply = await bot.command(user, text)
    assert reply.status == 200, reply.text
    await bot.settle()
    return str(bot.slack.responses(user=f"U0{user.upper()}")[-1].get("blocks"))


async def test_the_history_names_people_says_triggers_and_shows_no_python_values(bot):
    change_id = await propose(bot, security_checkboxes=["crypto"])
    await click(bot, "bob", "change_approve", change_id)
    async with bot.ctx.db.session() as session:  # a move, as some events record it
        await repo.add_audit(session, at=bot.clock.now(), actor="U0ALICE", action="checked",
                             change_id=change_id, detail={
                                 "status": {"from": "in_review", "to": "approved"},
                                 "reason": "WIP", "group": "S0SECURITY"})
    await bot.command("alice", f"show CHG-{change_id}")
    await bot.settle()
    shown = bot.slack.ephemerals(user="U0ALICE")[-1]
    reply = await bot.click("alice", "change_history", channel="C0CHANGES", message=shown)
    assert reply.status == 200
    await bot.settle()
    text = str(bot.slack.opened_views()[-1]["blocks"])
    assert "security triggers: touches cryptography (checkbox)" in text
    assert "tech lead: no" in text and "after deployment: no" in text
    assert "approvers: <@U0BOB>" in text  # Slack shows the name
    for part in ("status: in review → approved", "reason: WIP",  # (JSONB orders the keys)
                 "group: <!subteam^S0SECURITY>"):
        assert part in text
    for raw in ("False", "True", "source, reason", "approvers: U0BOB", "from, to"):
        assert raw not in text


async def test_list_says_the_risk_once_and_show_says_it_as_the_card_does(bot):
    await propose(bot, title="Move orders to the new cluster", category="high_risk",
                  risk="high")
    await propose(bot, title="Add an index", risk="medium")
    listed = await answer(bot, "alice", "list")
    assert "High-risk · *In review*" in listed and "high risk" not in listed
    assert "Normal · medium risk · *In review*" in listed
    shown = await answer(bot, "alice", "show CHG-2")
    assert "*Risk*\\nMedium" in shown and "*Status*\\nIn review" in shown


async def test_help_lists_every_format(bot):
    reply = await bot.command("alice", "help")
    text = str(reply.json()["blocks"])
    assert "`/change evidence FROM TO [md|csv|json]`" in text
    assert "`/change metrics [30d|90d]`" in text
    assert "`/change list overdue`" in text
    assert "`CHG-12` (or `chg-12`, or `12`)" in text


async def test_home_items_link_to_their_card(bot):
    change_id = await propose(bot, title="Alice's migration", reviewers=["U0BOB"])
    home = str((await bot.open_home("bob"))["blocks"])
    assert bot.slack.calls_to("chat.getPermalink")[-1].args["channel"] == "C0CHANGES"
    assert f"|CHG-{change_id}>* Alice's migration" in home
    assert "*<https://" in home
