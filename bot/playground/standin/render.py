"""Block Kit as HTML for the playground page: the one renderer (the page's script only places
what this returns, and reads forms and clicks by the data-* attributes it writes).

Messages, modals and the App Home tab are rendered from the JSON the bot sent, as Slack
would show it: header, section (text, fields, accessory), context, divider, actions, image
(its alt text: nothing is fetched), and in views the input blocks with their elements.
A block or element it does not know becomes a labelled placeholder; a malformed one too:
one odd block never hides the rest of the message.
"""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bot.playground.standin import mrkdwn
from bot.playground.standin.mrkdwn import Names

log = logging.getLogger(__name__)

TEXT_INPUTS = {"plain_text_input": "text", "url_text_input": "url",
               "email_text_input": "email", "number_input": "number"}
MESSAGE_ELEMENTS = {"button", "static_select", "users_select", "overflow"}


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def text(obj: Any, names: Names) -> str:
    """A text object (plain_text or mrkdwn) as HTML; a bare string as plain text."""
    if isinstance(obj, str):
        return mrkdwn.plain(obj)
    if not isinstance(obj, dict):
        return ""
    if obj.get("type") == "mrkdwn":
        return mrkdwn.to_html(str(obj.get("text", "")), names)
    return mrkdwn.plain(str(obj.get("text", "")), emoji=obj.get("emoji", True) is not False)


def placeholder(kind: str, what: str) -> str:
    return (f'<div class="bk-unknown" data-unsupported="{esc(what)}">'
            f"Unsupported {esc(kind)}: <code>{esc(what)}</code></div>")


def attrs(**values: Any) -> str:
    """data-* attributes (underscores become dashes); None values are left out."""
    return "".join(f' data-{k.replace("_", "-")}="{esc(v)}"' for k, v in values.items()
                   if v is not None)


# ---- blocks -----------------------------------------------------------------------------


def blocks(items: Any, names: Names, *, people: list[tuple[str, str]] | None = None) -> str:
    """A list of blocks as HTML. `people` (id, label) fills users selects."""
    if not isinstance(items, list):
        return placeholder("blocks", type(items).__name__)
    return "".join(block(b, names, people or []) for b in items)


def block(item: Any, names: Names, people: list[tuple[str, str]]) -> str:
    kind = item.get("type") if isinstance(item, dict) else None
    renderer = BLOCKS.get(kind or "")
    if renderer is None:
        return placeholder("block", kind or "?")
    try:
        return renderer(item, names, people)
    except Exception:  # a malformed block: show that it is there, keep the rest
        log.warning("cannot render a %s block: %r", kind, item, exc_info=True)
        return placeholder("block", f"{kind} (malformed)")


def _header(item: dict, names: Names, _people) -> str:
    return f'<div class="bk-header">{text(item["text"], names)}</div>'


def _section(item: dict, names: Names, people) -> str:
    body = ""
    if item.get("text"):
        body += f'<div class="bk-text">{text(item["text"], names)}</div>'
    if item.get("fields"):
        fields = "".join(f'<div class="bk-field">{text(f, names)}</div>' for f in item["fields"])
        body += f'<div class="bk-fields">{fields}</div>'
    accessory = ""
    if item.get("accessory"):
        accessory = (f'<div class="bk-accessory">'
                     f'{element(item["accessory"], item, names, people)}</div>')
    return f'<div class="bk-section"{_block_id(item)}><div class="bk-body">{body}</div>' \
           f"{accessory}</div>"


def _context(item: dict, names: Names, _people) -> str:
    parts = []
    for part in item.get("elements", []):
        if part.get("type") == "image":
            parts.append(f'<span class="bk-image-alt" title="image">'
                         f'[{esc(part.get("alt_text", "image"))}]</span>')
        else:
            parts.append(f"<span>{text(part, names)}</span>")
    return f'<div class="bk-context">{"".join(parts)}</div>'


