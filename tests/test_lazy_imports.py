"""What `changebot serve` loads at start: the libraries only some installations use wait
until first needed, to keep the idle process small (issue 15's ≤ 120 MB)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# PyGithub with requests and cryptography (about 30 MB) is only for a bot with GitHub
# configured; matplotlib only draws the /change metrics chart; Alembic only migrates a
# database that is not at the head (storage.db.up_to_date).
ON_FIRST_USE = ["github", "requests", "cryptography", "jwt", "matplotlib", "alembic"]


def loaded_at_start(*modules: str) -> list[str]:
    """Which of ON_FIRST_USE a fresh interpreter holds after importing `modules`."""
    code = (f"import sys, {', '.join(modules)}; "
            f"print(__import__('json').dumps([m for m in {ON_FIRST_USE!r} "
            "if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out)


def test_serving_does_not_load_github_charts_or_migrations_at_start() -> None:
    assert loaded_at_start("bot.cli", "bot.app") == []


def test_the_check_sees_a_library_that_is_loaded() -> None:
    assert "github" in loaded_at_start("bot.app", "bot.github.app_auth")
