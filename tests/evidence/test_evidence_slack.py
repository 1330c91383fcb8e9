"""Evidence from Slack: `/change evidence` uploads the pack to the asker's DM, and
`/change show` opens the full History of a change."""

from __future__ import annotations

from datetime import timedelta

from bot.playground.standin.api import UPLOAD
from bot.playground.standin.workspace import SECURITY_GROUP, TECH_LEADS_GROUP, demo_policy
from bot.policy import Groups
from storage import repo
from tests.evidence_history import ALICE, DAVE, at
from tests.flows import click, deployed, propose, staged
from tests.harness import start_bot

UPLOAD_STEPS = ["files.getUploadURLExternal", UPLOAD, "files.completeUploadExternal"]


async def one_deployed_change(bot) -> int:
    """Proposed, approved, staged and deployed; never verified."""
    bot.clock.set(at(25, 10))
    change_id = await propose(bot, "alice")
    await click(bot, "alice", "change_approve", change_id)  # refused
    bot.clock.set(at(25, 10, 30))
    await click(bot, "bob", "change_approve", change_id)
    await staged(bot, change_id)
    bot.clock.set(at(25, 11))
    await deployed(bot, change_id)
    bot.clock.set(at(1, 9, month=12))
    return change_id


def upload_calls(slack) -> list[str]:
    return [c.method for c in slack.calls if c.method in UPLOAD_STEPS]


async def ask(bot, user: str, text: str) -> None:
    reply = await bot.command(user, text)
    assert reply.status == 200, reply.text
    await bot.settle()


async def test_a_tech_lead_gets_the_pack_in_a_dm_through_the_three_step_upload(bot):
    await one_deployed_change(bot)
    await ask(bot, "dave", "evidence 2026-11-01 2026-11-30")

    assert "it will arrive in your direct messages" in bot.slack.responses(user=DAVE)[-1]["text"]
    assert upload_calls(bot.slack) == UPLOAD_STEPS
    [upload] = bot.slack.uploaded_files()
    dm = bot.slack.dm_channel(DAVE)
    assert upload["name"] == "changebot-evidence-2026-11-01-to-2026-11-30.md"
    assert upload["completed"] and upload["channels"] == [dm]
    pack = upload["content"].decode()
    assert pack.startswith("# Change evidence pack: 2026-11-01 to 2026-11-30\n")
    assert "| Changes | 1 |" in pack and "### CHG-1 · " in pack
    assert "1 self-approval attempt refused: 2026-11-25 10:00 UTC" in pack
    assert "| U0ALICE | Alice Engineer |" in pack  # the who's-who, from users.info

    # The progress message was posted first, then updated with what the pack holds.
    [posted] = [c for c in bot.slack.calls_to("chat.postMessage") if c.args["channel"] == dm]
    assert posted.args["text"].startswith(":hourglass_flowing_sand: Building the evidence pack")
    messages = bot.slack.dms(DAVE)
    progress = next(m for m in messages if m["ts"] == posted.response["ts"])
    assert progress["text"].startswith(
        ":white_check_mark: The evidence pack for 2026-11-01 to 2026-11-30 is ready below: "
        "1 change(s), 1 exception(s) (1 rule(s) broken, 0 bypassed), 0 GitHub production "
        "deployment(s) matching no change. Audit log head `")
    assert "| CHG-1 | Verification | broken | not verified; the monitoring window ended " \
           "2026-11-25 11:30 UTC (U0ALICE was on watch) |" in pack
    shared = [m for m in messages if m.get("files")]
    assert len(shared) == 1 and shared[0]["files"][0]["name"] == upload["name"]


async def test_a_csv_pack_on_request(bot):
    await one_deployed_change(bot)
    await ask(bot, "dave", "evidence 2026-11-01 2026-11-30 csv")
    [upload] = bot.slack.uploaded_files()
    assert upload["name"].endswith(".csv")
    assert upload["content"].decode().splitlines()[1].startswith("CHG-1,")


async def test_someone_outside_the_group_is_refused_and_nothing_is_built(bot):
    await one_deployed_change(bot)
    await ask(bot, "alice", "evidence 2026-11-01 2026-11-30")
    refusal = bot.slack.responses(user=ALICE)[-1]
    assert refusal["response_type"] == "ephemeral"
    assert refusal["text"] == (f"Only members of <!subteam^{TECH_LEADS_GROUP}> can export "
                               "evidence packs.")
    assert upload_calls(bot.slack) == [] and bot.slack.uploaded_files() == []


