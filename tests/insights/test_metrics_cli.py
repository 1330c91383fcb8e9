"""`changebot metrics --from … --to … [--by …] [--format …]` on the seeded month."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import sys
import tempfile
from pathlib import Path

import pytest

from bot.cli import main
from tests.insights.seed import seed_month

ROOT = Path(__file__).resolve().parents[2]


async def cli(db, *args: str) -> tuple[int, str, str]:
    """`python -m bot ...` in a clean directory, on the test's database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHANGEBOT_", "SLACK_"))}
    env.update(DATABASE_URL=db.url, PYTHONPATH=str(ROOT), LOG_LEVEL="WARNING")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "metrics", *args, env=env, cwd=tempfile.gettempdir(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()
    return process.returncode or 0, stdout.decode(), stderr.decode()


NOVEMBER = ("--from", "2026-11-01", "--to", "2026-11-30")


async def test_the_month_in_markdown_json_and_csv(db):
    await seed_month(db)

    code, out, err = await cli(db, *NOVEMBER)
    assert code == 0, err
    assert out.startswith("# DORA metrics: 2026-11-01 to 2026-11-30\n")
    assert "https://dora.dev/guides/dora-metrics/" in out
    assert "Accelerate State of DevOps Report 2023 (DORA)" in out
    # The 30 days before: CHG-1 alone, 2 d 3 h from its proposal to production.
    assert "| Change lead time (median) | 2 d | high (between one day and one week) | better |" \
        in out
    assert "| Change fail rate | 29% (2 of 7) | low (more than 15%; the report's low " \
        "cluster: 64%) | worse |" in out
    assert "| Failed deployment recovery time (median) | 1 h 15 min | high (less than one " \
        "day) | — |" in out
    assert "| Deployment rework rate | 14% (1 of 7) | — | worse |" in out

    code, out, err = await cli(db, *NOVEMBER, "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["period"]["start"] == "2026-11-01T00:00:00+00:00"
    assert data["previous_period"]["start"] == "2026-10-02T00:00:00+00:00"
    figures = data["groups"]["all"]
    assert figures["lead_time"]["value"] == 48 * 3600
    assert figures["deployment_frequency"]["value"] == 7 / (30 / 7)
    assert figures["deployment_frequency"]["cluster"] == "high"
    assert figures["change_fail_rate"]["value"] == 2 / 7
    assert figures["recovery_time"]["value"] == 75 * 60
    assert figures["rework_rate"]["value"] == 1 / 7

    code, out, err = await cli(db, *NOVEMBER, "--by", "repo", "--format", "csv")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    frequency = {r["group"]: r["shown"] for r in rows if r["metric"] == "deployment_frequency"}
    assert frequency == {"(no repository)": "1 deployment(s), 0.2 per week",
                         "acme/api": "2 deployment(s), 0.5 per week",
                         "acme/web": "4 deployment(s), 0.9 per week"}


async def test_by_team_in_markdown_names_each_group(db):
    await seed_month(db)
    code, out, err = await cli(db, *NOVEMBER, "--by", "team")
    assert code == 0, err
    assert "## Team: acme\n" in out and "## Team: (no repository)\n" in out


async def test_a_month_without_deployments_says_so(db):
    code, out, err = await cli(db, "--from", "2026-01-01", "--to", "2026-01-31")
    assert code == 0, err
    assert "| Deployment frequency | 0 deployment(s), 0.0 per week | low (less than once " \
        "per month; the report's low cluster: between once per week and once per month) | " \
        "same |" in out
    code, out, err = await cli(db, "--from", "2026-01-01", "--to", "2026-01-31", "--by", "repo")
    assert code == 0, err
    assert "No production deployment in this period." in out


def test_bad_dates_and_groupings_are_explained(monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'none.db'}")
    assert main(["metrics", "--from", "2026-11-30", "--to", "2026-11-01"]) == 2
    assert "the period ends (2026-11-01) before it starts" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["metrics", "--from", "2026-11-01", "--to", "2026-11-30", "--by", "author"])
    assert exited.value.code == 2
    assert "invalid choice: 'author'" in capsys.readouterr().err
    assert not (tmp_path / "none.db").exists()


def test_a_database_without_the_schema_is_explained(monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    assert main(["metrics", "--from", "2026-11-01", "--to", "2026-11-30"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("changebot metrics: no database at ") and len(err.splitlines()) == 1
    assert "`changebot migrate`" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # it only reads: nothing created
