"""``python -m bot parse-date "<text>"``: show what Coordo understands of a date.

Prints ISO 8601 in local time (a date alone when no time was meant, ``start/end`` for a
range, an ``RRULE:`` line then the first occurrence for a recurrence) and exits 0; or
prints the reason, in the chosen language, on standard error and exits 2.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from commands.dates import DateError, Mode, When, parse_when
from commands.messages import SUPPORTED_LOCALES, raw_message

MODES: tuple[Mode, ...] = ("deadline", "done", "any")


def _zone_name(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise argparse.ArgumentTypeError(f"unknown time zone: {value!r}") from None
    return value


def _iso_datetime(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO 8601 date and time: {value!r} (example: 2026-11-24T10:00)"
        ) from None


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "parse-date",
        help="show how Coordo reads a date or time",
        description=(
            "Read a date as Coordo reads what people type, and print it as ISO 8601 in local "
            "time. By default it is read as a deadline or a meeting (a past date is refused)."
        ),
    )
    parser.add_argument("text", nargs="+", help='the date, e.g. "vendredi prochain 14h"')
    parser.add_argument(
        "--now",
        type=_iso_datetime,
        help="the time to read it at, ISO 8601 (default: now); without an offset, in --tz",
    )
    parser.add_argument("--lang", choices=SUPPORTED_LOCALES, default="fr")
    parser.add_argument("--tz", type=_zone_name, default="Europe/Paris")
    how = parser.add_mutually_exclusive_group()
    how.add_argument(
        "--past-ok",
        action="store_true",
        help='read it as the date of something done, such as an expense ("hier" is fine)',
    )
    how.add_argument("--mode", choices=MODES, help="deadline (default), done or any")
    parser.set_defaults(handler=run)


def _local(when: When, moment: datetime) -> str:
    return moment.isoformat() if when.has_time else moment.date().isoformat()


def format_when(when: When) -> list[str]:
    """The lines ``parse-date`` prints for a result."""
    line = _local(when, when.start)
    if when.end is not None:
        line += "/" + _local(when, when.end)
    if when.rrule is not None:
        return [f"RRULE:{when.rrule}", line]
    return [line]


def render_error(error: DateError, lang: str) -> str:
    from jinja2 import Environment, StrictUndefined  # only to say why a date was refused

    env = Environment(undefined=StrictUndefined, autoescape=False)
    return env.from_string(raw_message(error.key, lang)).render(**error.params)


def run(args: argparse.Namespace) -> int:
    zone = ZoneInfo(args.tz)
    now: datetime = args.now or datetime.now(zone)
    if now.tzinfo is None:
        now = now.replace(tzinfo=zone)
    mode: Mode = "done" if args.past_ok else (args.mode or "deadline")
    text = " ".join(args.text) if isinstance(args.text, list) else args.text
    try:
        when = parse_when(text, now=now, lang=args.lang, tz=args.tz, mode=mode)
    except DateError as error:
        print(render_error(error, args.lang), file=sys.stderr)
        return 2
    for line in format_when(when):
        print(line)
    return 0
