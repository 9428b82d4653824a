"""What a Slack command costs in CPU: in the web process under load, and alone in one thread.

    python bench/command_cost.py [--db postgresql://postgres@127.0.0.1:5432/test]
                                 [--requests 3000] [--network 20000] [--one-thread]

With ``--network N`` the same commands are measured twice: on the demo lab alone, and on
a database that holds N more experiments beside it in the same workspace (a network of
labs on one deployment: budget lines, expenses, milestones, channels and members each),
and printed side by side: a command that reads what it does not need (an unscoped query)
costs more on the second. ``--one-thread`` measures in this process only (no web process).

For three signed slash commands — one the core refuses at once (an unknown word: Bolt,
the arrival query, an error message), the read (``/jalon liste``) and the write
(``/depense 12,50 café``) of ``bench/slack_http.py``:

- ``web process``: the CPU time (user + system, from ``/proc``) Coordo's web process (the
  Procfile's ``web`` line, one worker) spent per request while serving ``--requests`` of
  them at concurrency 10 over lean keep-alive connections;
- ``PostgreSQL``: the CPU time the database's processes spent per request meanwhile;
- ``one thread``: the CPU time per request of the same Bolt app's ``dispatch``, called in
  a loop in this process, with no HTTP server and no other thread.

The difference is what serving costs beyond the work: HTTP, the thread hand-off, and the
interpreter lock shared by the event loop and the worker threads.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from datetime import time as clock_time
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from mattermost_http import drop_schema, fresh_schema  # noqa: E402
from slack_bolt.request import BoltRequest  # noqa: E402
from slack_http import (  # noqa: E402
    NOW,
    READ,
    SECRET,
    WRITE,
    Target,
    command_fields,
    coordo_answered,
    load,
    seed_on_slack,
    signed_headers,
)
from sqlalchemy import func, insert  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from bot.settings import Settings  # noqa: E402
from bot.slack.app import HANDOFF, Handoff  # noqa: E402
from bot.web import create_app  # noqa: E402
from models import (  # noqa: E402
    BudgetLine,
    ChannelBinding,
    Expense,
    Experiment,
    Membership,
    Milestone,
    MilestoneOwner,
    Person,
    Workspace,
)
from models.db import make_engine, normalise_url  # noqa: E402
from tests.fakes.slack_api import FakeSlack  # noqa: E402
from tests.processes import free_port, processes, wait_until_up, web_settings  # noqa: E402

COMMANDS = [
    ("unknown word", "/inconnu", coordo_answered("ephemeral")),
    ("read", READ, coordo_answered("ephemeral")),
    ("write", WRITE, coordo_answered("in_channel")),
]


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of ``pid`` and of its children it waited for."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def postgres_cpu() -> dict[int, float]:
    """CPU seconds of each PostgreSQL process on this machine (server and backends)."""
    seconds: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if "(postgres)" in text:
            seconds[int(stat.parent.name)] = cpu_seconds(int(stat.parent.name))
    return seconds


def postgres_spent(before: dict[int, float]) -> float:
    """CPU seconds spent since ``before`` by the PostgreSQL processes alive both times."""
    after = postgres_cpu()
    return sum(after[pid] - before[pid] for pid in after.keys() & before.keys())


def in_web_process(
    url: str, fake: FakeSlack, requests: int, logs: Path
) -> dict[str, tuple[float, float]]:
    env = {"SLACK_BOT_TOKEN": fake.token, "SLACK_SIGNING_SECRET": SECRET}
    env["SLACK_API_URL"] = fake.api_url
    settings = {"DATABASE_URL": url, "LOG_LEVEL": "WARNING", "SCHEDULER": "false", **env}
    costs: dict[str, tuple[float, float]] = {}
    with processes(logs) as procs:
        port = free_port()
        # One worker: ``exec`` makes the Procfile's uvicorn the process we started.
        web = procs.start("web", web_settings(port, 1, settings))
        wait_until_up(f"http://127.0.0.1:{port}", web)
        numbered = 10_000
        for name, line, check in COMMANDS:
            target = Target(name, port, line, check)
            asyncio.run(load(target, "lean", 300, 10, numbered))  # warm-up
            before, database = cpu_seconds(web.pid), postgres_cpu()
            asyncio.run(load(target, "lean", requests, 10, numbered + 300))
            costs[name] = (
                (cpu_seconds(web.pid) - before) / requests,
                postgres_spent(database) / requests,
            )
            numbered += requests + 300
            errors = sum(r[3] for r in target.results["lean", 10])
            if errors:
                raise SystemExit(f"{name}: {errors} requests without the command's answer")
    return costs


def in_one_thread(url: str, fake: FakeSlack, requests: int) -> dict[str, float]:
    settings = Settings(
        _env_file=None,
        database_url=url,
        slack_bot_token=fake.token,
        slack_signing_secret=SECRET,
        slack_api_url=fake.api_url,
        scheduler=False,
        log_level="WARNING",
    )
    app = create_app(settings)
    slack = app.state.slack
    costs: dict[str, float] = {}

    def request(line: str, n: int) -> BoltRequest:
        body = urlencode(command_fields(line, n))
        headers = signed_headers(body.encode())
        return BoltRequest(
            body=body,
            headers={
                "content-type": ["application/x-www-form-urlencoded"],
                "x-slack-request-timestamp": [headers["X-Slack-Request-Timestamp"]],
                "x-slack-signature": [headers["X-Slack-Signature"]],
            },
            # As the HTTP endpoint does: the listener runs the core in this thread.
            context={HANDOFF: Handoff()},
        )

    numbered = 100_000
    for name, line, _check in COMMANDS:
        for n in range(100):  # warm-up
            slack.bolt.dispatch(request(line, numbered + n))
        batch = [request(line, numbered + 100 + n) for n in range(requests)]
        started = time.process_time()
        for bolt_request in batch:
            answer = slack.bolt.dispatch(bolt_request)
            if answer.status != 200:
                raise SystemExit(f"{name}: {answer.status} {answer.body}")
        costs[name] = (time.process_time() - started) / requests
        numbered += requests + 100
    slack.close()
    return costs


def add_network(url: str, experiments: int, *, milestones: int = 10, seed: int = 7) -> None:
    """``experiments`` more experiments in the demo's workspace, written in bulk: five
    budget lines, ten expenses, ``milestones`` milestones with an owner, a channel and
    four members each (people of the workspace)."""
    engine = make_engine(url)
    rng = random.Random(seed)
    with Session(engine) as session:
        workspace = session.exec(select(Workspace)).one()
        people = [p.id for p in session.exec(select(Person)).all()]
        last = {
            name: session.exec(select(func.max(model.id))).one() or 0  # type: ignore[attr-defined]
            for name, model in (
                ("experiment", Experiment),
                ("line", BudgetLine),
                ("milestone", Milestone),
            )
        }
    created = NOW - timedelta(days=300)
    rows: dict[Any, list[dict[str, Any]]] = {
        m: [] for m in (Experiment, Membership, BudgetLine, Expense, Milestone, MilestoneOwner)
    }
    rows[ChannelBinding] = []
    line_id, milestone_id = last["line"], last["milestone"]
    for n in range(1, experiments + 1):
        e = last["experiment"] + n
        rows[Experiment].append(
            {
                "id": e,
                "workspace_id": workspace.id,
                "slug": f"reseau-{n}",
                "name": f"Expérimentation du réseau {n}",
                "territory": "",
                "timezone": "Europe/Paris",
                "locale": "fr",
                "currency": "EUR",
                "partners_see_budget": False,
                "working_days": "1,2,3,4,5",
                "working_hours_start": clock_time(9),
                "working_hours_end": clock_time(18),
                "reminder_lead_days": "7,1,0",
                "digest_weekday": 1,
                "digest_time": clock_time(9),
                "created_at": created,
            }
        )
        team = rng.sample(people, min(4, len(people)))
        for k, person in enumerate(team):
            rows[Membership].append(
                {
                    "experiment_id": e,
                    "person_id": person,
                    "role": "coordinator" if k == 0 else "member",
                    "created_at": created,
                }
            )
        rows[ChannelBinding].append(
            {
                "workspace_id": workspace.id,
                "channel_id": f"C0NET{n:06d}",
                "channel_name": f"reseau-{n}",
                "experiment_id": e,
                "is_shared": False,
                "created_at": created,
            }
        )
        first_line = line_id + 1
        for position in range(5):
            line_id += 1
            rows[BudgetLine].append(
                {
                    "id": line_id,
                    "experiment_id": e,
                    "key": f"poste{position}",
                    "label": f"Poste {position}",
                    "planned_cents": 5_000_00,
                    "position": position,
                    "created_at": created,
                }
            )
        for _ in range(10):
            rows[Expense].append(
                {
                    "experiment_id": e,
                    "budget_line_id": rng.randrange(first_line, line_id + 1),
                    "amount_cents": rng.randrange(10_00, 500_00),
                    "currency": "EUR",
                    "description": "Dépense",
                    "spent_on": NOW.date() - timedelta(days=rng.randrange(200)),
                    "supplier": "",
                    "receipt_url": "",
                    "author_id": team[0],
                    "created_at": created,
                }
            )
        for _ in range(milestones):
            milestone_id += 1
            due = NOW.date() + timedelta(days=rng.randrange(-100, 200))
            rows[Milestone].append(
                {
                    "id": milestone_id,
                    "experiment_id": e,
                    "title": f"Jalon {milestone_id}",
                    "due_on": due,
                    "original_due_on": due,
                    "status": "open",
                    "progress": 0,
                    "created_at": created,
                }
            )
            rows[MilestoneOwner].append({"milestone_id": milestone_id, "person_id": team[0]})
    with engine.begin() as conn:
        for model, batch in rows.items():
            table = model.__table__
            for i in range(0, len(batch), 5000):
                conn.execute(insert(table), batch[i : i + 5000])
        if engine.dialect.name == "postgresql":
            for table in ("experiment", "budget_line", "milestone"):
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()


def measure(
    base: str, requests: int, network: int, web: bool
) -> tuple[dict[str, tuple[float, float]], dict[str, float]]:
    with FakeSlack() as fake, tempfile.TemporaryDirectory() as tmp:
        schema, url = fresh_schema(base) if base.startswith("postgresql") else ("", base)
        try:
            with processes(Path(tmp)) as procs:
                procs.run("release", {"DATABASE_URL": url, "LOG_LEVEL": "WARNING"})
            seed_on_slack(url, fake)
            if network:
                started = time.perf_counter()
                add_network(url, network)
                print(
                    f"  ({network} more experiments written in "
                    f"{time.perf_counter() - started:.0f} s)",
                    flush=True,
                )
            served = in_web_process(url, fake, requests, Path(tmp)) if web else {}
            alone = in_one_thread(url, fake, requests)
        finally:
            if schema:
                drop_schema(base, schema)
    return served, alone


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--network", type=int, default=0, help="experiments beside the demo")
    parser.add_argument("--one-thread", action="store_true", help="no web process")
    args = parser.parse_args()
    base = normalise_url(args.db)
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; CPU per request:")
    labs = [("demo lab", 0)] + (
        [(f"+{args.network:,} experiments", args.network)] if args.network else []
    )
    results = {}
    for label, network in labs:
        results[label] = measure(base, args.requests, network, not args.one_thread)
    for label, _ in labs:
        served, alone = results[label]
        print(f"{label}:")
        for name, _line, _check in COMMANDS:
            web = ""
            if served:
                cpu, database = served[name]
                web = f"web process {cpu * 1000:5.2f} ms  PostgreSQL {database * 1000:5.2f} ms  "
            print(f"  {name:<13} {web}one thread {alone[name] * 1000:5.2f} ms")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
