"""The playground page in a real headless Chromium (Debian's), driven with Playwright.

Each test acts as people do: types `/change new`, fills the form, clicks, switches person,
advances the clock. Each saves a screenshot under its pytest temp dir (final.png, and more
where a moment is worth seeing). One browser serves the whole module; every test gets a
fresh playground (bot, stand-in, database) and a fresh browser context.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from bot.playground.server import Playground, start
from bot.playground.standin.workspace import ALICE, BOB, CHANGES
from bot.runtime.clock import ManualClock
from bot.slack import outbox as notify
from tests.conftest import WEDNESDAY_10AM

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="needs Debian's chromium at /usr/bin/chromium "
                              "(apt-get install -y chromium; .ci/run installs it)"),
    pytest.mark.asyncio(loop_scope="module"),
]

if CHROMIUM.exists():
    from playwright.async_api import Page, async_playwright, expect
else:  # pragma: no cover - the module is skipped
    Page = object


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser():
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                    args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


@pytest_asyncio.fixture(loop_scope="module")
async def playground(database_url):
    started = await start(database_url=database_url, clock=ManualClock(WEDNESDAY_10AM))
    yield started
    await started.stop()


@pytest_asyncio.fixture(loop_scope="module")
async def page(browser, playground: Playground, tmp_path):
    context = await browser.new_context(viewport={"width": 1360, "height": 900})
    opened = await context.new_page()
    problems: list[str] = []
    opened.on("pageerror", lambda error: problems.append(str(error)))
    await opened.goto(playground.url)
    await expect(opened.locator("body[data-live=yes]")).to_have_count(1)
    await expect(opened.locator("#acting-as")).to_have_value(ALICE.id)
    yield opened
    await opened.screenshot(path=tmp_path / "final.png", full_page=True)
    await context.close()
    assert problems == [], f"the page's script failed: {problems}"
    assert (tmp_path / "final.png").stat().st_size > 0


def card(page: Page):
    return page.locator("#messages .msg", has=page.locator(".bk-header", has_text="CHG-1"))


async def type_command(page: Page, text: str) -> None:
    await page.fill("#composer-input", text)
    await page.press("#composer-input", "Enter")


async def fill_proposal(page: Page, *, pr_url: str = "") -> None:
    """Open `/change new` as the acting person and fill every required field."""
    await type_command(page, "/change new")
    modal = page.locator("#modal-root .bk-modal")
    await expect(modal).to_be_visible()
    await expect(modal.locator(".bk-modal-title")).to_contain_text("Propose a change")
    await page.fill("#in-title", "Add an index on orders.created_at")
    await page.fill("#in-description", "Speeds up the month-end orders report.")
    await page.select_option("#in-category", "normal")
    await page.select_option("#in-risk", "medium")
    await page.fill("#in-rollback_plan", "Drop the index concurrently.")
    await page.fill("#in-testing", "Ran the migration on last night's snapshot: 40 s.")
    await page.fill("#in-pr_url", pr_url)
    await page.check("[data-block-id=reviewers] input[value=U0BOB]")


async def propose(page: Page) -> None:
    await fill_proposal(page)
    await page.click("#modal-root .bk-submit")
    await expect(page.locator("#modal-root")).to_be_hidden()
    await expect(card(page)).to_be_visible()


async def act_as(page: Page, user: str) -> None:
    await page.select_option("#acting-as", user)
    await expect(page.locator(".person.me")).to_have_attribute("data-person", user)


async def home_shown_is_the_latest(page: Page, playground: Playground) -> None:
    headers: list[str] = []
    shown: list[str] = []
    try:
        async with asyncio.timeout(5):
            while not headers or shown != headers:
                await asyncio.sleep(0.05)  # the page updates on its own: look again shortly
                latest = playground.slack.home(ALICE.id) or {"blocks": []}
                headers = [b["text"]["text"] for b in latest["blocks"] if b["type"] == "header"]
                shown = await page.locator("#home .bk-header").all_inner_texts()
    except TimeoutError:
        raise AssertionError(f"the page shows {shown}, the latest Home has {headers}") from None


async def test_what_was_typed_in_a_modal_survives_a_reload(page: Page, playground: Playground):
    await fill_proposal(page)
    await page.reload()
    await expect(page.locator("body[data-live=yes]")).to_have_count(1)
    modal = page.locator("#modal-root .bk-modal")
    await expect(modal.locator(".bk-modal-title")).to_contain_text("Propose a change")
    await expect(page.locator("#in-title")).to_have_value("Add an index on orders.created_at")
    await expect(page.locator("#in-risk")).to_have_value("medium")
    await expect(page.locator("[data-block-id=reviewers] input[value=U0BOB]")).to_be_checked()
    await page.click("#modal-root .bk-submit")
    await expect(page.locator("#modal-root")).to_be_hidden()
    await expect(card(page)).to_be_visible()
    await type_command(page, "/change new")  # a new modal starts empty: the draft is gone
    await expect(page.locator("#in-title")).to_have_value("")


async def test_alice_proposes_a_change_and_sees_the_card_in_changes(page, playground, tmp_path):
    await fill_proposal(page)
    await page.screenshot(path=tmp_path / "modal.png")
    await page.click("#modal-root .bk-submit")
    await expect(page.locator("#modal-root")).to_be_hidden()

    shown = card(page)
    await expect(shown.locator(".bk-header")).to_have_text(
        "CHG-1 · Add an index on orders.created_at")
    await expect(shown.locator(".bk-fields")).to_contain_text("In review")
    await expect(shown.locator(".bk-fields .bk-mention")).to_have_text("@alice")
    await expect(shown.locator("button[data-action-id=change_approve]")).to_have_class(
        "bk-button bk-primary")
    assert len(playground.slack.messages(CHANGES)) == 1  # what the page shows is Slack's
    await page.screenshot(path=tmp_path / "card.png")


async def test_an_invalid_pr_url_shows_its_error_under_the_field(page, playground, tmp_path):
    await fill_proposal(page, pr_url="github.com/acme/api/issues/7")
    await page.click("#modal-root .bk-submit")

    error = page.locator("[data-block-id=pr_url] .bk-error")
    await expect(error).to_be_visible()
    await expect(error).to_contain_text("Paste a link like https://github.com/acme/api/pull/123")
    await expect(page.locator("[data-block-id=pr_url]")).to_have_class("bk-input has-error")
    await expect(page.locator("[data-block-id=title] .bk-error")).to_be_hidden()
    await expect(page.locator("#in-title")).to_have_value("Add an index on orders.created_at")
    await page.screenshot(path=tmp_path / "pr-url-error.png")

    await page.fill("#in-pr_url", "")  # fixed: the modal submits and the error is gone
    await page.click("#modal-root .bk-submit")
    await expect(page.locator("#modal-root")).to_be_hidden()
    await expect(card(page)).to_be_visible()


async def test_the_author_is_refused_and_a_reviewer_approves(page, playground, tmp_path):
    await propose(page)
    await card(page).locator("button[data-action-id=change_approve]").click()
    refusal = page.locator("#messages .msg.ephemeral", has_text="You can't approve your own")
    await expect(refusal).to_be_visible()
    await expect(refusal.locator(".only-you")).to_have_text("Only visible to you")
    await expect(card(page).locator(".bk-fields")).to_contain_text("In review")
    await page.screenshot(path=tmp_path / "refused.png")

    await act_as(page, BOB.id)
    await expect(refusal).to_have_count(0)  # alice's ephemeral is not bob's
    await expect(page.locator(".channel[data-channel=D0BOB] .badge")).to_have_text("1")
    await card(page).locator("button[data-action-id=change_approve]").click()
    await expect(card(page).locator(".bk-fields")).to_contain_text("Approved")
    await expect(card(page)).to_contain_text("1 of 1 approval")
    await expect(card(page).locator(".edited")).to_have_text("(edited)")  # updated in place
    await expect(page.locator("#messages .msg.ephemeral")).to_contain_text("You approved CHG-1")
    assert len(playground.slack.messages(CHANGES)) == 1
    await page.screenshot(path=tmp_path / "approved.png")

    await page.click(".channel[data-channel=D0BOB]")  # the review request, in bob's DM
    await expect(page.locator("#conversation-title")).to_have_text("changebot")
    await expect(page.locator("#messages")).to_contain_text("asked you to review")
    await page.click("#messages a.bk-permalink")  # its link to the card opens it here
    await expect(page.locator("#conversation-title")).to_have_text("# changes")
    await expect(card(page)).to_have_class("msg flash")


async def test_cancelling_from_the_overflow_menu_is_asked_again(page, playground, tmp_path):
    await propose(page)
    more = card(page).locator("select[data-action-id=change_more]")
    await expect(more.locator("option")).to_have_text(["…", "Edit", "Cancel change…"])
    await more.select_option("1:change_cancel")
    modal = page.locator("#modal-root .bk-modal")
    await expect(modal.locator(".bk-modal-title")).to_contain_text("Cancel CHG-1")
    await expect(modal).to_contain_text("will be closed as cancelled. This cannot be undone.")
    await page.screenshot(path=tmp_path / "confirm.png")
    await page.click("#modal-root .bk-close")  # "Keep it": nothing happens
    await expect(page.locator("#modal-root")).to_be_hidden()
    await expect(card(page).locator(".bk-fields")).to_contain_text("In review")

    await more.select_option("1:change_cancel")  # the menu shows "…" again: choose again
    await page.click("#modal-root .bk-submit")
    await expect(card(page).locator(".bk-fields")).to_contain_text("Cancelled")
    await expect(card(page).locator(".bk-actions")).to_have_count(0)  # closed: no buttons


async def test_advancing_the_clock_sends_due_reminders(page, playground, tmp_path):
    ctx = playground.ctx
    async with ctx.db.session() as session:  # a reminder due in 4 hours, as the bot makes them
        await notify.schedule(session, ctx, key="demo", kind="dm", recipient=ALICE.id,
                              payload={"text": "Four hours have passed.", "link_card": False},
                              due_at=ctx.clock.now() + timedelta(hours=4))
    await page.click(".channel[data-channel=D0ALICE]")
    await expect(page.locator("#messages")).to_contain_text("No messages yet")

    await page.click(".clock-advance[data-minutes='30']")
    await expect(page.locator("#clock-now")).to_have_text("Wed 25 Nov 2026, 10:30 UTC")
    await expect(page.locator(".toast")).to_contain_text("0 reminders sent")
    await expect(page.locator("#messages")).not_to_contain_text("Four hours")

    await page.click(".clock-advance[data-minutes='240']")
    await expect(page.locator("#clock-now")).to_have_text("Wed 25 Nov 2026, 14:30 UTC")
    await expect(page.locator("#messages .msg")).to_contain_text("Four hours have passed.")
    await expect(page.locator(".toast").last).to_contain_text("1 reminder sent")
    await page.screenshot(path=tmp_path / "clock.png")

    await page.click(".clock-advance[data-minutes='1440']")
    await expect(page.locator("#clock-now")).to_have_text("Thu 26 Nov 2026, 14:30 UTC")


async def test_threads_updated_views_the_home_tab_and_unknown_blocks(page, playground,
                                                                    tmp_path):
    await propose(page)
    client = playground.ctx.slack  # the bot's own slack_sdk client, as its code would
    parent = playground.slack.messages(CHANGES)[0]["ts"]
    await client.chat_postMessage(channel=CHANGES, thread_ts=parent,
                                  text="Deployed to *staging* by <@U0BOB>")
    await client.chat_postMessage(channel=CHANGES, text="A block this page does not know", blocks=[
        {"type": "section", "text": {"type": "mrkdwn", "text": "Before the odd one"}},
        {"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": [
            {"type": "text", "text": "rich"}]}]},
    ])
    await expect(page.locator("[data-unsupported=rich_text]")).to_contain_text("rich_text")
    await expect(page.locator("#messages")).to_contain_text("Before the odd one")

    await card(page).locator(".replies").click()
    thread = page.locator("#thread")
    await expect(thread.locator(".msg")).to_have_count(2)
    await expect(thread.locator(".msg").last).to_contain_text("Deployed to staging by @bob")
    await expect(thread.locator(".msg").last.locator(".msg-body b")).to_have_text("staging")

    await type_command(page, "/change new")  # the bot updates an open modal: it redraws
    await expect(page.locator("#modal-root .bk-modal")).to_be_visible()
    (view,) = playground.slack.view_stack(ALICE.id)
    await client.views_update(view_id=view["id"], view={
        "type": "modal", "title": {"type": "plain_text", "text": "Updated by the bot"},
        "close": {"type": "plain_text", "text": "Done"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "_Nothing to fill_"}}],
    })
    await expect(page.locator(".bk-modal-title")).to_contain_text("Updated by the bot")
    await page.click("#modal-root .bk-close")
    await expect(page.locator("#modal-root")).to_be_hidden()
    assert playground.slack.view_stack(ALICE.id) == []

    await page.click(".channel[data-channel=D0ALICE]")
    async with page.expect_response("**/playground/home"):  # Slack sends app_home_opened
        await page.click("#app-tabs button[data-tab=home]")
    await expect(page.locator("#home")).to_be_visible()
    await client.views_publish(user_id=ALICE.id, view={"type": "home", "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": "Published by the test"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*CHG-1* in review"}},
    ]})
    # The bot may publish its own Home when the tab opens, before or after this one: the
    # page must show whichever the stand-in holds last, without being reloaded.
    await home_shown_is_the_latest(page, playground)
    await page.screenshot(path=tmp_path / "home.png")


async def test_after_a_production_deploy_advancing_the_clock_shows_the_monitoring_dm(
        page, playground, tmp_path):
    await propose(page)
    await act_as(page, BOB.id)
    await card(page).locator("button[data-action-id=change_approve]").click()
    await expect(card(page).locator(".bk-fields")).to_contain_text("Approved")

    await act_as(page, ALICE.id)
    await card(page).locator("button[data-action-id=change_staging_deployed]").click()
    await expect(card(page).locator(".bk-fields")).to_contain_text("In staging")
    await card(page).locator("button[data-action-id=change_staging_verify]").click()
    modal = page.locator("#modal-root .bk-modal")
    await expect(modal).to_be_visible()
    await page.check("[data-block-id=checks] input[value=functional]")
    await page.check("[data-block-id=checks] input[value=no_breaking_changes]")
    await page.click("#modal-root .bk-submit")
    await expect(page.locator("#modal-root")).to_be_hidden()
    await expect(card(page).locator(".bk-fields")).to_contain_text("Ready for production")

    await card(page).locator("button[data-action-id=change_deploy]").click()
    await expect(modal).to_be_visible()
    await page.check("[data-block-id=method] input[value=blue_green]")
    await page.click("#modal-root .bk-submit")
    await expect(page.locator("#modal-root")).to_be_hidden()
    await expect(card(page).locator(".bk-fields")).to_contain_text("Deployed — monitoring")
    await expect(card(page)).to_contain_text("Monitoring window ends")

    await page.click(".channel[data-channel=D0ALICE]")
    await expect(page.locator("#messages")).not_to_contain_text("monitoring window")
    await page.click(".clock-advance[data-minutes='30']")
    dm = page.locator("#messages .msg", has_text="Your monitoring window for CHG-1 has ended.")
    await expect(dm).to_be_visible()
    await expect(dm.locator("button[data-action-id=change_verify]")).to_be_visible()
    await expect(dm.locator("button[data-action-id=change_rollback]")).to_be_visible()
    await page.screenshot(path=tmp_path / "monitoring-dm.png")


async def test_a_planned_time_outside_business_hours_is_warned_under_the_field(page, playground,
                                                                             tmp_path):
    await fill_proposal(page)
    await page.fill("#in-planned_at", "2026-11-28T10:00")  # a Saturday
    warning = page.locator("#modal-root .bk-context")  # the form has no other context
    await expect(warning).to_contain_text("is outside business hours")
    await expect(page.locator("#in-title")).to_have_value("Add an index on orders.created_at")
    await expect(page.locator("#in-planned_at")).to_have_value("2026-11-28T10:00")
    await page.screenshot(path=tmp_path / "warning.png")
    await page.fill("#in-planned_at", "2026-11-27T11:00")  # a Friday morning
    await expect(warning).to_have_count(0)
    await page.click("#modal-root .bk-submit")
    await expect(page.locator("#modal-root")).to_be_hidden()
    await expect(card(page)).to_be_visible()
