"""What the benchmarks that serve the bot as its own process share (`changebot serve`, the
bench's helper processes); the bot served in this process is bench/serving.py's."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.playground.standin.workspace import (  # noqa: E402
    CHANGES,
    ENGINEERING,
    SECURITY_GROUP,
    TECH_LEADS_GROUP,
)
from tests.harness import SIGNING_SECRET  # noqa: E402

# The demo policy of the playground and the tests, as `changebot serve` reads it.
POLICY_ENV = {
    "CHANGEBOT_CHANNELS__CHANGES": CHANGES,
    "CHANGEBOT_CHANNELS__ENGINEERING": ENGINEERING,
    "CHANGEBOT_GROUPS__SECURITY": SECURITY_GROUP,
    "CHANGEBOT_GROUPS__TECH_LEADS": TECH_LEADS_GROUP,
}


def database_url(folder: str, name: str) -> str:
    """DATABASE_URL when set (PostgreSQL), else a SQLite file `name` in `folder`."""
    return os.environ.get("DATABASE_URL") or f"sqlite+aiosqlite:///{folder}/{name}.db"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mb(pid: int) -> float:
    """The resident memory of process `pid` (VmRSS), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise LookupError(f"no VmRSS for process {pid}")


def cpu_ticks(pid: int) -> int:
    """User and system CPU time process `pid` used so far, in clock ticks."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


async def until_idle(pid: int, *, quiet: float = 0.2, limit: float = 20.0) -> None:
    """Wait until process `pid` used no CPU for `quiet` seconds (its work after the answers
    is over), `limit` at most."""
    deadline = time.monotonic() + limit
    before = cpu_ticks(pid)
    while time.monotonic() < deadline:
        await asyncio.sleep(quiet)
        now = cpu_ticks(pid)
        if now - before <= 1:
            return
        before = now


async def wait_http(url: str, process: subprocess.Popen, *, within: float = 60.0) -> float:
    """Seconds until GET `url` answers 200 (polled every 10 ms); the process must live."""
    started = time.perf_counter()
    async with aiohttp.ClientSession() as http:
        while time.perf_counter() - started < within:
            if process.poll() is not None:
                raise RuntimeError(f"{process.args} exited with {process.returncode}")
            try:
                async with http.get(url) as reply:
                    if reply.status == 200:
                        return time.perf_counter() - started
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.01)
    raise TimeoutError(f"{url} did not answer 200 within {within} s")


def changebot_env(slack_api_url: str, db_url: str) -> dict[str, str]:
    """The environment of a `changebot serve` on the stand-in with the demo policy."""
    return {**os.environ, **POLICY_ENV, "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack_api_url,
            "DATABASE_URL": db_url}


async def start_changebot(port: int, env: dict[str, str], folder: str
                          ) -> tuple[subprocess.Popen, float]:
    """`changebot serve` in `folder` (no changebot.toml or .env there); returns the process
    and the seconds from its start until /healthz answers 200."""
    started = time.perf_counter()
    process = spawn("bot", "serve", "--host", "127.0.0.1", "--port", str(port), cwd=folder,
                    env=env, log=Path(folder) / "changebot.log")
    await wait_http(f"http://127.0.0.1:{port}/healthz", process)
    return process, time.perf_counter() - started


def spawn(module: str, *args: str, cwd: str | Path = ROOT, env: dict[str, str] | None = None,
          log: Path | None = None, pipe: bool = False) -> subprocess.Popen:
    """`python -m module args…`; its stderr appended to `log` (else dropped), its stdout
    piped when asked."""
    with open(log or os.devnull, "ab") as errors:
        return subprocess.Popen([sys.executable, "-m", module, *args], cwd=cwd, env=env,
                                stdout=subprocess.PIPE if pipe else subprocess.DEVNULL,
                                stderr=errors, text=True)


async def until_stopped() -> None:
    """Until this process gets SIGTERM or SIGINT (the bench's helper processes)."""
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait()


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=35)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
