"""Step 4: "No security review needed" — the security team dismisses a review that keywords
alone asked for, with a reason, on the record, from the card's button."""

from sqlmodel import select

from bot.change.rows import facts_of
from bot.change.work import editing
from bot.security import dismissal
from bot.security import routing as security_routing
from bot.security import views as security_views
from storage import repo
from storage.models import Approval, AuditEvent, Change
from tests.flows import buttons, card, click, click_stale, propose, thread

ROTATE = "Rotate the API tokens of the reporting service."


async def loaded(bot, change_id: int) -> tuple[Change, list[Approval]]:
    async with bot.ctx.db.session() as session:
        change = (await session.exec(select(Change).where(Change.id == change_id))).one()
        return change, list(await repo.approvals_of(session, change_id))


async def press_dismiss(bot, user: str, change_id: int) -> None:
    """Click "No security review needed" on the card as posted."""
    assert security_views.DISMISS in buttons(card(bot, change_id))
    await click(bot, user, security_views.DISMISS, change_id)


async def press_stale_dismiss(bot, user: str, change_id: int) -> None:
    """The same click on a copy of the card that still shows the button."""
    assert security_views.DISMISS not in buttons(card(bot, change_id))
    await click_stale(bot, user, security_views.DISMISS, change_id)


def last_answer(bot, user: str) -> str:
    return bot.slack.responses(user=user)[-1]["text"]


def test_only_keyword_triggers_can_be_dismissed():
    assert security_views.dismissible([{"source": "keyword", "reason": "mentions “tokens”"}])
    assert not security_views.dismissible([])
    for source in ("checkbox", "path", "category"):
        assert not security_views.dismissible([{"source": "keyword", "reason": "x"},
                                          {"source": source, "reason": "y"}])


async def test_the_button_shows_only_while_keywords_alone_ask_for_a_review(bot):
    by_keyword = await propose(bot, description=ROTATE)
    by_checkbox = await propose(bot, description=ROTATE, security_checkboxes=["crypto"])
    change, approvals = await loaded(bot, by_keyword)
    assert [b.action_id for b in security_views.dismiss_buttons(
        by_keyword, facts_of(change, approvals), change.security_triggers)] == [
        "security_dismiss"]
    change, approvals = await loaded(bot, by_checkbox)
    assert security_views.dismiss_buttons(by_checkbox, facts_of(change, approvals),
                                     change.security_triggers) == []


async def test_a_security_member_dismisses_with_a_reason_on_the_record(bot):
    change_id = await propose(bot, description=ROTATE)
    assert (await loaded(bot, change_id))[0].security_required

    await press_dismiss(bot, "erin", change_id)
    modal = bot.slack.opened_views()[-1]
    assert modal["callback_id"] == "security_dismiss_reason"
    empty = await bot.submit("erin", modal, {"reason": "  "})
    assert empty.json()["errors"] == {"reason": "A reason is required."}
    done = await bot.submit("erin", modal, {"reason": "Design tokens (colours), not secrets."})
    await bot.settle()
    assert done.status == 200 and not done.text.strip()

    change, approvals = await loaded(bot, change_id)
    assert change.security_required is False
    (vote,) = approvals
    assert (vote.kind, vote.decision, vote.actor, vote.reason) == (
        "security", "dismissed", "U0ERIN", "Design tokens (colours), not secrets.")
    assert security_views.dismissal_notes(change, approvals) == [
        "Security review not needed, says <@U0ERIN> (security team): Design tokens "
        "(colours), not secrets."]
    assert any("Security review not needed, says <@U0ERIN>" in note
               for note in thread(bot, change_id))
    async with bot.ctx.db.session() as session:
        events = (await session.exec(select(AuditEvent).where(
            AuditEvent.action == "security_review_dismissed"))).all()
    assert [(e.actor, e.detail["reason"]) for e in events] == [
        ("U0ERIN", "Design tokens (colours), not secrets.")]
    assert security_views.holds(change, approvals)


async def test_only_the_security_team_dismisses(bot):
    change_id = await propose(bot, description=ROTATE)
    opened = len(bot.slack.opened_views())
    await press_dismiss(bot, "bob", change_id)
    assert "Only members of the security team" in last_answer(bot, "U0BOB")
    assert len(bot.slack.opened_views()) == opened
    assert (await loaded(bot, change_id))[0].security_required


async def test_a_checkbox_path_or_high_risk_review_cannot_be_dismissed(bot):
    change_id = await propose(bot, description=ROTATE, security_checkboxes=["crypto"])
    opened = len(bot.slack.opened_views())
    await press_stale_dismiss(bot, "erin", change_id)
    assert last_answer(bot, "U0ERIN") == (
        "Only a review asked for by keywords alone can be dismissed; this one is also asked "
        "for by touches cryptography (checkbox). Approve it or request changes.")
    assert len(bot.slack.opened_views()) == opened
    refused = await dismissal.dismiss(bot.ctx, change_id, "U0ERIN", "not needed")
    assert not refused.ok
    change, approvals = await loaded(bot, change_id)
    assert change.security_required and approvals == []


async def test_a_dismissal_stands_when_the_pull_request_is_read_again(bot):
    """The GitHub integration re-reads a PR's files and reassesses: keywords alone still ask,
    so the dismissal holds; a changed security path asks again."""
    change_id = await propose(bot, description=ROTATE)
    await press_dismiss(bot, "erin", change_id)
    modal = bot.slack.opened_views()[-1]
    await bot.submit("erin", modal, {"reason": "Design tokens (colours), not secrets."})
    await bot.settle()

    async with editing(bot.ctx, change_id) as held:
        held.change.pr_info = {"files": ["web/theme/tokens.css"]}
        await security_routing.reassess(held.session, bot.ctx, held.change)
    assert (await loaded(bot, change_id))[0].security_required is False
    assert security_views.DISMISS not in buttons(card(bot, change_id))

    async with editing(bot.ctx, change_id) as held:
        held.change.pr_info = {"files": ["web/theme/tokens.css", "src/auth/login.py"]}
        assert await security_routing.reassess(held.session, bot.ctx, held.change)
    assert (await loaded(bot, change_id))[0].security_required is True
