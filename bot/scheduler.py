"""The scheduler: APScheduler 3 wakes two jobs, the database holds everything else.

- ``scan`` (every minute): ``commands.services.scan.scan`` queues what is due in the
  outbox, in one transaction;
- ``send`` (every few seconds): ``bot.sender.Sender.run_once`` delivers what is queued.

Neither keeps state that matters between runs, so any number of processes may run them
(several workers share the outbox through the database); APScheduler's own job store is
not used (one scheduler may own a store at a time). Each job has an explicit id
(``replace_existing=True``), a trigger with an explicit timezone, ``coalesce=True`` and a
``misfire_grace_time`` of one interval: a process that slept or was busy runs a late job
once, instead of silently skipping it (the default grace is 1 s) or running it N times.

The same jobs run in ``python -m bot worker`` (blocking), in the web app's lifespan
(``python -m bot serve``, in the background) and in the console (between lines).
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import FrameType
from typing import TextIO

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from bot.console import Console, ConsoleChat
from bot.kit.port import ChatPort
from bot.mattermost.client import MattermostChat
from bot.mattermost.render import MattermostSigner, to_mattermost
from bot.sender import PortsByWorkspace, Renderer, Sender, SendReport, utc_now
from bot.settings import Settings
from bot.slack.client import SlackChat
from bot.slack.install import SlackInstallations, SlackWorkspaces, oauth_enabled
from bot.slack.render import to_slack
from commands.services.scan import ScanReport, scan
from models.db import make_engine, session_scope

log = logging.getLogger(__name__)

SCAN_JOB = "scan"
SEND_JOB = "send"
SCAN_EVERY = 60.0
SCAN_ATTEMPTS = 3
# Passes of one scan at most (each queues the digests of ``DIGESTS_PER_PASS`` experiments).
SCAN_PASSES = 1000
SEND_EVERY = 5.0

Clock = Callable[[], datetime]


@dataclass
class Jobs:
    """What the scheduler runs; callable directly (tests, the console, ``--once``)."""

    engine: Engine
    sender: Sender
    clock: Clock = utc_now

    def scan(self) -> ScanReport:
        """Scan passes, each in its transaction, until one leaves nothing for another
        (the digests of a Monday 9:00 are written a few hundred at a time, each pass
        committed so that the sender starts on them)."""
        total = ScanReport()
        for _ in range(SCAN_PASSES):
            report = self._scan_pass()
            for name in ("milestone_pings", "digests", "lab_digests", "invoice_pings"):
                setattr(total, name, getattr(total, name) + getattr(report, name))
            if report.meeting_reminders is not None:
                total.meeting_reminders = (total.meeting_reminders or 0) + report.meeting_reminders
            if not report.more or self.sender.stopped:
                break  # a worker told to stop leaves the rest to the next scan
        if total.queued:
            log.info("scan queued %s notification(s): %s", total.queued, total)
        return total

    def _scan_pass(self) -> ScanReport:
        for attempt in range(1, SCAN_ATTEMPTS + 1):
            try:
                with session_scope(self.engine) as session:
                    return scan(session, self.clock())
            except OperationalError as error:
                # SQLite: a command wrote between the scan's reads and its writes. The
                # scan queues by unique keys: running it again is safe.
                if self.engine.dialect.name != "sqlite" or attempt == SCAN_ATTEMPTS:
                    raise
                log.warning("scan: %s; again (%s/%s)", error.orig, attempt, SCAN_ATTEMPTS)
        raise AssertionError("unreachable")

    def send(self) -> SendReport:
        report = self.sender.run_once()
        if report.claimed:
            log.info("sender: %s", report)
        return report

    def tick(self, *, wait: bool = True) -> tuple[ScanReport, SendReport]:
        """A scan, then a send of all that is due now."""
        scanned = self.scan()
        if wait:
            return scanned, self.sender.run_until_idle()
        return scanned, self.sender.run_once(wait=False)


def add_jobs(
    scheduler: BaseScheduler,
    jobs: Jobs,
    *,
    scan_every: float = SCAN_EVERY,
    send_every: float = SEND_EVERY,
    start_now: bool = True,
) -> None:
    first = datetime.now(UTC) if start_now else None
    scheduler.add_job(
        jobs.scan,
        IntervalTrigger(seconds=scan_every, timezone=UTC),
        id=SCAN_JOB,
        name="queue what is due in the outbox",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=max(1, int(scan_every)),
        next_run_time=first,
    )
    scheduler.add_job(
        jobs.send,
        IntervalTrigger(seconds=send_every, timezone=UTC),
        id=SEND_JOB,
        name="deliver the outbox",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=max(1, int(send_every)),
        next_run_time=first,
    )


def background_scheduler(jobs: Jobs, **intervals: float) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone=UTC)
    add_jobs(scheduler, jobs, **intervals)  # type: ignore[arg-type]
    return scheduler


# -- the console ------------------------------------------------------------------------


def attach_to_console(console: Console, engine: Engine) -> Jobs:
    """Give the console its platform and its jobs: after each line, a scan and a send at
    the console's time, whose messages it prints."""
    chat = ConsoleChat(console.files_dir)
    sender = Sender(
        engine, {"console": chat}, clock=console.now, concurrency=1, pacing={}, max_wait=0
    )
    jobs = Jobs(engine, sender, clock=console.now)

    def notifications() -> list[str]:
        try:
            jobs.tick()
        except Exception:  # a bug: logged with its traceback; the console goes on
            log.exception("the console's scan or sender failed")
        return chat.drain()

    console.notifications = notifications
    return jobs


