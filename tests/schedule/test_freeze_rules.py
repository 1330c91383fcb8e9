"""The freeze rules, pure: recurring and dated windows, the Freeze gate, the policy's checks."""

import os
from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from bot.change.facts import ChangeFacts, Vote
from bot.change.gates import freeze_gate, production_blockers
from bot.change.states import Category, GateState, Risk, Status
from bot.emergency.rules import emergency_bypasses
from bot.policy import BusinessHours, Policy
from bot.schedule.declare import Invalid, overlap_problem, parse_declaration
from bot.schedule.freeze import (
    DECLARED,
    Freeze,
    freeze_at,
    freezes_between,
    parse_freeze_id,
    thaw_at,
)
from bot.schedule.policy import DatedFreeze, Freezes, RecurringFreeze
from bot.settings import ConfigError, load_config

PARIS = "Europe/Paris"
FRIDAYS = RecurringFreeze(name="Friday afternoons", reason="no deploys before the weekend",
                          days="fri", start="15:00", end="24:00", timezone=PARIS)
WEEKENDS = RecurringFreeze(name="Weekends", days="sat-sun", timezone=PARIS)
HOLIDAYS = DatedFreeze(name="Holidays", reason="skeleton crew", start=date(2026, 12, 20),
                       end=date(2027, 1, 4))
POLICY = Policy(business_hours=BusinessHours(timezone=PARIS),
                freezes=Freezes(recurring=[FRIDAYS, WEEKENDS], dated=[HOLIDAYS]))

FRIDAY_14H59_PARIS = datetime(2026, 12, 4, 13, 59, tzinfo=UTC)  # CET is UTC+1
FRIDAY_15H_PARIS = datetime(2026, 12, 4, 14, 0, tzinfo=UTC)
MONDAY_0H_PARIS = datetime(2026, 12, 6, 23, 0, tzinfo=UTC)


def facts(category: Category = Category.normal, freezes: tuple[Freeze, ...] = ()
          ) -> ChangeFacts:
    return ChangeFacts(category=category, risk=Risk.low, status=Status.ready, author="U0ALICE",
                       approvals=(Vote("U0BOB", FRIDAY_14H59_PARIS),), staging_verified=True,
                       freezes=freezes)


def test_a_weekly_freeze_holds_from_its_start_in_its_own_time_zone():
    assert freeze_at(POLICY, (), FRIDAY_14H59_PARIS) is None
    holding = freeze_at(POLICY, (), FRIDAY_15H_PARIS)
    assert holding is not None and holding.name == "Friday afternoons"
    assert holding.ends_at == datetime(2026, 12, 4, 23, 0, tzinfo=UTC)  # 24:00 in Paris


def test_back_to_back_freezes_thaw_at_the_end_of_the_run():
    # Friday afternoon, then the weekend: production opens again on Monday 00:00 Paris.
    assert thaw_at(POLICY, (), FRIDAY_15H_PARIS) == MONDAY_0H_PARIS
    assert thaw_at(POLICY, (), FRIDAY_14H59_PARIS) == FRIDAY_14H59_PARIS


def test_a_dated_freeze_includes_its_last_day_and_follows_daylight_saving():
    dated = Policy(business_hours=BusinessHours(timezone=PARIS),
                   freezes=Freezes(dated=[HOLIDAYS]))
    first = datetime(2026, 12, 19, 23, 0, tzinfo=UTC)  # 2026-12-20 00:00 in Paris
    assert freeze_at(dated, (), first - timedelta(seconds=1)) is None
    assert freeze_at(dated, (), first).name == "Holidays"
    # 2027-01-04 is frozen all day.
    assert freeze_at(dated, (), datetime(2027, 1, 4, 22, 59, tzinfo=UTC)).name == "Holidays"
    assert freeze_at(dated, (), datetime(2027, 1, 4, 23, 0, tzinfo=UTC)) is None
    # The weekend before it runs into it: production opens on 2027-01-05.
    assert thaw_at(POLICY, (), FRIDAY_15H_PARIS + timedelta(days=14)) == datetime(
        2027, 1, 4, 23, 0, tzinfo=UTC)
    summer = Policy(freezes=Freezes(recurring=[FRIDAYS]))
    assert freeze_at(summer, (), datetime(2026, 7, 3, 13, 0, tzinfo=UTC)) is not None  # CEST


