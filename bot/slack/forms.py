"""Reading what a person typed into a modal (view.state.values) as plain Python values."""

from datetime import UTC, datetime
from typing import Any


def element_value(state: dict) -> Any:
    kind = state.get("type")
    if kind in ("plain_text_input", "url_text_input", "email_text_input", "number_input"):
        value = state.get("value")
        return value.strip() if isinstance(value, str) else value
    if kind in ("static_select", "radio_buttons", "external_select"):
        option = state.get("selected_option")
        return option["value"] if option else None
    if kind in ("multi_static_select", "checkboxes", "multi_external_select"):
        return [option["value"] for option in state.get("selected_options") or []]
    if kind == "users_select":
        return state.get("selected_user")
    if kind == "multi_users_select":
        return list(state.get("selected_users") or [])
    if kind == "conversations_select":
        return state.get("selected_conversation")
    if kind == "channels_select":
        return state.get("selected_channel")
    if kind == "datepicker":
        return state.get("selected_date")
    if kind == "timepicker":
        return state.get("selected_time")
    if kind == "datetimepicker":
        stamp = state.get("selected_date_time")
        return datetime.fromtimestamp(stamp, UTC) if stamp is not None else None
    return None


def read_values(view: dict) -> dict[str, Any]:
    """{block_id: value} for every input of a submitted view (one element per input block)."""
    values: dict[str, Any] = {}
    for block_id, actions in view.get("state", {}).get("values", {}).items():
        for state in actions.values():
            values[block_id] = element_value(state)
    return values
