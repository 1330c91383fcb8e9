"""`/change metrics` over real HTTP: the ephemeral summary, and the chart uploaded as a PNG
through the real slack_sdk into the fake Slack."""

from __future__ import annotations

import io
from datetime import timedelta

from PIL import Image

from bot.playground.standin.api import UPLOAD
from tests.flows import click, deployed, fill, person, propose, staged
from tests.insights.seed import at, seed_month

UPLOAD_STEPS = ["files.getUploadURLExternal", UPLOAD, "files.completeUploadExternal"]


async def ask(bot, user: str, text: str) -> None:
    reply = await bot.command(user, text)
    assert reply.status == 200, reply.text
    await bot.settle()


def sections(answer: dict) -> list[str]:
    return [b["text"]["text"] for b in answer["blocks"] if b["type"] == "section"]


async def test_a_change_rolled_back_through_slack_shows_in_the_figures_and_the_chart(bot):
    change_id = await propose(bot, "alice")
    await click(bot, "bob", "change_approve", change_id)
    await staged(bot, change_id)
    proposed = bot.clock.now()
    bot.clock.advance(timedelta(hours=2))
    await deployed(bot, change_id)
    bot.clock.advance(timedelta(minutes=10))
    await click(bot, "alice", "change_rollback", change_id)
    await fill(bot, "alice", {"trigger": "errors", "method": "revert", "notes": "500s"})
    bot.clock.advance(timedelta(minutes=20))
    await click(bot, "alice", "change_rollback_finished", change_id)
    assert bot.clock.now() - proposed == timedelta(hours=2, minutes=30)

    await ask(bot, "carol", "metrics")

    carol = person("carol").id
    answer = bot.slack.responses(user=carol)[-1]
    assert answer["response_type"] == "ephemeral"
    assert answer["blocks"][0]["text"]["text"] == "How change is going: the last 30 days"
    said = sections(answer)
    assert said[0].startswith("*Change lead time (median)*\n2 h\n")  # from the proposal
    assert said[0].endswith("no earlier data · *elite* (less than one day)")
    assert said[2] == ("*Change fail rate*\n100% (1 of 1)\nno earlier data · *low* (more "
                       "than 15%; the report's low cluster: 64%)")
    assert said[3].startswith("*Failed deployment recovery time (median)*\n30 min\n")
    assert "*elite* (less than one hour)" in said[3]
    assert said[4].endswith("no DORA cluster")

    # The chart: uploaded in three steps to Carol's DM, a 900 x 700 PNG.
    assert [c.method for c in bot.slack.calls if c.method in UPLOAD_STEPS] == UPLOAD_STEPS
    [upload] = bot.slack.uploaded_files()
    dm = bot.slack.dm_channel(carol)
    assert upload["completed"] and upload["channels"] == [dm]
    assert upload["name"] == "changebot-metrics-30d-2026-11-25.png"
    assert upload["content"].startswith(b"\x89PNG\r\n\x1a\n")
    assert upload["length"] == len(upload["content"]) > 10_000
    image = Image.open(io.BytesIO(upload["content"]))
    assert image.format == "PNG" and image.size == (900, 700)
    # Drawn, not blank: the deployment bar and the fail-rate markers are there.
    colours = {colour for _, colour in image.convert("RGB").getcolors(maxcolors=1_000_000)}
    assert {(0x2E, 0xB6, 0x7D), (0xE0, 0x1E, 0x5A)} <= colours
    [shared] = [m for m in bot.slack.dms(carol) if m.get("files")]
    assert shared["files"][0]["mimetype"] == "image/png"
    assert shared["files"][0]["size"] == upload["length"]
    assert shared["text"].startswith("Deployments, change lead time and change fail rate")


async def test_ninety_days_of_the_seeded_month_with_the_trend(bot):
    await seed_month(bot.ctx.db)
    bot.clock.set(at(1, 0, month=12))
    await ask(bot, "alice", "metrics 90d")
    answer = bot.slack.responses(user=person("alice").id)[-1]
    said = sections(answer)
    assert said[1].startswith("*Deployment frequency*\n8 deployment(s), 0.6 per week\n"
                              ":arrow_up_small: better · *medium*")
    assert said[2].startswith("*Change fail rate*\n25% (2 of 8)\nno earlier data · *low*")
    assert said[3].startswith("*Failed deployment recovery time (median)*\n1 h 15 min\n")
    [upload] = bot.slack.uploaded_files()
    assert upload["name"] == "changebot-metrics-90d-2026-12-01.png"


async def test_an_unknown_period_is_explained_and_uploads_nothing(bot):
    for text in ("metrics 7d", "metrics 30d 90d"):
        reply = await bot.command("alice", text)
        assert reply.status == 200
        assert reply.json()["text"].startswith(f"I don't know `/change {text}`. Give the "
                                               "period as `30d` or `90d`")
    await bot.settle()
    assert bot.slack.uploaded_files() == []
