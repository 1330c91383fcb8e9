"""Slack's side of the conversation: signed requests to the bot, built like Slack builds them.

Used by the test harness and the playground alike. Payloads follow the shapes of Slack's
own (the payload samples in slackapi/java-slack-sdk, json-logs/samples/app-backend).
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

TEAM = {"id": "T0TEAM", "domain": "demo"}
APP_ID = "A0CHANGEBOT"
_counter = itertools.count(1)


def new_trigger_id() -> str:
    return f"{next(_counter)}.{int(time.time())}.standin{next(_counter):08x}"


def sign(secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body) or ""
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


def slash_command_body(**fields: str) -> str:
    """The form-encoded body Slack posts for a slash command (see slash_command_payload)."""
    return urlencode(slash_command_payload(**fields))


def slash_command_payload(
    *, user: str, user_name: str, text: str, channel: str, channel_name: str,
    response_url: str, trigger_id: str, command: str = "/change",
) -> dict[str, str]:
    return {
        "token": "standin-verification-token",
        "team_id": TEAM["id"],
        "team_domain": TEAM["domain"],
        "channel_id": channel,
        "channel_name": channel_name,
        "user_id": user,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def interactive_body(payload: Mapping[str, Any]) -> str:
    return urlencode({"payload": json.dumps(payload)})


def event_callback_body(event: Mapping[str, Any], *, bot_user: str = "U0BOT") -> str:
    """An Events API request (JSON) carrying `event`, e.g. app_home_opened."""
    return json.dumps({
        "token": "standin-verification-token",
        "team_id": TEAM["id"],
        "api_app_id": APP_ID,
        "event": dict(event),
        "type": "event_callback",
        "event_id": f"Ev{next(_counter):08X}",
        "event_time": int(time.time()),
        "authorizations": [{"enterprise_id": None, "team_id": TEAM["id"], "user_id": bot_user,
                            "is_bot": True, "is_enterprise_install": False}],
        "is_ext_shared_channel": False,
    })


def _user(user: str, name: str) -> dict:
    return {"id": user, "username": name, "name": name, "team_id": TEAM["id"]}


def find_element(
    blocks: list[dict], action_id: str, block_id: str | None = None
) -> tuple[dict, dict]:
    """The (block, element) with this action_id in a message's or view's blocks."""
    for block in blocks:
        if block_id and block.get("block_id") != block_id:
            continue
        candidates = list(block.get("elements") or [])
        for key in ("accessory", "element"):
            if block.get(key):
                candidates.append(block[key])
        for element in candidates:
            if element.get("action_id") == action_id:
                return block, element
    raise LookupError(f"no element with action_id {action_id!r} in these blocks")


def block_actions_payload(
    *, user: str, user_name: str, action_id: str, trigger_id: str,
    message: dict | None = None, channel: str | None = None, view: dict | None = None,
    response_url: str | None = None, selected: Any = None, block_id: str | None = None,
) -> dict:
    """A click on an interactive element of a message (channel+message) or of a view."""
    blocks = (message or view or {}).get("blocks", [])
    block, element = find_element(blocks, action_id, block_id)
    if block.get("type") == "input" and not block.get("dispatch_action"):
        raise LookupError(f"the input {block.get('block_id')!r} has no dispatch_action: Slack "
                          "sends nothing until the form is submitted")
    action: dict[str, Any] = {
        "type": element["type"],
        "action_id": action_id,
        "block_id": block.get("block_id", ""),
        "action_ts": f"{time.time():.6f}",
    }
    if element["type"] == "button":
        action["value"] = element.get("value", "")
        action["text"] = element.get("text")
    elif selected is not None:
        action.update(state_value(element, selected))
    payload: dict[str, Any] = {
        "type": "block_actions",
        "team": TEAM,
        "user": _user(user, user_name),
        "api_app_id": APP_ID,
        "token": "standin-verification-token",
        "trigger_id": trigger_id,
        "actions": [action],
        "is_enterprise_install": False,
    }
    if message is not None:
        payload["container"] = {
            "type": "message", "message_ts": message["ts"], "channel_id": channel,
            "is_ephemeral": bool(message.get("is_ephemeral")),
        }
        payload["channel"] = {"id": channel, "name": channel}
        payload["message"] = message
        if response_url:
            payload["response_url"] = response_url
    if view is not None:
        payload["container"] = {"type": "view", "view_id": view["id"]}
        payload["view"] = view
    return payload


def view_submission_payload(
    *, user: str, user_name: str, view: dict, values: Mapping[str, Any], trigger_id: str
) -> dict:
    """Submit `view` with `values` keyed by block_id (a plain Python value per input)."""
    submitted = dict(view)
    submitted["state"] = {"values": view_state(view, values)}
    return {
        "type": "view_submission",
        "team": TEAM,
        "user": _user(user, user_name),
        "api_app_id": APP_ID,
        "token": "standin-verification-token",
        "trigger_id": trigger_id,
        "view": submitted,
        "response_urls": [],
        "is_enterprise_install": False,
    }


def view_closed_payload(*, user: str, user_name: str, view: dict) -> dict:
    return {
        "type": "view_closed", "team": TEAM, "user": _user(user, user_name),
        "api_app_id": APP_ID, "view": view, "is_cleared": False,
    }


def view_state(view: dict, values: Mapping[str, Any]) -> dict:
    """state.values as Slack builds it: every input block, filled or not."""
    unknown = set(values) - {b.get("block_id") for b in view.get("blocks", [])}
    if unknown:
        raise LookupError(f"the view has no input blocks {sorted(unknown)}")
    state: dict[str, dict] = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        element = block["element"]
        state[block["block_id"]] = {
            element["action_id"]: state_value(element, values.get(block["block_id"]))
        }
    return state


def _option(element: dict, value: str) -> dict:
    for option in element.get("options", []):
        if option["value"] == value:
            return option
    for group in element.get("option_groups", []):
        for option in group["options"]:
            if option["value"] == value:
                return option
    raise LookupError(f"{value!r} is not an option of {element.get('action_id')!r}")


def state_value(element: dict, value: Any) -> dict:
    """One element's entry in state.values, from a plain Python value (None: left empty;
    an element the stand-in cannot fill can still be left empty)."""
    kind = element["type"]
    state: dict[str, Any] = {"type": kind}
    if kind in ("plain_text_input", "url_text_input", "email_text_input", "number_input"):
        state["value"] = None if value in (None, "") else str(value)
    elif kind in ("static_select", "radio_buttons", "overflow"):
        state["selected_option"] = None if value is None else _option(element, value)
    elif kind in ("multi_static_select", "checkboxes"):
        state["selected_options"] = [_option(element, v) for v in value or []]
    elif kind == "users_select":
        state["selected_user"] = value
    elif kind == "multi_users_select":
        state["selected_users"] = list(value or [])
    elif kind == "conversations_select":
        state["selected_conversation"] = value
    elif kind == "channels_select":
        state["selected_channel"] = value
    elif kind == "datepicker":
        state["selected_date"] = value.isoformat() if isinstance(value, date) else value
    elif kind == "timepicker":
        state["selected_time"] = value
    elif kind == "datetimepicker":
        state["selected_date_time"] = (
            int(value.timestamp()) if isinstance(value, datetime) else value
        )
    elif value is not None:
        raise LookupError(f"the stand-in cannot fill a {kind!r} element")
    return state


def event_callback(event: Mapping[str, Any], *, event_id: str | None = None) -> dict:
    """The Events API envelope Slack posts for one event (JSON body)."""
    return {
        "token": "standin-verification-token",
        "team_id": TEAM["id"],
        "api_app_id": APP_ID,
        "type": "event_callback",
        "event": dict(event),
        "event_id": event_id or f"Ev{next(_counter):08d}",
        "event_time": int(time.time()),
        "authed_users": [],
        "authorizations": [{"team_id": TEAM["id"], "user_id": "U0BOT", "is_bot": True,
                            "is_enterprise_install": False}],
        "is_ext_shared_channel": False,
    }


def app_home_opened(user: str, dm_channel: str) -> dict:
    return {"type": "app_home_opened", "user": user, "channel": dm_channel, "tab": "home",
            "event_ts": f"{time.time():.6f}"}
