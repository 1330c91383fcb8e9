"""Steps a test takes through Slack, as a person would: open the modal the bot sent, fill it,
submit it, find the card the bot posted, click its buttons."""

from __future__ import annotations

from typing import Any

from bot.playground.standin.workspace import CHANGES, person
from tests.harness import BotHarness

PROPOSAL = {
    "title": "Add an index on orders.created_at",
    "description": "Speeds up the month-end orders report, which finance needs by Friday.",
    "category": "normal",
    "risk": "medium",
    "rollback_plan": "Drop the index: DROP INDEX CONCURRENTLY orders_created_at_idx.",
    "testing": "Ran the migration against last night's production snapshot: 40 s, no locks.",
    "security_notes": None,
    "security_checkboxes": [],
    "pr_url": None,
    "reviewers": ["U0BOB"],
    "planned_at": None,
}


async def open_modal(bot: BotHarness, user: str, text: str = "new") -> dict:
    """Type `/change <text>` and return the modal the bot opened."""
    before = len(bot.slack.calls_to("views.open"))
    reply = await bot.command(user, text)
    assert reply.status == 200, reply.text
    await bot.settle()
    opened = bot.slack.calls_to("views.open")
    assert len(opened) == before + 1, "the bot did not open a modal"
    return bot.slack.opened_views()[-1]


async def submit_proposal(bot: BotHarness, user: str = "alice", view: dict | None = None,
                          **fields: Any):
    view = view or await open_modal(bot, user)
    reply = await bot.submit(user, view, {**PROPOSAL, **fields})
    await bot.settle()
    return reply


async def propose(bot: BotHarness, user: str = "alice", **fields: Any) -> int:
    """Propose a change through the modal; returns its number (CHG-<n>)."""
    reply = await submit_proposal(bot, user, **fields)
    assert reply.status == 200 and not reply.text.strip(), f"modal not closed: {reply.text}"
    return len(cards(bot))


def cards(bot: BotHarness) -> list[dict]:
    return [m for m in bot.slack.messages(CHANGES)
            if m.get("text", "").startswith("CHG-") and not m.get("thread_ts")]


def card(bot: BotHarness, change_id: int) -> dict:
    for message in cards(bot):
        if message["text"].startswith(f"CHG-{change_id} "):
            return message
    raise AssertionError(f"no card for CHG-{change_id} in #changes")


def card_text(bot: BotHarness, change_id: int) -> str:
    return str(card(bot, change_id)["blocks"])


def buttons(message: dict) -> list[str]:
    """The action_ids of a message's buttons (an overflow menu is `change_more`)."""
    return [e["action_id"] for b in message.get("blocks", []) if b["type"] == "actions"
            for e in b["elements"]]


def more_options(message: dict) -> list[str]:
    """The actions of the message's overflow menu ("…"), by the action_id they route to."""
    return [o["value"].partition(":")[2] for b in message.get("blocks", [])
            if b["type"] == "actions" for e in b["elements"] if e["type"] == "overflow"
            for o in e["options"]]


async def click(bot: BotHarness, user: str, action_id: str, change_id: int) -> None:
    """Press a card's button, or choose the option of its overflow menu for that action."""
    message = card(bot, change_id)
    if action_id in buttons(message) or action_id not in more_options(message):
        reply = await bot.click(user, action_id, channel=CHANGES, message=message)
    else:
        reply = await bot.click(user, "change_more", channel=CHANGES, message=message,
                                selected=f"{change_id}:{action_id}")
    assert reply.status == 200, reply.text
    await bot.settle()


async def click_stale(bot: BotHarness, user: str, action_id: str, change_id: int) -> None:
    """Press a button the card no longer shows, as on a copy of it from before it moved on
    (posted by an older version, or updated a moment after the person looked)."""
    stale = {**card(bot, change_id), "blocks": [{
        "type": "actions", "block_id": "change_actions",
        "elements": [{"type": "button", "action_id": action_id, "value": str(change_id),
                      "text": {"type": "plain_text", "text": action_id}}],
    }]}
    reply = await bot.click(user, action_id, channel=CHANGES, message=stale)
    assert reply.status == 200, reply.text
    await bot.settle()


async def cancel(bot: BotHarness, user: str, change_id: int) -> None:
    """"Cancel change…" from the card's overflow menu, confirmed in the modal it opens (when
    the bot refuses, it answers instead and opens nothing)."""
    before = len(bot.slack.opened_views())
    await click(bot, user, "change_cancel", change_id)
    if len(bot.slack.opened_views()) > before:
        assert last_view(bot)["callback_id"] == "change_cancel_confirmed"
        reply = await fill(bot, user, {})
        assert reply.status == 200, reply.text


def thread(bot: BotHarness, change_id: int) -> list[str]:
    ts = card(bot, change_id)["ts"]
    return [m["text"] for m in bot.slack.messages(CHANGES) if m.get("thread_ts") == ts
            and m["ts"] != ts]


# ---- Steps 5-8 -----------------------------------------------------------------------------

STAGING_CHECKS = ["functional", "no_breaking_changes"]
PRODUCTION_CHECKS = ["logs", "metrics", "functionality"]


async def approved(bot: BotHarness, user: str = "alice", **fields: Any) -> int:
    """A change proposed by `user` and approved by bob (one approval: a normal change)."""
    change_id = await propose(bot, user, **fields)
    await click(bot, "bob", "change_approve", change_id)
    return change_id


def last_view(bot: BotHarness) -> dict:
    return bot.slack.opened_views()[-1]


async def fill(bot: BotHarness, user: str, values: dict[str, Any]):
    """Submit the modal the bot opened last; returns the reply (errors, or empty = closed)."""
    reply = await bot.submit(user, last_view(bot), values)
    await bot.settle()
    return reply


async def step(bot: BotHarness, user: str, action_id: str, change_id: int,
               values: dict[str, Any]) -> None:
    """Press a card button that opens a modal, fill it, and check the modal closed."""
    before = len(bot.slack.opened_views())
    await click(bot, user, action_id, change_id)
    assert len(bot.slack.opened_views()) == before + 1, (
        f"no modal opened: {bot.slack.responses()[-1:]}")
    reply = await fill(bot, user, values)
    assert reply.status == 200 and not reply.text.strip(), f"modal not closed: {reply.text}"


async def staged(bot: BotHarness, change_id: int, user: str = "alice") -> None:
    """Deployed to staging, then staging verified: the change is ready for production."""
    await click(bot, user, "change_staging_deployed", change_id)
    await step(bot, user, "change_staging_verify", change_id,
               {"checks": STAGING_CHECKS, "notes": "Smoke tests green on staging."})


async def deployed(bot: BotHarness, change_id: int, user: str = "alice",
                   method: str = "blue_green") -> None:
    await step(bot, user, "change_deploy", change_id, {"method": method, "notes": None})


def last_answer(bot: BotHarness, user: str) -> str:
    """The last ephemeral answer the bot gave `user`."""
    return bot.slack.responses(user=person(user).id)[-1]["text"]


def dms(bot: BotHarness, user: str) -> list[dict]:
    return bot.slack.dms(person(user).id)


async def click_dm(bot: BotHarness, user: str, action_id: str, message: dict) -> None:
    """Press a button of a DM the bot sent `user`."""
    channel = bot.slack.dm_channel(person(user).id)
    reply = await bot.click(user, action_id, channel=channel, message=message)
    assert reply.status == 200, reply.text
    await bot.settle()
