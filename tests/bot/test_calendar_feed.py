"""The calendar feed as calendar applications fetch it: the real web app, served by
uvicorn on a free port, asked over HTTP."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from email.utils import parsedate_to_datetime
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


def console_of(demo_engine: object, tmp_path: Path, user: str = "camille") -> Console:
    return Console(
        demo_engine,  # type: ignore[arg-type]
        build_router("https://coordo.example.org"),
        user=user,
        channel="bondy",
        now=NOW,
        files_dir=tmp_path,
    )


def unfold(content: bytes) -> bytes:
    return content.replace(b"\r\n ", b"")


def address_in(printed: str) -> str:
    found = re.search(r"https://coordo\.example\.org(/calendar/[\w-]+\.ics)", printed)
    assert found is not None, printed
    return found.group(1)


def test_each_person_has_an_address_and_a_rotated_one_stops_the_old(
    client: httpx.Client, demo_engine: object, tmp_path: Path
) -> None:
    console = console_of(demo_engine, tmp_path)
    mine = address_in(console.handle("/copil calendrier"))
    assert address_in(console.handle("/copil calendrier")) == mine  # the same, asked again
    console.handle(":user marie")
    hers = address_in(console.handle("/copil calendrier"))
    assert hers != mine
    assert client.get(hers).status_code == 200
    console.handle(":user camille")
    new = address_in(console.handle("/copil calendrier nouveau"))
    assert new != mine
    assert client.get(mine).status_code == 404
    assert client.get(new).status_code == 200
    assert client.get(hers).status_code == 200  # others' addresses are their own


def test_a_partner_removed_from_the_team_loses_the_calendar(
    client: httpx.Client, demo_engine: object, tmp_path: Path
) -> None:
    console = console_of(demo_engine, tmp_path)
    shared = f"/calendar/{token_of(console, 1)}.ics"
    console.handle(":user elu.bondy")
    partner = address_in(console.handle("/copil calendrier"))
    console.handle(":user marie")
    member = address_in(console.handle("/copil calendrier"))
    for address in (shared, partner, member):
        assert client.get(address).status_code == 200
    console.handle(":user camille")
    console.handle("/labo retirer @elu.bondy")
    # The partner's address and the shared one, which the partner knew, stop; the
    # team's own addresses go on.
    assert client.get(partner).status_code == 404
    assert client.get(shared).status_code == 404
    assert client.get(member).status_code == 200
    # Put back on the team (undo), the partner's address answers again.
    console.handle("/labo annuler")
    assert client.get(partner).status_code == 200
    assert client.get(shared).status_code == 200


def test_someone_outside_the_team_gets_no_address(demo_engine: object, tmp_path: Path) -> None:
    console = console_of(demo_engine, tmp_path, user="agent.montreuil")
    printed = console.handle("/copil calendrier expe:bondy-bp")
    assert "/calendar/" not in printed


def test_an_archived_experiment_s_calendar_is_no_longer_served(
    client: httpx.Client, demo_engine: object, tmp_path: Path
) -> None:
    console = console_of(demo_engine, tmp_path)
    shared = f"/calendar/{token_of(console, 1)}.ics"
    mine = address_in(console.handle("/copil calendrier"))
    assert client.get(mine).status_code == 200
    console.handle("/labo archiver bondy-bp")
    assert client.get(mine).status_code == 404
    assert client.get(shared).status_code == 404


def test_polling_is_cheap_etag_last_modified_and_304(
    client: httpx.Client, demo_engine: object, tmp_path: Path
) -> None:
    console = console_of(demo_engine, tmp_path)
    address = address_in(console.handle("/copil calendrier"))
    first = client.get(address)
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert etag.startswith('"')
    assert parsedate_to_datetime(modified).tzinfo is not None
    again = client.get(address)
    assert again.content == first.content  # DTSTAMP and all: nothing changed
    assert again.headers["etag"] == etag
    assert client.get(address, headers={"If-None-Match": etag}).status_code == 304
    assert client.get(address, headers={"If-Modified-Since": modified}).status_code == 304
    assert client.get(address, headers={"If-None-Match": '"other"'}).status_code == 200
    console.fixed_now = NOW + timedelta(minutes=5)
    console.handle("/copil odj 3 ajouter Budget de la communication")
    changed = client.get(address, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert b"Budget de la communication" in unfold(changed.content)
    assert changed.headers["etag"] != etag
    assert client.get(address, headers={"If-Modified-Since": modified}).status_code == 200
    # An undo changes the calendar back, and still moves Last-Modified on.
    console.fixed_now = NOW + timedelta(minutes=10)
    console.handle("/copil annuler")
    after_undo = client.get(
        address, headers={"If-Modified-Since": changed.headers["last-modified"]}
    )
    assert after_undo.status_code == 200
    assert b"Budget de la communication" not in unfold(after_undo.content)