def _divider(_item: dict, _names: Names, _people) -> str:
    return '<hr class="bk-divider">'


def _actions(item: dict, names: Names, people) -> str:
    inner = "".join(element(e, item, names, people) for e in item.get("elements", []))
    return f'<div class="bk-actions"{_block_id(item)}>{inner}</div>'


def _image(item: dict, names: Names, _people) -> str:
    title = f'<div class="bk-image-title">{text(item["title"], names)}</div>' \
        if item.get("title") else ""
    return (f'<div class="bk-image">{title}<div class="bk-image-box">'
            f'Image: {esc(item.get("alt_text", ""))}</div></div>')


def _input(item: dict, names: Names, people) -> str:
    field = item["element"]
    kind = field.get("type", "?")
    control = FORM_ELEMENTS.get(kind)
    dom_id = f"in-{item.get('block_id', '')}"
    label = text(item.get("label"), names)
    if item.get("optional"):
        label += ' <span class="bk-optional">(optional)</span>'
    hint = f'<div class="bk-hint">{text(item["hint"], names)}</div>' if item.get("hint") else ""
    body = control(field, dom_id, names, people) if control else placeholder("element", kind)
    # An input that dispatches each choice at once (dispatch_action) says with which action.
    dispatch = field.get("action_id") if item.get("dispatch_action") else None
    data = attrs(block_id=item.get("block_id"), type=kind, dispatch=dispatch)
    return (f'<div class="bk-input"{data}>'
            f'<label class="bk-label" for="{esc(dom_id)}">{label}</label>{body}{hint}'
            '<div class="bk-error" role="alert" hidden></div></div>')


def _block_id(item: dict) -> str:
    return attrs(block_id=item.get("block_id", ""))


BLOCKS: dict[str, Callable[[dict, Names, list], str]] = {
    "header": _header,
    "section": _section,
    "context": _context,
    "divider": _divider,
    "actions": _actions,
    "image": _image,
    "input": _input,
}


# ---- interactive elements of messages and views (actions blocks, accessories) ----------


def element(item: dict, parent: dict, names: Names, people) -> str:
    kind = item.get("type", "?")
    if kind == "button":
        return button(item, parent, names)
    if kind in ("static_select", "users_select"):
        options = _select_options(item, names, people)
        return (f'<select class="bk-select bk-action-select"'
                f'{attrs(action_id=item.get("action_id"), block_id=parent.get("block_id", ""))}>'
                f'{options}</select>')
    if kind == "overflow":  # "…": a menu of its options, chosen like a select's
        options = "".join(f'<option value="{esc(o.get("value", ""))}">'
                          f'{text(o.get("text"), names)}</option>'
                          for o in item.get("options", []))
        return (f'<select class="bk-select bk-action-select bk-overflow" aria-label="More"'
                f'{attrs(action_id=item.get("action_id"), block_id=parent.get("block_id", ""))}>'
                f'<option value="">…</option>{options}</select>')
    if kind == "image":
        return f'<span class="bk-image-alt">[{esc(item.get("alt_text", "image"))}]</span>'
    return placeholder("element", kind)


def button(item: dict, parent: dict, names: Names) -> str:
    style = item.get("style")
    classes = "bk-button" + (f" bk-{style}" if style in ("primary", "danger") else "")
    confirm = json.dumps(confirm_dialog(item["confirm"], names)) if item.get("confirm") else None
    data = attrs(action_id=item.get("action_id"), block_id=parent.get("block_id", ""),
                 value=item.get("value"), url=item.get("url"), confirm=confirm)
    return f'<button type="button" class="{classes}"{data}>{text(item.get("text"), names)}</button>'


def confirm_dialog(confirm: dict, names: Names) -> dict[str, str]:
    """A confirm object for the page's dialog: its parts as HTML."""
    return {
        "title": text(confirm.get("title") or "Are you sure?", names),
        "text": text(confirm.get("text") or "", names),
        "confirm": text(confirm.get("confirm") or "Yes", names),
        "deny": text(confirm.get("deny") or "Cancel", names),
        "style": confirm.get("style") or "",
    }