def console_scheduler(console: Console, out: TextIO, every: float = 30.0) -> BackgroundScheduler:
    """For a console on a terminal with the real clock: print what Coordo sends even
    while nobody types."""

    def tick() -> None:
        text = console.pending_notifications()
        if text:
            with console.lock:
                out.write("\n" + text + "\n\n" + console.prompt())
                out.flush()

    scheduler = BackgroundScheduler(timezone=UTC)
    scheduler.add_job(
        tick,
        IntervalTrigger(seconds=every, timezone=UTC),
        id="console",
        name="print what Coordo sends",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=int(every),
    )
    return scheduler


# -- from the settings ------------------------------------------------------------------


def ports_from_settings(
    settings: Settings, engine: Engine | None = None
) -> tuple[dict[str, ChatPort | PortsByWorkspace], dict[str, Renderer]]:
    """The platform clients the settings allow, and their renderers. With the Slack app
    distributed to many workspaces (and ``engine``, where their installations are), each
    Slack message goes with its workspace's bot token."""
    ports: dict[str, ChatPort | PortsByWorkspace] = {}
    renderers: dict[str, Renderer] = {}
    if oauth_enabled(settings) and engine is not None:
        assert settings.slack_client_id
        installations = SlackInstallations(engine, settings.slack_client_id)
        ports["slack"] = SlackWorkspaces(installations, base_url=settings.slack_api_url)
        renderers["slack"] = to_slack
    elif settings.slack_bot_token:
        ports["slack"] = SlackChat(settings.slack_bot_token, base_url=settings.slack_api_url)
        renderers["slack"] = to_slack
    if settings.mattermost_url and settings.mattermost_bot_token:
        ports["mattermost"] = MattermostChat(settings.mattermost_url, settings.mattermost_bot_token)
        signer = MattermostSigner.from_settings(settings)
        renderers["mattermost"] = lambda reply, team: to_mattermost(reply, signer, team_id=team)
    return ports, renderers


def jobs_from_settings(settings: Settings, engine: Engine | None = None) -> Jobs:
    engine = engine or make_engine(settings.database_url)
    ports, renderers = ports_from_settings(settings, engine)
    return Jobs(engine, Sender(engine, ports, renderers=renderers))


def run_worker(settings: Settings, *, once: bool = False) -> int:
    """``python -m bot worker``: the scan and the sender, until SIGTERM or Ctrl-C."""
    jobs = jobs_from_settings(settings)
    if not jobs.sender.ports and not settings.matrix_homeserver:
        log.error(
            "no chat platform configured: set SLACK_BOT_TOKEN (or SLACK_CLIENT_ID and "
            "SLACK_CLIENT_SECRET), or MATTERMOST_URL and "
            "MATTERMOST_BOT_TOKEN; the worker would queue messages it cannot send"
        )
        return 2
    if once:
        scanned, sent = jobs.tick()
        log.info("one pass: %s; %s", scanned, sent)
        return 0
    scheduler = BlockingScheduler(timezone=UTC)
    add_jobs(scheduler, jobs)

    def stop(signum: int, frame: FrameType | None) -> None:
        log.info("signal %s: stopping after the messages under way", signum)
        jobs.sender.stop()
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("worker started: platforms %s", ", ".join(sorted(jobs.sender.ports)))
    scheduler.start()
    jobs.sender.stop()
    jobs.engine.dispose()
    return 0
