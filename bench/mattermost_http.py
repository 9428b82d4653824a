"""Slash commands over HTTP on ``/mattermost/command``, as a Mattermost server sends them,
to Coordo's web app run by the Procfile's ``web`` line (uvicorn) on PostgreSQL.

    python bench/mattermost_http.py [--db postgresql://postgres@127.0.0.1:5432/test]
                                    [--requests 2000] [--concurrency 10 50] [--web 1 2]

The load is the core benchmark's mix (``bench/core_commands.py``: reads and writes as a
lab types them, on the demo lab) sent by the demo's coordinator, each request with its
own trigger id and response URL. For each number of web processes (``WEB_CONCURRENCY``,
on a fresh schema migrated by the ``release`` line) and each concurrency, it prints the
median and 99th-percentile latency, the slowest request, the requests per second, and
the errors (any answer other than a 200 with the command's reply). The bot account's
API (user look-ups) is the fake Mattermost server, in this process.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import text, update
from sqlmodel import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from core_commands import MIX, NOW  # noqa: E402

from commands.demo import PEOPLE, seed_demo  # noqa: E402
from models import Platform, Workspace  # noqa: E402
from models.db import make_engine, normalise_url  # noqa: E402
from tests.fakes.mattermost_api import FakeMattermost  # noqa: E402
from tests.processes import free_port, processes, wait_until_up, web_settings  # noqa: E402

TOKEN = "bench-labo-command-token"
SLOW = 3.0  # seconds: Mattermost's documented budget for an answer


def fresh_schema(base: str) -> tuple[str, str]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with make_engine(base).begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    return schema, f"{base}{separator}options=-csearch_path%3D{schema}"


def drop_schema(base: str, schema: str) -> None:
    with make_engine(base).begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def seed_on_mattermost(url: str, team_id: str) -> None:
    """The demo lab, moved to a Mattermost team (people and channels keep their names
    as ids, which the fake server accepts)."""
    engine = make_engine(url)
    with Session(engine) as session:
        seed_demo(session, NOW)
        session.exec(  # type: ignore[call-overload]
            update(Workspace).values(platform=Platform.MATTERMOST, external_id=team_id)
        )
        session.commit()
    engine.dispose()


def command_fields(mm: FakeMattermost, line: str) -> dict[str, str]:
    command, _, rest = line.lstrip("/").partition(" ")
    return {
        "channel_id": "bondy",
        "channel_name": "bondy",
        "command": f"/{command}",
        "response_url": mm.new_response_url(),
        "root_id": "",
        "team_domain": "labo",
        "team_id": mm.team_id,
        "text": rest,
        "token": TOKEN,
        "trigger_id": base64.b64encode(os.urandom(60)).decode(),
        "user_id": "camille",
        "user_name": "camille",
    }


class Connection:
    """One keep-alive HTTP/1.1 connection, as plain as can be: the load generator shares
    the machine with the server, so it must cost little CPU and queue nothing itself."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        return cls(*await asyncio.open_connection(host, port))

    async def post_form(
        self, path: str, fields: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, bytes]:
        body = urlencode(fields).encode()
        head = [f"POST {path} HTTP/1.1", "Host: coordo", f"Content-Length: {len(body)}"]
        head.append("Content-Type: application/x-www-form-urlencoded")
        head.extend(f"{k}: {v}" for k, v in headers.items())
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        status_line = await self.reader.readline()
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        content = await self.reader.readexactly(length)
        return int(status_line.split()[1]), content

    def close(self) -> None:
        self.writer.close()


async def load(
    port: int, mm: FakeMattermost, requests: int, concurrency: int
) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    errors = 0
    lines = [MIX[i % len(MIX)] for i in range(requests)]
    # Request bodies are made beforehand: the timing is the server's, not the client's.
    bodies = [command_fields(mm, line) for line in lines]
    headers = {"Authorization": f"Token {TOKEN}"}
    connections = [await Connection.open("127.0.0.1", port) for _ in range(concurrency)]

    async def one_client(connection: Connection) -> None:
        nonlocal errors
        while bodies:
            fields = bodies.pop()
            started = time.perf_counter()
            try:
                status, content = await connection.post_form("/mattermost/command", fields, headers)
                text = json.loads(content)["text"] if status == 200 else ""
                ok = status == 200 and not text.startswith(("Désolé", "Sorry", "⏳"))
            except (OSError, ValueError, asyncio.IncompleteReadError):
                ok = False
            latencies.append(time.perf_counter() - started)
            errors += not ok

    started = time.perf_counter()
    await asyncio.gather(*(one_client(c) for c in connections))
    elapsed = time.perf_counter() - started
    for connection in connections:
        connection.close()
    return latencies, errors, elapsed


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--web", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    base = normalise_url(args.db)
    print(
        f"{os.cpu_count()} CPUs; {args.requests} slash commands per run; mix: {len(MIX)} commands"
    )
    with FakeMattermost() as mm, tempfile.TemporaryDirectory() as tmp:
        for user in ("camille", "marie", "karim", "sophie", "lucas"):
            mm.add_user(user, username=user)
        for handle, _display, _role, guest in PEOPLE:
            if guest:
                mm.add_user(handle, username=handle, roles="system_guest")
        for workers in args.web:
            schema, url = fresh_schema(base)
            try:
                settings = {
                    "DATABASE_URL": url,
                    "MATTERMOST_URL": mm.url,
                    "MATTERMOST_BOT_TOKEN": mm.token,
                    "MATTERMOST_COMMAND_TOKENS": TOKEN,
                    "PUBLIC_URL": "https://coordo.example.org",
                    "LOG_LEVEL": "WARNING",
                }
                logs = Path(tmp) / f"web{workers}"
                logs.mkdir()
                with processes(logs) as procs:
                    procs.run("release", settings)
                    seed_on_mattermost(url, mm.team_id)
                    port = free_port()
                    web = procs.start("web", web_settings(port, workers, settings))
                    root = f"http://127.0.0.1:{port}"
                    wait_until_up(root, web)
                    asyncio.run(load(port, mm, 200, 10))  # warm-up: every worker, every template
                    for concurrency in args.concurrency:
                        latencies, errors, elapsed = asyncio.run(
                            load(port, mm, args.requests, concurrency)
                        )
                        slow = sum(1 for t in latencies if t > SLOW)
                        print(
                            f"web processes {workers}  concurrency {concurrency:>3}: "
                            f"p50 {statistics.median(latencies) * 1000:7.1f} ms  "
                            f"p99 {percentile(latencies, 0.99) * 1000:7.1f} ms  "
                            f"max {max(latencies) * 1000:7.1f} ms  "
                            f"{len(latencies) / elapsed:6.0f} req/s  "
                            f"errors {errors}  over {SLOW:g} s {slow}"
                        )
            finally:
                drop_schema(base, schema)


if __name__ == "__main__":
    main()
