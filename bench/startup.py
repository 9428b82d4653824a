"""Start-up of the console: how long a fresh ``python -m bot console`` process takes to
answer its first command, and what each heavy dependency costs to import; and how long
``python -m bot parse-date`` takes to print a date.

    python bench/startup.py [--runs 5] [--only parse-date]

Each figure is the median of fresh processes, wall-clock time and CPU time (user + system,
which a machine busy with other work inflates less). Python's bytecode cache is used, as in
an installed deployment: when the environment turns it off (PYTHONDONTWRITEBYTECODE), the
runs keep it under a temporary PYTHONPYCACHEPREFIX, warmed by a first run that is not
counted.
"""

from __future__ import annotations

import argparse
import os
import resource
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


def timed_run(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall-clock and CPU seconds of one fresh process, and what it printed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu, out.stdout.strip()


def parse_date_start(runs: int) -> None:
    with tempfile.TemporaryDirectory() as cache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env.setdefault("PYTHONPYCACHEPREFIX", cache)
        command = [sys.executable, "-m", "bot", "parse-date", "vendredi prochain 14h"]
        command += ["--now", "2026-11-24T10:00"]
        timed_run(command, env)  # fills the bytecode cache
        baseline = [timed_run([sys.executable, "-c", "pass"], env) for _ in range(runs)]
        results = [timed_run(command, env) for _ in range(runs)]
    if results[0][2] != "2026-12-04T14:00:00+01:00":
        raise SystemExit(f"unexpected answer: {results[0][2]!r}")
    walls = [w for w, _, _ in results]
    cpus = [c for _, c, _ in results]
    print(
        f"python -m bot parse-date, a fresh process ({runs} runs): wall median "
        f"{statistics.median(walls):.3f} s, max {max(walls):.3f} s; CPU median "
        f"{statistics.median(cpus):.3f} s (goal: under 0.5 s)"
    )
    print(
        f"  an empty interpreter on this machine now: wall median "
        f"{statistics.median(w for w, _, _ in baseline):.3f} s, CPU median "
        f"{statistics.median(c for _, c, _ in baseline):.3f} s"
    )
    heavy = subprocess.run(
        [sys.executable, "-X", "importtime", *command[1:]],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=True,
    ).stderr
    loaded = {line.split("|")[-1].strip() for line in heavy.splitlines() if "|" in line}
    print(
        "  heavy modules it imports: "
        + (", ".join(sorted(loaded & set(HEAVY) - {"commands.registry"})) or "none")
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", choices=["parse-date"], help="measure this alone")
    args = parser.parse_args()
    parse_date_start(max(args.runs, 5))
    if args.only == "parse-date":
        return
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
