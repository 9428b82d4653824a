"""Signed slash commands over HTTP on ``/slack/events``, as Slack sends them, against
Coordo's web app (the Procfile's ``web`` line) and, in the same run, two floors.

    python bench/slack_http.py [--db postgresql://postgres@127.0.0.1:5432/test]
                               [--concurrency 1 10 50] [--rounds 3] [--web 1 2]
                               [--client lean httpx]

Targets, each its own uvicorn process with ``--web`` workers (the floors as many as
Coordo, so each comparison is like for like):

- ``coordo write``: ``/depense 12,50 café`` (a new expense each time, in the demo's
  Bondy experiment, bound to the channel);
- ``coordo read``: ``/jalon liste`` (the milestone list of the same experiment);
- ``bare bolt``: Bolt's synchronous ``App`` behind Bolt's Starlette adapter, whose
  handler only acknowledges;
- ``plain``: a Starlette endpoint that answers 200, no Bolt, no signature check.

Two load generators, each in this process, sharing the machine's cores with the servers:

- ``lean``: hand-written HTTP/1.1 over asyncio streams, one keep-alive connection per
  concurrent client, costing as little CPU as a Python client can;
- ``httpx``: ``httpx.AsyncClient`` with a pool of as many keep-alive connections, the
  ordinary way to write such a client in Python. On this machine it caps the plain
  endpoint near 1,000 requests/s at concurrency 10 (``PROTOCOLS.md`` quotes "about 800"
  for it); at concurrency 50 its own pool is the bottleneck (the plain endpoint's p99
  passes a second), so its figures there say little about the servers.

Each line ends with the CPU the load generator (this process) spent per request. The
plain endpoint measures the client as much as the server: with the lean client it
answers about fifteen times faster than with httpx, and every ratio to it moves with it.
Both are printed; neither is hidden. With several web processes, uvicorn's workers share
one listening socket and whichever is awake first accepts: a handful of long-lived
connections may all land on one process (httpx opens its ten together, and they do).

Every request is signed with the signing secret and a fresh timestamp; Coordo and the
bare Bolt app check every signature. The demo lab is moved to a Slack team whose people
and channels the fake Slack API (in this process) knows. Rounds are interleaved (each
round runs every target at every concurrency with every client) and each figure printed
is the median of the rounds: p50 and p99 latency, requests per second; errors (anything
but a 200 with the command's own answer: the change posted in the channel, the list
privately) and requests slower than Slack's 3 s are summed over the rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import httpx
from sqlalchemy import update
from sqlmodel import Session, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from core_commands import NOW  # noqa: E402
from mattermost_http import Connection, drop_schema, fresh_schema, percentile  # noqa: E402

from commands.demo import seed_demo  # noqa: E402
from models import ChannelBinding, Person, Platform, Workspace  # noqa: E402
from models.db import make_engine, normalise_url  # noqa: E402
from tests.fakes.slack_api import FakeSlack  # noqa: E402
from tests.processes import (  # noqa: E402
    free_port,
    process_env,
    processes,
    wait_until_up,
    web_settings,
)

SECRET = "bench-signing-secret-0123456789ab"
TEAM = "T0LAB"
SLOW = 3.0  # seconds: Slack's budget for an acknowledgement
COUNTS = {1: 300, 10: 1500, 50: 1500}
WRITE = "/depense 12,50 café"
READ = "/jalon liste"
CLIENTS = ("lean", "httpx")


def slack_id(handle: str) -> str:
    return "U0" + handle.upper().replace(".", "")


def seed_on_slack(url: str, fake: FakeSlack) -> None:
    """The demo lab, moved to the Slack team: people get Slack user ids, ~bondy a channel id."""
    engine = make_engine(url)
    with Session(engine) as session:
        seed_demo(session, NOW)
        session.exec(update(Workspace).values(platform=Platform.SLACK, external_id=TEAM))
        for person in session.exec(select(Person)).all():
            fake.add_user(
                slack_id(person.handle),
                name=person.handle,
                is_restricted=person.is_guest,
            )
            person.external_id = slack_id(person.handle)
            session.add(person)
        for binding in session.exec(select(ChannelBinding)).all():
            binding.channel_id = "C0" + binding.channel_name.upper().replace("-", "")
            fake.add_channel(binding.channel_id, binding.channel_name)
            session.add(binding)
        session.commit()
    engine.dispose()


def command_fields(line: str, n: int) -> dict[str, str]:
    command, _, text = line.format(n=n).partition(" ")
    return {
        "token": "legacy",
        "team_id": TEAM,
        "team_domain": "labo",
        "channel_id": "C0BONDY",
        "channel_name": "bondy",
        "user_id": slack_id("camille"),
        "user_name": "camille",
        "command": command,
        "text": text,
        "api_app_id": "A0COORDO",
        "is_enterprise_install": "false",
        # Coordo answers in the ack; nothing is posted to this address in the benchmark.
        "response_url": "https://hooks.slack.com/commands/T0LAB/1/bench",
        "trigger_id": f"{n}.{os.getpid()}.{time.time_ns()}",
    }


def signed_headers(body: bytes) -> dict[str, str]:
    timestamp = str(int(time.time()))
    base = b"v0:" + timestamp.encode() + b":" + body
    signature = "v0=" + hmac.new(SECRET.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature}


class SignedConnection(Connection):
    """The Mattermost benchmark's lean keep-alive connection, signing each request."""

    async def post_signed(self, fields: dict[str, str]) -> tuple[int, bytes]:
        return await self.post_form(
            "/slack/events", fields, signed_headers(urlencode(fields).encode())
        )


