"""Start-up of the console: how long a fresh ``python -m bot console`` process takes to
answer its first command, and what each heavy dependency costs to import.

    python bench/startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = [
    "sqlalchemy",
    "sqlmodel",
    "alembic",
    "jinja2",
    "babel.dates",
    "babel.numbers",
    "dateparser",
    "apscheduler",
    "slack_bolt",
    "slack_sdk",
    "starlette",
    "uvicorn",
    "httpx",
    "icalendar",
    "holidays",
    "openpyxl",
    "matplotlib",
    "psycopg",
    "commands.registry",
    "bot.console",
]


def import_time(module: str) -> float:
    """Seconds to import ``module`` alone in a fresh interpreter."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    return float(out.stdout.strip())


def first_answer(db_dir: Path) -> float:
    """Seconds from process start to the first reply printed, on an already migrated database."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db_dir / 'coordo.db'}"}
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "console", "--demo"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    proc.stdin.write("/labo voir\n")
    proc.stdin.flush()
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - start
    proc.stdin.close()
    proc.wait(timeout=30)
    if "Budget participatif" not in line:
        raise SystemExit(f"unexpected first line: {line!r}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print("Import time of each dependency, alone, in a fresh interpreter (median of 3):")
    for module in HEAVY:
        try:
            t = statistics.median(import_time(module) for _ in range(3))
        except subprocess.CalledProcessError:
            print(f"  {module:22s} (not importable)")
            continue
        print(f"  {module:22s} {t * 1000:7.1f} ms")
    with tempfile.TemporaryDirectory() as tmp:
        cold = first_answer(Path(tmp))  # creates and seeds the database
        warm = [first_answer(Path(tmp)) for _ in range(args.runs)]
    print(
        f"\nFirst answer of a fresh console process, new database (migrate + demo seed): {cold:.2f} s"
    )
    print(
        f"First answer of a fresh console process, existing database: median {statistics.median(warm):.2f} s, "
        f"max {max(warm):.2f} s over {args.runs} runs (goal: under 1.0 s)"
    )


if __name__ == "__main__":
    main()
