"""All the weekly digests of a big lab: 500 experiments × 200 milestones × 20 meetings.

Prints the time to gather and render every experiment's digest (the team version, and
the partners' one from the same facts) one by one, with the number of queries each took
(the same for every one, whatever its size); then all together, as the Monday 9:00 scan
gathers them (as many queries as one); the lab-wide digest; and what a chart costs
(drawn at send time, only where the platform takes files).

    python bench/bench_digests.py [--db URL] [--experiments 500] [--charts 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event
from sqlmodel import Session, SQLModel, col, select

from bench.reminders_lab import NOW, build_lab
from commands.services import charts, digests
from models import Experiment, Workspace
from models.db import make_engine

MONDAY = NOW.replace(day=30, hour=9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db")
    parser.add_argument("--experiments", type=int, default=500)
    parser.add_argument("--milestones", type=int, default=200)
    parser.add_argument("--meetings", type=int, default=20)
    parser.add_argument("--charts", type=int, default=20)
    args = parser.parse_args()
    url = args.db or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    engine = make_engine(url)
    SQLModel.metadata.drop_all(engine)
    SQLModel.metadata.create_all(engine)
    build_lab(
        engine, experiments=args.experiments, milestones=args.milestones, meetings=args.meetings
    )
    queries: list[int] = []
    current = [0]

    def count(*_: Any) -> None:
        current[0] += 1

    with Session(engine) as session:
        experiments = list(session.exec(select(Experiment).order_by(col(Experiment.id))))
        event.listen(engine, "before_cursor_execute", count)
        started, cpu = time.perf_counter(), time.process_time()
        sizes = []
        for experiment in experiments:
            current[0] = 0
            facts = digests.experiment_digest(session, experiment, MONDAY)
            queries.append(current[0])
            team = digests.render_experiment_digest(facts, experiment.locale, see_budget=True)
            partners = digests.render_experiment_digest(
                facts, experiment.locale, see_budget=experiment.partners_see_budget
            )
            digests.experiment_chart(facts, experiment.locale, see_budget=True)
            sizes.append(len(team) + len(partners))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        event.remove(engine, "before_cursor_execute", count)
        print(
            f"{engine.dialect.name}: {len(experiments)} experiment digests (team and partners' "
            f"versions) gathered and rendered in {elapsed:.2f} s wall, {cpu:.2f} s CPU "
            f"({1000 * elapsed / len(experiments):.1f} ms each); "
            f"median text {int(statistics.median(sizes))} characters"
        )
        print(f"queries per digest: {dict(Counter(queries))} (count: number of digests)")
        current[0] = 0
        event.listen(engine, "before_cursor_execute", count)
        started, cpu = time.perf_counter(), time.process_time()
        facts_of = digests.experiment_digests(session, experiments, MONDAY)
        for experiment in experiments:
            facts = facts_of[experiment.id or 0]
            digests.render_experiment_digest(facts, experiment.locale, see_budget=True)
            digests.render_experiment_digest(
                facts, experiment.locale, see_budget=experiment.partners_see_budget
            )
            digests.experiment_chart(facts, experiment.locale, see_budget=True)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        event.remove(engine, "before_cursor_execute", count)
        print(
            f"all {len(experiments)} gathered together and rendered: {elapsed:.2f} s wall, "
            f"{cpu:.2f} s CPU, {current[0]} queries in all"
        )
        workspace = session.get(Workspace, 1)
        assert workspace is not None
        current[0] = 0
        event.listen(engine, "before_cursor_execute", count)
        started = time.perf_counter()
        lab = digests.lab_digest(session, workspace, MONDAY)
        text = digests.render_lab_digest(lab, "fr")
        event.remove(engine, "before_cursor_execute", count)
        print(
            f"lab-wide digest over {len(lab.standings)} experiments: "
            f"{1000 * (time.perf_counter() - started):.0f} ms, {current[0]} queries, "
            f"{len(text)} characters"
        )
        specs = []
        for experiment in experiments[: args.charts]:
            facts = digests.experiment_digest(session, experiment, MONDAY)
            specs.append(digests.experiment_chart(facts, "fr", see_budget=True))
        specs.append(digests.lab_chart(lab, "fr"))
        charts.render_chart(specs[0])  # loads the fonts
        started, cpu = time.perf_counter(), time.process_time()
        drawn = sum(charts.render_chart(spec) is not None for spec in specs)
        per_chart = (time.perf_counter() - started) / max(1, drawn)
        per_cpu = (time.process_time() - cpu) / max(1, drawn)
        print(
            f"charts (drawn at send time, the lab's too): {drawn}, "
            f"{1000 * per_chart:.1f} ms wall, {1000 * per_cpu:.1f} ms CPU each"
        )
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
