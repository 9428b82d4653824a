"""The scan tick over labs of growing size, on SQLite and PostgreSQL.

For each database and each size (experiments, with ``--milestones`` milestones and
``--meetings`` meetings each), prints the time of the first tick (which queues every
ping due at that moment, renders and inserts them; and, its cost per notification
queued) and of the ticks after it (the steady state: everything due is queued already,
which is what a scan finds nearly every minute), median of several. Times are wall and
CPU of this process (the database's own CPU, on PostgreSQL, is in the wall time only).

    python bench/bench_scan.py [--sizes 100,2000,20000] [--milestones 100] [--meetings 10]
        [--pg postgresql://postgres@127.0.0.1:5432/test] [--no-sqlite]

SQLite runs on a fresh file; PostgreSQL on a scratch database created next to the one
``--pg`` names, and dropped after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, SQLModel, select

from bench.reminders_lab import NOW, build_lab
from commands.services.digests import queue_digests
from commands.services.meeting_reminders import scan_meetings
from commands.services.payment_clock import queue_invoice_pings
from commands.services.scan import queue_milestone_pings, scan
from models import Milestone
from models.db import make_engine


@dataclass
class Figures:
    database: str
    experiments: int
    milestones: int
    build_s: float
    first_ms: float
    first_cpu_ms: float
    queued: int
    steady_ms: float
    steady_cpu_ms: float
    parts: str


def measure(url: str, experiments: int, milestones: int, meetings: int, ticks: int) -> Figures:
    engine = make_engine(url)
    SQLModel.metadata.drop_all(engine)
    SQLModel.metadata.create_all(engine)
    started = time.perf_counter()
    build_lab(engine, experiments=experiments, milestones=milestones, meetings=meetings)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    built = time.perf_counter() - started
    with Session(engine) as session:
        stones = session.exec(select(func.count()).select_from(Milestone)).one()

    def tick() -> tuple[float, float, int]:
        """A scan as the worker runs it: passes, each committed, until none is left."""
        start, cpu = time.perf_counter(), time.process_time()
        queued, more = 0, True
        while more:
            with Session(engine) as session:
                report = scan(session, NOW)
                session.commit()
            queued, more = queued + report.queued, report.more
        return time.perf_counter() - start, time.process_time() - cpu, queued

    first, first_cpu, queued = tick()
    steady, cpus = [], []
    for _ in range(ticks):
        elapsed, cpu, again = tick()
        assert again == 0, f"a repeated scan queued {again} more"
        steady.append(elapsed)
        cpus.append(cpu)
    with Session(engine) as session:
        parts = [
            ("milestones", lambda: queue_milestone_pings(session, NOW)),
            ("digests", lambda: queue_digests(session, NOW)),
            ("invoices", lambda: queue_invoice_pings(session, NOW)),
            ("meetings", lambda: scan_meetings(session, NOW)),
        ]
        shares = []
        for name, part in parts:
            cpu = time.process_time()
            for _ in range(3):
                part()
            shares.append(f"{name} {(time.process_time() - cpu) / 3 * 1000:.1f}")
        session.rollback()
    engine.dispose()
    return Figures(
        engine.dialect.name,
        experiments,
        stones,
        built,
        first * 1000,
        first_cpu * 1000,
        queued,
        statistics.median(steady) * 1000,
        statistics.median(cpus) * 1000,
        ", ".join(shares),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,2000,20000")
    parser.add_argument("--milestones", type=int, default=100)
    parser.add_argument("--meetings", type=int, default=10)
    parser.add_argument("--ticks", type=int, default=10)
    parser.add_argument("--pg", help="a PostgreSQL server's URL (a scratch database is made)")
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    targets: list[tuple[str, str, str | None]] = []
    if not args.no_sqlite:
        targets.append(("sqlite", f"sqlite:///{tempfile.mkdtemp()}/bench.db", None))
    admin = None
    if args.pg:
        base = make_url(args.pg)
        name = f"coordo_bench_{uuid.uuid4().hex[:8]}"
        admin = make_engine(args.pg).execution_options(isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        targets.append(("postgresql", base.set(database=name).render_as_string(False), name))
    results: list[Figures] = []
    try:
        for _, url, _ in targets:
            for size in sizes:
                figures = measure(url, size, args.milestones, args.meetings, args.ticks)
                results.append(figures)
                print(
                    f"{figures.database} {size} experiments ({figures.milestones} milestones, "
                    f"built in {figures.build_s:.0f} s): first tick {figures.first_ms:.0f} ms "
                    f"wall, {figures.first_cpu_ms:.0f} ms CPU, {figures.queued} queued; steady "
                    f"{figures.steady_ms:.1f} ms wall, {figures.steady_cpu_ms:.1f} ms CPU "
                    f"(CPU ms by part: {figures.parts})",
                    flush=True,
                )
    finally:
        if admin is not None:
            with admin.connect() as conn:
                for _, _, name in targets:
                    if name:
                        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            admin.dispose()
    print()
    print(
        "| database | experiments | steady tick wall (CPU) | first tick wall (CPU) | queued "
        "| first tick CPU per notification |"
    )
    print("|---|---|---|---|---|---|")
    for f in results:
        per = f.first_cpu_ms / f.queued if f.queued else 0.0
        print(
            f"| {f.database} | {f.experiments:,} | {f.steady_ms:.1f} ms ({f.steady_cpu_ms:.1f}) "
            f"| {f.first_ms:,.0f} ms ({f.first_cpu_ms:,.0f}) | {f.queued:,} | {per:.2f} ms |"
        )
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
