"""The command line as a deployment meets it: real processes, real ports, real signals."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import sys
from pathlib import Path

import aiohttp
import pytest

from bot.playground.standin.workspace import CHANGES, ENGINEERING, SECURITY_GROUP, TECH_LEADS_GROUP

ROOT = Path(__file__).resolve().parents[1]
CONSOLE_SCRIPT = shutil.which("changebot", path=str(Path(sys.executable).parent))

REQUIRED = ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "CHANGEBOT_CHANNELS__CHANGES",
            "CHANGEBOT_CHANNELS__ENGINEERING", "CHANGEBOT_GROUPS__SECURITY",
            "CHANGEBOT_GROUPS__TECH_LEADS"]


def bare_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """Only what a process needs to run, none of the developer's Slack or policy settings."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "CHANGEBOT_", "GITHUB_", "DATABASE_URL", "PORT"))}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


async def run(*args: str, cwd: Path, env: dict[str, str]):
    process = await asyncio.create_subprocess_exec(
        *args, cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode, out.decode(), err.decode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("entry", ["module", "console script"])
async def test_serve_with_nothing_set_exits_2_naming_every_missing_setting(tmp_path, entry):
    if entry == "console script" and CONSOLE_SCRIPT is None:
        pytest.skip("the changebot console script is installed by `pip install -e .`")
    command = [CONSOLE_SCRIPT] if entry == "console script" else [sys.executable, "-m", "bot"]
    code, out, err = await run(*command, "serve", cwd=tmp_path, env=bare_env(tmp_path))
    assert code == 2
    for name in REQUIRED:
        assert name in err, f"{name} not named in:\n{err}"
    assert "Traceback" not in err + out
    assert len([line for line in err.splitlines() if line.startswith("  - ")]) == len(REQUIRED)


async def test_an_invalid_setting_is_named_with_how_to_fix_it(tmp_path):
    env = bare_env(tmp_path, CHANGEBOT_WINDOWS__MONITORING="half an hour",
                   DATABASE_URL="postgres://db/changebot")
    code, _, err = await run(sys.executable, "-m", "bot", "serve", cwd=tmp_path, env=env)
    assert code == 2
    assert "(CHANGEBOT_WINDOWS__MONITORING): 'half an hour' is not a duration" in err
    assert "DATABASE_URL: use the asyncpg driver" in err
    assert "SLACK_BOT_TOKEN: missing" in err  # one bad setting does not hide the others
    assert "Traceback" not in err


async def test_migrate_creates_the_schema(tmp_path):
    env = bare_env(tmp_path, DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/cli.db")
    code, out, err = await run(sys.executable, "-m", "bot", "migrate", cwd=tmp_path, env=env)
    assert code == 0, err
    assert "up to date" in out
    assert (tmp_path / "cli.db").exists()


async def test_serve_answers_healthz_and_stops_cleanly_on_sigterm(tmp_path, slack):
    port = free_port()
    env = bare_env(
        tmp_path, SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET="s3cret",
        SLACK_API_URL=slack.base_url, DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/bot.db",
        CHANGEBOT_CHANNELS__CHANGES=CHANGES, CHANGEBOT_CHANNELS__ENGINEERING=ENGINEERING,
        CHANGEBOT_GROUPS__SECURITY=SECURITY_GROUP, CHANGEBOT_GROUPS__TECH_LEADS=TECH_LEADS_GROUP,
        PORT=str(port),
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve", cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        status = None
        async with aiohttp.ClientSession() as http:
            for _ in range(200):
                try:
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as reply:
                        status = reply.status
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
        assert status == 200
        process.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(process.communicate(), 20)
        assert process.returncode == 0, err.decode()
        assert "Traceback" not in err.decode()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
