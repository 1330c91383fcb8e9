"""Bounded answers: `/change list` a page at a time ("…and N more", then the next page
shows the rest, in valid Block Kit), `/change show` the last events and how many came
before, the desk's sections the first few and how many more."""

import re

from bot.overview.desk import MAX_PER_SECTION
from bot.overview.queries import LIST_PAGE_SIZE, SHOW_EVENTS
from bot.playground.standin.blockkit import block_errors
from bot.playground.standin.workspace import CHANGES
from storage import repo
from storage.models import Change
from tests.flows import propose


async def many_open(bot, count: int, author: str = "U0CAROL") -> None:
    """`count` open changes in review, written straight to the database (as a busy team's
    backlog would be)."""
    now = bot.clock.now()
    async with bot.ctx.db.session() as session:
        for n in range(count):
            session.add(Change(
                title=f"Backlog change {n + 1}", description="d", category="normal",
                risk="low", rollback_plan="r", author_id=author, status="in_review",
                created_at=now, updated_at=now, reviewers=["U0BOB"]))


def listed_ids(message: dict) -> list[int]:
    return [int(n) for b in message["blocks"] if b["type"] == "section"
            for n in re.findall(r"^\*CHG-(\d+)\*", b["text"]["text"])]


def actions(message: dict) -> list[str]:
    return [e["action_id"] for b in message["blocks"] if b["type"] == "actions"
            for e in b["elements"]]


async def list_page(bot, user: str, action: str, shown: dict) -> dict:
    message = {**shown, "ts": "1.000001", "is_ephemeral": True}
    reply = await bot.click(user, action, channel=CHANGES, message=message)
    assert reply.status == 200, reply.text
    await bot.settle()
    return bot.slack.responses(user=f"U0{user.upper()}")[-1]


async def test_the_list_shows_a_page_says_how_many_more_and_the_next_page_shows_them(bot):
    own = await propose(bot, title="Alice's own change")
    await many_open(bot, LIST_PAGE_SIZE + 5)
    total = LIST_PAGE_SIZE + 6
    reply = await bot.command("alice", "list")
    assert reply.status == 200
    await bot.settle()
    first = bot.slack.responses(user="U0ALICE")[-1]
    assert block_errors(first["blocks"]) == []
    assert f"Open changes ({total}) · page 1 of 2" in str(first["blocks"])
    assert f"…and {total - LIST_PAGE_SIZE} more." in str(first["blocks"])
    shown = listed_ids(first)
    assert len(shown) == LIST_PAGE_SIZE and shown[0] == own  # the viewer's own first
    assert actions(first) == ["change_list_page_next"]

    second = await list_page(bot, "alice", "change_list_page_next", first)
    assert block_errors(second["blocks"]) == []
    assert "page 2 of 2" in str(second["blocks"]) and "more." not in str(second["blocks"])
    assert actions(second) == ["change_list_page_previous"]
    rest = listed_ids(second)
    assert len(rest) == total - LIST_PAGE_SIZE
    assert sorted(shown + rest) == list(range(1, total + 1))  # every change once

    again = await list_page(bot, "alice", "change_list_page_previous", second)
    assert listed_ids(again) == shown


async def test_a_list_page_button_out_of_date_or_forged_changes_nothing(bot):
    await propose(bot)
    reply = await bot.command("alice", "list")
    await bot.settle()
    shown = bot.slack.responses(user="U0ALICE")[-1]
    assert actions(shown) == []  # one page: no buttons
    forged = {**shown, "ts": "1.000001", "blocks": [{
        "type": "actions", "block_id": "change_list_pages", "elements": [{
            "type": "button", "action_id": "change_list_page_next", "value": "-1",
            "text": {"type": "plain_text", "text": "Next"}}]}]}
    reply = await bot.click("alice", "change_list_page_next", channel=CHANGES, message=forged)
    assert reply.status == 200
    await bot.settle()
    assert "That button is out of date" in str(bot.slack.responses(user="U0ALICE")[-1])
    # A page past the end (the list got shorter meanwhile) shows the last one.
    forged["blocks"][0]["elements"][0]["value"] = "7"
    await bot.click("alice", "change_list_page_next", channel=CHANGES, message=forged)
    await bot.settle()
    assert listed_ids(bot.slack.responses(user="U0ALICE")[-1]) == [1]


async def test_show_reads_the_last_events_and_says_how_many_came_before(bot):
    change_id = await propose(bot)
    async with bot.ctx.db.session() as session:
        before = len(await repo.audit_history(session, change_id))
        for n in range(SHOW_EVENTS + 4):
            await repo.add_audit(session, at=bot.clock.now(), actor="U0ALICE",
                                 action=f"noted_{n}", change_id=change_id)
    await bot.command("alice", f"show CHG-{change_id}")
    await bot.settle()
    text = str(bot.slack.responses(user="U0ALICE")[-1]["blocks"])
    assert f"…{before + 4} earlier: see *History*" in text
    # The last SHOW_EVENTS in full, the newest last: noted 4 … noted SHOW_EVENTS + 3.
    assert f"noted {SHOW_EVENTS + 3} by <@U0ALICE>" in text and "— noted 4 by" in text
    assert "— noted 3 by" not in text


async def test_the_desk_lists_the_first_of_a_section_and_how_many_more(bot):
    await many_open(bot, MAX_PER_SECTION + 3)
    home = await bot.open_home("bob")
    assert block_errors(home["blocks"], limit=100) == []
    text = str(home["blocks"])
    assert f"Waiting for you ({MAX_PER_SECTION + 3})" in text
    assert "…and 3 more: `/change list`" in text
