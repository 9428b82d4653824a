"""How long an experiment's calendar feed takes to serve, for a busy experiment.

Builds an experiment with 1,000 meetings, 100 of them recurring (weekly and monthly, some
with a sitting moved or cancelled alone), each with invitees who answered or not and an
agenda; then times

- the feed itself (``feed_for_token``: the token check, the queries, the iCalendar text),
  with a fresh session each time as the web app does;
- a GET of ``/calendar/<token>.ics`` on the real web app served by uvicorn on a free port;
- a GET with a wrong token (a 404, which should take about as long as a small feed);

and parses the feed back with the icalendar library to check it: every meeting is there,
every series with its RRULE, EXDATEs and RECURRENCE-IDs. Prints the median and the 95th
percentile in milliseconds. The goal: under 200 ms.

    python bench/calendar_feed.py [--runs 30] [--database-url postgresql://…]
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import uvicorn
from icalendar import Calendar
from sqlalchemy import Engine, text
from sqlmodel import Session, SQLModel

import models  # noqa: F401  (registers the tables)
from bot.settings import Settings
from bot.web import create_app
from commands.services.calendars import feed_for_token
from models import AgendaItem, Experiment, Invitation, Meeting, Person, Workspace, pk
from models.db import make_engine, normalise_url

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
MEETINGS = 1_000
RECURRING = 100
TOKEN = "bench-calendar-token-0123456789abcdef"


def seed(engine: Engine) -> None:
    rng = random.Random(7)
    with Session(engine) as session:
        workspace = Workspace(platform="console", external_id="bench", name="Bench")
        session.add(workspace)
        session.flush()
        people = [
            Person(
                workspace_id=pk(workspace),
                external_id=f"U{n:03d}",
                handle=f"person.{n}",
                display_name=f"Personne n°{n}, Ville de Bondy",
            )
            for n in range(40)
        ]
        session.add_all(people)
        experiment = Experiment(
            workspace_id=pk(workspace),
            slug="bondy-bp",
            name="Budget participatif de Bondy",
            calendar_token=TOKEN,
        )
        others = [
            Experiment(
                workspace_id=pk(workspace),
                slug=f"autre-{n}",
                name=f"Autre {n}",
                calendar_token=f"t{n}",
            )
            for n in range(20)
        ]
        session.add_all([experiment, *others])
        session.flush()
        first = datetime(2026, 1, 5, 9, tzinfo=PARIS)
        rules = [
            "FREQ=WEEKLY;BYDAY=MO",
            "FREQ=MONTHLY;BYDAY=1TU",
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH",
        ]
        # 30 series get a sitting moved and one cancelled alone: rows of their own, so the
        # experiment holds 1,000 meeting rows in all.
        alone = 30
        meetings: list[Meeting] = []
        for n in range(MEETINGS - 2 * alone):
            start = first + timedelta(days=n // 3, hours=(n % 3) * 3)
            meetings.append(
                Meeting(
                    workspace_id=pk(workspace),
                    experiment_id=pk(experiment),
                    kind=rng.choice(["copil", "cotech", "autre"]),
                    title=f"COPIL n°{n}, point d'étape ; budget",
                    starts_at=start.astimezone(UTC),
                    ends_at=(start + timedelta(hours=2)).astimezone(UTC),
                    place="Mairie de Bondy, salle du conseil",
                    video_url="https://visio.example.org/copil" if n % 2 else "",
                    rrule=rules[n % 3] if n < RECURRING else None,
                    status="cancelled" if n % 50 == 7 else "scheduled",
                    uid=f"{uuid.uuid4()}@coordo",
                    sequence=n % 4,
                    organizer_id=pk(people[n % 5]),
                    created_at=NOW,
                )
            )
        session.add_all(meetings)
        session.flush()
        for series in meetings[:alone]:
            step = timedelta(weeks=4) if "MONTHLY" in (series.rrule or "") else timedelta(weeks=2)
            for k, status in ((1, "scheduled"), (2, "cancelled")):
                original = series.starts_at + k * step
                meetings.append(
                    Meeting(
                        workspace_id=series.workspace_id,
                        experiment_id=series.experiment_id,
                        kind=series.kind,
                        title=series.title,
                        starts_at=original + timedelta(hours=1),
                        ends_at=original + timedelta(hours=3),
                        place=series.place,
                        series_id=pk(series),
                        recurrence_start=original,
                        status=status,
                        uid=f"{series.uid}/{k}",
                        sequence=1,
                        organizer_id=series.organizer_id,
                        created_at=NOW,
                    )
                )
        session.add_all(meetings[-2 * alone :])
        session.flush()
        assert len(meetings) == MEETINGS
        for meeting in meetings:
            for person in rng.sample(people, 6):
                session.add(
                    Invitation(
                        meeting_id=pk(meeting),
                        person_id=pk(person),
                        response=rng.choice(["yes", "no", "maybe", "pending"]),
                        created_at=NOW,
                    )
                )
            for position in range(3):
                session.add(
                    AgendaItem(
                        meeting_id=pk(meeting),
                        position=position,
                        title=f"Point {position + 1} : budget, calendrier; « vote »",
                        created_at=NOW,
                    )
                )
        session.commit()


def timed(runs: int, call: Callable[[], object]) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds per call. The CPU time (of this whole process: the
    web app's thread and the client's) hardly moves with the machine's load; the wall
    clock does."""
    call()  # warm up (caches, the VTIMEZONE block, connections)
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        call()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return wall, cpu


