"""The scan tick over a big lab: 500 experiments × 200 milestones × 20 meetings.

The figures of a deployment of many labs: ``--experiments 20000 --milestones 100
--meetings 10`` (and ``--db postgresql://…``); times are wall and CPU of this process
(the database's own CPU, on PostgreSQL, is in the wall time only).

Prints the time of the first tick (which queues every ping due at that moment, renders
and inserts them) and of the ticks after it (the steady state: everything due is queued
already, which is what a scan finds nearly every minute), median and worst of several.

    python bench/bench_scan.py [--db URL] [--experiments 500] [--milestones 200] [--meetings 20]

Without ``--db`` it runs on a fresh SQLite file; ``--db postgresql://…`` on an empty
database (its tables are dropped and created).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func
from sqlmodel import Session, SQLModel, select

from bench.reminders_lab import NOW, build_lab
from commands.services.digests import queue_digests
from commands.services.payment_clock import queue_invoice_pings
from commands.services.scan import meeting_scan, queue_milestone_pings, scan
from models import Milestone, OutboxMessage
from models.db import make_engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db")
    parser.add_argument("--experiments", type=int, default=500)
    parser.add_argument("--milestones", type=int, default=200)
    parser.add_argument("--meetings", type=int, default=20)
    parser.add_argument("--ticks", type=int, default=10)
    args = parser.parse_args()
    url = args.db or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    engine = make_engine(url)
    SQLModel.metadata.drop_all(engine)
    SQLModel.metadata.create_all(engine)
    started = time.perf_counter()
    build_lab(
        engine,
        experiments=args.experiments,
        milestones=args.milestones,
        meetings=args.meetings,
    )
    with Session(engine) as session:
        stones = session.exec(select(func.count()).select_from(Milestone)).one()
    print(
        f"{engine.dialect.name}: lab of {args.experiments} experiments, {stones} milestones, "
        f"{args.experiments * args.meetings} meetings built in {time.perf_counter() - started:.1f} s"
    )

    def tick() -> tuple[float, float, int]:
        with Session(engine) as session:
            start, cpu = time.perf_counter(), time.process_time()
            report = scan(session, NOW)
            session.commit()
            return time.perf_counter() - start, time.process_time() - cpu, report.queued

    first, first_cpu, queued = tick()
    print(
        f"first tick: {first * 1000:.0f} ms wall ({first_cpu * 1000:.0f} ms CPU here), "
        f"queued {queued} notifications"
    )
    steady, cpus = [], []
    for _ in range(args.ticks):
        elapsed, cpu, again = tick()
        assert again == 0, f"a repeated scan queued {again} more"
        steady.append(elapsed)
        cpus.append(cpu)
    with Session(engine) as session:
        rows = session.exec(select(func.count()).select_from(OutboxMessage)).one()
    print(
        f"steady tick ({args.ticks} ticks, nothing new): median "
        f"{statistics.median(steady) * 1000:.0f} ms wall "
        f"({statistics.median(cpus) * 1000:.0f} ms CPU here), best {min(steady) * 1000:.0f} ms, "
        f"worst {max(steady) * 1000:.0f} ms; outbox holds {rows} rows"
    )
    with Session(engine) as session:
        parts = [
            ("milestone pings", lambda: queue_milestone_pings(session, NOW)),
            ("digests", lambda: queue_digests(session, NOW)),
            ("invoice pings", lambda: queue_invoice_pings(session, NOW)),
        ]
        meetings = meeting_scan()
        if meetings is not None:
            parts.append(("meetings' scan", lambda: meetings(session, NOW)))
        shares = []
        for name, part in parts:
            cpu = time.process_time()
            for _ in range(3):
                part()
            shares.append(f"{name} {(time.process_time() - cpu) / 3 * 1000:.0f} ms")
    print(f"steady tick, CPU by part: {', '.join(shares)}")
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
