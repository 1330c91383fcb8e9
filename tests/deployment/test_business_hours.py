"""Business hours: "Deploy during business hours (unless emergency)" (Step 6)."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.deployment.business_hours import (
    add_business_time,
    describe,
    format_moment,
    holiday_calendar,
    is_business_time,
    is_holiday,
    next_business_time,
)
from bot.policy import BusinessHours

DEFAULT = BusinessHours()  # Mon–Fri 09:00–17:00 UTC
BERLIN = BusinessHours(timezone="Europe/Berlin")
US = BusinessHours(holidays_country="US")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# 2026-11-23 is a Monday; 2026-11-27 a Friday; 2026-11-28 a Saturday.


# --- is_business_time -----------------------------------------------------------------


def test_weekday_inside_hours_is_business_time():
    assert is_business_time(DEFAULT, utc(2026, 11, 25, 10, 0))


def test_before_opening_is_not_business_time():
    assert not is_business_time(DEFAULT, utc(2026, 11, 25, 8, 59))


def test_opening_time_is_included():
    assert is_business_time(DEFAULT, utc(2026, 11, 25, 9, 0))


def test_closing_time_is_excluded():
    assert not is_business_time(DEFAULT, utc(2026, 11, 25, 17, 0))
    assert is_business_time(DEFAULT, utc(2026, 11, 25, 16, 59, 59))


def test_saturday_and_sunday_are_not_business_time():
    assert not is_business_time(DEFAULT, utc(2026, 11, 28, 10, 0))
    assert not is_business_time(DEFAULT, utc(2026, 11, 29, 10, 0))


def test_public_holiday_is_not_business_time_when_a_country_is_set():
    christmas = utc(2026, 12, 25, 10, 0)  # a Friday
    assert not is_business_time(US, christmas)
    assert is_business_time(DEFAULT, christmas)  # no country: an ordinary Friday


def test_holidays_of_a_subdivision():
    epiphany = utc(2026, 1, 6, 10, 0)  # a Tuesday; a holiday in Bavaria, not in Berlin
    assert not is_business_time(BusinessHours(holidays_country="DE-BY"), epiphany)
    assert is_business_time(BusinessHours(holidays_country="DE-BE"), epiphany)


def test_unknown_holiday_country_is_a_clear_error():
    with pytest.raises(ValueError, match="not a country"):
        is_business_time(BusinessHours(holidays_country="XX"), utc(2026, 11, 25, 10, 0))


def test_holiday_calendar_is_cached_per_country_and_year():
    holiday_calendar("US", 2026)
    hits = holiday_calendar.cache_info().hits
    assert is_holiday(US, utc(2026, 12, 25).date())
    assert is_holiday(US, utc(2026, 7, 3).date())  # Independence Day, observed
    assert holiday_calendar.cache_info().hits == hits + 2


def test_naive_datetime_is_refused():
    with pytest.raises(ValueError, match="no time zone"):
        is_business_time(DEFAULT, datetime(2026, 11, 25, 10, 0))


def test_other_working_days():
    sun_thu = BusinessHours(days="sun-thu")
    assert is_business_time(sun_thu, utc(2026, 11, 29, 10, 0))  # Sunday
    assert not is_business_time(sun_thu, utc(2026, 11, 27, 10, 0))  # Friday


def test_local_time_decides_not_utc():
    tokyo = BusinessHours(timezone="Asia/Tokyo")  # UTC+9
    assert is_business_time(tokyo, utc(2026, 11, 25, 0, 30))  # 09:30 in Tokyo
    assert not is_business_time(tokyo, utc(2026, 11, 25, 10, 0))  # 19:00 in Tokyo


def test_berlin_opening_moves_in_utc_across_spring_dst_switch():
    # 2026-03-29: clocks go from CET (UTC+1) to CEST (UTC+2).
    assert not is_business_time(BERLIN, utc(2026, 3, 27, 7, 30))  # Fri 08:30 CET
    assert is_business_time(BERLIN, utc(2026, 3, 30, 7, 30))  # Mon 09:30 CEST


def test_berlin_closing_moves_in_utc_across_autumn_dst_switch():
    # 2026-10-25: clocks go back from CEST (UTC+2) to CET (UTC+1).
    assert not is_business_time(BERLIN, utc(2026, 10, 23, 15, 30))  # Fri 17:30 CEST
    assert is_business_time(BERLIN, utc(2026, 10, 26, 15, 30))  # Mon 16:30 CET


# --- next_business_time ---------------------------------------------------------------


def test_next_business_time_inside_is_the_moment_itself():
    moment = utc(2026, 11, 25, 10, 15)
    assert next_business_time(DEFAULT, moment) == moment


def test_next_business_time_is_returned_in_utc():
    moment = datetime(2026, 11, 25, 11, 0, tzinfo=ZoneInfo("Europe/Berlin"))  # 10:00 UTC
    result = next_business_time(DEFAULT, moment)
    assert result == moment
    assert result.tzinfo is UTC


def test_next_business_time_before_opening_is_the_same_days_opening():
    assert next_business_time(DEFAULT, utc(2026, 11, 25, 6, 0)) == utc(2026, 11, 25, 9, 0)


def test_next_business_time_after_friday_closing_is_monday_opening():
    assert next_business_time(DEFAULT, utc(2026, 11, 27, 17, 0)) == utc(2026, 11, 30, 9, 0)


def test_next_business_time_on_saturday_is_monday_opening():
    assert next_business_time(DEFAULT, utc(2026, 11, 28, 12, 0)) == utc(2026, 11, 30, 9, 0)


def test_next_business_time_skips_holidays():
    # Thu 24 Dec evening -> Fri 25 Dec is Christmas -> Monday 28 Dec.
    assert next_business_time(US, utc(2026, 12, 24, 18, 0)) == utc(2026, 12, 28, 9, 0)


def test_next_business_time_in_berlin_after_dst_switch():
    # Saturday before the spring switch -> Monday 09:00 CEST = 07:00 UTC.
    assert next_business_time(BERLIN, utc(2026, 3, 28, 12, 0)) == utc(2026, 3, 30, 7, 0)
    # Saturday before the autumn switch -> Monday 09:00 CET = 08:00 UTC.
    assert next_business_time(BERLIN, utc(2026, 10, 24, 12, 0)) == utc(2026, 10, 26, 8, 0)


# --- add_business_time ----------------------------------------------------------------


def test_add_business_time_within_a_day():
    assert add_business_time(DEFAULT, utc(2026, 11, 25, 10, 0), timedelta(hours=4)) == utc(
        2026, 11, 25, 14, 0
    )


def test_add_business_time_across_a_weekend():
    # 4 business hours after Friday 16:00 is Monday 12:00.
    assert add_business_time(DEFAULT, utc(2026, 11, 27, 16, 0), timedelta(hours=4)) == utc(
        2026, 11, 30, 12, 0
    )


def test_add_business_time_up_to_closing_ends_at_closing():
    assert add_business_time(DEFAULT, utc(2026, 11, 27, 16, 0), timedelta(hours=1)) == utc(
        2026, 11, 27, 17, 0
    )


def test_add_business_time_from_outside_hours_counts_from_next_opening():
    assert add_business_time(DEFAULT, utc(2026, 11, 28, 12, 0), timedelta(hours=2)) == utc(
        2026, 11, 30, 11, 0
    )


def test_add_business_time_over_several_days():
    # Monday 09:00 + 10 business hours = Tuesday 11:00 (8 hours a day).
    assert add_business_time(DEFAULT, utc(2026, 11, 23, 9, 0), timedelta(hours=10)) == utc(
        2026, 11, 24, 11, 0
    )


def test_add_business_time_skips_holidays():
    # Thu 24 Dec 16:00 + 4h: 1h on Thursday, Christmas Friday closed, 3h on Monday.
    assert add_business_time(US, utc(2026, 12, 24, 16, 0), timedelta(hours=4)) == utc(
        2026, 12, 28, 12, 0
    )


def test_add_business_time_across_dst_switch():
    # Fri 27 Mar 16:00 CET (15:00 UTC) + 4h = Mon 30 Mar 12:00 CEST (10:00 UTC).
    assert add_business_time(BERLIN, utc(2026, 3, 27, 15, 0), timedelta(hours=4)) == utc(
        2026, 3, 30, 10, 0
    )


def test_add_business_time_counts_real_hours_in_a_window_with_a_dst_switch():
    # Every day 01:00–05:00 Berlin; on 29 Mar the clock jumps 02:00 -> 03:00, so that
    # window lasts 3 real hours: 00:00 UTC to 03:00 UTC.
    night = BusinessHours(
        timezone="Europe/Berlin", days="mon-sun", start=time(1, 0), end=time(5, 0)
    )
    assert add_business_time(night, utc(2026, 3, 29, 0, 0), timedelta(hours=3)) == utc(
        2026, 3, 29, 3, 0
    )
    # A fourth hour starts at the next opening, 30 Mar 01:00 CEST (23:00 UTC on the 29th).
    assert add_business_time(night, utc(2026, 3, 29, 0, 0), timedelta(hours=4)) == utc(
        2026, 3, 30, 0, 0
    )


def test_add_business_time_refuses_negative_delays():
    with pytest.raises(ValueError, match="negative"):
        add_business_time(DEFAULT, utc(2026, 11, 25, 10, 0), timedelta(hours=-1))


# --- describe and format_moment -------------------------------------------------------


def test_describe_default_hours():
    assert describe(DEFAULT) == "Mon–Fri 09:00–17:00 UTC"


def test_describe_days_wrapping_the_week():
    hours = BusinessHours(
        timezone="Asia/Jerusalem", days="sun-thu", start=time(8, 0), end=time(16, 30)
    )
    assert describe(hours) == "Sun–Thu 08:00–16:30 Asia/Jerusalem"


def test_describe_separate_days():
    assert describe(BusinessHours(days="mon,wed,fri")).startswith("Mon, Wed, Fri ")
    assert describe(BusinessHours(days="sat,sun")).startswith("Sat, Sun ")
    assert describe(BusinessHours(days="mon-sun")).startswith("every day ")


def test_describe_mentions_public_holidays():
    assert describe(US) == "Mon–Fri 09:00–17:00 UTC, except US public holidays"


def test_format_moment_in_the_teams_zone():
    assert format_moment(DEFAULT, utc(2026, 11, 30, 9, 0)) == "Mon 30 Nov 09:00 UTC"
    assert format_moment(BERLIN, utc(2026, 3, 30, 7, 0)) == "Mon 30 Mar 09:00 CEST"