Post = Callable[[dict[str, str]], Awaitable[tuple[int, bytes]]]


@asynccontextmanager
async def senders(client: str, port: int, concurrency: int) -> AsyncIterator[list[Post]]:
    """One ``post`` per concurrent client: a lean connection each, or one shared httpx
    client whose pool holds ``concurrency`` keep-alive connections."""
    if client == "lean":
        connections = [await SignedConnection.open("127.0.0.1", port) for _ in range(concurrency)]
        try:
            yield [c.post_signed for c in connections]
        finally:
            for connection in connections:
                connection.close()
        return
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=30
    ) as http:

        async def post(fields: dict[str, str]) -> tuple[int, bytes]:
            body = urlencode(fields).encode()
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            headers.update(signed_headers(body))
            answer = await http.post("/slack/events", content=body, headers=headers)
            return answer.status_code, answer.content

        yield [post] * concurrency


def coordo_answered(response_type: str) -> Callable[[int, bytes], bool]:
    """A 200 carrying the command's own answer: a change is posted in the channel, a list
    privately; an apology, a duplicate or a "working on it" is an error here."""

    def check(status: int, content: bytes) -> bool:
        if status != 200:
            return False
        try:
            answer = json.loads(content)
        except ValueError:
            return False
        text = str(answer.get("text", ""))
        return (
            answer.get("response_type") == response_type
            and bool(text)
            and not text.startswith(("Désolé", "Sorry", "⏳", "Cette demande"))
        )

    return check


def floor_answered(status: int, content: bytes) -> bool:
    return status == 200


Result = tuple[float, float, float, int, int, float]  # p50, p99, req/s, errors, slow, client CPU


@dataclass
class Target:
    name: str
    port: int
    line: str
    check: Callable[[int, bytes], bool]
    # (client, concurrency) → one result per round
    results: dict[tuple[str, int], list[Result]] = field(default_factory=dict)


async def load(target: Target, client: str, requests: int, concurrency: int, first: int) -> None:
    latencies: list[float] = []
    errors = 0
    # Request bodies are made beforehand: the timing is the server's, not the client's.
    bodies = [command_fields(target.line, first + i) for i in range(requests)]

    async def one_client(post: Post) -> None:
        nonlocal errors
        while bodies:
            fields = bodies.pop()
            started = time.perf_counter()
            try:
                status, content = await post(fields)
                ok = target.check(status, content)
            except (OSError, ValueError, asyncio.IncompleteReadError, httpx.HTTPError):
                ok = False
            latencies.append(time.perf_counter() - started)
            errors += not ok

    async with senders(client, target.port, concurrency) as posts:
        started = time.perf_counter()
        cpu = time.process_time()
        await asyncio.gather(*(one_client(post) for post in posts))
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu
    target.results.setdefault((client, concurrency), []).append(
        (
            statistics.median(latencies),
            percentile(latencies, 0.99),
            len(latencies) / elapsed,
            errors,
            sum(1 for t in latencies if t > SLOW),
            cpu / len(latencies),
        )
    )


