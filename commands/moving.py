"""Reading the new date of a meeting that moves, and saying how far it moved.

``/copil deplacer 3 jeudi 10h`` is about meeting n°3: a weekday alone is the one in the
meeting's week (Monday to Sunday), not the next one after today. An explicit date reads
the same whatever the reference. Any other relative words ("jeudi prochain", "demain",
"dans 3 jours") read differently from today and from the meeting's date: then Coordo asks
which one was meant and changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from commands.args import fold
from commands.core import Context
from commands.dates import DateError, When, find_when
from commands.errors import UserError

WEEKDAYS = {
    "lundi",
    "mardi",
    "mercredi",
    "jeudi",
    "vendredi",
    "samedi",
    "dimanche",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
}
# Words that make a weekday relative to something: then the reference matters.
RELATIVE_WORDS = {
    "prochain",
    "prochaine",
    "suivant",
    "suivante",
    "dernier",
    "derniere",
    "ce",
    "cette",
    "next",
    "this",
    "last",
    "coming",
    "semaine",
    "week",
}
_WORD = re.compile(r"[a-z']+")


def _read(ctx: Context, text: str, tz: str, now: datetime) -> tuple[When, str] | None:
    try:
        return find_when(text, now=now, lang=ctx.locale, tz=tz, mode="deadline", prefer="start")
    except DateError:
        return None


def _day(when: When, tz: str) -> object:
    return when.start.astimezone(ZoneInfo(tz)).date()


def bare_weekday(text: str) -> bool:
    words = set(_WORD.findall(fold(text)))
    return bool(words & WEEKDAYS) and not words & RELATIVE_WORDS


def new_date(ctx: Context, text: str, tz: str, anchor: datetime) -> tuple[When, str]:
    """The new date in ``text`` for a meeting (or sitting) that starts at ``anchor``, and
    the rest of the text; raises a question when the date depends on the reference."""
    zone = ZoneInfo(tz)
    local = anchor.astimezone(zone)
    from_today = _read(ctx, text, tz, ctx.now)
    if from_today is None:
        # The error as the date grammar words it.
        return find_when(text, now=ctx.now, lang=ctx.locale, tz=tz, mode="deadline")
    if from_today[0].rrule or from_today[0].start < ctx.now:
        return from_today  # a rhythm, or a date already past: said so by the caller
    if bare_weekday(text):
        # The Sunday before the meeting's week, at noon: a weekday is then that week's.
        sunday = datetime.combine(
            local.date() - timedelta(days=local.weekday() + 1), time(12), zone
        )
        in_its_week = _read(ctx, text, tz, max(sunday, ctx.now))
        return in_its_week or from_today
    from_meeting = _read(ctx, text, tz, local)
    if from_meeting is None or _day(from_meeting[0], tz) == _day(from_today[0], tz):
        return from_today
    raise UserError(
        "copil.move_ambiguous",
        text=text,
        first=from_today[0].start,
        second=from_meeting[0].start,
        start=anchor,
    )


@dataclass(frozen=True)
class Distance:
    """How far a meeting moved: ``later`` or not, in days, hours and minutes."""

    later: bool
    days: int
    hours: int
    minutes: int

    @property
    def none(self) -> bool:
        return not (self.days or self.hours or self.minutes)


def distance(before: datetime, after: datetime, tz: str) -> Distance:
    """Counted on the wall clock of ``tz`` (a move across a change of time by one week is
    "7 days", not "7 days and 1 hour")."""
    zone = ZoneInfo(tz)
    a = before.astimezone(zone).replace(tzinfo=None)
    b = after.astimezone(zone).replace(tzinfo=None)
    delta = abs(b - a)
    minutes = int(delta.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    return Distance(b > a, days, hours, minutes)
