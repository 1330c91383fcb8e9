"""Every figure of "fast at scale" beside its target, in one run:

    python -m bench                  # SQLite (temporary files)
    DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1/bench python -m bench
    python -m bench --quick          # small sizes: checks that it all runs, in a minute
    python -m bench --parts acks     # some parts only: burst, lone, lists, acks

Parts: the burst of monitoring windows with a card submitted during it, a lone reminder,
/change list and App Home over a large seeded database (bench.at_scale), and the ack
latency against a bare Bolt app with start-up and idle memory (bench.acks). The
PostgreSQL database given is emptied.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time

from bench import acks, at_scale, timeliness
from bench.served import database_url
from bench.serving import database

# (figure, its key in the parts' results, target, how it is shown)
TABLE = [
    ("{windows:,} windows ending at once, Slack 100 ms: all sent", "windows all sent (s)",
     60.0, "{:.1f} s"),
    ("  ... sent twice", "windows sent twice", 0, "{:.0f}"),
    ("a card submitted during that burst", "card during the burst (s)", 1.0, "{:.2f} s"),
    ("a lone reminder, late by (worst)", "lone reminder late (s)", 1.0, "{:.2f} s"),
    ("/change list p95, {changes:,} changes, {events:,} events", "/change list p95 (ms)",
     50.0, "{:.0f} ms"),
    ("App Home p95, same database", "App Home p95 (ms)", 50.0, "{:.0f} ms"),
    ("ack p99 /change help / bare Bolt", "/change help ack ratio", 1.3, "{:.2f}x"),
    ("ack p99 /change new / bare Bolt", "/change new ack ratio", 1.3, "{:.2f}x"),
    ("ack p99 card button / bare Bolt", "card button ack ratio", 1.3, "{:.2f}x"),
    ("idle RSS of `changebot serve`", "idle RSS (MB)", 120.0, "{:.0f} MB"),
    ("start-up to /healthz 200", "start-up (s)", 2.0, "{:.2f} s"),
    ("  ... on a new database (migrating it)", "start-up, new database (s)", 2.0, "{:.2f} s"),
]
# Shown beside the table, no target of their own.
ALSO = ["bare Bolt ack p99 (ms)", "/change help ack p99 (ms)", "/change new ack p99 (ms)",
        "card button ack p99 (ms)", "RSS after the rounds (MB)", "start-up CPU (s)",
        "seeding (s)"]


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} CPUs"


async def run(args: argparse.Namespace) -> dict[str, float]:
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for part in [p for p in ("burst", "lone", "lists") if p in args.parts]:
            print(f"-- {part}", flush=True)
            async with database(part, empty_first=True) as db:
                if part == "burst":
                    figures |= await at_scale.burst(db, args.windows)
                elif part == "lone":
                    late = await timeliness.lone_reminders(db, count=args.lone)
                    figures["lone reminder late (s)"] = max(late)
                    print("lone reminders late by " + ", ".join(f"{s:.3f} s" for s in late))
                else:
                    figures |= await at_scale.lists(db, args.changes, args.open, args.events,
                                                    args.runs)
        if "acks" not in args.parts:
            return figures
        print("-- acks, start-up, memory", flush=True)
        figures |= await acks.measure(database_url(tmp, "acks"), tmp, rounds=args.rounds,
                                      concurrency=args.concurrency)
    return figures


def report(figures: dict[str, float], args: argparse.Namespace) -> bool:
    """Print the table; True when every figure is at or under its target."""
    where = "PostgreSQL" if os.environ.get("DATABASE_URL", "").startswith("postgres") \
        else "SQLite"
    print(f"\nFast at scale on {where}; {load()}")
    print(f"{'figure':<58} {'measured':>10} {'target':>10}")
    met = True
    for label, key, target, shape in TABLE:
        if key not in figures:
            continue
        value = figures[key]
        ok = value <= target
        met &= ok
        print(f"{label.format(**vars(args)):<58} {shape.format(value):>10} "
              f"{'≤ ' + shape.format(target):>10} {'ok' if ok else 'OVER'}")
    print("also: " + "; ".join(f"{key} {figures[key]:.1f}" for key in ALSO if key in figures))
    return met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--parts", default="burst,lone,lists,acks",
                        help="which parts to run (comma-separated)")
    parser.add_argument("--windows", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=100_000)
    parser.add_argument("--open", type=int, default=200)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=50, help="list/App Home repetitions")
    parser.add_argument("--lone", type=int, default=5, help="lone reminders")
    parser.add_argument("--rounds", type=int, default=40, help="ack rounds per target")
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    args.parts = set(args.parts.split(","))
    if args.quick:
        args.windows, args.changes, args.events, args.open = 20, 1000, 5000, 20
        args.runs, args.lone, args.rounds, args.concurrency = 5, 1, 1, 10
    started = time.perf_counter()
    met = report(asyncio.run(run(args)), args)
    print(f"({time.perf_counter() - started:.0f} s in all)")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
