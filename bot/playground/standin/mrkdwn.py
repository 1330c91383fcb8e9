"""Slack's mrkdwn as HTML, for the playground page: the basics people meet in messages.

*bold*, _italic_, ~strike~, `code`, ```preformatted```, > quotes, line breaks, links
(<https://…|label>), mentions (<@U…>, <#C…>, <!subteam^S…>, <!here>), dates
(<!date^…|fallback>) and the emoji shortcodes the bot uses. Everything else is shown as
typed, escaped: the output is always safe to put in a page.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.playground.standin.entities import TEAM_DOMAIN

EMOJI = {
    "white_check_mark": "✅", "heavy_check_mark": "✔️", "x": "❌", "warning": "⚠️",
    "hourglass_flowing_sand": "⏳", "hourglass": "⌛", "grey_question": "❔",
    "question": "❓", "heavy_minus_sign": "➖", "heavy_plus_sign": "➕", "shield": "🛡️",
    "rotating_light": "🚨", "rocket": "🚀", "tada": "🎉", "eyes": "👀", "lock": "🔒",
    "key": "🔑", "memo": "📝", "clipboard": "📋", "page_facing_up": "📄", "scroll": "📜",
    "arrows_counterclockwise": "🔄", "leftwards_arrow_with_hook": "↩️", "rewind": "⏪",
    "bell": "🔔", "alarm_clock": "⏰", "stopwatch": "⏱️", "calendar": "📅",
    "+1": "👍", "thumbsup": "👍", "-1": "👎", "no_entry": "⛔", "no_entry_sign": "🚫",
    "stop_sign": "🛑", "construction": "🚧", "test_tube": "🧪", "mag": "🔍", "link": "🔗",
    "red_circle": "🔴", "large_green_circle": "🟢", "large_yellow_circle": "🟡",
    "large_blue_circle": "🔵", "white_circle": "⚪", "speech_balloon": "💬", "fire": "🔥",
    "package": "📦", "sparkles": "✨", "bulb": "💡", "pencil2": "✏️", "wastebasket": "🗑️",
    "information_source": "ℹ️", "arrow_right": "➡️", "checkered_flag": "🏁",
    "bust_in_silhouette": "👤", "busts_in_silhouette": "👥", "hammer_and_wrench": "🛠️",
    "gear": "⚙️", "chart_with_upwards_trend": "📈", "robot_face": "🤖", "wave": "👋",
    "boom": "💥", "sos": "🆘", "ship": "🚢", "traffic_light": "🚥", "inbox_tray": "📥",
    "outbox_tray": "📤", "bar_chart": "📊", "mega": "📣", "pushpin": "📌",
    "lock_with_ink_pen": "🔏", "raised_hand": "✋", "arrow_up_small": "🔼",
    "arrow_down_small": "🔽", "left_right_arrow": "↔️", "hourglass_done": "⌛",
    "crescent_moon": "🌙", "snowflake": "❄️", "spiral_calendar_pad": "🗓️", "sunny": "☀️",
}

_CODE_BLOCK = re.compile(r"```(.+?)```", re.S)
_CODE = re.compile(r"`([^`\n]+)`")
_TOKEN = re.compile(r"<([^<>\s][^<>]*)>")
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")
_STRIKE = re.compile(r"(?<![\w~])~(?=\S)([^~\n]+?)(?<=\S)~(?![\w~])")
_EMOJI = re.compile(r":([a-z0-9_+\-]+):")
_SLOT = re.compile(r"\x00(\d+)\x00")
_SAFE_SCHEMES = ("http://", "https://", "mailto:")
# A permalink of the stand-in (see methods.permalink): the page opens it in place.
_PERMALINK = re.compile(rf"^https://{TEAM_DOMAIN}\.slack\.com/archives/(\w+)/p(\d+)(\d{{6}})\b")


@dataclass(frozen=True)
class Names:
    """What the renderer may look up: names for ids, and "now" for relative dates."""

    users: dict[str, str] = field(default_factory=dict)  # user id -> display name
    channels: dict[str, str] = field(default_factory=dict)  # channel id -> name
    groups: dict[str, str] = field(default_factory=dict)  # user group id -> handle
    now: Callable[[], datetime] = lambda: datetime.now(UTC)

    def user(self, user_id: str) -> str:
        return self.users.get(user_id, user_id)


def unescape(text: str) -> str:
    """Slack's three escapes (&amp; &lt; &gt;) back to characters."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def plain(text: str, *, emoji: bool = True) -> str:
    """A plain_text object's text as HTML (only emoji shortcodes are converted)."""
    escaped = html.escape(text, quote=False)
    return _emoji(escaped) if emoji else escaped


