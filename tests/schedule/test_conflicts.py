"""Two changes planned on the same service too close together: flagged on both cards, with
links to each other, and both authors told once."""

from datetime import UTC, datetime, timedelta

from bot.change.states import Status
from bot.schedule.conflicts import Planned, conflicting_ids, service_of
from tests.flows import card, card_text, click, dms, last_view, propose, submit_proposal

PLANNED = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)
API = "https://github.com/acme/api/pull/12"
API_TOO = "https://github.com/Acme/API/pull/13"
WEB = "https://github.com/acme/web/pull/4"


def test_the_service_is_the_repository_of_the_linked_pull_request():
    assert service_of(None, API_TOO) == "acme/api"
    assert service_of("acme/api", None) == "acme/api"
    assert service_of(None, None) is None


def test_changes_conflict_on_the_same_service_inside_the_window_only():
    def plan(n: int, service: str | None, minutes: int, status=Status.in_review) -> Planned:
        return Planned(n, f"change {n}", "U0ALICE", status, service,
                       PLANNED + timedelta(minutes=minutes))

    changes = [plan(1, "acme/api", 0), plan(2, "acme/api", 59), plan(3, "acme/api", 120),
               plan(4, "acme/web", 0), plan(5, None, 0),
               plan(6, "acme/api", 10, Status.cancelled)]
    assert conflicting_ids(changes, timedelta(hours=1)) == {1: [2], 2: [1]}


async def test_a_conflict_is_flagged_on_both_cards_and_each_author_told_once(bot):
    first = await propose(bot, "alice", pr_url=API, planned_at=PLANNED)
    other = await propose(bot, "carol", pr_url=WEB, planned_at=PLANNED)  # another service
    assert "Conflict" not in card_text(bot, first)
    second = await propose(bot, "carol", title="Rotate the API's database pool",
                           pr_url=API_TOO, planned_at=PLANNED + timedelta(minutes=30))
    await bot.sweep()

    link_to = {cid: f"https://slack.com/archives/C0CHANGES/p{card(bot, cid)['ts'].replace('.', '')}"
               for cid in (first, second)}
    text = card_text(bot, first)
    assert f":warning: *Conflict*: <{link_to[second]}|CHG-{second}> (Rotate the API's " \
           "database pool) is planned on `acme/api` at <!date^" in text
    assert f"<{link_to[first]}|CHG-{first}> (Add an index on orders.created_at) is planned " \
           "on `acme/api`" in card_text(bot, second)
    assert "Conflict" not in card_text(bot, other)

    def told(user: str) -> list[str]:
        return [m["text"] for m in dms(bot, user) if "both planned on `acme/api`" in m["text"]]

    assert len(told("alice")) == 1 and len(told("carol")) == 1
    assert told("alice")[0].startswith(f":warning: *CHG-{first}* (Add an index")
    assert "within 1 h of each other" in told("alice")[0]

    # Revising the change does not tell them again.
    await click(bot, "carol", "change_edit", second)
    reply = await submit_proposal(bot, "carol", view=last_view(bot),
                                  title="Rotate the API's database pool", pr_url=API_TOO,
                                  planned_at=PLANNED + timedelta(minutes=45))
    assert reply.status == 200 and not reply.text.strip(), reply.text
    await bot.sweep()
    assert len(told("alice")) == len(told("carol")) == 1
    assert "Conflict" in card_text(bot, first) and "Conflict" in card_text(bot, second)


async def test_a_revision_that_moves_the_planned_time_next_to_another_is_flagged(bot):
    first = await propose(bot, "alice", pr_url=API, planned_at=PLANNED)
    second = await propose(bot, "carol", title="Rotate the API's database pool",
                           pr_url=API_TOO, planned_at=PLANNED + timedelta(hours=3))
    await bot.sweep()
    assert "Conflict" not in card_text(bot, first) + card_text(bot, second)

    await click(bot, "carol", "change_edit", second)
    reply = await submit_proposal(bot, "carol", view=last_view(bot),
                                  title="Rotate the API's database pool", pr_url=API_TOO,
                                  planned_at=PLANNED + timedelta(minutes=20))
    assert reply.status == 200 and not reply.text.strip(), reply.text
    await bot.sweep()

    assert f"|CHG-{second}> (Rotate the API's database pool) is planned on `acme/api`" \
        in card_text(bot, first)
    assert f"|CHG-{first}> (Add an index on orders.created_at) is planned on `acme/api`" \
        in card_text(bot, second)
    for user in ("alice", "carol"):
        assert [m for m in dms(bot, user) if "both planned on `acme/api`" in m["text"]]


async def test_a_pull_request_linked_later_brings_the_conflict_to_both_cards_once(bot):
    first = await propose(bot, "alice", planned_at=PLANNED)  # no pull request: no service
    second = await propose(bot, "carol", title="Rotate the API's database pool",
                           pr_url=API_TOO, planned_at=PLANNED + timedelta(minutes=30))
    await bot.sweep()
    assert "Conflict" not in card_text(bot, first) + card_text(bot, second)

    reply = await bot.command("alice", f"link CHG-{first} {API}")
    assert reply.status == 200, reply.text
    await bot.settle()
    await bot.sweep()
    assert f"|CHG-{second}> (Rotate the API's database pool) is planned on `acme/api`" \
        in card_text(bot, first)
    assert f"|CHG-{first}> (Add an index on orders.created_at) is planned on `acme/api`" \
        in card_text(bot, second)

    def told(user: str) -> list[str]:
        return [m["text"] for m in dms(bot, user) if "both planned on `acme/api`" in m["text"]]

    assert len(told("alice")) == 1 and len(told("carol")) == 1

    # Linking another pull request of the same repository: the same pair, not told again.
    reply = await bot.command("alice", f"link CHG-{first} https://github.com/acme/api/pull/99")
    assert reply.status == 200, reply.text
    await bot.settle()
    await bot.sweep()
    assert len(told("alice")) == len(told("carol")) == 1
    assert "Conflict" in card_text(bot, first) and "Conflict" in card_text(bot, second)