# ---- form elements of input blocks -------------------------------------------------------


def _placeholder_attr(item: dict) -> str:
    hint = item.get("placeholder")
    return f' placeholder="{esc(hint.get("text", ""))}"' if isinstance(hint, dict) else ""


def _text_input(item: dict, dom_id: str, _names: Names, _people) -> str:
    value = item.get("initial_value") or ""
    limits = ""
    if item.get("max_length"):
        limits += f' maxlength="{int(item["max_length"])}"'
    if item.get("type") == "plain_text_input" and item.get("multiline"):
        return (f'<textarea id="{esc(dom_id)}" class="bk-control" rows="4"{limits}'
                f"{_placeholder_attr(item)}>{esc(value)}</textarea>")
    kind = TEXT_INPUTS[item["type"]]
    return (f'<input id="{esc(dom_id)}" class="bk-control" type="{kind}" value="{esc(value)}"'
            f"{limits}{_placeholder_attr(item)}>")


def _options(item: dict) -> list[dict]:
    found = list(item.get("options") or [])
    for group in item.get("option_groups") or []:
        found += group.get("options") or []
    return found


def _option_tags(options: list[dict], chosen: set[str], names: Names) -> str:
    return "".join(
        f'<option value="{esc(o["value"])}"{" selected" if o["value"] in chosen else ""}>'
        f'{text(o["text"], names)}</option>' for o in options
    )


def _select_options(item: dict, names: Names, people) -> str:
    hint = item.get("placeholder")
    first = f'<option value="">{text(hint, names) if hint else "Choose…"}</option>'
    if item["type"] == "users_select":
        chosen = {item.get("initial_user") or ""}
        return first + "".join(
            f'<option value="{esc(uid)}"{" selected" if uid in chosen else ""}>'
            f"{esc(label)}</option>" for uid, label in people
        )
    initial = item.get("initial_option") or {}
    chosen = {initial.get("value", "")}
    if item.get("option_groups"):
        groups = "".join(
            f'<optgroup label="{esc((g.get("label") or {}).get("text", ""))}">'
            f'{_option_tags(g.get("options") or [], chosen, names)}</optgroup>'
            for g in item["option_groups"]
        )
        return first + groups
    return first + _option_tags(item.get("options") or [], chosen, names)


def _select(item: dict, dom_id: str, names: Names, people) -> str:
    return (f'<select id="{esc(dom_id)}" class="bk-control">'
            f"{_select_options(item, names, people)}</select>")


def _choices(kind: str, dom_id: str, choices: list[tuple[str, str, str]],
             chosen: set[str], css: str = "bk-choices") -> str:
    """Checkbox or radio inputs: (value, label HTML, description HTML) each."""
    rows = []
    for index, (value, label, description) in enumerate(choices):
        checked = " checked" if value in chosen else ""
        first = f' id="{esc(dom_id)}"' if index == 0 else ""
        detail = f'<span class="bk-description">{description}</span>' if description else ""
        rows.append(
            f'<label class="bk-choice"><input type="{kind}" name="{esc(dom_id)}" '
            f'value="{esc(value)}"{checked}{first}><span>{label}{detail}</span></label>'
        )
    return f'<div class="{css}">{"".join(rows)}</div>'


def _checkboxes(item: dict, dom_id: str, names: Names, _people) -> str:
    kind = "radio" if item["type"] == "radio_buttons" else "checkbox"
    if item["type"] == "radio_buttons":
        chosen = {(item.get("initial_option") or {}).get("value")}
    else:
        chosen = {o["value"] for o in item.get("initial_options") or []}
    choices = [(o["value"], text(o["text"], names),
                text(o["description"], names) if o.get("description") else "")
               for o in _options(item)]
    return _choices(kind, dom_id, choices, {c for c in chosen if c})


