"""The command line: ``python -m bot console|serve|worker|migrate|parse-date``.

Each action imports what it needs when it runs: ``parse-date`` reads a date without the
database, the settings or the chat platforms, and starts at once.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bot import parse_date_cli

if TYPE_CHECKING:
    from bot.kit.runner import Runner
    from bot.settings import Settings

log = logging.getLogger("bot")


def parse_now(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        from zoneinfo import ZoneInfo

        moment = moment.replace(tzinfo=ZoneInfo("Europe/Paris"))
    return moment.astimezone(UTC)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot", description="Coordo, the lab's bookkeeping bot."
    )
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("migrate", help="apply the database migrations")
    console = sub.add_parser("console", help="type Coordo's commands in a terminal")
    console.add_argument(
        "--demo", action="store_true", help="seed a demo lab (kept if already there)"
    )
    console.add_argument(
        "--db", help="database URL (default: DATABASE_URL, else sqlite:///coordo.db)"
    )
    console.add_argument("--user", help="who is typing (default: camille with --demo)")
    console.add_argument("--channel", help="where (default: bondy with --demo)")
    console.add_argument(
        "--now",
        type=parse_now,
        help="fix the clock, e.g. 2026-11-24T10:00 (with --demo the clock starts on"
        " Tuesday 24 November 2026 at 10:00 and runs)",
    )
    sub.add_parser("serve", help="run the web app (Slack, Mattermost, calendars) and the scheduler")
    worker = sub.add_parser(
        "worker", help="run the scheduler alone: queue reminders and digests, send them"
    )
    worker.add_argument(
        "--once", action="store_true", help="one scan and one delivery of what is due, then exit"
    )
    parse_date_cli.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.action == "parse-date":
        return int(args.handler(args))
    from bot.settings import Settings, configure_logging
    from models.db import make_engine, migrate

    settings = Settings()
    configure_logging(settings)
    if args.action == "migrate":
        migrate(make_engine(settings.database_url))
        return 0
    if args.action == "console":
        return run_console(args, settings)
    if args.action == "serve":
        from bot.kit.runner import Runner
        from bot.web import serve
        from commands.registry import build_router

        # One pool of core threads for the process: the web's platforms and Matrix's.
        runner = Runner(make_engine(settings.database_url), build_router(settings.public_url))
        try:
            with matrix_connector(settings, runner):
                return serve(settings, runner)
        finally:
            runner.close()
    if args.action == "worker":
        from bot.scheduler import run_worker

        if args.once:
            return run_worker(settings, once=True)
        with matrix_connector(settings):
            return run_worker(settings, once=args.once)
    return 2


@contextmanager
def matrix_connector(settings: Settings, runner: Runner | None = None) -> Iterator[None]:
    """The Matrix connector, when Matrix is set, for the life of ``serve`` or ``worker``:
    it syncs, answers the commands and delivers the Matrix workspace's outbox. With
    ``runner`` (``serve``), its commands run in the web's pool, on the runner's engine."""
    if not settings.matrix_homeserver or not settings.matrix_connector:
        yield
        return
    from bot.matrix.connector import from_settings
    from commands.registry import build_router
    from models.db import make_engine, migrate

    engine = runner.engine if runner is not None else make_engine(settings.database_url)
    router = runner.router if runner is not None else build_router(settings.public_url)
    migrate(engine)
    connector = from_settings(settings, engine, router, runner)
    if connector is None:
        log.error("MATRIX_HOMESERVER is set but MATRIX_USER_ID is not: Matrix stays off")
        yield
        return
    connector.start()
    log.info("Matrix connector started as %s", settings.matrix_user_id)
    try:
        yield
    finally:
        connector.stop()
        engine.dispose()


def demo_clock() -> Callable[[], datetime]:
    """The demo's clock: ``DEMO_START`` when the console opens, then running."""
    from commands.demo import DEMO_START

    opened = time.monotonic()

    def now() -> datetime:
        return (DEMO_START + timedelta(seconds=time.monotonic() - opened)).astimezone(UTC)

    return now


def run_console(args: argparse.Namespace, settings: Settings) -> int:
    from sqlmodel import Session

    from bot.console import Console, interactive_lines
    from commands.demo import DEMO_CHANNEL, DEMO_USER, seed_demo
    from commands.registry import build_router
    from models.db import make_engine, migrate

    # The console is for people: keep library chatter out of their way.
    logging.getLogger().setLevel(logging.WARNING)
    engine = make_engine(args.db or settings.database_url)
    migrate(engine)
    clock = demo_clock() if args.demo else None
    if clock is not None:
        with Session(engine) as session:
            seed_demo(session, args.now or clock())
            session.commit()
    console = Console(
        engine,
        build_router(),
        user=args.user or (DEMO_USER if args.demo else "camille"),
        channel=args.channel or (DEMO_CHANNEL if args.demo else "labo"),
        now=args.now,
        clock=clock,
        files_dir=Path(settings.exports_dir),
    )
    if settings.scheduler:
        from bot.scheduler import attach_to_console

        attach_to_console(console, engine)
    if sys.stdin.isatty():
        sys.stdout.write("Coordo — tapez /labo aide (ou /lab help). Ctrl-D pour quitter.\n")
        background = None
        if settings.scheduler and args.now is None:
            from bot.scheduler import console_scheduler

            background = console_scheduler(console, sys.stdout)
            background.start()
        try:
            console.run(interactive_lines(console), sys.stdout)
        finally:
            if background is not None:
                background.shutdown(wait=False)
    else:
        console.run(sys.stdin, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
