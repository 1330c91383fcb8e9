"""Each reminder kind declares its payload's shape: a wrong one raises when it is scheduled,
and a stored row of a wrong shape is not sent, but recorded and left behind."""

import pytest
from pydantic import ValidationError
from sqlmodel import select

from bot.emergency.after_deployment import RETROSPECTIVE_DUE
from bot.flows.kinds import KINDS
from bot.runtime.sweeper import Kind, Payload
from bot.slack import outbox as notify
from storage import reminder_store
from storage.models import Reminder
from tests.runtime.test_reminders import row, schedule_dm, texts


def test_every_kind_in_the_table_has_a_payload_model():
    assert len(KINDS) > 30
    for kind, entry in KINDS.items():
        assert isinstance(entry, Kind), kind
        assert callable(entry.handler), kind
        assert isinstance(entry.payload, type) and issubclass(entry.payload, Payload), kind


@pytest.mark.parametrize("kind,payload", [
    ("dm", {"txet": "a typo for text"}),
    ("dm", {"text": "hi", "link_card": "maybe"}),
    (RETROSPECTIVE_DUE, {"round": "second"}),
])
async def test_scheduling_a_payload_of_the_wrong_shape_raises_and_keeps_nothing(bot, kind,
                                                                                payload):
    with pytest.raises(ValidationError):
        async with bot.ctx.db.session() as session:
            await notify.schedule(session, bot.ctx, key="bad", kind=kind, recipient="U0ALICE",
                                  payload=payload)
    async with bot.ctx.db.session() as session:
        assert (await session.exec(select(Reminder).where(Reminder.key == "bad"))).all() == []


async def test_a_stored_row_of_the_wrong_shape_is_recorded_not_sent_and_the_sweep_goes_on(bot):
    async with bot.ctx.db.session() as session:  # written by an older version, say
        await reminder_store.schedule(session, key="old-dm", kind="dm", recipient="U0ALICE",
                                      due_at=bot.clock.now(), now=bot.clock.now(),
                                      payload={"message": "no text field"})
    await schedule_dm(bot.ctx, "good-dm", "hello")
    assert await bot.sweep() == 2
    old = await row(bot.ctx, "old-dm")
    assert old.sent_at is None and old.cancelled_at is not None
    assert "bad payload" in (old.last_error or "")
    assert texts(bot) == ["hello"]
    assert await bot.sweep() == 0  # not claimed again
