"""What a Slack command costs in CPU: in the web process under load, and alone in one thread.

    python bench/command_cost.py [--db postgresql://postgres@127.0.0.1:5432/test]
                                 [--requests 3000]

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
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from mattermost_http import drop_schema, fresh_schema  # noqa: E402
from slack_bolt.request import BoltRequest  # noqa: E402
from slack_http import (  # noqa: E402
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

from bot.settings import Settings  # noqa: E402
from bot.slack.app import HANDOFF, Handoff  # noqa: E402
from bot.web import create_app  # noqa: E402
from models.db import normalise_url  # noqa: E402
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--requests", type=int, default=3000)
    args = parser.parse_args()
    base = normalise_url(args.db)
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; CPU per request:")
    with FakeSlack() as fake, tempfile.TemporaryDirectory() as tmp:
        schema, url = fresh_schema(base) if base.startswith("postgresql") else ("", base)
        try:
            with processes(Path(tmp)) as procs:
                procs.run("release", {"DATABASE_URL": url, "LOG_LEVEL": "WARNING"})
            seed_on_slack(url, fake)
            served = in_web_process(url, fake, args.requests, Path(tmp))
            alone = in_one_thread(url, fake, args.requests)
        finally:
            if schema:
                drop_schema(base, schema)
    for name, _line, _check in COMMANDS:
        web, database = served[name]
        print(
            f"  {name:<13} web process {web * 1000:5.2f} ms  PostgreSQL {database * 1000:5.2f} ms  "
            f"one thread {alone[name] * 1000:5.2f} ms"
        )


if __name__ == "__main__":
    main()
