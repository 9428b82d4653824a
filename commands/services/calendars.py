"""iCalendar files (RFC 5545) for meetings: one meeting's invitation or cancellation, and
each experiment's secret feed that Outlook, Google Calendar and Thunderbird subscribe to.

Each meeting is a VEVENT with its UID, a SEQUENCE that grows on every change, ORGANIZER,
ATTENDEEs with their answers and a VALARM an hour before. A series carries its RRULE, an
EXDATE for each occurrence cancelled alone, and one VEVENT with RECURRENCE-ID for each
occurrence moved alone. Times are local with a TZID (and the zone's VTIMEZONE), so a
series at 10:00 stays at 10:00 across daylight saving time.

The content lines are written here rather than through the icalendar library's object
model, which takes over half a second for a feed of a thousand meetings; icalendar still
provides the VTIMEZONE blocks, and the tests and the benchmark parse every file back with
it.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache, lru_cache
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from icalendar import Timezone
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from commands.render import message
from models import AgendaItem, Experiment, Invitation, Meeting, Person

PRODID = "-//Coordo//Coordo meetings//FR"
PARTSTAT = {
    "yes": "ACCEPTED",
    "no": "DECLINED",
    "maybe": "TENTATIVE",
    "pending": "NEEDS-ACTION",
}
# RRULE parts the DTSTART already says; some calendars mishandle them.
_TIME_PARTS = ("BYHOUR", "BYMINUTE", "BYSECOND")
_UNSAFE_LOCAL = re.compile(r"[^A-Za-z0-9._-]+")


# --------------------------------------------------------------------------- content lines


def escape_text(value: str) -> str:
    """A TEXT value: backslash, semicolon, comma and newlines escaped."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def param_value(value: str) -> str:
    """A parameter value, quoted when it holds ``:;,``; a double quote cannot appear."""
    value = value.replace('"', "'").replace("\r", " ").replace("\n", " ")
    if any(c in value for c in ":;,"):
        return f'"{value}"'
    return value


@lru_cache(maxsize=8192)
def fold(line: str) -> str:
    """Fold a content line at 75 octets, never inside a UTF-8 character. (Cached: a feed
    repeats many lines, its attendees, places and alarms.)"""
    raw = line.encode("utf-8")
    if len(raw) <= 75:
        return line + "\r\n"
    parts: list[bytes] = []
    start, limit = 0, 75
    while start < len(raw):
        end = min(start + limit, len(raw))
        while end < len(raw) and (raw[end] & 0xC0) == 0x80:
            end -= 1
        parts.append(raw[start:end])
        start, limit = end, 74  # continuation lines start with a space
    return "\r\n ".join(p.decode("utf-8") for p in parts) + "\r\n"


def _stamp(d: datetime) -> str:
    # An f-string: strftime is the slowest part of a feed of a thousand meetings.
    return f"{d.year:04d}{d.month:02d}{d.day:02d}T{d.hour:02d}{d.minute:02d}{d.second:02d}"


def utc_stamp(moment: datetime) -> str:
    return _stamp(moment.astimezone(UTC)) + "Z"


def local_stamp(moment: datetime, tzid: str) -> str:
    return _stamp(moment.astimezone(ZoneInfo(tzid)))


def time_property(name: str, moment: datetime, tzid: str) -> str:
    if tzid == "UTC":
        return f"{name}:{utc_stamp(moment)}"
    return f"{name};TZID={param_value(tzid)}:{local_stamp(moment, tzid)}"


@cache
def vtimezone(tzid: str) -> str:
    """The VTIMEZONE block of ``tzid`` (2000–2040), with CRLF line ends."""
    block = Timezone.from_tzid(tzid, first_date=date(2000, 1, 1), last_date=date(2040, 1, 1))
    text = block.to_ical().decode("utf-8")
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def ics_rrule(text: str) -> str:
    parts = [p for p in text.split(";") if p and p.split("=")[0].upper() not in _TIME_PARTS]
    return ";".join(parts)


def address(handle: str, person_id: int | None = None) -> str:
    """A person's calendar address. Coordo knows chat handles, not e-mail addresses: the
    address is in the reserved ``.invalid`` domain, so no mail ever goes anywhere; the
    calendar shows the name (CN)."""
    local = _UNSAFE_LOCAL.sub("-", handle).strip("-.") or f"person-{person_id}"
    return f"mailto:{local}@coordo.invalid"


@dataclass(frozen=True)
class CalendarPerson:
    """The little of a person a calendar shows."""

    id: int
    handle: str
    name: str

    def property(self, name: str, extra: str = "") -> str:
        cn = param_value(self.name or self.handle)
        return f"{name};CN={cn}{extra}:{address(self.handle, self.id)}"


