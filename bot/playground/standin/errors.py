"""The one way a stand-in method says no: an error code, as Slack answers it."""

from __future__ import annotations

from typing import Any


class SlackError(Exception):
    """`{"ok": false, "error": code, ...extra}` with HTTP 200, like Slack."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra

    def to_response(self) -> dict[str, Any]:
        return {"ok": False, "error": self.error, **self.extra}


def invalid_arguments(*messages: str) -> SlackError:
    return SlackError(
        "invalid_arguments",
        response_metadata={"messages": [f"[ERROR] {m}" for m in messages]},
    )


def missing(name: str) -> SlackError:
    return invalid_arguments(f"missing required field: {name}")
