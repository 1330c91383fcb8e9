"""The policy's `[freezes]` and `[calendar]` sections: the freeze windows that come back
every week or fall between two dates, and how close two planned changes may be."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from pydantic import Field, field_validator, model_validator

from bot.runtime.durations import Duration
from bot.runtime.policy_values import Section, check_zone, parse_clock, parse_days
from bot.schedule.freeze import policy_problems


class RecurringFreeze(Section):
    """A freeze that comes back every week: e.g. Fridays 15:00–24:00 in Europe/Paris."""

    name: str = Field(min_length=1)
    reason: str = ""
    days: str
    start: str = "00:00"
    end: str = "24:00"
    timezone: str | None = Field(None, description="default: business_hours.timezone")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return check_zone(value)

    @field_validator("days")
    @classmethod
    def _known_days(cls, value: str) -> str:
        parse_days(value)
        return value

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        parse_clock(value)
        return value

    @model_validator(mode="after")
    def _end_after_start(self) -> RecurringFreeze:
        if parse_clock(self.end) <= parse_clock(self.start):
            raise ValueError(
                f"freeze {self.name!r}: end {self.end} is not after start {self.start}; "
                "a freeze over midnight is two entries (e.g. fri 15:00-24:00, sat 00:00-24:00)"
            )
        return self


class DatedFreeze(Section):
    """A freeze between two dates (a date alone as `end` includes that whole day)."""

    name: str = Field(min_length=1)
    reason: str = ""
    start: date | datetime
    end: date | datetime
    timezone: str | None = Field(None, description="default: business_hours.timezone")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return check_zone(value)


class Freezes(Section):
    """Freeze windows: no production deployment inside them, emergencies excepted."""

    recurring: list[RecurringFreeze] = Field(default_factory=list)
    dated: list[DatedFreeze] = Field(default_factory=list)

    @model_validator(mode="after")
    def _no_overlaps(self) -> Freezes:
        problems = policy_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self


class Calendar(Section):
    """The change calendar and conflicts between planned changes."""

    # Two changes on the same service planned closer than this are in conflict.
    conflict_window: Duration = timedelta(hours=1)
