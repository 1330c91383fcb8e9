"""Steps 1 and 3 over real HTTP: propose in a modal, review on the card."""

from datetime import timedelta

from sqlmodel import func, select

from storage.models import Approval, AuditEvent, Change
from tests.flows import (
    PROPOSAL,
    buttons,
    cancel,
    card,
    card_text,
    cards,
    click,
    more_options,
    open_modal,
    propose,
    submit_proposal,
    thread,
)


async def count(bot, model) -> int:
    async with bot.ctx.db.session() as session:
        return (await session.exec(select(func.count()).select_from(model))).one()


async def the_change(bot, change_id: int) -> Change:
    async with bot.ctx.db.session() as session:
        return (await session.exec(select(Change).where(Change.id == change_id))).one()


async def test_new_opens_a_modal_with_every_field_the_process_requires(bot):
    view = await open_modal(bot, "alice")
    block_ids = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
    assert block_ids == [
        "title", "description", "category", "risk", "rollback_plan", "testing",
        "security_notes", "security_checkboxes", "pr_url", "reviewers", "service", "planned_at",
    ]
    boxes = next(b for b in view["blocks"] if b["block_id"] == "security_checkboxes")
    assert [o["value"] for o in boxes["element"]["options"]] == [
        "auth", "crypto", "data", "third_party", "infra",
    ]
    assert all(b.get("hint") for b in view["blocks"] if b["type"] == "input")


async def test_a_proposal_posts_a_card_with_id_gates_and_buttons(bot):
    change_id = await propose(bot)
    message = card(bot, change_id)
    text = card_text(bot, change_id)
    assert message["text"].startswith("CHG-1 · Add an index on orders.created_at")
    assert "0 of 1 approval" in text
    assert "Drop the index" in text
    assert "<@U0ALICE>" in text
    assert buttons(message) == ["change_approve", "change_reject", "change_more"]
    assert more_options(message) == ["change_edit", "change_cancel"]
    change = await the_change(bot, change_id)
    assert change.status == "in_review"
    assert change.author_id == "U0ALICE"
    assert change.testing.startswith("Ran the migration")
    assert change.created_at.tzinfo is not None


async def test_requested_reviewers_get_a_dm_linking_to_the_card(bot):
    await propose(bot, reviewers=["U0BOB", "U0CAROL"])
    for reviewer in ("U0BOB", "U0CAROL"):
        dms = bot.slack.dms(reviewer)
        assert len(dms) == 1
        assert "asked you to review *CHG-1" in dms[0]["text"]
        assert "Open CHG-1" in dms[0]["text"]


async def test_the_proposal_is_recorded_with_an_audit_event(bot):
    await propose(bot)
    async with bot.ctx.db.session() as session:
        events = (await session.exec(select(AuditEvent))).all()
    # The step's event, beside the snapshot of the row it wrote (storage.audit_rows).
    assert [(e.action, e.actor, e.change_id) for e in events] == [
        ("row_snapshot", "changebot", None), ("proposed", "U0ALICE", 1)]


async def test_a_retried_submission_makes_one_change(bot):
    view = await open_modal(bot, "alice")
    first = await bot.submit("alice", view, PROPOSAL)
    second = await bot.submit("alice", view, PROPOSAL)  # Slack delivers it again
    await bot.settle()
    assert first.status == second.status == 200
    assert await count(bot, Change) == 1
    assert len(cards(bot)) == 1


async def test_validation_answers_under_the_exact_field(bot):
    view = await open_modal(bot, "alice")
    reply = await submit_proposal(
        bot, "alice", view,
        pr_url="https://github.com/acme/api/issues/4",
        category="standard", risk="high",
        reviewers=["U0ALICE"],
        planned_at=bot.clock.now() - timedelta(hours=1),
        title="x" * 151,
    )
    body = reply.json()
    assert body["response_action"] == "errors"
    errors = body["errors"]
    assert set(errors) == {"pr_url", "category", "reviewers", "planned_at", "title"}
    assert "pull-request" in errors["pr_url"] or "pull request" in errors["pr_url"]
    assert "standard" in errors["category"].lower()
    assert "your own change" in errors["reviewers"]
    assert "passed" in errors["planned_at"]
    assert "150" in errors["title"]
    assert await count(bot, Change) == 0