def test_a_declared_freeze_holds_like_the_policys():
    launch = Freeze("FRZ-1", "launch", datetime(2026, 12, 1, 8, 0, tzinfo=UTC),
                    datetime(2026, 12, 1, 20, 0, tzinfo=UTC), DECLARED, 1, "U0CAROL")
    assert freeze_at(POLICY, (launch,), datetime(2026, 12, 1, 12, 0, tzinfo=UTC)) == launch
    found = freezes_between(POLICY, (launch,), datetime(2026, 11, 30, tzinfo=UTC),
                            datetime(2026, 12, 7, tzinfo=UTC))
    assert [f.name for f in found] == ["FRZ-1", "Friday afternoons", "Weekends", "Weekends"]


def test_the_gate_refuses_a_deploy_inside_a_freeze_and_says_until_when():
    gate = freeze_gate(facts(), POLICY, FRIDAY_15H_PARIS)
    assert gate.state == GateState.failed
    assert gate.detail == ("inside the freeze “Friday afternoons” (no deploys before the "
                           "weekend)")
    assert gate.how_to_open == "deploy after Mon 7 Dec 00:00 CET"
    # Inside business hours (09:00–17:00 Paris) and every other gate open: only the freeze.
    assert [g.key for g in production_blockers(facts(), POLICY, FRIDAY_15H_PARIS)] == [
        "freeze"]


def test_outside_a_freeze_the_gate_is_met_and_names_the_next_one():
    gate = freeze_gate(facts(), POLICY, FRIDAY_14H59_PARIS)
    assert gate.state == GateState.met
    assert gate.detail == ("no freeze in effect (next: “Friday afternoons” (no deploys before "
                           "the weekend) from Fri 4 Dec 15:00 CET)")
    assert freeze_gate(facts(), Policy(), FRIDAY_15H_PARIS).detail == "no freeze in effect"


def test_an_emergency_passes_a_freeze_and_its_deployment_records_the_bypass():
    emergency = facts(Category.emergency)
    gate = freeze_gate(emergency, POLICY, FRIDAY_15H_PARIS)
    assert gate.state == GateState.bypassed
    assert "an emergency may deploy, the bypass is recorded" in gate.detail
    assert "freeze" not in [g.key for g in production_blockers(emergency, POLICY,
                                                                 FRIDAY_15H_PARIS)]
    bypasses = {b.gate: b.reason for b in emergency_bypasses(emergency, POLICY,
                                                             FRIDAY_15H_PARIS)}
    assert bypasses["freeze"] == ("deployed inside the freeze “Friday afternoons” (no deploys "
                                  "before the weekend) under the emergency process")
    assert "freeze" not in {b.gate for b in emergency_bypasses(emergency, POLICY,
                                                               FRIDAY_14H59_PARIS)}


@pytest.mark.parametrize(("freezes", "problem"), [
    ({"recurring": [{"name": "x", "days": "fri", "start": "15:00", "end": "14:00"}]},
     "end 14:00 is not after start 15:00"),
    ({"recurring": [{"name": "x", "days": "fri", "start": "25:00"}]},
     "'25:00' is not a time of day"),
    ({"recurring": [{"name": "x", "days": "fri", "timezone": "Mars/Olympus"}]},
     "'Mars/Olympus' is not a time zone"),
    ({"recurring": [{"name": "x", "days": "fri", "start": "15:00"},
                    {"name": "y", "days": "thu-fri", "start": "09:00", "end": "16:00"}]},
     "recurring freezes 'x' and 'y' overlap"),
    ({"dated": [{"name": "x", "start": "2026-12-20", "end": "2026-12-01"}]},
     "dated freeze 'x': end 2026-12-01 is before start 2026-12-20"),
    ({"dated": [{"name": "x", "start": "2026-12-20", "end": "2026-12-24"},
                {"name": "y", "start": "2026-12-24", "end": "2027-01-02"}]},
     "dated freezes 'x' and 'y' overlap"),
])
def test_the_policy_refuses_freezes_that_make_no_sense(freezes, problem):
    with pytest.raises(ValidationError) as error:
        Policy.model_validate({"freezes": freezes})
    assert problem in str(error.value)


WEDNESDAY = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def test_a_declaration_is_read_in_the_teams_zone_or_the_one_given():
    one = parse_declaration(["2026-11-27", "2026-11-28", "Black", "Friday"], POLICY, WEDNESDAY)
    assert (one.starts_at, one.ends_at, one.timezone, one.reason) == (
        datetime(2026, 11, 26, 23, 0, tzinfo=UTC), datetime(2026, 11, 28, 23, 0, tzinfo=UTC),
        PARIS, "Black Friday")
    two = parse_declaration(["now", "2026-11-25T18:00", "UTC", "CI/CD", "migration"],
                            POLICY, WEDNESDAY)
    assert (two.starts_at, two.ends_at, two.reason) == (
        WEDNESDAY, datetime(2026, 11, 25, 18, 0, tzinfo=UTC), "CI/CD migration")
    today = parse_declaration(["2026-11-25", "2026-11-25", "today"], Policy(), WEDNESDAY)
    assert today.starts_at == WEDNESDAY  # today's date means from now on


