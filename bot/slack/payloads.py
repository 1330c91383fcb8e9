"""What Slack sent, as typed values: the one place that reads Slack's payloads.

Everything here may come from anyone who holds the signing secret, or from a stale button,
so nothing is trusted: `envelope` checks a request's outer shape before Bolt routes it (what
Bolt itself indexes), and the handlers read their values through `click`, `button_ref`,
`modal_change_id`, `change_ref`… which either return a usable value or raise `Refused` with
the sentence to show. Numbers are bounded by the database's integer (PostgreSQL `int4`);
text that SQL cannot store (NUL, lone surrogates) is refused before it gets there.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from yarl import URL

from bot.change.states import format_change_id

DB_INT_MAX = 2**31 - 1  # PostgreSQL `integer`: ids beyond it cannot exist
SECTION_TEXT_LIMIT = 3000  # Slack's limit for a section's text (and a message's text block)

OUT_OF_DATE = ("That button is out of date: nothing was changed. Use the buttons on the "
               "change's current card (`/change show CHG-n` finds it).")
FORM_OUT_OF_DATE = ("This form is out of date: nothing was changed. Close it and open it "
                    "again from the change's card.")


class Refused(ValueError):
    """A value that cannot be used; `str(exc)` is the plain sentence to show the person."""


class Malformed(ValueError):
    """A signed request whose body is not a Slack request (answered 400, nothing done)."""


# --------------------------------------------------------------------------------------
# Text
# --------------------------------------------------------------------------------------

def text_problem(text: str) -> str | None:
    """Why SQL or Slack could not take this text as it is; None when it is fine."""
    if "\x00" in text:
        return "it contains a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "it contains a broken character (half of a surrogate pair)"
    return None


def clean_text(text: str, what: str = "This text") -> str:
    problem = text_problem(text)
    if problem:
        raise Refused(f"{what} cannot be stored: {problem}. Remove it and try again; "
                      "nothing was changed.")
    return text


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, with an ellipsis when it was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _slack_id(value: str) -> str:
    if len(value) > 255 or text_problem(value):
        raise ValueError("not a Slack id")
    return value


SlackId = Annotated[str, AfterValidator(_slack_id)]
ChangeId = Annotated[int, Field(ge=1, le=DB_INT_MAX, strict=True)]

# --------------------------------------------------------------------------------------
# Change ids typed by people and carried by buttons
# --------------------------------------------------------------------------------------

_CHANGE_REF = re.compile(r"^(?:chg[-\s]?)?([0-9]+)$", re.IGNORECASE)
_BUTTON = re.compile(r"^([0-9]{1,10})(?::r([0-9]{1,10}))?$")


def change_ref(text: str) -> int:
    """`CHG-12`, `chg-12` or `12` -> 12; Refused with what to write otherwise."""
    raw = text.strip()
    shown = clip(raw, 40)
    match = _CHANGE_REF.match(raw)
    if not match:
        raise Refused(f"“{shown}” is not a change id: write it like CHG-12." if raw
                      else "Which change? Write it like CHG-12.")
    digits = match.group(1).lstrip("0")
    if not digits:
        raise Refused(f"“{shown}” is not a change id: change numbers start at CHG-1.")
    if len(digits) > 10 or int(digits) > DB_INT_MAX:
        raise Refused(f"There is no CHG-{clip(digits, 20)}: change numbers go up to "
                      f"{format_change_id(DB_INT_MAX)}.")
    return int(digits)


@dataclass(frozen=True)
class ButtonRef:
    change_id: int
    revision: int | None = None


def button_ref(value: str | None) -> ButtonRef:
    """A card button's value (`<id>` or `<id>:r<revision>`); Refused when it does not parse."""
    match = _BUTTON.match(value or "")
    if not match:
        raise Refused(OUT_OF_DATE)
    change_id = int(match.group(1))
    revision = int(match.group(2)) if match.group(2) else None
    if not 1 <= change_id <= DB_INT_MAX or (revision is not None and revision > DB_INT_MAX):
        raise Refused(OUT_OF_DATE)
    return ButtonRef(change_id, revision)