async def test_valid_input_after_errors_closes_the_modal(bot):
    view = await open_modal(bot, "alice")
    bad = await submit_proposal(bot, "alice", view, pr_url="not a url")
    assert bad.json()["errors"].keys() == {"pr_url"}
    good = await submit_proposal(bot, "alice", view,
                                 pr_url="https://github.com/acme/api/pull/12")
    assert good.status == 200 and not good.text.strip()
    assert await count(bot, Change) == 1


async def test_approvals_by_others_move_x_of_y_and_reach_approved(bot):
    change_id = await propose(bot, risk="high")  # normal + high risk: 2 approvals
    assert "0 of 2 approvals" in card_text(bot, change_id)
    await click(bot, "bob", "change_approve", change_id)
    assert "1 of 2 approvals" in card_text(bot, change_id)
    assert (await the_change(bot, change_id)).status == "in_review"
    await click(bot, "carol", "change_approve", change_id)
    assert "2 of 2 approvals" in card_text(bot, change_id)
    assert (await the_change(bot, change_id)).status == "approved"
    assert "Approved" in card_text(bot, change_id)
    assert any("is approved" in m["text"] for m in bot.slack.dms("U0ALICE"))


async def test_self_approval_is_refused_ephemerally_and_not_counted(bot):
    change_id = await propose(bot)
    await click(bot, "alice", "change_approve", change_id)
    refusal = bot.slack.responses(user="U0ALICE")[-1]
    assert "can't approve your own change" in refusal["text"]
    assert refusal["response_type"] == "ephemeral"
    assert await count(bot, Approval) == 0
    assert "0 of 1 approval" in card_text(bot, change_id)


async def test_a_double_click_counts_once(bot):
    change_id = await propose(bot, risk="high")
    await click(bot, "bob", "change_approve", change_id)
    await click(bot, "bob", "change_approve", change_id)
    assert await count(bot, Approval) == 1
    assert "1 of 2 approvals" in card_text(bot, change_id)
    assert "already approved" in bot.slack.responses(user="U0BOB")[-1]["text"]


async def test_high_risk_is_not_approved_without_a_tech_lead(bot):
    change_id = await propose(bot, category="high_risk", risk="high")
    await click(bot, "bob", "change_approve", change_id)
    await click(bot, "carol", "change_approve", change_id)
    assert (await the_change(bot, change_id)).status == "in_review"
    assert "2 of 3 approvals — needs a tech lead" in card_text(bot, change_id)
    await click(bot, "dave", "change_approve", change_id)  # dave is a tech lead
    assert (await the_change(bot, change_id)).status == "approved"


async def test_rejection_needs_a_reason_and_tells_the_author(bot):
    change_id = await propose(bot)
    await click(bot, "bob", "change_reject", change_id)
    modal = bot.slack.opened_views()[-1]
    assert modal["callback_id"] == "change_reject"
    empty = await bot.submit("bob", modal, {"reason": ""})
    assert empty.json()["errors"] == {"reason": "A reason is required."}
    assert (await the_change(bot, change_id)).status == "in_review"
    done = await bot.submit("bob", modal, {"reason": "No load test on the big table."})
    await bot.settle()
    assert done.status == 200 and not done.text.strip()
    assert (await the_change(bot, change_id)).status == "rejected"
    assert "rejected by <@U0BOB>" in card_text(bot, change_id)
    dm = bot.slack.dms("U0ALICE")[-1]["text"]
    assert "rejected *CHG-1*: No load test on the big table." in dm
    assert any("Rejected by <@U0BOB>" in note for note in thread(bot, change_id))


async def test_an_approval_after_a_rejection_is_refused(bot):
    change_id = await propose(bot)
    message = card(bot, change_id)  # the card as carol still sees it, with Approve
    await click(bot, "bob", "change_reject", change_id)
    await bot.submit("bob", bot.slack.opened_views()[-1], {"reason": "Not now."})
    await bot.settle()
    await bot.click("carol", "change_approve", channel="C0CHANGES", message=message)
    await bot.settle()
    assert "rejected" in bot.slack.responses(user="U0CAROL")[-1]["text"]
    assert await count(bot, Approval) == 1  # only the rejection