def _multi_select(item: dict, dom_id: str, names: Names, people) -> str:
    if item["type"] == "multi_users_select":
        chosen = set(item.get("initial_users") or [])
        choices = [(uid, esc(label), "") for uid, label in people]
    else:
        chosen = {o["value"] for o in item.get("initial_options") or []}
        choices = [(o["value"], text(o["text"], names), "") for o in _options(item)]
    return _choices("checkbox", dom_id, choices, chosen, css="bk-choices bk-multi")


def _datepicker(item: dict, dom_id: str, _names: Names, _people) -> str:
    return (f'<input id="{esc(dom_id)}" class="bk-control" type="date" '
            f'value="{esc(item.get("initial_date") or "")}">')


def _timepicker(item: dict, dom_id: str, _names: Names, _people) -> str:
    return (f'<input id="{esc(dom_id)}" class="bk-control" type="time" '
            f'value="{esc(item.get("initial_time") or "")}">')


def _datetimepicker(item: dict, dom_id: str, _names: Names, _people) -> str:
    initial = item.get("initial_date_time")
    value = datetime.fromtimestamp(initial, UTC).strftime("%Y-%m-%dT%H:%M") if initial else ""
    return (f'<input id="{esc(dom_id)}" class="bk-control" type="datetime-local" '
            f'value="{value}"> <span class="bk-zone">UTC</span>')


FORM_ELEMENTS: dict[str, Callable[[dict, str, Names, list], str]] = {
    **{kind: _text_input for kind in TEXT_INPUTS},
    "static_select": _select,
    "users_select": _select,
    "radio_buttons": _checkboxes,
    "checkboxes": _checkboxes,
    "multi_static_select": _multi_select,
    "multi_users_select": _multi_select,
    "datepicker": _datepicker,
    "timepicker": _timepicker,
    "datetimepicker": _datetimepicker,
}


# ---- surfaces ----------------------------------------------------------------------------


def message(item: dict, names: Names) -> str:
    """A message's content: its blocks, or its text when it has none; attachments after."""
    if item.get("blocks"):
        body = blocks(item["blocks"], names)
    else:
        body = f'<div class="bk-text">{mrkdwn.to_html(str(item.get("text", "")), names)}</div>'
    for attachment in item.get("attachments") or []:
        inner = attachment.get("blocks") and blocks(attachment["blocks"], names)
        inner = inner or mrkdwn.to_html(
            str(attachment.get("text") or attachment.get("fallback") or ""), names)
        color = esc(attachment.get("color") or "#ddd")
        body += f'<div class="bk-attachment" style="border-color:{color}">{inner}</div>'
    return body


def view(item: dict, names: Names, people: list[tuple[str, str]]) -> str:
    """A modal as a form (title, blocks, close and submit), or a Home tab's blocks."""
    inner = blocks(item.get("blocks", []), names, people=people)
    if item.get("type") != "modal":
        return f'<div class="bk-home"{attrs(view_id=item.get("id"))}>{inner}</div>'
    close = text(item.get("close") or {"type": "plain_text", "text": "Cancel"}, names)
    submit = (f'<button type="submit" class="bk-button bk-primary bk-submit">'
              f'{text(item["submit"], names)}</button>') if item.get("submit") else ""
    return (
        f'<form class="bk-modal"{attrs(view_id=item.get("id"))} novalidate>'
        f'<div class="bk-modal-title">{text(item.get("title"), names)}'
        '<button type="button" class="bk-modal-x" aria-label="Close">×</button></div>'
        f'<div class="bk-modal-body">{inner}</div>'
        '<div class="bk-modal-error" role="alert" hidden></div>'
        f'<div class="bk-modal-footer"><button type="button" class="bk-button bk-close">'
        f"{close}</button>{submit}</div></form>"
    )