async def test_the_policy_names_the_group(db, slack, clock):
    policy = demo_policy(groups=Groups(security=SECURITY_GROUP, tech_leads=TECH_LEADS_GROUP,
                                       evidence=SECURITY_GROUP))
    bot = await start_bot(db=db, slack=slack, clock=clock, policy=policy)
    try:
        await ask(bot, "dave", "evidence 2026-11-01 2026-11-30")
        assert "<!subteam^S0SECURITY>" in bot.slack.responses(user=DAVE)[-1]["text"]
        assert bot.slack.uploaded_files() == []
        await ask(bot, "erin", "evidence 2026-11-01 2026-11-30")
        assert len(bot.slack.uploaded_files()) == 1
    finally:
        await bot.stop()


async def test_bad_input_gets_a_specific_answer(bot):
    for text, expected in [
        ("evidence", "Give the period as its first and last day"),
        ("evidence 2026-01-01", "Give the period as its first and last day"),
        ("evidence 2026-01-01 2026-03-31 pdf", "add `csv` or `json`"),
        ("evidence 2026-02-30 2026-03-31", "'2026-02-30' is not a date"),
        ("evidence 2026-03-31 2026-01-01", "ends (2026-01-01) before it starts"),
    ]:
        reply = await bot.command("dave", text)
        assert reply.json()["response_type"] == "ephemeral"
        assert expected in reply.json()["text"], text
    await bot.settle()
    assert upload_calls(bot.slack) == []


async def test_a_slack_error_during_the_upload_is_retried_and_shares_one_file(bot):
    await one_deployed_change(bot)
    bot.slack.fail("files.completeUploadExternal", status=500, times=1)
    await ask(bot, "dave", "evidence 2026-11-01 2026-11-30")
    assert [c.ok for c in bot.slack.calls_to("files.completeUploadExternal")] == [False, True]
    assert len([f for f in bot.slack.uploaded_files() if f["completed"]]) == 1
    shared = [m for m in bot.slack.dms(DAVE) if m.get("files")]
    assert len(shared) == 1


async def test_when_slack_refuses_the_upload_the_progress_message_says_so(bot):
    await one_deployed_change(bot)
    bot.slack.error("files.completeUploadExternal", "file_not_found", times=None)
    await ask(bot, "dave", "evidence 2026-11-01 2026-11-30")
    bot.slack.clear_faults()
    assert not any(f["completed"] for f in bot.slack.uploaded_files())
    texts = [m["text"] for m in bot.slack.dms(DAVE)]
    assert texts == [":x: I couldn't build or upload the evidence pack for 2026-11-01 to "
                     "2026-11-30. Nothing was shared; please ask again with `/change evidence`."]


async def test_show_has_a_history_button_that_opens_every_event_page_by_page(bot):
    change_id = await one_deployed_change(bot)
    # A long life: 30 more events (padding, so that the History has pages).
    async with bot.ctx.db.session() as session:
        for n in range(30):
            await repo.add_audit(session, at=at(25, 12) + timedelta(minutes=n), actor=DAVE,
                                 action="checked", change_id=change_id,
                                 detail={"note": f"check {n}", "reason": "<script>"})
    await ask(bot, "alice", "show CHG-1")
    shown = bot.slack.ephemerals(user=ALICE)[-1]
    assert "earlier: see *History*" in str(shown["blocks"])
    reply = await bot.click("alice", "change_history", channel="C0CHANGES", message=shown)
    assert reply.status == 200
    await bot.settle()
    modal = bot.slack.opened_views()[-1]
    assert modal["title"]["text"] == "CHG-1 history"
    text = str(modal["blocks"])
    assert "38 events, oldest first · page 1 of 2" in text
    assert "*proposed* by <@U0ALICE>" in text
    assert "*self approval refused* by <@U0ALICE>" in text
    assert "*approval given* by <@U0BOB>" in text
    assert "*staging verified* by <@U0ALICE>" in text
    assert "*deployed to production* by <@U0ALICE>" in text
    buttons = [e["text"]["text"] for b in modal["blocks"] if b["type"] == "actions"
               for e in b["elements"]]
    assert buttons == ["Later →"]

    reply = await bot.click("alice", "change_history_page_later", view=modal)
    assert reply.status == 200
    await bot.settle()
    later = bot.slack.view(modal["id"])
    text = str(later["blocks"])
    assert "page 2 of 2" in text and "note: check 29 · reason: &lt;script&gt;" in text
    assert "*proposed*" not in text
    buttons = [e["text"]["text"] for b in later["blocks"] if b["type"] == "actions"
               for e in b["elements"]]
    assert buttons == ["← Earlier"]