async def test_a_revision_resets_approvals_and_asks_the_reviewers_again(bot):
    change_id = await propose(bot, risk="high")
    await click(bot, "bob", "change_approve", change_id)
    assert "1 of 2 approvals" in card_text(bot, change_id)
    await click(bot, "alice", "change_edit", change_id)
    modal = bot.slack.opened_views()[-1]
    assert modal["blocks"][0]["element"]["initial_value"] == PROPOSAL["title"]
    reply = await bot.submit("alice", modal, {**PROPOSAL, "risk": "high",
                                              "testing": "Load-tested at 2x peak."})
    await bot.settle()
    assert reply.status == 200 and not reply.text.strip()
    change = await the_change(bot, change_id)
    assert change.revision == 2 and change.status == "in_review"
    assert "0 of 2 approvals" in card_text(bot, change_id)
    assert len(bot.slack.dms("U0BOB")) == 2
    async with bot.ctx.db.session() as session:
        revised = (await session.exec(
            select(AuditEvent).where(AuditEvent.action == "revised"))).one()
    assert revised.detail["changes"]["testing"]["to"] == "Load-tested at 2x peak."


async def test_only_the_author_may_edit_or_cancel(bot):
    change_id = await propose(bot)
    await click(bot, "bob", "change_edit", change_id)
    assert "author" in bot.slack.responses(user="U0BOB")[-1]["text"]
    await cancel(bot, "bob", change_id)
    assert (await the_change(bot, change_id)).status == "in_review"
    await cancel(bot, "alice", change_id)
    assert (await the_change(bot, change_id)).status == "cancelled"
    assert buttons(card(bot, change_id)) == []


async def test_an_approval_on_a_cancelled_change_is_refused(bot):
    change_id = await propose(bot)
    message = card(bot, change_id)  # the card as it was, with its Approve button
    await cancel(bot, "alice", change_id)
    await bot.click("bob", "change_approve", channel="C0CHANGES", message=message)
    await bot.settle()
    assert "cancelled" in bot.slack.responses(user="U0BOB")[-1]["text"]


async def test_list_and_show_show_real_changes_with_their_gates(bot):
    await propose(bot, title="First change")
    await propose(bot, user="bob", title="Bob's change", reviewers=["U0CAROL"])
    await bot.command("bob", "list")
    await bot.settle()
    listed = str(bot.slack.responses(user="U0BOB")[-1]["blocks"])
    assert listed.index("Bob's change") < listed.index("First change")  # caller's first
    assert "0 of 1 approval" in listed
    await bot.command("alice", "show CHG-1")
    await bot.settle()
    shown = str(bot.slack.responses(user="U0ALICE")[-1]["blocks"])
    assert "First change" in shown and "proposed" in shown and "Approvals" in shown


async def test_notes_due_on_the_cards_thread_still_go_out_after_a_cancel(bot):
    from datetime import timedelta

    change_id = await propose(bot)
    bot.slack.error("chat.postMessage", "internal_error", times=None)  # Slack refuses posts
    await click(bot, "bob", "change_reject", change_id)
    await bot.submit("bob", bot.slack.opened_views()[-1], {"reason": "Needs a load test."})
    await bot.settle()
    await cancel(bot, "alice", change_id)
    assert (await the_change(bot, change_id)).status == "cancelled"
    bot.slack.clear_faults()
    bot.clock.advance(timedelta(hours=2))
    await bot.sweep()
    notes = thread(bot, change_id)
    assert any("Rejected by <@U0BOB>: Needs a load test." in n for n in notes)
    assert any("Cancelled by <@U0ALICE>" in n for n in notes)


async def test_an_approve_click_on_a_card_shown_before_a_revision_records_nothing(bot):
    change_id = await propose(bot, risk="high")
    stale = card(bot, change_id)  # bob is looking at revision 1
    await click(bot, "alice", "change_edit", change_id)
    await bot.submit("alice", bot.slack.opened_views()[-1],
                     {**PROPOSAL, "risk": "high", "rollback_plan": "Feature flag off."})
    await bot.settle()
    await bot.click("bob", "change_approve", channel="C0CHANGES", message=stale)
    await bot.settle()
    assert "changed since that card was shown" in bot.slack.responses(user="U0BOB")[-1]["text"]
    assert await count(bot, Approval) == 0
    await click(bot, "bob", "change_approve", change_id)  # on the updated card: it counts
    assert "1 of 2 approvals" in card_text(bot, change_id)
