"""The calendar feed as calendar applications fetch it: the real web app, served by
uvicorn on a free port, asked over HTTP."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from icalendar import Calendar
from sqlmodel import Session

from bot.console import Console
from bot.settings import Settings
from bot.web import create_app
from commands.registry import build_router
from models import Experiment
from tests.conftest import NOW


@pytest.fixture
def client(database_url: str, demo_engine: object) -> Iterator[httpx.Client]:
    """The web app on the demo lab's database (``demo_engine`` seeded it), served by
    uvicorn on 127.0.0.1 and a port the system picked."""
    app = create_app(
        Settings(
            database_url=database_url, public_url="https://coordo.example.org", scheduler=False
        )
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # As uvicorn sets it on the sockets it opens itself: without it, a keep-alive client
    # waits 40 ms for the delayed ACK on every request.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the web app did not start"
        time.sleep(0.01)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        yield client
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


def token_of(console: Console, experiment_id: int) -> str:
    with Session(console.engine) as session:
        experiment = session.get(Experiment, experiment_id)
        assert experiment is not None
        assert experiment.calendar_token
        return experiment.calendar_token


def test_a_subscribed_calendar_gets_the_experiments_meetings(
    client: httpx.Client, console: Console
) -> None:
    console.handle("/copil planifier tous les lundis à 9h type:cotech")
    response = client.get(f"/calendar/{token_of(console, 1)}.ics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert response.headers["cache-control"] == "private, max-age=300"
    assert response.headers["content-disposition"] == 'inline; filename="bondy-bp.ics"'
    calendar = Calendar.from_ical(response.content)
    assert str(calendar["X-WR-CALNAME"]) == "Budget participatif de Bondy"
    summaries = sorted(str(e["SUMMARY"]) for e in calendar.walk("VEVENT"))
    assert summaries == [
        "COPIL n°1 du budget participatif",
        "COPIL n°2 du budget participatif",
        "COTECH — Budget participatif de Bondy",
    ]
    weekly = next(e for e in calendar.walk("VEVENT") if "RRULE" in e)
    assert weekly.decoded("RRULE")["BYDAY"] == ["MO"]
    assert client.head(f"/calendar/{token_of(console, 1)}.ics").status_code == 200


@pytest.mark.parametrize("wrong", ["nope", "x" * 32, "", "..%2F..%2Fetc%2Fpasswd"])
def test_a_wrong_token_is_not_found(client: httpx.Client, console: Console, wrong: str) -> None:
    response = client.get(f"/calendar/{wrong}.ics")
    assert response.status_code == 404
    assert b"BEGIN:VCALENDAR" not in response.content
    token = token_of(console, 1)
    near = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert client.get(f"/calendar/{near}.ics").status_code == 404


def test_a_rotated_token_stops_the_old_address(
    client: httpx.Client, database_url: str, demo_engine: object, tmp_path: Path
) -> None:
    console = Console(
        demo_engine,  # type: ignore[arg-type]
        build_router("https://coordo.example.org"),
        user="camille",
        channel="bondy",
        now=NOW,
        files_dir=tmp_path,
    )
    old = token_of(console, 1)
    printed = console.handle("/copil calendrier nouveau")
    new = token_of(console, 1)
    assert new != old
    assert f"https://coordo.example.org/calendar/{new}.ics" in printed
    assert client.get(f"/calendar/{old}.ics").status_code == 404
    assert client.get(f"/calendar/{new}.ics").status_code == 200
