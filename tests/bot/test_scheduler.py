"""The scheduler's jobs, the console that shows what Coordo sends, the worker process and
the web app's own scheduler."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine, event
from sqlmodel import SQLModel

from bot.console import Console, ConsoleChat
from bot.scheduler import SCAN_JOB, SEND_JOB, Jobs, add_jobs, attach_to_console, run_worker
from bot.sender import Sender
from bot.settings import Settings
from bot.web import create_app
from commands.registry import build_router
from models.db import make_engine, migrate
from tests.chat import converse
from tests.fakes.slack_api import FakeSlack
from tests.lab import TEAM_CHANNEL, Lab, build_lab, paris, slack_workspace
from tests.live import serve

ROOT = Path(__file__).resolve().parents[2]


def test_two_jobs_with_explicit_ids_coalesced_and_a_grace_of_one_interval(engine: Engine) -> None:
    scheduler = BackgroundScheduler(timezone=UTC)
    jobs = Jobs(engine, Sender(engine, {}))
    add_jobs(scheduler, jobs, scan_every=60, send_every=5)
    add_jobs(scheduler, jobs, scan_every=60, send_every=5)  # replaces, never doubles
    scheduler.start(paused=True)
    try:
        found = {job.id: job for job in scheduler.get_jobs()}
        assert set(found) == {SCAN_JOB, SEND_JOB}
        for job_id, seconds in ((SCAN_JOB, 60), (SEND_JOB, 5)):
            job = found[job_id]
            assert job.coalesce is True
            assert job.max_instances == 1
            assert job.misfire_grace_time == seconds
            assert isinstance(job.trigger, IntervalTrigger)
            assert job.trigger.timezone == UTC
            assert job.trigger.interval == timedelta(seconds=seconds)
            start = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
            # A table of firings: one interval apart, whatever the machine's zone.
            fire = job.trigger.get_next_fire_time(None, start)
            later = job.trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
            assert later - fire == timedelta(seconds=seconds)
    finally:
        scheduler.shutdown(wait=False)


def test_a_tick_scans_then_sends(engine: Engine, tmp_path: Path) -> None:
    lab = build_lab(engine, platform="console")
    lab.add_milestone("Rendre le rapport", paris(2026, 12, 4).date())
    chat = ConsoleChat(tmp_path)
    now = paris(2026, 12, 3, 9, 30)
    jobs = Jobs(
        engine,
        Sender(engine, {"console": chat}, clock=lambda: now, concurrency=1, pacing={}),
        clock=lambda: now,
    )
    scanned, sent = jobs.tick()
    assert (scanned.milestone_pings, sent.sent) == (1, 1)
    [line] = chat.drain()
    assert line.startswith(
        "📨 Coordo → @U0MARIE\n⏰ Jalon à rendre demain\u202f: Rendre le rapport"
    )
    assert jobs.tick()[0].queued == 0


def test_the_console_prints_what_coordo_sends_at_its_time(console: Console) -> None:
    attach_to_console(console, console.engine)
    converse(
        console,
        """
        > /labo voir
        Budget participatif de Bondy
        📨 Coordo → @marie
        🔴 Jalon en retard de 4 jours : Clôturer le dépôt des projets citoyens
        [✅ Fait]  [⏭️ Une semaine de plus]
        📨 Coordo → @karim
        🔴 Jalon en retard de 2 jours : Restitution du diagnostic aux élus
        > /labo voir
        Budget participatif de Bondy
        :now 2026-11-25T09:00
        (horloge : 2026-11-25T09:00:00+01:00)
        📨 Coordo → @karim
        ⏰ Jalon à rendre aujourd'hui : Analyse de recevabilité des projets
        """,
    )
    again = console.handle("/labo voir")
    assert "Coordo →" not in again  # nothing twice
    converse(
        console,
        """
        :now 2026-11-30T09:00
        📣 Coordo → ~bondy
        📰 Point de la semaine — Budget participatif de Bondy
        📎 Coordo → ~bondy : Graphique du point de la semaine
        📣 Coordo → ~bondy-partenaires
        📨 Coordo → @camille
        🧭 Point du labo
        """,
    )


def test_once_done_the_console_shows_no_more_pings(console: Console) -> None:
    attach_to_console(console, console.engine)
    first = console.handle(":now 2026-11-25T09:00")
    assert "Analyse de recevabilité des projets" in first
    assert "Clôturer le dépôt des projets citoyens" in first
    console.handle(":user marie")
    done = console.handle("/jalon fait 1")
    assert "Clôturer le dépôt des projets citoyens" in done
    later = console.handle(":now 2026-11-26T09:30")
    assert "Clôturer le dépôt des projets citoyens" not in later
    assert "Analyse de recevabilité des projets" in later  # still late, still pinged


def migrated(database_url: str) -> Engine:
    engine = make_engine(database_url)
    SQLModel.metadata.drop_all(engine)
    migrate(engine)
    return engine


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'coordo.db'}"


def test_the_worker_process_sends_what_is_due(
    sqlite_url: str, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    engine = migrated(sqlite_url)
    lab = build_lab(engine)
    slack_workspace(fake_slack)
    lab.queue("news:1", text="Le point de la semaine", not_before=datetime.now(UTC))
    engine.dispose()
    env = {
        **os.environ,
        "DATABASE_URL": sqlite_url,
        "SLACK_BOT_TOKEN": fake_slack.token,
        "SLACK_API_URL": fake_slack.api_url,
        "EXPORTS_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", "worker", "--once"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    # (On a Monday morning the week's digest may go too: the worker's clock is real.)
    texts = [m.text for m in fake_slack.messages_in(TEAM_CHANNEL)]
    assert texts.count("Le point de la semaine") == 1
    assert "Traceback" not in result.stderr


def test_a_worker_stopped_in_the_middle_loses_nothing_and_sends_nothing_twice(
    sqlite_url: str, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    """A real worker process, sending ten messages to one Slack channel at one a second,
    gets SIGTERM after the second: it finishes what is under way and gives the rest back;
    the next worker sends the rest, each message once."""
    engine = migrated(sqlite_url)
    lab = build_lab(engine)
    slack_workspace(fake_slack, "C0RESTART")
    for n in range(10):
        lab.queue(f"restart:{n}", target="C0RESTART", text=f"n°{n}", experiment=False)
    engine.dispose()
    env = {
        **os.environ,
        "DATABASE_URL": sqlite_url,
        "SLACK_BOT_TOKEN": fake_slack.token,
        "SLACK_API_URL": fake_slack.api_url,
        "EXPORTS_DIR": str(tmp_path),
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "bot", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        fake_slack.calls.wait_for("chat.postMessage", count=2, timeout=30)
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, output
    first = [m.text for m in fake_slack.messages_in("C0RESTART")]
    assert 2 <= len(first) < 10
    unsent = [r for r in lab.rows() if r.sent_at is None]
    assert len(unsent) == 10 - len(first)
    assert all(r.claimed_at is None for r in unsent)  # given back, not left to a lease
    again = subprocess.run(
        [sys.executable, "-m", "bot", "worker", "--once"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    assert [m.text for m in fake_slack.messages_in("C0RESTART")] == [f"n°{n}" for n in range(10)]


def test_a_worker_with_no_platform_says_so(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    assert run_worker(Settings(database_url=sqlite_url)) == 2
    assert "no chat platform configured" in caplog.text


def test_the_web_app_runs_the_scheduler_in_its_lifespan(
    database_url: str, engine: Engine, fake_slack: FakeSlack
) -> None:
    lab: Lab = build_lab(engine)
    slack_workspace(fake_slack)
    lab.queue("news:1", text="Bonjour de la part du serveur", not_before=datetime.now(UTC))
    settings = Settings(
        database_url=database_url,
        slack_bot_token=fake_slack.token,
        slack_api_url=fake_slack.api_url,
        scheduler=True,
    )
    app = create_app(settings, build_router())
    with serve(app):
        fake_slack.calls.wait_for("chat.postMessage", timeout=20)
    texts = [m.text for m in fake_slack.messages_in(TEAM_CHANNEL)]
    assert texts.count("Bonjour de la part du serveur") == 1
    assert lab.rows()[0].sent_at is not None


def test_without_the_scheduler_the_web_app_sends_nothing(
    database_url: str, engine: Engine, fake_slack: FakeSlack
) -> None:
    lab = build_lab(engine)
    lab.queue("news:1", not_before=datetime.now(UTC))
    settings = Settings(
        database_url=database_url,
        slack_bot_token=fake_slack.token,
        slack_api_url=fake_slack.api_url,
        scheduler=False,
    )
    with serve(create_app(settings, build_router())):
        pass
    assert fake_slack.calls.count("chat.postMessage") == 0
    assert len(lab.rows()) == 1  # no scan either
    assert lab.rows()[0].sent_at is None


def test_on_sqlite_a_scan_that_meets_a_command_s_write_runs_again(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A command commits a write between the scan's reads and its inserts: SQLite refuses
    the scan's write (its snapshot is stale); the scan runs again and queues once."""
    engine = migrated(sqlite_url)
    lab = build_lab(engine)
    lab.add_milestone("Rendre le rapport", paris(2026, 12, 4).date())
    other = make_engine(sqlite_url)
    interfered: list[bool] = []

    def meanwhile(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.startswith("INSERT INTO outbox_message") and not interfered:
            interfered.append(True)
            with other.begin() as write:
                write.exec_driver_sql("UPDATE workspace SET name = 'Labo 93 bis'")

    event.listen(engine, "before_cursor_execute", meanwhile)
    now = paris(2026, 12, 3, 9, 30)
    jobs = Jobs(engine, Sender(engine, {}), clock=lambda: now)
    assert jobs.scan().milestone_pings == 1
    assert interfered == [True]
    assert "database is locked" in caplog.text
    assert len(lab.rows("milestone")) == 1
    other.dispose()
    engine.dispose()


def test_a_monday_s_digests_are_written_in_passes_each_committed(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from commands.services import digests
    from commands.services.scan import scan
    from models import ChannelBinding, Experiment

    lab = build_lab(engine)
    with lab.session() as session:
        for n in range(4):
            experiment = Experiment(
                workspace_id=lab.workspace_id, slug=f"exp-{n}", name=f"Expérimentation {n}"
            )
            session.add(experiment)
            session.flush()
            session.add(
                ChannelBinding(
                    workspace_id=lab.workspace_id,
                    channel_id=f"C0EXP{n}",
                    channel_name=f"exp-{n}",
                    experiment_id=experiment.id,
                )
            )
        session.commit()
    monkeypatch.setattr(digests, "DIGESTS_PER_PASS", 2)
    monday = paris(2026, 11, 30, 9)
    with lab.session() as session:
        first = scan(session, monday)
        session.rollback()
    assert first.more
    assert first.digests < 6
    commits: list[object] = []

    def committed(connection: object) -> None:
        commits.append(connection)

    event.listen(engine, "commit", committed)
    report = Jobs(engine, Sender(engine, {}), clock=lambda: monday).scan()
    event.remove(engine, "commit", committed)
    # Bondy's team and partners' channels, and one channel for each of the four others.
    assert report.digests == 6
    assert report.lab_digests == 1
    assert not report.more
    assert len(commits) >= 3  # five experiments, two a pass
    assert Jobs(engine, Sender(engine, {}), clock=lambda: monday).scan().digests == 0
