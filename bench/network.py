"""A network of labs on one deployment: two web processes and two workers on PostgreSQL.

A schema of its own holds ``--experiments`` experiments (``bench/reminders_lab``); the
Procfile's ``web`` line runs twice (two processes, one uvicorn worker each, as two
containers behind a load balancer would) and its ``worker`` line twice, the workers' clock
at Monday 9:00 (``faketime``, as in ``bench/network_digests.py``) so that they scan and
deliver the week's digests meanwhile, to the rate-limiting fake Slack. Slash commands,
signed as Slack signs them, go to the two web processes in turn from ``--concurrency``
connections for ``--seconds``: half a read (``/jalon liste``), half a write (``/depense``),
each by the coordinator of an experiment in its channel.

Prints: commands per second, median and 99th-percentile latency, errors (an answer that is
not the command's own); what the workers delivered meanwhile, and of the outbox rows marked
sent, how many the fake never got (lost) and how many it got twice; the load average.

    python bench/network.py [--db postgresql://postgres@127.0.0.1:5432/i22_scale]
        [--experiments 20000] [--seconds 120] [--concurrency 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from mattermost_http import drop_schema, fresh_schema, percentile  # noqa: E402
from network_digests import clock_at_nine, delivered  # noqa: E402
from slack_http import READ, SECRET, TEAM, SignedConnection, coordo_answered  # noqa: E402
from sqlalchemy import select, text  # noqa: E402

from bench.command_cost import cpu_seconds  # noqa: E402
from bench.reminders_lab import PEOPLE, build_lab  # noqa: E402
from models import ChannelBinding, Membership  # noqa: E402
from models.db import make_engine, normalise_url  # noqa: E402
from tests.fakes.slack_api import FakeSlack  # noqa: E402
from tests.processes import free_port, processes, wait_until_up, web_settings  # noqa: E402

WRITE = "/depense 12,50 café n°{n}"


def fields(line: str, n: int, channel: str, user: str) -> dict[str, str]:
    command, _, words = line.format(n=n).partition(" ")
    return {
        "token": "legacy",
        "team_id": TEAM,
        "team_domain": "reseau",
        "channel_id": channel,
        "channel_name": channel.lower(),
        "user_id": user,
        "user_name": user.lower(),
        "command": command,
        "text": words,
        "api_app_id": "A0COORDO",
        "is_enterprise_install": "false",
        "response_url": "https://hooks.slack.com/commands/T0LAB/1/bench",
        "trigger_id": f"{n}.{os.getpid()}.{time.time_ns()}",
    }


async def commands(
    ports: list[int], who: list[tuple[str, str]], seconds: float, concurrency: int
) -> tuple[list[float], int, int, float]:
    """Commands for ``seconds`` from ``concurrency`` connections spread over ``ports``."""
    latencies: list[float] = []
    errors = 0
    counter = iter(range(10**9))
    read, write = coordo_answered("ephemeral"), coordo_answered("in_channel")
    deadline = time.perf_counter() + seconds

    async def client(connection: SignedConnection) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            n = next(counter)
            channel, user = who[n % len(who)]
            line, check = (READ, read) if n % 2 else (WRITE, write)
            started = time.perf_counter()
            try:
                status, content = await connection.post_signed(fields(line, n, channel, user))
                ok = check(status, content)
            except (OSError, ValueError, asyncio.IncompleteReadError):
                ok = False
            latencies.append(time.perf_counter() - started)
            errors += not ok

    connections = [
        await SignedConnection.open("127.0.0.1", ports[i % len(ports)]) for i in range(concurrency)
    ]
    started = time.perf_counter()
    try:
        await asyncio.gather(*(client(c) for c in connections))
    finally:
        for connection in connections:
            connection.close()
    return latencies, errors, len(latencies), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/i22_scale")
    parser.add_argument("--experiments", type=int, default=20000)
    parser.add_argument("--milestones", type=int, default=10)
    parser.add_argument("--meetings", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--warm-up", type=float, default=20, help="seconds before measuring")
    args = parser.parse_args()
    base = normalise_url(args.db)
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start", flush=True)
    schema, url = fresh_schema(base)
    logs = Path(tempfile.mkdtemp())
    try:
        with processes(logs) as procs:
            procs.run("release", {"DATABASE_URL": url, "LOG_LEVEL": "WARNING"})
        engine = make_engine(url)
        started = time.perf_counter()
        build_lab(
            engine,
            experiments=args.experiments,
            milestones=args.milestones,
            meetings=args.meetings,
        )
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        print(
            f"seeded {args.experiments} experiments in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
        run(engine, url, args, logs)
        engine.dispose()
    finally:
        drop_schema(base, schema)


def run(engine: Any, url: str, args: argparse.Namespace, logs: Path) -> None:
    with engine.connect() as conn:
        channels = [c for (c,) in conn.execute(select(ChannelBinding.channel_id))]  # type: ignore[call-overload]
        # The coordinator of each of the first experiments, in its team channel.
        who = [
            (f"C{e:05d}T", f"U{p:05d}")
            for e, p in conn.execute(
                select(Membership.experiment_id, Membership.person_id)  # type: ignore[call-overload]
                .where(Membership.role == "coordinator", Membership.experiment_id <= 200)
                .order_by(Membership.experiment_id)
            )
        ]
    with FakeSlack() as fake, processes(logs) as procs:
        for channel in channels:
            fake.add_channel(channel)
        for p in range(1, PEOPLE + 1):
            fake.add_user(f"U{p:05d}", name=f"person{p}")
        fake.enable_rate_limit(per_channel_interval=1.0)
        slack = {"SLACK_BOT_TOKEN": fake.token, "SLACK_API_URL": fake.api_url}
        common = {"DATABASE_URL": url, "LOG_LEVEL": "WARNING", **slack}
        web_env = {**common, "SLACK_SIGNING_SECRET": SECRET, "SCHEDULER": "false"}
        ports = [free_port(), free_port()]
        webs = [
            procs.start("web", web_settings(port, 1, web_env), label=f"web{n + 1}")
            for n, port in enumerate(ports)
        ]
        for port, web in zip(ports, webs, strict=True):
            wait_until_up(f"http://127.0.0.1:{port}", web)
        workers = [
            procs.start("worker", {**common, **clock_at_nine()}, label=f"worker{n + 1}")
            for n in range(2)
        ]
        time.sleep(args.warm_up)  # the workers' first scan is under way
        load_before = os.getloadavg()[0]
        cpu_before = [cpu_seconds(p.pid) for p in [*webs, *workers]]
        latencies, errors, count, elapsed = asyncio.run(
            commands(ports, who, args.seconds, args.concurrency)
        )
        cpu = [cpu_seconds(p.pid) - b for p, b in zip([*webs, *workers], cpu_before, strict=True)]
        load_during = os.getloadavg()[0]
        for worker in workers:
            procs.stop(worker)
        counts, _ = delivered(fake)
    with engine.connect() as conn:
        sent = [
            k
            for (k,) in conn.execute(
                text("SELECT key FROM outbox_message WHERE sent_at IS NOT NULL")
            )
        ]
        states = conn.execute(
            text(
                "SELECT kind, count(*), count(sent_at) FROM outbox_message GROUP BY kind "
                "ORDER BY kind"
            )
        ).all()
    lost = [k for k in sent if k not in counts]
    twice = [k for k, n in counts.items() if n > 1]
    by_kind = Counter(k.split(":")[0] for k in counts)
    print()
    print(
        f"{count} commands in {elapsed:.0f} s over 2 web processes from {args.concurrency} "
        f"connections: {count / elapsed:.1f} commands/s, p50 {1000 * statistics.median(latencies):.0f}"
        f" ms, p99 {1000 * percentile(latencies, 0.99):.0f} ms, errors {errors}"
    )
    print(
        "CPU meanwhile (s): "
        + ", ".join(
            f"{name} {c:.0f}"
            for name, c in zip(["web1", "web2", "worker1", "worker2"], cpu, strict=True)
        )
    )
    print(
        f"workers meanwhile: {sum(counts.values())} messages delivered ({dict(by_kind)}); "
        f"outbox rows marked sent {len(sent)}: lost {len(lost)}, sent twice {len(twice)}"
    )
    print("outbox by kind (queued, sent): " + ", ".join(f"{k} {n} {s}" for k, n, s in states))
    print(
        f"load average: {load_before:.1f} when the commands began, {load_during:.1f} at their "
        f"end, on {os.cpu_count()} CPUs"
    )


if __name__ == "__main__":
    main()