def start_floor(
    factory: str, port: int, workers: int, env: dict[str, str], logs: Path
) -> subprocess.Popen[bytes]:
    log = (logs / f"{factory}-{workers}.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            f"slack_floors:{factory}",
            "--factory",
            "--app-dir",
            str(ROOT / "bench"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        env=process_env(env),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    return process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--web", type=int, nargs="+", default=[1, 2], help="web processes")
    parser.add_argument("--client", nargs="+", choices=CLIENTS, default=list(CLIENTS))
    parser.add_argument("--write", default=WRITE)
    parser.add_argument("--read", default=READ)
    args = parser.parse_args()
    base = normalise_url(args.db)
    print(
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; requests per run by "
        "concurrency: "
        + ", ".join(f"{c}: {COUNTS.get(c, 1500)}" for c in args.concurrency)
        + f"; {args.rounds} interleaved rounds, medians; clients: {', '.join(args.client)}"
    )
    with FakeSlack() as fake, tempfile.TemporaryDirectory() as tmp:
        for workers in args.web:
            logs = Path(tmp) / f"web{workers}"
            logs.mkdir()
            targets = measure(args, base, fake, workers, logs)
            report(targets, workers, args.client, args.concurrency)


def measure(
    args: argparse.Namespace, base: str, fake: FakeSlack, workers: int, logs: Path
) -> list[Target]:
    """Every target served by ``workers`` processes, on a fresh schema, round after round."""
    schema, url = fresh_schema(base) if base.startswith("postgresql") else ("", base)
    slack_env = {
        "SLACK_BOT_TOKEN": fake.token,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake.api_url,
    }
    settings = {"DATABASE_URL": url, "LOG_LEVEL": "WARNING", "SCHEDULER": "false", **slack_env}
    try:
        with processes(logs) as procs:
            procs.run("release", settings)
            seed_on_slack(url, fake)
            coordo_port, bolt_port, plain_port = free_port(), free_port(), free_port()
            web = procs.start("web", web_settings(coordo_port, workers, settings))
            bolt = start_floor("bare_bolt", bolt_port, workers, slack_env, logs)
            plain = start_floor("plain", plain_port, workers, slack_env, logs)
            procs.started.extend([("bare_bolt", bolt), ("plain", plain)])
            for port, process in ((coordo_port, web), (bolt_port, bolt), (plain_port, plain)):
                wait_until_up(f"http://127.0.0.1:{port}", process)
            targets = [
                Target("coordo write", coordo_port, args.write, coordo_answered("in_channel")),
                Target("coordo read", coordo_port, args.read, coordo_answered("ephemeral")),
                Target("bare bolt", bolt_port, "/labo voir", floor_answered),
                Target("plain", plain_port, "/labo voir", floor_answered),
            ]
            for target in targets:  # warm-up: every worker, connections, templates, caches
                asyncio.run(load(target, args.client[0], 200, 10, 0))
                target.results.clear()
            numbered = 1000
            for _ in range(args.rounds):
                for client in args.client:
                    for target in targets:
                        for concurrency in args.concurrency:
                            count = COUNTS.get(concurrency, 1500)
                            asyncio.run(load(target, client, count, concurrency, numbered))
                            numbered += count
            return targets
    finally:
        if schema:
            drop_schema(base, schema)


def report(
    targets: list[Target], workers: int, clients: list[str], concurrencies: list[int]
) -> None:
    for client in clients:
        runs_of = {t.name: t.results for t in targets}
        plain = {
            c: statistics.median(r[2] for r in runs_of["plain"][client, c]) for c in concurrencies
        }
        for concurrency in concurrencies:
            print(f"\nweb processes {workers}, {client} client, concurrency {concurrency}")
            for target in targets:
                runs = target.results[client, concurrency]
                p50 = statistics.median(r[0] for r in runs) * 1000
                p99 = statistics.median(r[1] for r in runs) * 1000
                rate = statistics.median(r[2] for r in runs)
                errors = sum(r[3] for r in runs)
                slow = sum(r[4] for r in runs)
                client_cpu = statistics.median(r[5] for r in runs) * 1000
                print(
                    f"  {target.name:<13} p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  "
                    f"{rate:6.0f} req/s ({rate / plain[concurrency]:4.0%} of plain)  "
                    f"errors {errors}  over {SLOW:g} s {slow}  client CPU {client_cpu:.2f} ms"
                )


if __name__ == "__main__":
    main()