class EventSource(Protocol):
    """What a VEVENT is made of: a Meeting row, or the same columns selected alone (a
    feed reads a thousand meetings without building ORM objects)."""

    id: int | None
    uid: str
    kind: str
    title: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    place: str
    video_url: str
    rrule: str | None
    series_id: int | None
    recurrence_start: datetime | None
    status: str
    sequence: int
    organizer_id: int | None
    created_at: datetime
    updated_at: datetime | None


EVENT_COLUMNS = (
    col(Meeting.id),
    col(Meeting.uid),
    col(Meeting.kind),
    col(Meeting.title),
    col(Meeting.starts_at),
    col(Meeting.ends_at),
    col(Meeting.timezone),
    col(Meeting.place),
    col(Meeting.video_url),
    col(Meeting.rrule),
    col(Meeting.series_id),
    col(Meeting.recurrence_start),
    col(Meeting.status),
    col(Meeting.sequence),
    col(Meeting.organizer_id),
    col(Meeting.created_at),
    col(Meeting.updated_at),
)


# --------------------------------------------------------------------------- events


@dataclass
class EventData:
    """What the VEVENTs need beyond their meeting, gathered once for many events."""

    agenda: dict[int, list[str]] = field(default_factory=dict)
    # meeting id → (person id, response), in the order of the handles
    attendees: dict[int, list[tuple[int, str]]] = field(default_factory=dict)
    people: dict[int, CalendarPerson] = field(default_factory=dict)
    # series id → its rows (occurrences moved, cancelled or prepared alone)
    overrides: dict[int, list[EventSource]] = field(default_factory=dict)
    _lines: dict[tuple[int, str], str] = field(default_factory=dict)

    def attendee_line(self, person_id: int, response: str) -> str:
        line = self._lines.get((person_id, response))
        if line is None:
            extra = (
                f";ROLE=REQ-PARTICIPANT;PARTSTAT={PARTSTAT.get(response, 'NEEDS-ACTION')};RSVP=TRUE"
            )
            line = self._lines[(person_id, response)] = self.people[person_id].property(
                "ATTENDEE", extra
            )
        return line


def gather(session: Session, meetings: Sequence[EventSource], condition: Any = None) -> EventData:
    """Agenda, attendees, organisers and the rows of series occurrences, for ``meetings``.

    ``condition`` is a WHERE clause on Meeting that selects the same meetings (a feed's
    ``experiment_id = …``), so the queries join instead of listing a thousand ids."""
    data = EventData()
    ids = [m.id for m in meetings if m.id is not None]
    if not ids:
        return data
    where = condition if condition is not None else col(Meeting.id).in_(ids)
    items = session.exec(
        select(AgendaItem.meeting_id, AgendaItem.title)
        .join(Meeting, col(Meeting.id) == AgendaItem.meeting_id)
        .where(where, col(AgendaItem.deleted_at).is_(None))
        .order_by(col(AgendaItem.meeting_id), col(AgendaItem.position), col(AgendaItem.id))
    ).all()
    for meeting_id, title in items:
        data.agenda.setdefault(meeting_id, []).append(title)
    rows = session.execute(
        sa_select(
            col(Invitation.meeting_id),
            col(Invitation.response),
            col(Person.id),
            col(Person.handle),
            col(Person.display_name),
        )
        .join(Meeting, col(Meeting.id) == Invitation.meeting_id)
        .join(Person, col(Person.id) == Invitation.person_id)
        .where(where, col(Invitation.deleted_at).is_(None))
        .order_by(col(Invitation.meeting_id), col(Person.handle))
    ).all()
    people = data.people
    for meeting_id, response, person_id, handle, name in rows:
        data.attendees.setdefault(meeting_id, []).append((person_id, response))
        if person_id not in people:
            people[person_id] = CalendarPerson(person_id, handle, name)
    missing = {m.organizer_id for m in meetings if m.organizer_id is not None} - people.keys()
    if missing:
        found = session.exec(
            select(Person.id, Person.handle, Person.display_name).where(col(Person.id).in_(missing))
        )
        for person_id, handle, name in found:
            if person_id is not None:
                people[person_id] = CalendarPerson(person_id, handle, name)
    for m in meetings:
        if m.series_id is not None:
            data.overrides.setdefault(m.series_id, []).append(m)
    return data


def _attendees(meeting: EventSource, data: EventData) -> list[tuple[int, str]]:
    """A series' invitees hold for its occurrences; an occurrence's own answer wins."""
    own = data.attendees.get(meeting.id or -1, [])
    if meeting.series_id is None:
        return own
    merged = dict(data.attendees.get(meeting.series_id, []))
    merged.update(own)
    return sorted(merged.items(), key=lambda r: data.people[r[0]].handle)


