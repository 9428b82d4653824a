"""The Monday 9:00 digests of a network of labs, delivered by two workers.

A PostgreSQL schema of its own holds ``--experiments`` experiments (``bench/reminders_lab``:
budget lines, expenses, milestones, meetings, a team and a partners' channel each, two
lab coordinators); two worker processes, the Procfile's ``worker`` line unchanged, start
with their clock at Monday 30 November 2026, 9:00 in Paris (the system's clock moved for
them alone by the ``faketime`` library, ``apt-get install faketime``; it runs on from there)
and deliver to the fake Slack, a real HTTP server in this process that keeps its rate limit
(one message per second per channel, HTTP 429 beyond) and its checks of every message.

Prints: the time from 9:00 to the last digest delivered (its message, and its chart); the
digests expected (one per bound channel of each active experiment, one lab digest per
coordinator), delivered, lost and sent twice, counted from the fake's record of messages
by their outbox key; what else went out meanwhile (the reminders due at 9:00 too); the
workers' CPU per digest; the CPU of one chart, drawn here from the charts the scan queued;
the load average.

    python bench/network_digests.py [--db postgresql://postgres@127.0.0.1:5432/i22_scale]
        [--experiments 5000] [--milestones 20] [--meetings 4] [--workers 2] [--limit 1200]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from mattermost_http import drop_schema, fresh_schema  # noqa: E402
from sqlalchemy import select, text  # noqa: E402

from bench.command_cost import cpu_seconds  # noqa: E402
from bench.reminders_lab import PEOPLE, build_lab  # noqa: E402
from bot.slack.client import OUTBOX_EVENT  # noqa: E402
from commands.services import charts  # noqa: E402
from models import ChannelBinding, Experiment, Person  # noqa: E402
from models.db import make_engine, normalise_url  # noqa: E402
from tests.fakes.slack_api import FakeSlack  # noqa: E402
from tests.processes import processes  # noqa: E402

# Monday 30 November 2026, 9:00 in Paris (winter time: UTC+1), the week after NOW.
NINE = "2026-11-30 08:00:00"
FAKETIME_LIBRARY = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1")
DIGEST_KINDS = ("digest:", "lab-digest:")


def clock_at_nine() -> dict[str, str]:
    """The environment that starts a process's clock at Monday 9:00 (then running). Only
    the wall clock moves: timeouts and waits keep the real monotonic clock."""
    if not FAKETIME_LIBRARY.exists():
        raise SystemExit(f"{FAKETIME_LIBRARY} is missing: apt-get install faketime")
    return {
        "LD_PRELOAD": str(FAKETIME_LIBRARY),
        "FAKETIME": f"@{NINE}",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        "FAKETIME_DONT_RESET": "1",
        "TZ": "UTC",
    }


def message_key(call_body: Any) -> str | None:
    metadata = call_body.get("metadata") if isinstance(call_body, dict) else None
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except ValueError:
            return None
    if not isinstance(metadata, dict) or metadata.get("event_type") != OUTBOX_EVENT:
        return None
    key = (metadata.get("event_payload") or {}).get("key")
    return str(key) if key else None


def expected_digests(engine: Any) -> set[str]:
    """The keys of Monday's digests, from the lab itself (not from what the scan queued)."""
    with engine.connect() as conn:
        bindings = conn.execute(
            select(ChannelBinding.experiment_id, ChannelBinding.channel_id)  # type: ignore[call-overload]
            .join(Experiment, Experiment.id == ChannelBinding.experiment_id)
            .where(Experiment.archived_at.is_(None))  # type: ignore[union-attr]
        ).all()
        coordinators = conn.execute(
            select(Person.id, Person.workspace_id).where(Person.lab_role == "coordinator")  # type: ignore[call-overload]
        ).all()
    day = NINE[:10]
    keys = {f"digest:{e}:{day}:{c}" for e, c in bindings}
    keys |= {f"lab-digest:{w}:{day}:p{p}" for p, w in coordinators}
    return keys


def unfinished_digests(engine: Any) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM outbox_message WHERE kind IN ('digest', 'lab_digest') "
                    "AND sent_at IS NULL AND dead_at IS NULL AND dropped_at IS NULL"
                )
            ).scalar_one()
        )


def delivered(fake: FakeSlack) -> tuple[Counter[str], dict[str, float]]:
    """Messages the fake kept, by outbox key, and when each key was first accepted."""
    counts: Counter[str] = Counter()
    first: dict[str, float] = {}
    for call in fake.calls("chat.postMessage"):
        if call.status != 200:
            continue
        key = message_key(call.body)
        if key is None:
            continue
        first.setdefault(key, call.at)
    with fake._lock:
        for message in fake.messages:
            meta = message.metadata or {}
            key = (meta.get("event_payload") or {}).get("key")
            if meta.get("event_type") == OUTBOX_EVENT and key:
                counts[str(key)] += 1
    return counts, first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/i22_scale")
    parser.add_argument("--experiments", type=int, default=5000)
    parser.add_argument("--milestones", type=int, default=20)
    parser.add_argument("--meetings", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--limit", type=float, default=1200, help="seconds to wait for the last digest"
    )
    parser.add_argument("--charts", type=int, default=200, help="charts drawn to time one")
    parser.add_argument("--keep-logs", help="a folder for the workers' logs")
    args = parser.parse_args()
    base = normalise_url(args.db)
    if not base.startswith("postgresql"):
        raise SystemExit("two workers share the outbox on PostgreSQL: give --db postgresql://…")
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start", flush=True)
    schema, url = fresh_schema(base)
    logs = Path(args.keep_logs or tempfile.mkdtemp())
    logs.mkdir(parents=True, exist_ok=True)
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
        expected = expected_digests(engine)
        print(
            f"seeded {args.experiments} experiments ({args.milestones} milestones, "
            f"{args.meetings} meetings each) in {time.perf_counter() - started:.0f} s; "
            f"{len(expected)} digests due Monday 9:00",
            flush=True,
        )
        run(engine, url, expected, args, logs)
        engine.dispose()
    finally:
        drop_schema(base, schema)