def to_html(text: str, names: Names) -> str:
    """A mrkdwn string as HTML."""
    slots: list[str] = []

    def keep(fragment: str) -> str:
        slots.append(fragment)
        return f"\x00{len(slots) - 1}\x00"

    text = _CODE_BLOCK.sub(
        lambda m: keep(f"<pre>{html.escape(unescape(m.group(1).strip(chr(10))))}</pre>"), text
    )
    text = _CODE.sub(lambda m: keep(f"<code>{html.escape(unescape(m.group(1)))}</code>"), text)
    text = _TOKEN.sub(lambda m: keep(_token(m.group(1), names)), text)
    text = html.escape(unescape(text), quote=False)
    text = _BOLD.sub(r"<b>\1</b>", text)
    text = _ITALIC.sub(r"<i>\1</i>", text)
    text = _STRIKE.sub(r"<s>\1</s>", text)
    text = _emoji(text)
    text = _quotes(text)
    while _SLOT.search(text):
        text = _SLOT.sub(lambda m: slots[int(m.group(1))], text)
    return text


def _emoji(text: str) -> str:
    return _EMOJI.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), text)


def _quotes(text: str) -> str:
    """Lines starting with ">" become a quote; the others are joined with <br>."""
    out: list[str] = []
    quote: list[str] = []
    for line in text.split("\n"):
        if line.startswith("&gt;"):
            quote.append(line[4:].lstrip())
            continue
        if quote:
            out.append("<blockquote>" + "<br>".join(quote) + "</blockquote>")
            quote = []
        out.append(line)
    if quote:
        out.append("<blockquote>" + "<br>".join(quote) + "</blockquote>")
    joined = ""
    for index, part in enumerate(out):
        if index and not part.startswith("<blockquote>") and not out[index - 1].startswith(
            "<blockquote>"
        ):
            joined += "<br>"
        joined += part
    return joined


def _token(inner: str, names: Names) -> str:
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        return _mention("@" + (label or names.user(target[1:])))
    if target.startswith("#"):
        return _mention("#" + (label or names.channels.get(target[1:], target[1:])))
    if target.startswith("!"):
        return _special(target[1:], label, names)
    url = unescape(target)
    if not url.startswith(_SAFE_SCHEMES):
        return html.escape(unescape(label or target))
    if permalink := _PERMALINK.match(url):
        channel, seconds, micros = permalink.groups()
        return (f'<a href="#" class="bk-permalink" data-goto-channel="{html.escape(channel)}" '
                f'data-goto-ts="{seconds}.{micros}">'
                f"{html.escape(unescape(label or url), quote=False)}</a>")
    return (f'<a href="{html.escape(url)}" target="_blank" rel="noopener noreferrer">'
            f"{html.escape(unescape(label or url), quote=False)}</a>")


def _mention(text: str) -> str:
    return f'<span class="bk-mention">{html.escape(unescape(text), quote=False)}</span>'


def _special(command: str, label: str, names: Names) -> str:
    if command in ("here", "channel", "everyone"):
        return _mention("@" + command)
    if command.startswith("subteam^"):
        group = command.split("^", 1)[1]
        return _mention(label or "@" + names.groups.get(group, group))
    if command.startswith("date^"):
        parts = command.split("^")
        try:
            return html.escape(format_date(int(parts[1]), parts[2], names.now()), quote=False)
        except (IndexError, ValueError, OverflowError):
            return html.escape(unescape(label), quote=False)
    return html.escape(unescape(label or command), quote=False)


def _ordinal(day: int) -> str:
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def format_date(stamp: int, template: str, now: datetime) -> str:
    """Slack's `<!date^stamp^template|…>` for a reader in UTC (every demo user's zone)."""
    moment = datetime.fromtimestamp(stamp, UTC)
    today = now.astimezone(UTC).date()
    relative = {today: "today", today - timedelta(days=1): "yesterday",
                today + timedelta(days=1): "tomorrow"}.get(moment.date())
    day = _ordinal(moment.day)
    values = {
        "date_num": moment.strftime("%Y-%m-%d"),
        "date": f"{moment:%B} {day}, {moment.year}",
        "date_short": f"{moment:%b} {moment.day}, {moment.year}",
        "date_long": f"{moment:%A}, {moment:%B} {day}, {moment.year}",
        "time": moment.strftime("%H:%M"),
        "time_secs": moment.strftime("%H:%M:%S"),
        "ago": _ago(now - moment),
    }
    for name in ("date", "date_short", "date_long"):
        values[f"{name}_pretty"] = relative or values[name]
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), template)


def _ago(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    future = seconds < 0
    seconds = abs(seconds)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            text = f"{count} {unit}{'s' if count != 1 else ''}"
            return f"in {text}" if future else f"{text} ago"
    return "just now"
