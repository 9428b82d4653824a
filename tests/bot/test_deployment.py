"""What a PaaS reads: the Procfile's process types and the settings documented in
``.env.example``, kept in step with the code."""

from __future__ import annotations

import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from time import monotonic, sleep
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import Session, col, select

from bot.settings import Settings
from models import Experiment, Membership, Milestone, MilestoneOwner, OutboxMessage, pk
from models.db import make_engine, normalise_url
from tests.demo_mattermost import add_demo_people, seed_on_mattermost
from tests.fakes.mattermost_api import CREATE_POST, FakeMattermost
from tests.processes import ROOT, free_port, processes, procfile, wait_until_up, web_settings


def documented_settings() -> set[str]:
    names = set()
    for line in (ROOT / ".env.example").read_text().splitlines():
        line = line.strip().lstrip("# ")
        name, sep, _ = line.partition("=")
        if sep and name.isupper() and name.replace("_", "").isalnum():
            names.add(name)
    return names


def test_every_setting_is_in_the_env_example() -> None:
    settings = {name.upper() for name in Settings.model_fields}
    assert settings <= documented_settings()


def test_the_env_example_reads_as_settings() -> None:
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and not line.startswith("#") and name.lower() in Settings.model_fields:
            values[name.lower()] = value
    settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
    assert settings.mattermost_command_tokens == []
    assert settings.scheduler is True


def test_the_procfile_runs_migrations_the_web_app_and_a_worker() -> None:
    kinds = procfile()
    assert kinds["release"] == "python -m bot migrate"
    assert kinds["postdeploy"] == kinds["release"]
    assert "uvicorn bot.web:create_app --factory " in kinds["web"]
    assert "--port ${PORT" in kinds["web"]
    assert "--workers ${WEB_CONCURRENCY" in kinds["web"]
    assert kinds["worker"] == "python -m bot worker"


# -- at scale: the Procfile's processes on PostgreSQL --------------------------------------

MM_TOKEN = "scale-labo-command-token"


def late_milestones(url: str, count: int, now: datetime) -> int:
    """``count`` milestones of the demo, due yesterday, each owned by a team member: each
    owes its owner one ping today. Every experiment works around the clock, so the pings
    are due whatever the hour the test runs at. Returns the pings owed."""
    engine = make_engine(url)
    owed = 0
    with Session(engine) as session:
        for experiment in session.exec(select(Experiment)).all():
            experiment.working_days = "1,2,3,4,5,6,7"
            experiment.working_hours_start = time(0, 0)
            experiment.working_hours_end = time(23, 59, 59)
            session.add(experiment)
        members = session.exec(
            select(Membership.experiment_id, Membership.person_id).where(
                Membership.role != "partner", col(Membership.removed_at).is_(None)
            )
        ).all()
        yesterday = (now - timedelta(days=1)).astimezone(ZoneInfo("Europe/Paris")).date()
        for n in range(count):
            experiment_id, person_id = members[n % len(members)]
            milestone = Milestone(
                experiment_id=experiment_id,
                title=f"Relance n°{n}",
                due_on=yesterday,
                original_due_on=yesterday,
                created_at=now - timedelta(days=10),
            )
            session.add(milestone)
            session.flush()
            session.add(MilestoneOwner(milestone_id=pk(milestone), person_id=person_id))
            owed += 1
        session.commit()
    engine.dispose()
    return owed


def outbox_rows(url: str) -> list[OutboxMessage]:
    engine = make_engine(url)
    with Session(engine) as session:
        rows = list(session.exec(select(OutboxMessage)).all())
    engine.dispose()
    return rows


def milestone_titles(url: str, prefix: str) -> list[str]:
    engine = make_engine(url)
    with Session(engine) as session:
        titles = session.exec(
            select(Milestone.title).where(col(Milestone.title).startswith(prefix))
        ).all()
    engine.dispose()
    return list(titles)


def claimer(url: str) -> int:
    """The process id of a worker in the middle of sending: it has sent messages and holds
    unsent ones (``claimed_by`` is ``host:pid:…``)."""
    deadline = monotonic() + 30
    while monotonic() < deadline:
        rows = outbox_rows(url)
        sent = {r.claimed_by.split(":")[1] for r in rows if r.claimed_by and r.sent_at}
        held = [
            r.claimed_by.split(":")[1]
            for r in rows
            if r.claimed_by and r.sent_at is None and r.dropped_at is None
        ]
        busy = [pid for pid in held if pid in sent]
        if busy:
            return int(busy[0])
        sleep(0.05)
    raise AssertionError("no worker is in the middle of sending")


