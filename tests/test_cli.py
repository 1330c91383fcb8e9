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

from bot.cli import main
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


async def test_migrate_says_whether_it_created_a_database(tmp_path):
    env = bare_env(tmp_path, DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/cli.db")
    code, out, err = await run(sys.executable, "-m", "bot", "migrate", cwd=tmp_path, env=env)
    assert code == 0, err
    assert out == f"created a new database at {tmp_path}/cli.db; its schema is up to date\n"
    assert (tmp_path / "cli.db").exists()
    code, out, err = await run(sys.executable, "-m", "bot", "migrate", cwd=tmp_path, env=env)
    assert (code, out) == (0, f"the schema of the database at {tmp_path}/cli.db is already "
                              "up to date\n"), err


async def test_migrate_names_an_empty_database_it_gave_a_schema(tmp_path, database_url):
    (tmp_path / "test.db").touch()  # on SQLite, a file that is there but empty
    env = bare_env(tmp_path, DATABASE_URL=database_url)
    code, out, err = await run(sys.executable, "-m", "bot", "migrate", cwd=tmp_path, env=env)
    assert code == 0, err
    assert out.startswith("created the Changebot schema in the database at "), out


READ_ONLY = [("audit", "verify"), ("evidence", "--from", "2026-11-01", "--to", "2026-11-30"),
             ("metrics", "--from", "2026-11-01", "--to", "2026-11-30")]


@pytest.mark.parametrize("command", READ_ONLY, ids=lambda c: c[0])
async def test_a_read_only_command_without_a_database_says_so_in_one_line_and_creates_nothing(
    tmp_path, command
):
    code, out, err = await run(sys.executable, "-m", "bot", *command, cwd=tmp_path,
                               env=bare_env(tmp_path))
    assert code == 2
    assert out == ""
    assert len(err.splitlines()) == 1 and err.startswith(f"changebot {command[0]}")
    assert f"no database at {tmp_path}/changebot.db" in err or (
        "no database at changebot.db (DATABASE_URL)" in err)  # audit verify says it its way
    assert list(tmp_path.iterdir()) == []


async def test_the_answer_says_how_to_get_a_database(tmp_path):
    code, _, err = await run(sys.executable, "-m", "bot", *READ_ONLY[1], cwd=tmp_path,
                             env=bare_env(tmp_path))
    assert code == 2
    assert err == (f"changebot evidence: no database at {tmp_path}/changebot.db: set "
                   "DATABASE_URL to the bot's database (or run `changebot migrate` to create an "
                   "empty one)\n")


async def test_beside_a_playground_database_the_answer_says_how_to_read_it(tmp_path):
    (tmp_path / "playground.db").touch()
    code, _, err = await run(sys.executable, "-m", "bot", *READ_ONLY[1], cwd=tmp_path,
                             env=bare_env(tmp_path))
    assert code == 2
    assert err.endswith("to read the playground's, set "
                        "DATABASE_URL=sqlite+aiosqlite:///playground.db\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["playground.db"]


@pytest.mark.parametrize("command", READ_ONLY, ids=lambda c: c[0])
async def test_a_read_only_command_on_a_database_without_schema_says_to_migrate(
    tmp_path, database_url, command
):
    (tmp_path / "test.db").touch()
    env = bare_env(tmp_path, DATABASE_URL=database_url)
    code, out, err = await run(sys.executable, "-m", "bot", *command, cwd=tmp_path, env=env)
    assert (code, out) == (2, "")
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "has no Changebot schema: run `changebot migrate`" in err, err

    assert (await run(sys.executable, "-m", "bot", "migrate", cwd=tmp_path, env=env))[0] == 0
    code, out, err = await run(sys.executable, "-m", "bot", *command, cwd=tmp_path, env=env)
    assert code == 0, err


@pytest.mark.parametrize("command", READ_ONLY, ids=lambda c: c[0])
async def test_an_unreachable_database_is_one_line_too(tmp_path, command):
    url = f"postgresql+asyncpg://nobody:s3cret@127.0.0.1:{free_port()}/x"
    code, out, err = await run(sys.executable, "-m", "bot", *command, cwd=tmp_path,
                               env=bare_env(tmp_path, DATABASE_URL=url))
    assert (code, out) == (2, "")
    assert len(err.splitlines()) == 1 and "Connect call failed" in err, err
    assert "s3cret" not in err


@pytest.mark.parametrize("command", [
    ["serve"], ["socket"], ["migrate"], ["playground"], ["audit"], ["audit", "verify"],
    ["evidence"], ["metrics"],
])
def test_every_subcommand_help_says_what_it_does(command, capsys):
    with pytest.raises(SystemExit) as done:
        main([*command, "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    usage, description = text.split("\n\n")[:2]
    assert usage.startswith(f"usage: changebot {' '.join(command)}")
    assert len(description.split()) >= 8, text
    if "--host" in usage:
        host = text[text.rindex("--host HOST"):].split("\n  -")[0]
        assert "the address to listen on" in host, host


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
