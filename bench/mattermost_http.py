"""Slash commands over HTTP on ``/mattermost/command``, as a Mattermost server sends them,
to Coordo's web app run by the Procfile's ``web`` line (uvicorn) on PostgreSQL.

    python bench/mattermost_http.py [--db postgresql://postgres@127.0.0.1:5432/test]
                                    [--concurrency 10 50] [--rounds 3] [--web 1 2]

The load is the Slack benchmark's (``bench/slack_http.py``), on the demo lab moved to a
Mattermost team whose people the fake Mattermost server (in this process) knows:

- ``write``: ``/jalon Relancer la mairie n°<n> pour:15/01/2027 expe:montreuil-ac``, a new
  milestone each time;
- ``read``: ``/jalon liste``, the milestone list of the demo's Bondy experiment;

each request with its command token, its own trigger id and response URL, sent by the
demo's coordinator over lean keep-alive connections. For each number of web processes
(``WEB_CONCURRENCY``, on a fresh schema migrated by the ``release`` line), rounds are
interleaved (each round runs both commands at every concurrency) and each figure is the
median of the rounds: p50 and p99 latency, requests per second; errors (anything but a
200 with the command's own answer) and requests slower than 3 s are summed over rounds.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Self
from urllib.parse import urlencode

from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from core_commands import NOW  # noqa: E402

from models.db import make_engine, normalise_url  # noqa: E402
from tests.demo_mattermost import add_demo_people, seed_on_mattermost  # noqa: E402
from tests.fakes.mattermost_api import FakeMattermost  # noqa: E402
from tests.processes import free_port, processes, wait_until_up, web_settings  # noqa: E402

TOKEN = "bench-labo-command-token"
SLOW = 3.0  # seconds: Mattermost's documented budget for an answer
COUNTS = {1: 300, 10: 1500, 50: 1500}
WRITE = "/jalon Relancer la mairie n°{n} pour:15/01/2027 expe:montreuil-ac"
READ = "/jalon liste"


def fresh_schema(base: str) -> tuple[str, str]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with make_engine(base).begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    return schema, f"{base}{separator}options=-csearch_path%3D{schema}"


def drop_schema(base: str, schema: str) -> None:
    with make_engine(base).begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def command_fields(mm: FakeMattermost, line: str, n: int = 0) -> dict[str, str]:
    command, _, rest = line.format(n=n).lstrip("/").partition(" ")
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
    async def open(cls, host: str, port: int) -> Self:
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


@dataclass
class Run:
    p50: float
    p99: float
    rate: float
    errors: int
    slow: int


def answered(status: int, content: bytes) -> bool:
    """A 200 carrying the command's own answer (not an apology, a "working on it" or a
    duplicate)."""
    if status != 200:
        return False
    try:
        text = str(json.loads(content).get("text", ""))
    except ValueError:
        return False
    return bool(text) and not text.startswith(("Désolé", "Sorry", "⏳", "Cette demande"))


async def load(
    port: int, mm: FakeMattermost, line: str, requests: int, concurrency: int, first: int
) -> Run:
    latencies: list[float] = []
    errors = 0
    # Request bodies are made beforehand: the timing is the server's, not the client's.
    bodies = [command_fields(mm, line, first + i) for i in range(requests)]
    headers = {"Authorization": f"Token {TOKEN}"}
    connections = [await Connection.open("127.0.0.1", port) for _ in range(concurrency)]

    async def one_client(connection: Connection) -> None:
        nonlocal errors
        while bodies:
            fields = bodies.pop()
            started = time.perf_counter()
            try:
                status, content = await connection.post_form("/mattermost/command", fields, headers)
                ok = answered(status, content)
            except (OSError, ValueError, asyncio.IncompleteReadError):
                ok = False
            latencies.append(time.perf_counter() - started)
            errors += not ok

    started = time.perf_counter()
    await asyncio.gather(*(one_client(c) for c in connections))
    elapsed = time.perf_counter() - started
    for connection in connections:
        connection.close()
    return Run(
        statistics.median(latencies),
        percentile(latencies, 0.99),
        len(latencies) / elapsed,
        errors,
        sum(1 for t in latencies if t > SLOW),
    )


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--web", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--write", default=WRITE)
    parser.add_argument("--read", default=READ)
    args = parser.parse_args()
    base = normalise_url(args.db)
    print(
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; requests per run by "
        "concurrency: "
        + ", ".join(f"{c}: {COUNTS.get(c, 1500)}" for c in args.concurrency)
        + f"; {args.rounds} interleaved rounds, medians"
    )
    targets = {"write": args.write, "read": args.read}
    with FakeMattermost() as mm, tempfile.TemporaryDirectory() as tmp:
        add_demo_people(mm)
        for workers in args.web:
            schema, url = fresh_schema(base)
            settings = {
                "DATABASE_URL": url,
                "MATTERMOST_URL": mm.url,
                "MATTERMOST_BOT_TOKEN": mm.token,
                "MATTERMOST_COMMAND_TOKENS": TOKEN,
                "PUBLIC_URL": "https://coordo.example.org",
                "LOG_LEVEL": "WARNING",
                "SCHEDULER": "false",
            }
            logs = Path(tmp) / f"web{workers}"
            logs.mkdir()
            results: dict[tuple[str, int], list[Run]] = {}
            try:
                with processes(logs) as procs:
                    procs.run("release", settings)
                    seed_on_mattermost(url, mm.team_id, NOW)
                    port = free_port()
                    web = procs.start("web", web_settings(port, workers, settings))
                    wait_until_up(f"http://127.0.0.1:{port}", web)
                    for line in targets.values():  # warm-up: every worker, every template
                        asyncio.run(load(port, mm, line, 100, 10, 0))
                    numbered = 1000
                    for _ in range(args.rounds):
                        for name, line in targets.items():
                            for concurrency in args.concurrency:
                                count = COUNTS.get(concurrency, 1500)
                                run = asyncio.run(
                                    load(port, mm, line, count, concurrency, numbered)
                                )
                                results.setdefault((name, concurrency), []).append(run)
                                numbered += count
            finally:
                drop_schema(base, schema)
            for (name, concurrency), runs in results.items():
                print(
                    f"web processes {workers}  {name:<5}  concurrency {concurrency:>3}: "
                    f"p50 {statistics.median(r.p50 for r in runs) * 1000:7.1f} ms  "
                    f"p99 {statistics.median(r.p99 for r in runs) * 1000:7.1f} ms  "
                    f"{statistics.median(r.rate for r in runs):6.0f} req/s  "
                    f"errors {sum(r.errors for r in runs)}  "
                    f"over {SLOW:g} s {sum(r.slow for r in runs)}"
                )


if __name__ == "__main__":
    main()
