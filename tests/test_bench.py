"""`python -m bench --quick` runs every part of the benchmark and prints every figure of its
table (the figures themselves are the benchmark's business: tests never time)."""

import os
import subprocess
import sys
from pathlib import Path

from bench.__main__ import TABLE

ROOT = Path(__file__).resolve().parents[1]


def test_the_bench_prints_every_figure_beside_its_target(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}  # SQLite files
    env["TMPDIR"] = str(tmp_path)
    done = subprocess.run([sys.executable, "-m", "bench", "--quick"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=280)
    assert done.returncode in (0, 1), done.stderr[-3000:]  # 1: a figure over its target
    table = done.stdout.split("Fast at scale on SQLite", 1)[1]
    for label, _key, _target, _shape in TABLE:
        shown = label.format(windows=20, changes=1000, events=5000)
        line = next((row for row in table.splitlines() if row.startswith(shown)), None)
        assert line is not None, f"no line for {shown!r} in\n{table}"
        assert line.rstrip().endswith(("ok", "OVER")), line
