"""Step 1, a change's form submitted (a proposal, an emergency, or the Edit of either): kept
before Slack is answered, recorded after.

The modal closes within Slack's 3 seconds however busy the bot is. What can be checked
without the database is checked before the answer and shown under its field
(bot.proposal.proposals, bot.slack.forms); the submission is then kept as one reminder row
of kind `change_form` (one INSERT: what makes a crash right after the answer lose nothing),
and Slack is answered. The change is recorded after the answer: at once by this process
(`Sweeper.run_now`), or, if it died first, by any replica's sweeper. The row is claimed like
any reminder, so one of them records it, once; a retry after a crash finds the change by
its view (`Change.source_key`), and a revision applied already is "nothing changed".
A refusal that needs the database (the change moved on since the Edit form was opened)
reaches the person as a direct message.
"""

from __future__ import annotations

from bot.change import actions as changes
from bot.change.states import format_change_id
from bot.context import Context
from bot.proposal.proposals import Proposal
from bot.runtime.sweeper import Payload
from bot.slack import outbox
from storage.models import Reminder

KIND = "change_form"


class FormPayload(Payload):
    """`change_form`: who submitted what, from which Slack view, about which change (None:
    a new one)."""

    author: str
    source: str
    change_id: int | None = None
    proposal: Proposal


async def keep(ctx: Context, *, author: str, source: str, change_id: int | None,
               proposal: Proposal) -> str:
    """Keep a checked submission before Slack is answered; returns its row's key. A
    submission Slack retried is kept once (same view, same key)."""
    key = f"{KIND}:{source}"
    payload = FormPayload(author=author, source=source, change_id=change_id,
                          proposal=proposal).model_dump(mode="json")
    async with ctx.db.session() as session:
        await outbox.schedule(session, ctx, key=key, kind=KIND, recipient=author,
                              change_id=change_id, payload=payload)
    return key


async def record(ctx: Context, reminder: Reminder) -> None:
    """The kept submission recorded: the change proposed, or revised."""
    form = FormPayload.model_validate(reminder.payload)
    if form.change_id is None:
        await changes.propose(ctx, author=form.author, proposal=form.proposal,
                              source_key=form.source)
        return
    outcome = await changes.revise(ctx, form.change_id, form.author, form.proposal)
    if outcome.ok:
        return
    async with ctx.db.session() as session:
        await outbox.schedule(
            session, ctx, key=f"{reminder.key}:refused", kind="dm", recipient=form.author,
            change_id=form.change_id, payload={
                "text": f"Your edit of {format_change_id(form.change_id)} was not saved: "
                        f"{outcome.message}", "link_card": True})
    ctx.sweeper.kick()