def send_command(root: str, mm: FakeMattermost, text: str, trigger: str) -> httpx.Response:
    fields = {
        "channel_id": "bondy",
        "channel_name": "bondy",
        "command": "/jalon",
        "response_url": mm.new_response_url(),
        "team_domain": "labo",
        "team_id": mm.team_id,
        "text": text,
        "token": MM_TOKEN,
        "trigger_id": trigger,
        "user_id": "camille",
        "user_name": "camille",
    }
    headers = {"Authorization": f"Token {MM_TOKEN}"}
    return httpx.post(root + "/mattermost/command", data=fields, headers=headers, timeout=30)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="needs PostgreSQL")
def test_two_web_processes_and_two_workers_lose_nothing_and_send_nothing_twice(
    tmp_path: Path,
) -> None:
    """The Procfile's lines as a PaaS runs them, on a fresh PostgreSQL schema: ``release``,
    then ``web`` with two processes and two ``worker``s, one of them restarted while
    messages are under way, against a Mattermost server that rate-limits. Commands come
    in concurrently, some twice (a retried delivery); reminders are owed meanwhile."""
    base = normalise_url(os.environ["TEST_DATABASE_URL"])
    schema = f"scale_{uuid.uuid4().hex[:10]}"
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    now = datetime.now(UTC)
    try:
        with FakeMattermost() as mm, processes(tmp_path) as procs:
            add_demo_people(mm)
            mm.enable_rate_limit(per_sec=8, burst=3)
            settings = {
                "DATABASE_URL": url,
                "MATTERMOST_URL": mm.url,
                "MATTERMOST_BOT_TOKEN": mm.token,
                "MATTERMOST_COMMAND_TOKENS": MM_TOKEN,
                "PUBLIC_URL": "https://coordo.example.org",
                "LOG_LEVEL": "INFO",
            }

            def logs() -> str:
                return "\n".join(f"--- {n}\n{procs.output(n)[-3000:]}" for n, _ in procs.started)

            procs.run("release", settings)
            seed_on_mattermost(url, mm.team_id, now)
            owed = late_milestones(url, 60, now)
            # Each ping on its own (not a daily summary), so workers have many to send.
            each_at_once = make_engine(url)
            with each_at_once.begin() as conn:
                conn.execute(text("UPDATE person SET daily_summary = false"))
            each_at_once.dispose()
            port = free_port()
            web = procs.start("web", web_settings(port, 2, settings))
            workers = [procs.start("worker", settings, label=f"worker-{n}") for n in (1, 2)]
            root = f"http://127.0.0.1:{port}"
            wait_until_up(root, web)

            # Forty commands at once, ten of them delivered twice (same trigger id).
            commands = [
                (f"Appeler la mairie n°{n} pour:15/01/2027", f"trigger-{n}") for n in range(40)
            ]
            with ThreadPoolExecutor(10) as pool:
                answers = list(
                    pool.map(lambda c: send_command(root, mm, *c), commands + commands[:10])
                )
            # A deployment restarts the worker that holds messages while it sends them.
            mm.calls.wait_for(CREATE_POST, count=5, timeout=60)
            holder = claimer(url)
            [busy] = [w for w in workers if w.pid == holder]
            assert procs.stop(busy) == 0, logs()
            procs.start("worker", settings, label="worker-3")

            assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
            texts = [a.json()["text"] for a in answers]
            assert not [t for t in texts if t.startswith(("Désolé", "⏳"))], texts
            titles = milestone_titles(url, "Appeler la mairie")
            assert sorted(titles) == sorted(f"Appeler la mairie n°{n}" for n in range(40))

            deadline = monotonic() + 120
            while True:
                rows = outbox_rows(url)
                pending = [r for r in rows if r.sent_at is None and r.dropped_at is None]
                if rows and not pending:
                    break
                assert monotonic() < deadline, f"{len(pending)} still unsent\n{logs()}"
                sleep(0.5)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    assert not [r.key for r in rows if r.dead_at is not None]
    sent = [r for r in rows if r.sent_at is not None]
    pings = [r for r in sent if r.kind == "milestone" and ":late-" in r.key]
    assert len(pings) >= owed
    # Each message sent went to Mattermost exactly once: one post per row, none extra.
    posts = [p for p in mm.posts if not p["file_ids"]]
    assert sorted(r.platform_message_id or "" for r in sent) == sorted(p["id"] for p in posts)
    assert mm.calls.count("POST /api/v4/posts") > len(posts)  # 429s were met and retried
    # The restarted worker sent some, and gave the rest back for the others to send.
    senders = {r.claimed_by.split(":")[1] for r in sent if r.claimed_by}
    assert str(holder) in senders
    assert len(senders) >= 2