class HistoryPageRef(BaseModel):
    model_config = ConfigDict(extra="ignore")
    change_id: ChangeId
    page: Annotated[int, Field(ge=0, le=100_000, strict=True)]


def page_number(value: str | None) -> int:
    """A page button's value (0: the first page); anything else is an out-of-date button."""
    if value is None or not value.isdigit() or len(value) > 6:
        raise Refused(OUT_OF_DATE)
    return int(value)


def history_page_ref(value: str | None) -> HistoryPageRef:
    try:
        return HistoryPageRef.model_validate_json(value or "")
    except ValidationError:
        raise Refused(OUT_OF_DATE) from None


class _Metadata(BaseModel):
    model_config = ConfigDict(extra="ignore")
    change_id: ChangeId | None = None


def modal_change_id(view: dict) -> int | None:
    """The change a modal is about (its private_metadata); None for a new change's form."""
    metadata = view.get("private_metadata") or "{}"
    try:
        return _Metadata.model_validate_json(metadata).change_id
    except ValidationError:
        raise Refused(FORM_OUT_OF_DATE) from None


# --------------------------------------------------------------------------------------
# Requests and interactions
# --------------------------------------------------------------------------------------

class _Shape(BaseModel):
    model_config = ConfigDict(extra="allow")


class Ref(_Shape):
    id: SlackId


class ActionShape(_Shape):
    action_id: SlackId
    block_id: SlackId | None = None
    value: str | None = None
    type: str | None = None


class ViewShape(_Shape):
    id: SlackId = ""
    callback_id: SlackId = ""
    private_metadata: str = ""
    state: dict[str, Any] = {}  # read field by field by bot.slack.forms
    blocks: list[dict[str, Any]] = []


class Interaction(_Shape):
    """`payload=` of interactivity: block actions, view submissions, shortcuts…"""

    type: SlackId
    user: Ref
    team: Ref | None = None
    enterprise: Ref | None = None
    channel: Ref | None = None
    container: dict[str, Any] | None = None
    message: dict[str, Any] | None = None
    view: ViewShape | None = None
    actions: list[ActionShape] = []
    trigger_id: SlackId | None = None
    response_url: str | None = None
    response_urls: list[dict[str, Any]] = []
    authorizations: list[dict[str, Any]] | None = None

    @model_validator(mode="after")
    def _complete(self) -> Interaction:
        if self.type == "block_actions" and not self.actions:
            raise ValueError("block_actions without actions")
        if self.type in ("view_submission", "view_closed") and self.view is None:
            raise ValueError(f"{self.type} without a view")
        return self


class SlashCommand(_Shape):
    command: SlackId
    user_id: SlackId
    text: str = ""
    team_id: SlackId | None = None
    channel_id: SlackId | None = None
    trigger_id: SlackId | None = None
    response_url: str | None = None


class EventShape(_Shape):
    type: SlackId
    user: SlackId | Ref | None = None  # an id, or the user object (team_join, user_change)
    channel: SlackId | Ref | None = None


class EventCallback(_Shape):
    type: SlackId
    event: EventShape | None = None
    challenge: str | None = None
    team: Ref | None = None
    enterprise: Ref | None = None
    authorizations: list[dict[str, Any]] | None = None

    @model_validator(mode="after")
    def _complete(self) -> EventCallback:
        if self.type == "event_callback" and self.event is None:
            raise ValueError("event_callback without an event")
        if self.type == "url_verification" and self.challenge is None:
            raise ValueError("url_verification without a challenge")
        return self