def report(name: str, times: tuple[list[float], list[float]]) -> None:
    wall, cpu = times
    p95 = statistics.quantiles(wall, n=20)[-1] if len(wall) >= 20 else max(wall)
    print(
        f"{name:<40} median {statistics.median(wall):6.1f} ms   p95 {p95:6.1f} ms"
        f"   CPU median {statistics.median(cpu):6.1f} ms"
    )


def check(content: bytes) -> None:
    calendar = Calendar.from_ical(content)
    events = calendar.walk("VEVENT")
    masters = [e for e in events if "RECURRENCE-ID" not in e]
    series = [e for e in masters if "RRULE" in e]
    overrides = [e for e in events if "RECURRENCE-ID" in e]
    exdates = sum(1 for e in series if "EXDATE" in e)
    assert len(masters) == MEETINGS - 60, len(masters)
    assert len(series) == RECURRING, len(series)
    assert len(overrides) == 30 - sum(1 for e in series[:30] if str(e["STATUS"]) == "CANCELLED"), (
        len(overrides)
    )
    assert exdates >= 29, exdates
    assert all(e.decoded("DTSTART").tzinfo is not None for e in events)
    print(
        f"parsed back with icalendar: {len(events)} VEVENTs ({len(series)} series, "
        f"{len(overrides)} sittings moved alone, {exdates} series with EXDATE), "
        f"{len(content) / 1024:.0f} KiB"
    )


def serve(url: str) -> tuple[uvicorn.Server, threading.Thread, int]:
    app = create_app(Settings(database_url=url))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # As uvicorn sets it on the sockets it opens itself: without it, a keep-alive client
    # waits 40 ms for the delayed ACK on every request.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    return server, thread, sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--database-url", help="default: a SQLite file in a temporary folder")
    args = parser.parse_args()
    # The web app warns that no chat platform is configured: true, and beside the point.
    logging.getLogger("bot").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{folder}/bench.db"
        schema = None
        if url.startswith("postgres"):
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            admin = make_engine(url)
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            url = (
                normalise_url(url)
                + ("&" if "?" in url else "?")
                + f"options=-csearch_path%3D{schema}"
            )
        engine = make_engine(url)
        try:
            SQLModel.metadata.create_all(engine)
            seed(engine)
            print(
                f"{engine.dialect.name}: 1 experiment, {MEETINGS} meetings ({RECURRING} recurring),"
                " 6 invitees and 3 agenda items each"
            )
            print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")

            def direct() -> bytes:
                with Session(engine) as session:
                    found = feed_for_token(session, TOKEN)
                assert found is not None
                return found.content

            check(direct())
            report("feed_for_token (queries + iCalendar)", timed(args.runs, direct))
            server, thread, port = serve(url)
            try:
                with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
                    response = client.get(f"/calendar/{TOKEN}.ics")
                    assert response.status_code == 200
                    check(response.content)
                    report(
                        "GET /calendar/<token>.ics (uvicorn)",
                        timed(args.runs, lambda: client.get(f"/calendar/{TOKEN}.ics")),
                    )
                    wrong = "x" * len(TOKEN)
                    assert client.get(f"/calendar/{wrong}.ics").status_code == 404
                    report(
                        "GET with a wrong token (404)",
                        timed(args.runs, lambda: client.get(f"/calendar/{wrong}.ics")),
                    )
                    small = client.get("/calendar/t3.ics")
                    assert small.status_code == 200
                    report(
                        "GET of an experiment with no meeting",
                        timed(args.runs, lambda: client.get("/calendar/t3.ics")),
                    )
            finally:
                server.should_exit = True
                thread.join(timeout=10)
        finally:
            engine.dispose()
            if schema:
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()


if __name__ == "__main__":
    main()