def run(engine: Any, url: str, expected: set[str], args: argparse.Namespace, logs: Path) -> None:
    with FakeSlack() as fake, processes(logs) as procs:
        with engine.connect() as conn:
            for (channel,) in conn.execute(select(ChannelBinding.channel_id)):  # type: ignore[call-overload]
                fake.add_channel(channel)
        for p in range(1, PEOPLE + 1):
            fake.add_user(f"U{p:05d}", name=f"person{p}")
        fake.enable_rate_limit(per_channel_interval=1.0)
        env = {
            "DATABASE_URL": url,
            "SLACK_BOT_TOKEN": fake.token,
            "SLACK_API_URL": fake.api_url,
            "LOG_LEVEL": "WARNING",
            **clock_at_nine(),
        }
        load_before = os.getloadavg()
        nine = time.time()
        workers = [procs.start("worker", env, label=f"worker{n + 1}") for n in range(args.workers)]
        print(f"workers started: pids {', '.join(str(w.pid) for w in workers)}", flush=True)
        last_count, last_change = -1, nine
        loads = []
        while time.time() - nine < args.limit:
            time.sleep(2.0)
            counts, _ = delivered(fake)
            done = sum(1 for key in expected if key in counts)
            loads.append(os.getloadavg()[0])
            if done != last_count:
                last_count, last_change = done, time.time()
                print(
                    f"  {last_change - nine:6.0f} s: {done} of {len(expected)} digests delivered"
                    f" (load {loads[-1]:.1f})",
                    flush=True,
                )
            if done == len(expected) and not unfinished_digests(engine):
                break  # every digest's message is in, and its chart (marked sent after)
            if any(w.poll() is not None for w in workers):
                break
        time.sleep(5.0)  # what is under way lands; anything sent twice shows
        cpu = [cpu_seconds(w.pid) for w in workers]
        for worker in workers:
            procs.stop(worker)
        counts, first = delivered(fake)
        files = fake.calls("files.completeUploadExternal")
        refused = list(fake.refused)
        limited = sum(1 for c in fake.calls("chat.postMessage") if c.status == 429)
    ours = {k: n for k, n in counts.items() if k.startswith(DIGEST_KINDS)}
    got = expected & set(ours)
    lost = expected - got
    twice = sorted(k for k, n in ours.items() if n > 1)
    others = Counter(k.split(":")[0] for k in counts if not k.startswith(DIGEST_KINDS))
    last_message = max((first[k] for k in got if k in first), default=nine) - nine
    last_file = max((c.at for c in files if c.status == 200), default=nine) - nine
    with engine.connect() as conn:
        by_state = conn.execute(
            text(
                "SELECT CASE WHEN sent_at IS NOT NULL THEN 'sent' WHEN dead_at IS NOT NULL "
                "THEN 'dead' WHEN dropped_at IS NOT NULL THEN 'dropped' ELSE 'pending' END, "
                "kind, count(*) FROM outbox_message GROUP BY 1, 2 ORDER BY 2, 1"
            )
        ).all()
        dead = conn.execute(
            text("SELECT key, last_error FROM outbox_message WHERE dead_at IS NOT NULL LIMIT 5")
        ).all()
        specs = [
            row.payload["chart"]
            for row in conn.execute(
                text(
                    "SELECT payload FROM outbox_message WHERE kind = 'digest' "
                    f"ORDER BY id LIMIT {int(args.charts)}"
                )
            )
            if isinstance(row.payload, dict) and row.payload.get("chart")
        ]
    print()
    print(
        f"{args.workers} workers, {len(expected)} digests expected: delivered {len(got)}, "
        f"lost {len(lost)}, sent twice {len(twice)}"
    )
    print(
        f"time from 9:00 to the last digest delivered: {last_message / 60:.1f} min "
        f"({last_message:.0f} s); to the last chart shared: {last_file / 60:.1f} min"
    )
    print(
        f"also sent meanwhile: {dict(others)}; 429 answers {limited}; "
        f"refused by the fake's rules {len(refused)}"
    )
    print("outbox at the end: " + ", ".join(f"{k} {s} {n}" for s, k, n in by_state))
    for key, error in dead:
        print(f"  dead: {key}: {error[:200]}")
    if lost:
        print(f"  lost (first 5): {sorted(lost)[:5]}")
    if twice:
        print(f"  twice (first 5): {twice[:5]}")
    print(
        f"workers' CPU: {', '.join(f'{c:.0f} s' for c in cpu)}; "
        f"{1000 * sum(cpu) / max(1, len(got)):.0f} ms per digest delivered (all they did)"
    )
    if specs:
        charts.render_chart(specs[0])  # loads the fonts
        cpu_start = time.process_time()
        drawn = sum(charts.render_chart(spec) is not None for spec in specs)
        per = (time.process_time() - cpu_start) / max(1, drawn)
        print(f"one chart (of {drawn} the scan queued, drawn here): {1000 * per:.1f} ms CPU")
    print(
        f"load average: {load_before[0]:.1f} before, "
        f"{sum(loads) / max(1, len(loads)):.1f} on average while delivering, "
        f"{os.getloadavg()[0]:.1f} at the end, on {os.cpu_count()} CPUs"
    )


if __name__ == "__main__":
    main()
