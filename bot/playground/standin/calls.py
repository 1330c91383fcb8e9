"""A call to the fake Web API: its arguments decoded as Slack reads them, what it answered,
and the record a test looks at afterwards."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web

# Form values that Slack (and slack_sdk) send as JSON strings.
JSON_FIELDS = {"blocks", "attachments", "view", "metadata", "files", "users",
               "unfurled_attachments"}
@dataclass
class Call:
    """One request the stand-in received, with its decoded arguments and its answer."""

    method: str
    args: dict[str, Any]
    at: datetime
    fault: str | None = None  # set when a scripted fault answered instead of Slack
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.fault is None and bool(self.response.get("ok"))

    @property
    def outcome(self) -> str:
        return self.fault or ("ok" if self.ok else str(self.response.get("error")))


@dataclass
class Answer:
    status: int
    body: dict[str, Any] | str
    headers: dict[str, str] = field(default_factory=dict)
    fault: str | None = None

    def summary(self) -> dict[str, Any]:
        if isinstance(self.body, dict):
            return self.body
        ok = self.status == 200
        return {"ok": ok} if ok else {"ok": False, "error": self.body}

    def to_http(self) -> web.Response:
        if isinstance(self.body, dict):
            return web.json_response(self.body, status=self.status, headers=self.headers)
        return web.Response(text=self.body, status=self.status, headers=self.headers)


async def read_args(request: web.Request) -> dict[str, Any]:
    """Query string, then the form or JSON body; JSON-string form values decoded."""
    args: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                args.update(body)
        else:
            form = await request.post()
            args.update({k: v for k, v in form.items() if isinstance(v, str)})
    return {k: decode_json_field(k, v) for k, v in args.items()}


def decode_json_field(key: str, value: Any) -> Any:
    if key not in JSON_FIELDS or not isinstance(value, str):
        return value
    if not value.strip().startswith(("[", "{")):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def root_of(request: web.Request) -> str:
    """Where this app is served, also when mounted under a prefix."""
    prefix = request.path[: request.path.rfind("/api/")]
    return f"{request.scheme}://{request.host}{prefix}"
