"""Reading what a person typed into a modal (view.state.values) as plain Python values.

A submission is read as a whole: every field the form has gets a value (None when its block
is missing from the payload, so "required" checks see it), and a value of the wrong type or
text the database cannot store is reported under its own field, never raised as a crash.
"""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.slack.payloads import SlackId, text_problem

UNREADABLE = "This answer could not be read: enter it again."
LATEST_STAMP = 253402300799  # 9999-12-31T23:59:59Z, the last moment datetime can hold


class FormErrors(Exception):
    """What is wrong, keyed by block_id, as Slack's `response_action: errors`."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class _Option(BaseModel):
    model_config = ConfigDict(extra="allow")
    value: str


class _Element(BaseModel):
    """One input's state, as Slack sends it for each kind of element."""

    model_config = ConfigDict(extra="allow")
    type: str
    value: str | None = None
    selected_option: _Option | None = None
    selected_options: list[_Option] | None = None
    selected_user: SlackId | None = None
    selected_users: list[SlackId] | None = None
    selected_conversation: SlackId | None = None
    selected_channel: SlackId | None = None
    selected_date: str | None = None
    selected_time: str | None = None
    selected_date_time: Annotated[int, Field(ge=0, le=LATEST_STAMP)] | None = None


def element_value(state: _Element) -> Any:
    kind = state.type
    if kind in ("plain_text_input", "url_text_input", "email_text_input", "number_input"):
        return state.value.strip() if state.value is not None else None
    if kind in ("static_select", "radio_buttons", "external_select"):
        return state.selected_option.value if state.selected_option else None
    if kind in ("multi_static_select", "checkboxes", "multi_external_select"):
        return [option.value for option in state.selected_options or []]
    if kind == "users_select":
        return state.selected_user
    if kind == "multi_users_select":
        return list(state.selected_users or [])
    if kind == "conversations_select":
        return state.selected_conversation
    if kind == "channels_select":
        return state.selected_channel
    if kind == "datepicker":
        return state.selected_date
    if kind == "timepicker":
        return state.selected_time
    if kind == "datetimepicker":
        stamp = state.selected_date_time
        return datetime.fromtimestamp(stamp, UTC) if stamp is not None else None
    return None


def chosen_value(action: dict) -> Any:
    """The value of an input's element sent at once when chosen (dispatch_action): a
    block_actions action has the shape of its state; ValueError when it cannot be read."""
    try:
        return element_value(_Element.model_validate(action))
    except ValidationError:
        raise ValueError(UNREADABLE) from None


def read_values(view: dict, fields: Mapping[str, type] | None = None) -> dict[str, Any]:
    """{block_id: value} for every input of a submitted view (one element per input block).
    `fields`: the form's inputs and the type of their values (str for text and single
    choices, list for multiple choices, datetime): a block missing from the payload reads as
    None, and a value of another type (an element Slack would not send there) is an error.
    FormErrors names each unreadable field."""
    fields = fields or {}
    values: dict[str, Any] = dict.fromkeys(fields)
    errors: dict[str, str] = {}
    state = view.get("state")
    blocks = state.get("values") if isinstance(state, dict) else None
    for block_id, actions in (blocks if isinstance(blocks, dict) else {}).items():
        if not isinstance(actions, dict):
            errors[block_id] = UNREADABLE
            continue
        for element in actions.values():
            try:
                value = element_value(_Element.model_validate(element))
            except ValidationError:
                errors[block_id] = UNREADABLE
                continue
            expected = fields.get(block_id)
            if value is not None and expected is not None and not isinstance(value, expected):
                errors[block_id] = UNREADABLE
                continue
            problem = _problem(value)
            if problem:
                errors[block_id] = f"This cannot be stored: {problem}. Remove it and try again."
            values[block_id] = value
    if errors:
        raise FormErrors(errors)
    return values


def _problem(value: Any) -> str | None:
    if isinstance(value, str):
        return text_problem(value)
    if isinstance(value, list):
        return next((p for p in map(_problem, value) if p), None)
    return None
