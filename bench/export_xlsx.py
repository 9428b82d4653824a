"""``/depense export xlsx`` of an experiment with 50,000 expenses: time and peak memory.

    PYTHONPATH=. python bench/export_xlsx.py [--db postgresql://…] [--expenses 50000] [--csv]

The parent seeds the database, then runs the export twice, each time in a fresh child
process that only opens the database and runs the command (so the seeding's memory does
not count):

1. timed: wall and CPU time of the whole command (query streamed in chunks, workbook
   written in openpyxl's write-only mode, file bytes in the reply), then the process's
   peak resident memory (``resource.getrusage(RUSAGE_SELF).ru_maxrss``: interpreter,
   SQLAlchemy, openpyxl and the export together) and its resident memory just before the
   export (``VmRSS``), so the export's own share shows;
2. traced: the same with ``tracemalloc``, whose peak is what Python allocated during the
   export (slower, so not timed).

The parent then opens the file and counts its rows.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from _expenses_lab import NOW, database, seed
from sqlalchemy import func
from sqlmodel import Session, select

from bot.console import Console
from commands.registry import build_router
from models import Expense
from models.db import make_engine


def rss_now_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def child(url: str, mode: str, command: str) -> None:
    engine = make_engine(url)
    console = Console(engine, build_router(), user="camille", channel="bondy", now=NOW)
    # Warm-up on a small experiment: modules imported, templates compiled, connection open.
    console.router.dispatch(engine, console.invocation("depense", command + " expe:montreuil-ac"))
    invocation = console.invocation("depense", command)
    before_kb = rss_now_kb()
    if mode == "trace":
        tracemalloc.start()
    start, start_cpu = time.perf_counter(), time.process_time()
    reply = console.router.dispatch(engine, invocation)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    traced = tracemalloc.get_traced_memory()[1] if mode == "trace" else 0
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    file = reply.files[0]
    out = Path(os.environ["EXPORT_OUT"])
    out.write_bytes(file.content)
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "cpu": cpu,
                "rss_before_mb": before_kb / 1024,
                "peak_rss_mb": peak_kb / 1024,
                "traced_peak_mb": traced / 2**20,
                "bytes": len(file.content),
                "text": reply.text,
            }
        )
    )


def run_child(url: str, mode: str, command: str, out: Path) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, __file__, "--child", url, "--mode", mode, "--command", command],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "EXPORT_OUT": str(out)},
    )
    if result.returncode != 0:
        raise SystemExit(result.stderr)
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def count_rows(path: Path, csv: bool) -> int:
    if csv:
        return path.read_bytes().count(b"\r\n") - 1
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(path.read_bytes()), read_only=True)
    return sum(1 for _ in book.worksheets[0].iter_rows()) - 3  # title, header and total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", help="a PostgreSQL URL (default: a SQLite file)")
    parser.add_argument("--expenses", type=int, default=50_000)
    parser.add_argument("--csv", action="store_true", help="the CSV export instead")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="time", help=argparse.SUPPRESS)
    parser.add_argument("--command", default="export xlsx", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.mode, args.command)
        return
    command = "export csv" if args.csv else "export xlsx"
    with tempfile.TemporaryDirectory() as tmp, database(args.db, Path(tmp)) as url:
        engine = seed(url, args.expenses)
        with Session(engine) as session:
            total = session.exec(select(func.count()).select_from(Expense)).one()
        engine.dispose()
        out = Path(tmp) / "export.bin"
        timed = run_child(url, "time", command, out)
        traced = run_child(url, "trace", command, out)
        rows = count_rows(out, args.csv)
    backend = (args.db or "sqlite").split(":")[0]
    print(f"/depense {command} on {backend}: {total:,} expenses in the database")
    print(f"  {timed['text']}")
    print(f"  rows in the file: {rows:,}; file size {int(timed['bytes']) / 2**20:.1f} MB")  # type: ignore[call-overload]
    print(
        f"  time: {timed['seconds']:.2f} s wall, {timed['cpu']:.2f} s CPU of the process "
        "(goal: under 5 s)"
    )
    print(
        f"  peak RSS of the whole process (getrusage ru_maxrss): {timed['peak_rss_mb']:.0f} MB; "
        f"RSS just before the export: {timed['rss_before_mb']:.0f} MB (goal: under 200 MB)"
    )
    print(
        f"  Python allocations during the export, peak (tracemalloc): {traced['traced_peak_mb']:.1f} MB"
    )
    if hasattr(os, "getloadavg"):
        print(f"  load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