@pytest.mark.parametrize(("words", "said"), [
    ([], "A freeze needs a start, an end and a reason"),
    (["2026-12-01", "2026-12-02"], "A freeze needs a start, an end and a reason"),
    (["2026-12-01", "2026-12-02", "Europe/Pariss", "x"], "`Europe/Pariss` is not a time zone"),
    (["2026-13-01", "2026-12-02", "x"], "`2026-13-01` is not a date"),
    (["tomorrow", "2026-12-02", "x"], "`tomorrow` is not a date"),
    (["2026-12-05", "2026-12-01", "x"], "would end (2026-12-01) before it starts"),
    (["2026-11-01", "2026-11-02", "x"], "2026-11-02 is in the past"),
    (["2026-11-20", "2026-12-02", "x"], "2026-11-20 is in the past"),
    (["2026-12-01", "2026-12-02", "x" * 501], "under 500 characters"),
])
def test_bad_declarations_say_what_to_write(words, said):
    with pytest.raises(Invalid) as invalid:
        parse_declaration(words, POLICY, WEDNESDAY)
    assert said in str(invalid.value)


def test_a_declaration_may_not_overlap_a_declared_or_dated_freeze():
    declared = (Freeze("FRZ-2", "launch", datetime(2026, 12, 1, tzinfo=UTC),
                       datetime(2026, 12, 3, tzinfo=UTC), DECLARED, 2),)
    clash = parse_declaration(["2026-12-02", "2026-12-04", "x"], POLICY, WEDNESDAY)
    assert "It overlaps “FRZ-2” (launch)" in overlap_problem(clash, POLICY, declared)
    holidays = parse_declaration(["2026-12-18", "2026-12-21", "x"], POLICY, WEDNESDAY)
    assert "“Holidays” (skeleton crew)" in overlap_problem(holidays, POLICY, declared)
    # A weekly freeze inside it is expected: not an overlap.
    fine = parse_declaration(["2026-12-07", "2026-12-13", "x"], POLICY, WEDNESDAY)
    assert overlap_problem(fine, POLICY, declared) is None


def test_freeze_ids_are_read_with_or_without_their_prefix():
    assert parse_freeze_id("FRZ-3") == parse_freeze_id("frz-3") == parse_freeze_id("3") == 3
    for bad in ("", "FRZ-", "CHG-3", "99999999999", "-1"):
        with pytest.raises(ValueError):
            parse_freeze_id(bad)


def problems_with(tmp_path, monkeypatch, freezes: str) -> list[str]:
    policy = tmp_path / "changebot.toml"
    policy.write_text('[channels]\nchanges = "C1"\nengineering = "C2"\n'
                      '[groups]\nsecurity = "S1"\ntech_leads = "S2"\n' + freezes)
    for name in list(os.environ):
        if name.startswith("CHANGEBOT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CHANGEBOT_POLICY", str(policy))
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    with pytest.raises(ConfigError) as error:
        load_config("cli", env_file=None)
    return error.value.problems


def test_freezes_in_the_policy_file_that_make_no_sense_stop_the_bot_with_a_clear_line(
        tmp_path, monkeypatch):
    zone = ('[[freezes.recurring]]\nname = "Fridays"\ndays = "fri"\nstart = "15:00"\n'
            'timezone = "Europe/Pariss"\n')
    assert problems_with(tmp_path, monkeypatch, zone) == [
        "freezes.recurring.0.timezone (CHANGEBOT_FREEZES__RECURRING): 'Europe/Pariss' is "
        "not a time zone: use an IANA name such as Europe/Paris"]
    overlap = ('[[freezes.dated]]\nname = "Holidays"\nstart = 2026-12-20\nend = 2027-01-04\n'
               '[[freezes.dated]]\nname = "Year end"\nstart = 2026-12-31\n'
               'end = 2027-01-02\n')
    assert problems_with(tmp_path, monkeypatch, overlap) == [
        "freezes (CHANGEBOT_FREEZES): dated freezes 'Holidays' and 'Year end' overlap: "
        "merge them into one or move one of them"]
