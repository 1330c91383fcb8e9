"""Each person's desk (the App Home tab): its sections, a link to the card on every item,
Block Kit that validates, and republished through the outbox when a change moves,
coalesced per person. Time moves on the injected clock."""

import re

from slack_sdk.models.views import View

from bot.overview.desk_refresh import COALESCE
from bot.overview.team_figures import FRESH
from bot.playground.standin.workspace import person
from tests.flows import approved, click, deployed, propose, staged


def checked(home: dict) -> str:
    """The published view, parsed back and validated by slack_sdk; every item links to its
    card. Returns its text."""
    View(**{k: v for k, v in home.items() if k in ("type", "blocks")}).validate_json()
    items = [b["text"]["text"] for b in home["blocks"]
             if b["type"] == "section" and "CHG-" in b["text"]["text"]]
    assert items, "no item on the desk"
    for text in items:  # every change named is a link to its card
        assert re.findall(r"CHG-\d+", text) == re.findall(
            r"<https://slack\.com/archives/C\w+/p\d+\|(CHG-\d+)>", text), text
    return str(home["blocks"])


def section(text: str, title: str) -> str:
    start = text.index(title)
    ends = [text.find(t, start + 1) for t in ("Waiting for you", "Your changes",
                                                "In production now", "Overdue", "This week")]
    return text[start:min([e for e in ends if e > start] or [len(text)])]


def publishes(bot, user: str) -> int:
    return len([c for c in bot.slack.calls_to("views.publish")
                if c.args.get("user_id") == person(user).id])


async def moved(bot) -> None:
    """Past the coalescing slot: the outbox publishes the desks."""
    bot.clock.advance(COALESCE)
    await bot.sweep()


async def test_each_section_holds_its_items_each_linking_to_its_card(bot):
    live = await approved(bot, title="Pool size to 40")
    await staged(bot, live)
    await deployed(bot, live)
    await propose(bot, title="Index orders", reviewers=["U0BOB"],
                  security_checkboxes=["crypto"])
    bob = checked(await bot.open_home("bob"))
    assert "Index orders" in section(bob, "Waiting for you")
    assert "min of monitoring left" in section(bob, "In production now")
    assert "Pool size to 40" in section(bob, "In production now")
    erin = checked(await bot.open_home("erin"))  # the security team
    assert "security review" in section(erin, "Waiting for you")
    alice = checked(await bot.open_home("alice"))
    assert "waits for its reviews" in section(alice, "Your changes")
    assert "in production: watch it" in section(alice, "Your changes")

    window = bot.ctx.policy.windows
    bot.clock.advance(window.monitoring)
    alice = checked(await bot.open_home("alice"))
    assert "verify it or roll it back" in section(alice, "Waiting for you")
    # The figures kept from before the deployment were renewed behind that desk.
    assert "Last 30 days: 1 deployment(s)" in checked(await bot.open_home("alice"))
    assert "Nothing is overdue." in alice
    bot.clock.advance(window.verification_grace)
    bob = checked(await bot.open_home("bob"))
    assert "verification by <@U0ALICE>" in section(bob, "Overdue")


async def test_a_move_republishes_the_desks_concerned_once_per_burst(bot):
    before = publishes(bot, "alice")
    change_id = await propose(bot, title="Index orders", reviewers=["U0BOB"])
    await moved(bot)
    assert publishes(bot, "alice") == before + 1 and publishes(bot, "bob") == 1
    assert "Index orders" in section(checked(bot.slack.home("U0BOB")), "Waiting for you")
    assert publishes(bot, "carol") == 0  # not concerned

    for title in ("One", "Two", "Three"):  # a burst within one slot: one publish each
        await propose(bot, title=title, reviewers=["U0BOB"])
    await click(bot, "bob", "change_approve", change_id)
    await moved(bot)
    assert publishes(bot, "alice") == before + 2 and publishes(bot, "bob") == 2
    bob = checked(bot.slack.home("U0BOB"))
    assert "Index orders" not in section(bob, "Waiting for you")  # approved meanwhile
    assert "Three" in section(bob, "Waiting for you")


async def test_the_metrics_line_is_kept_for_a_while_then_renewed_behind_a_desk(bot):
    """The figures are the team's and slow to move: a process keeps them FRESH long, then
    shows them once more while it works out new ones, so no desk waits for them."""

    async def deployments_shown() -> str:
        found = re.search(r"Last 30 days: (\d+) deployment", str(await bot.open_home("bob")))
        assert found, "no metrics line on the desk"
        return found[1]

    assert await deployments_shown() == "0"
    change_id = await approved(bot, title="Pool size to 40")
    await staged(bot, change_id)
    await deployed(bot, change_id)
    assert await deployments_shown() == "0"  # kept
    bot.clock.advance(FRESH)
    assert await deployments_shown() == "0"  # shown once more, renewed behind it
    assert await deployments_shown() == "1"
    assert await deployments_shown() == "1"