def envelope(text: str, content_type: str | None) -> dict[str, Any]:
    """The request body as Bolt will route it, or Malformed. Read as Bolt reads it (JSON,
    or a form that is either a slash command or `payload=` JSON), except that a command
    whose text merely contains the word "payload" stays a command."""
    if content_type == "application/json" or text.startswith("{"):
        body = _json_object(text, "the body")
        shape: type[_Shape] = EventCallback
    else:
        form = form_fields(text)
        if "payload" in form:
            body = _json_object(form["payload"], "payload")
            shape = Interaction
        elif "ssl_check" in form:
            return form
        else:
            body, shape = form, SlashCommand
    try:
        shape.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the body"
        raise Malformed(f"{where}: {first['msg']}") from None
    return body


def form_fields(text: str) -> dict[str, str]:
    """A urlencoded form as `urllib.parse.parse_qsl` reads it (blank values kept, the last
    of a repeated name), by yarl's compiled decoder: several times faster on the
    percent-encoded JSON of a click, which is read before every ack."""
    return dict(URL.build(query_string=text, encoded=True).query.items())


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        raise Malformed(f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise Malformed(f"{what} is not a JSON object")
    return value


@dataclass(frozen=True)
class Who:
    """The person to answer, and where: their command's or click's response_url, else an
    ephemeral message in the channel, else a DM."""

    user: str
    response_url: str | None = None
    channel: str | None = None
    trigger_id: str | None = None


@dataclass(frozen=True)
class Click(Who):
    """A button clicked or a modal submitted, as the handlers need it."""

    action_id: str = ""
    value: str | None = None
    view_id: str | None = None


def _value_of(action: ActionShape | None) -> str | None:
    """A button's value, or the value of the option chosen in an overflow menu."""
    if action is None:
        return None
    if action.value is not None:
        return action.value
    chosen = (action.model_extra or {}).get("selected_option")
    value = chosen.get("value") if isinstance(chosen, dict) else None
    return value if isinstance(value, str) and not text_problem(value) else None


def click(body: dict) -> Click:
    parsed = Interaction.model_validate(body)
    action = parsed.actions[0] if parsed.actions else None
    channel = parsed.channel.id if parsed.channel else None
    if channel is None and parsed.container is not None:
        found = parsed.container.get("channel_id")
        channel = found if isinstance(found, str) and not text_problem(found) else None
    return Click(
        user=parsed.user.id,
        response_url=parsed.response_url,
        channel=channel,
        trigger_id=parsed.trigger_id,
        action_id=action.action_id if action else "",
        value=_value_of(action),
        view_id=parsed.view.id if parsed.view else None,
    )


def command(body: dict) -> SlashCommand:
    return SlashCommand.model_validate(body)


class HomeOpened(_Shape):
    user: SlackId
    tab: str = "home"


def home_opened(event: dict) -> HomeOpened | None:
    """An app_home_opened event; None when it is not one we can act on (nobody to answer)."""
    try:
        return HomeOpened.model_validate(event)
    except ValidationError:
        return None


@dataclass(frozen=True)
class Choice:
    """A choice sent at once from an input of an open form (`dispatch_action`)."""

    who: Click
    view: dict[str, Any]  # the form as Slack sent it (blocks, title, private_metadata…)
    view_hash: str | None  # what views.update checks, so a stale form is not written over
    action: dict[str, Any]  # the element's state: its type and what was chosen
    action_ts: float


def choice(body: dict) -> Choice:
    """Refused when the action did not come from an open form."""
    who = click(body)
    parsed = Interaction.model_validate(body)
    view, action = body.get("view"), body.get("actions", [{}])[0]
    if parsed.view is None or not who.view_id or not isinstance(view, dict):
        raise Refused(FORM_OUT_OF_DATE)
    view_hash = view.get("hash")
    try:
        stamp = float(action.get("action_ts") or 0)
    except (TypeError, ValueError):
        stamp = 0.0
    return Choice(who, view, view_hash if isinstance(view_hash, str) else None,
                  action if isinstance(action, dict) else {}, stamp)
