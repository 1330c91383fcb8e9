"""Socket Mode for the stand-in: `apps.connections.open` and the WebSocket Slack pushes over.

Slack sends each request as an envelope; the app answers with the envelope id (and, for a
slash command or a view submission, the payload Slack would have got over HTTP).
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from aiohttp import WSMsgType, web

_ids = itertools.count(1)


class SocketModeServer:
    def __init__(self, app_token: str) -> None:
        self.app_token = app_token
        self.connected = asyncio.Event()
        self._socket: web.WebSocketResponse | None = None
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}

    def connections_open(self, token: Any, root_url: str) -> dict[str, Any]:
        if token != self.app_token:
            return {"ok": False, "error": "invalid_auth"}
        return {"ok": True, "url": root_url.replace("http", "ws", 1) + "/socket"}

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(heartbeat=30)
        await socket.prepare(request)
        self._socket = socket
        await socket.send_json({"type": "hello", "num_connections": 1,
                                "connection_info": {"app_id": "A0CHANGEBOT"}})
        self.connected.set()
        async for message in socket:
            if message.type != WSMsgType.TEXT:
                continue
            ack = message.json()
            future = self._acks.pop(ack.get("envelope_id", ""), None)
            if future is not None and not future.done():
                future.set_result(ack)
        self.connected.clear()
        self._socket = None
        return socket

    async def send(self, kind: str, payload: dict[str, Any],
                   within: float = 5.0) -> dict[str, Any]:
        """Push one envelope (`slash_commands`, `interactive`, `events_api`) and return the
        app's acknowledgement."""
        await asyncio.wait_for(self.connected.wait(), within)
        assert self._socket is not None
        envelope_id = f"envelope-{next(_ids)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._acks[envelope_id] = future
        await self._socket.send_json({
            "envelope_id": envelope_id, "type": kind, "payload": payload,
            "accepts_response_payload": kind != "events_api", "retry_attempt": 0,
            "retry_reason": "",
        })
        return await asyncio.wait_for(future, within)
