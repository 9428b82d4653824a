"""``/depense budget`` on an experiment with 50,000 expenses: time and number of queries.

    PYTHONPATH=. python bench/budget_view.py [--db postgresql://…] [--expenses 50000] [--rounds 50]

The whole command as the console runs it (workspace and person, experiment, permission,
the budget's two queries, Jinja2 rendering), first on the demo lab as it is (7 expenses on
the experiment), then with the expenses added. Queries are counted with a SQLAlchemy
``before_cursor_execute`` listener; the count must not grow with the expenses. Wall time
and this process's CPU time are both printed: on a busy machine the wall time mostly
measures waiting for a CPU (on SQLite the query runs in this process, so its CPU time is
the work done; on PostgreSQL the server's share is not in it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _expenses_lab import NOW, database, seed
from sqlalchemy import Engine, event

from bot.console import Console
from commands.registry import build_router

COMMAND = "/depense budget"


def measure(engine: Engine, rounds: int) -> tuple[list[float], list[float], list[str], str]:
    console = Console(engine, build_router(), user="camille", channel="bondy", now=NOW)
    statements: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    output = console.handle(COMMAND)  # warm-up: templates compiled, connection opened
    event.listen(engine, "before_cursor_execute", count)
    latencies = []
    cpu = []
    per_command: list[str] = []
    for _ in range(rounds):
        statements.clear()
        start, start_cpu = time.perf_counter(), time.process_time()
        output = console.handle(COMMAND)
        latencies.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        per_command = list(statements)
    event.remove(engine, "before_cursor_execute", count)
    if "Total" not in output:
        raise SystemExit(f"no budget in the reply: {output!r}")
    return sorted(latencies), sorted(cpu), per_command, output


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", help="a PostgreSQL URL (default: a SQLite file)")
    parser.add_argument("--expenses", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = []
        for n, label in ((0, "demo lab"), (args.expenses, f"+{args.expenses:,} expenses")):
            folder = Path(tmp) / str(n)
            folder.mkdir()
            with database(args.db, folder) as url:
                engine = seed(url, n)
                latencies, cpu, statements, output = measure(engine, args.rounds)
                engine.dispose()
            results.append((label, latencies, cpu, statements))
        backend = (args.db or "sqlite").split(":")[0]
        print(f"{COMMAND} on {backend}, {args.rounds} rounds after a warm-up")
        for label, latencies, cpu, statements in results:
            on_expense = sum(" expense" in s.lower() for s in statements)
            print(
                f"  {label:>18}: p50 {statistics.median(latencies) * 1000:6.2f} ms, "
                f"p99 {latencies[int(len(latencies) * 0.99) - 1] * 1000:6.2f} ms "
                f"(CPU of this process: p50 {statistics.median(cpu) * 1000:6.2f} ms), "
                f"{len(statements)} queries ({on_expense} on the expense table)"
            )
        counts = {len(statements) for *_, statements in results}
        print(
            "  query count independent of the number of expenses: "
            + ("yes" if len(counts) == 1 else "NO")
        )
        print("  goal: under 100 ms with 50,000 expenses")
        if hasattr(os, "getloadavg"):
            print(
                f"  load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
            )
        print()
        print(output.splitlines()[-1])
    sys.exit(0 if len(counts) == 1 else 1)


if __name__ == "__main__":
    main()
