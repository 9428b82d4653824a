"""What the date polls and the carry-over add to a scan tick, over a big lab.

On top of ``bench.reminders_lab``: each experiment gets an open date poll made three days
before (three dates, its four team members asked, one answered) and a monthly series
whose last sitting ended the day before with three agenda items, one dealt with. The
first tick carries every other item over and queues every reminder; the ticks after it
find nothing new, which is what a scan meets nearly every minute.

    python bench/bench_polls.py [--db URL] [--experiments 500] [--ticks 5]

Prints wall and CPU time (of this process: PostgreSQL's own CPU is in the wall time only)
of the two steps, first tick and steady median.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlmodel import Session, SQLModel, select

from bench.reminders_lab import NOW, build_lab
from commands.services import minutes, polls
from commands.services.meeting_reminders import _poll_reminder
from models import (
    AgendaItem,
    DatePoll,
    Meeting,
    Membership,
    PollAnswer,
    PollInvitee,
    PollSlot,
)
from models.db import make_engine


def add_polls_and_sittings(engine: object, experiments: int) -> None:
    with Session(engine) as session:  # type: ignore[arg-type]
        teams: dict[int, list[int]] = {}
        for m in session.exec(select(Membership)):
            teams.setdefault(m.experiment_id, []).append(m.person_id)
        for e in range(1, experiments + 1):
            team = teams.get(e, [])
            first = (NOW - timedelta(days=60)).replace(hour=14)
            series = Meeting(
                workspace_id=1,
                experiment_id=e,
                title="COPIL",
                starts_at=first,
                ends_at=first + timedelta(hours=2),
                rrule="FREQ=MONTHLY",
                uid=f"{uuid.uuid4()}@bench",
                organizer_id=team[0] if team else None,
                created_at=first,
            )
            session.add(series)
            session.flush()
            held = NOW - timedelta(days=1, hours=2)
            sitting = Meeting(
                workspace_id=1,
                experiment_id=e,
                title="COPIL",
                starts_at=held,
                ends_at=held + timedelta(hours=2),
                series_id=series.id,
                recurrence_start=held,
                uid=f"{uuid.uuid4()}@bench",
                organizer_id=series.organizer_id,
                created_at=first,
            )
            session.add(sitting)
            session.flush()
            for position in range(3):
                session.add(
                    AgendaItem(
                        meeting_id=sitting.id,
                        position=position,
                        title=f"Point {position + 1}",
                        created_at=first,
                        dealt_at=held if position == 0 else None,
                    )
                )
            poll = DatePoll(
                workspace_id=1,
                experiment_id=e,
                title="COPIL de janvier",
                organizer_id=series.organizer_id,
                channel_id=f"C{e:05d}T",
                created_at=NOW - timedelta(days=3),
            )
            session.add(poll)
            session.flush()
            slots = [
                PollSlot(
                    poll_id=poll.id,
                    position=n,
                    starts_at=NOW + timedelta(days=40 + n),
                    ends_at=NOW + timedelta(days=40 + n, hours=2),
                )
                for n in range(3)
            ]
            session.add_all(slots)
            session.flush()
            for person in team:
                session.add(PollInvitee(poll_id=poll.id, person_id=person, created_at=NOW))
            if team:
                session.add(
                    PollAnswer(
                        slot_id=slots[0].id, person_id=team[0], answer="yes", answered_at=NOW
                    )
                )
        session.commit()


def tick(engine: object) -> tuple[float, float, float, float, int, int]:
    with Session(engine) as session:  # type: ignore[arg-type]
        wall, cpu = time.perf_counter(), time.process_time()
        carried = minutes.carry_over_automatically(session, NOW)
        carry = (time.perf_counter() - wall, time.process_time() - cpu)
        wall, cpu = time.perf_counter(), time.process_time()
        reminded = polls.queue_poll_reminders(session, NOW, _poll_reminder)
        remind = (time.perf_counter() - wall, time.process_time() - cpu)
        session.commit()
    return (*carry, *remind, carried, reminded)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--experiments", type=int, default=500)
    parser.add_argument("--ticks", type=int, default=5)
    args = parser.parse_args()
    url = args.db or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    engine = make_engine(url)
    SQLModel.metadata.drop_all(engine)
    SQLModel.metadata.create_all(engine)
    build_lab(engine, experiments=args.experiments, milestones=5, meetings=2)
    add_polls_and_sittings(engine, args.experiments)
    kind = url.split(":", 1)[0]
    first = tick(engine)
    print(
        f"{kind}: {args.experiments} experiments; first tick: carry-over {first[0] * 1000:.0f} ms"
        f" wall ({first[1] * 1000:.0f} ms CPU), {first[4]} items carried; poll reminders"
        f" {first[2] * 1000:.0f} ms wall ({first[3] * 1000:.0f} ms CPU), {first[5]} queued"
    )
    steady = [tick(engine) for _ in range(args.ticks)]
    assert all(s[4] == 0 and s[5] == 0 for s in steady), "a steady tick queued again"
    parts = {
        "carry-over": (0, 1),
        "poll reminders": (2, 3),
    }
    for name, (w, c) in parts.items():
        wall = statistics.median(s[w] for s in steady) * 1000
        cpu = statistics.median(s[c] for s in steady) * 1000
        print(f"steady tick ({args.ticks}), {name}: median {wall:.1f} ms wall ({cpu:.1f} ms CPU)")
    print(f"load average while measuring: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
