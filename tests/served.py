"""A real `changebot serve` process for tests that need one: a crash (SIGKILL), a clean stop
(SIGTERM), two replicas on one database, a database that hangs. The process talks to the
Slack stand-in (and the fake GitHub) served by the test on 127.0.0.1; the test sends it
signed requests exactly as Slack does, through tests.harness.SlackRequests.

    async with served(slack=slack, database_url=database_url, workdir=tmp_path) as bot:
        reply = await bot.command("alice", "help")
        await bot.kill()  # or bot.stop() for SIGTERM

The process has none of the developer's settings: its environment holds the demo
workspace's policy, the harness's secrets and what the test passes in `env`
(e.g. CHANGEBOT_CLAIM_LEASE_SECONDS), and it runs in `workdir` so no `.env` or
`changebot.toml` of the checkout is read.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

from bot.playground.standin.api import FakeSlack
from bot.playground.standin.workspace import (
    CHANGES,
    ENGINEERING,
    SECURITY_GROUP,
    TECH_LEADS_GROUP,
)
from tests.harness import BOT_TOKEN, SIGNING_SECRET, SlackRequests

ROOT = Path(__file__).resolve().parents[1]
# Seconds a process may take to answer /healthz after it was started (imports, migrations);
# generous because the machines running the suite are often busy.
START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_env(*, slack: FakeSlack, database_url: str, github: Any = None,
              env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a served bot: the demo workspace's policy, the harness's secrets,
    the fakes' URLs; nothing of the developer's own Slack, GitHub or policy settings."""
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("SLACK_", "CHANGEBOT_", "GITHUB_", "DATABASE_URL", "PORT"))}
    assert slack.base_url, "start the Slack stand-in first"
    base.update({
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.base_url,
        "DATABASE_URL": database_url,
        "CHANGEBOT_CHANNELS__CHANGES": CHANGES,
        "CHANGEBOT_CHANNELS__ENGINEERING": ENGINEERING,
        "CHANGEBOT_GROUPS__SECURITY": SECURITY_GROUP,
        "CHANGEBOT_GROUPS__TECH_LEADS": TECH_LEADS_GROUP,
    })
    if github is not None:
        from tests.github_flows import WEBHOOK_SECRET

        base.update({"GITHUB_API_URL": github.base_url, "GITHUB_TOKEN": github.token or "",
                     "GITHUB_WEBHOOK_SECRET": WEBHOOK_SECRET})
    base.update(env or {})
    return base


class ServedBot(SlackRequests):
    """One `python -m bot serve` process, started with `start()`; its output is kept in
    `log_path` (shown when it fails to start)."""

    def __init__(self, *, slack: FakeSlack, database_url: str, workdir: Path,
                 github: Any = None, env: dict[str, str] | None = None,
                 name: str = "bot") -> None:
        self.port = free_port()
        super().__init__(f"http://127.0.0.1:{self.port}", slack)
        self.workdir = workdir
        self.log_path = workdir / f"{name}.log"
        self.env = serve_env(slack=slack, database_url=database_url, github=github, env=env)
        self.process: asyncio.subprocess.Process | None = None
        self._log: Any = None

    async def start(self, within: float = START_TIMEOUT) -> None:
        """Start the process and wait until /healthz answers 200."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1",
            "--port", str(self.port), cwd=self.workdir, env=self.env,
            stdout=self._log, stderr=asyncio.subprocess.STDOUT,
        )
        await self.wait_until_healthy(within)

    async def wait_until_healthy(self, within: float = START_TIMEOUT) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        status = None
        while loop.time() < deadline:
            if self.process is not None and self.process.returncode is not None:
                raise AssertionError(f"changebot serve exited with {self.process.returncode}"
                                     f" before answering:\n{self.log()}")
            try:
                async with self.http.get(self.url + "/healthz",
                                         timeout=aiohttp.ClientTimeout(total=5)) as reply:
                    status = reply.status
                    if status == 200:
                        return
            except (TimeoutError, aiohttp.ClientError):
                pass
            await asyncio.sleep(0.1)
        raise AssertionError(f"changebot serve did not answer /healthz 200 within {within}s"
                             f" (last status {status}):\n{self.log()}")

    def log(self, tail: int = 60) -> str:
        """The last lines the process printed."""
        if self._log is not None:
            self._log.flush()
        if not self.log_path.exists():
            return ""
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-tail:])

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def stop(self, within: float = 30.0) -> int:
        """SIGTERM, as a platform stops a process: it finishes its work and exits; returns
        its exit code."""
        return await self._end(signal.SIGTERM, within)

    async def kill(self) -> int:
        """SIGKILL: the process dies on the spot, as in a crash or an OOM kill."""
        return await self._end(signal.SIGKILL, 10.0)

    async def _end(self, sig: signal.Signals, within: float) -> int:
        assert self.process is not None, "the process was not started"
        if self.process.returncode is None:
            self.process.send_signal(sig)
        code = await asyncio.wait_for(self.process.wait(), within)
        await self.close()
        return code

    async def close(self) -> None:
        """Kill the process if it still runs; close the HTTP session and the log."""
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        if not self.http.closed:
            await self.http.close()
        if self._log is not None:
            self._log.close()
            self._log = None


@contextlib.asynccontextmanager
async def served(*, slack: FakeSlack, database_url: str, workdir: Path, github: Any = None,
                 env: dict[str, str] | None = None, name: str = "bot",
                 ) -> AsyncIterator[ServedBot]:
    """A served bot for the block's length; killed at its end if the test did not stop it."""
    bot = ServedBot(slack=slack, database_url=database_url, workdir=workdir, github=github,
                    env=env, name=name)
    try:
        await bot.start()
        yield bot
    finally:
        await bot.close()