@cache
def _labels(locale: str) -> tuple[str, str]:
    """The words of a description, rendered once per language."""
    return (
        message("meetings.ics_agenda", locale),
        message("meetings.ics_video", locale, url="\x00"),
    )


def description(meeting: EventSource, agenda: Sequence[str], locale: str) -> str:
    agenda_label, video_label = _labels(locale)
    lines: list[str] = []
    if agenda:
        lines.append(agenda_label)
        lines.extend(f"{n}. {title}" for n, title in enumerate(agenda, 1))
    if meeting.video_url:
        if lines:
            lines.append("")
        lines.append(video_label.replace("\x00", meeting.video_url))
    return "\n".join(lines)


def vevent(
    meeting: EventSource,
    data: EventData,
    *,
    uid: str,
    stamp: datetime,
    locale: str,
    status: str | None = None,
    exdates: Iterable[datetime] = (),
    recurrence_id: datetime | None = None,
    series: EventSource | None = None,
    alarm: bool = True,
) -> list[str]:
    """The content lines of one VEVENT (unfolded)."""
    tzid = meeting.timezone
    out = [
        "BEGIN:VEVENT",
        f"UID:{escape_text(uid)}",
        f"DTSTAMP:{utc_stamp(stamp)}",
        time_property("DTSTART", meeting.starts_at, tzid),
        time_property("DTEND", meeting.ends_at, tzid),
    ]
    if recurrence_id is not None:
        out.append(time_property("RECURRENCE-ID", recurrence_id, (series or meeting).timezone))
    if meeting.rrule:
        out.append(f"RRULE:{ics_rrule(meeting.rrule)}")
        dates = sorted(exdates)
        if dates:
            if tzid == "UTC":
                out.append("EXDATE:" + ",".join(utc_stamp(d) for d in dates))
            else:
                out.append(
                    f"EXDATE;TZID={param_value(tzid)}:"
                    + ",".join(local_stamp(d, tzid) for d in dates)
                )
    out.append(f"SUMMARY:{escape_text(meeting.title)}")
    if meeting.place:
        out.append(f"LOCATION:{escape_text(meeting.place)}")
    text = description(meeting, data.agenda.get(meeting.id, []), locale)  # type: ignore[arg-type]
    if text:
        out.append(f"DESCRIPTION:{escape_text(text)}")
    if meeting.video_url:
        out.append(f"URL:{meeting.video_url}")
    out.append(f"CATEGORIES:{escape_text(meeting.kind.upper())}")
    out.append(
        f"STATUS:{status or ('CANCELLED' if meeting.status == 'cancelled' else 'CONFIRMED')}"
    )
    out.append(f"SEQUENCE:{meeting.sequence}")
    out.append(f"CREATED:{utc_stamp(meeting.created_at)}")
    out.append(f"LAST-MODIFIED:{utc_stamp(meeting.updated_at or meeting.created_at)}")
    organiser = data.people.get(meeting.organizer_id) if meeting.organizer_id else None
    if organiser is not None:
        out.append(organiser.property("ORGANIZER"))
    out.extend(data.attendee_line(p, r) for p, r in _attendees(meeting, data))
    if alarm and (status or meeting.status) not in ("CANCELLED", "cancelled"):
        out.extend(
            [
                "BEGIN:VALARM",
                "ACTION:DISPLAY",
                f"DESCRIPTION:{escape_text(meeting.title)}",
                "TRIGGER:-PT1H",
                "END:VALARM",
            ]
        )
    out.append("END:VEVENT")
    return out


def series_events(
    series: EventSource,
    rows: Sequence[EventSource],
    data: EventData,
    *,
    stamp: datetime,
    locale: str,
) -> list[str]:
    """A series: its master VEVENT (EXDATE for occurrences cancelled alone) and one VEVENT
    per occurrence with a row of its own that still takes place."""
    exdates = [r.recurrence_start for r in rows if r.status == "cancelled" and r.recurrence_start]
    lines = vevent(
        series, data, uid=series.uid, stamp=stamp, locale=locale, exdates=[d for d in exdates if d]
    )
    if series.status == "cancelled":
        return lines
    for row in rows:
        if row.status == "cancelled" or row.recurrence_start is None:
            continue
        lines.extend(
            vevent(
                row,
                data,
                uid=series.uid,
                stamp=stamp,
                locale=locale,
                recurrence_id=row.recurrence_start,
                series=series,
            )
        )
    return lines


def calendar(
    events: list[str], *, method: str | None, tzids: Iterable[str], name: str | None = None
) -> bytes:
    header = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN"]
    if method:
        header.append(f"METHOD:{method}")
    if name:
        header.append(f"X-WR-CALNAME:{escape_text(name)}")
    parts = [fold(line) for line in header]
    parts.extend(vtimezone(tz) for tz in sorted(set(tzids)) if tz != "UTC")
    parts.extend(fold(line) for line in events)
    parts.append("END:VCALENDAR\r\n")
    return "".join(parts).encode("utf-8")


