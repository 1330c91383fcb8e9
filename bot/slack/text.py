"""Small formatting helpers shared by every view."""

from datetime import datetime

MAX_SECTION_TEXT = 3000


def user(user_id: str | None) -> str:
    """A mention for a Slack user id; other actors (Changebot, gh:login) by name."""
    if not user_id:
        return "someone"
    return f"<@{user_id}>" if user_id[:1] in ("U", "W") else user_id


def users(user_ids: list[str]) -> str:
    return ", ".join(user(u) for u in user_ids) or "nobody"


def slack_date(moment: datetime, fallback_format: str = "%Y-%m-%d %H:%M UTC") -> str:
    """A date each reader sees in their own time zone (Slack date formatting)."""
    stamp = int(moment.timestamp())
    return f"<!date^{stamp}^{{date_short_pretty}} {{time}}|{moment.strftime(fallback_format)}>"


def clip(text: str, limit: int = MAX_SECTION_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn reserves."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