# --------------------------------------------------------------------------- files


def meeting_file(
    session: Session,
    meeting: Meeting,
    *,
    now: datetime,
    locale: str,
    cancel: bool = False,
) -> bytes:
    """The .ics of one meeting, sent with its invitation (METHOD:REQUEST) or its
    cancellation (METHOD:CANCEL). For a series: the whole series; for one occurrence of a
    series: that occurrence alone, under the series' UID with its RECURRENCE-ID."""
    method = "CANCEL" if cancel else "REQUEST"
    if meeting.series_id is not None:
        series = session.get(Meeting, meeting.series_id)
        assert series is not None
        data = gather(session, [series, meeting])
        events = vevent(
            meeting,
            data,
            uid=series.uid,
            stamp=now,
            locale=locale,
            recurrence_id=meeting.recurrence_start,
            series=series,
            status="CANCELLED" if cancel else None,
        )
        return calendar(events, method=method, tzids=[meeting.timezone, series.timezone])
    if meeting.rrule:
        rows = list(
            session.exec(
                select(Meeting).where(
                    Meeting.series_id == meeting.id, col(Meeting.deleted_at).is_(None)
                )
            )
        )
        data = gather(session, [meeting, *rows])
        if cancel:
            events = vevent(meeting, data, uid=meeting.uid, stamp=now, locale=locale)
        else:
            events = series_events(meeting, rows, data, stamp=now, locale=locale)
        return calendar(events, method=method, tzids=[meeting.timezone])
    data = gather(session, [meeting])
    events = vevent(
        meeting,
        data,
        uid=meeting.uid,
        stamp=now,
        locale=locale,
        status="CANCELLED" if cancel else None,
    )
    return calendar(events, method=method, tzids=[meeting.timezone])


def file_name(meeting: Meeting, tz: str | None = None) -> str:
    day = meeting.starts_at.astimezone(ZoneInfo(tz or meeting.timezone)).date()
    kind = re.sub(r"[^a-z0-9-]+", "-", meeting.kind.lower()).strip("-") or "meeting"
    return f"{kind}-{day.isoformat()}-{meeting.id}.ics"


def feed(session: Session, experiment: Experiment, *, now: datetime) -> bytes:
    """The experiment's calendar: every meeting, past and to come (cancelled ones stay,
    marked so, for calendars that had them)."""
    return _feed(session, experiment.id or -1, experiment.name, experiment.locale, now=now)


def _feed(session: Session, experiment_id: int, name: str, locale: str, *, now: datetime) -> bytes:
    condition = col(Meeting.experiment_id) == experiment_id
    meetings: list[EventSource] = list(
        session.execute(
            sa_select(*EVENT_COLUMNS)
            .where(condition, col(Meeting.deleted_at).is_(None))
            .order_by(col(Meeting.starts_at), col(Meeting.id))
        ).all()
    )
    data = gather(session, meetings, condition & col(Meeting.deleted_at).is_(None))
    events: list[str] = []
    tzids: set[str] = set()
    for meeting in meetings:
        tzids.add(meeting.timezone)
        if meeting.rrule:
            rows = data.overrides.get(meeting.id, [])  # type: ignore[arg-type]
            events.extend(series_events(meeting, rows, data, stamp=now, locale=locale))
        elif meeting.series_id is None:
            events.extend(vevent(meeting, data, uid=meeting.uid, stamp=now, locale=locale))
        # occurrences of a series are written with their series
    return calendar(events, method="PUBLISH", tzids=tzids, name=name)


def feed_for_token(session: Session, token: str, *, now: datetime) -> tuple[str, bytes] | None:
    """The feed whose secret is ``token``: (file name, content), or None.

    Every experiment's token is compared, in constant time and without stopping at a
    match, and the feed's queries run whether one matched or not, so the time of a wrong
    answer tells nothing of the right tokens."""
    candidate = token.encode("utf-8")
    match: Experiment | None = None
    rows = session.exec(select(Experiment.id, Experiment.calendar_token)).all()
    found_id = -1
    for experiment_id, secret in rows:
        same = hmac.compare_digest(candidate, (secret or "").encode("utf-8"))
        if same and secret and experiment_id is not None:
            found_id = experiment_id
    if found_id != -1:
        match = session.get(Experiment, found_id)
    body = _feed(
        session,
        found_id,
        match.name if match else "",
        match.locale if match else "fr",
        now=now,
    )
    if match is None:
        return None
    return f"{match.slug}.ics", body
