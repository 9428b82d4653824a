"""iCalendar files (RFC 5545) for meetings: one meeting's invitation or cancellation, and
each experiment's secret feed that Outlook, Google Calendar and Thunderbird subscribe to.

Each meeting is a VEVENT with its UID, a SEQUENCE that grows on every change (undo too
moves it on), ORGANIZER and a VALARM an hour before. Files are published (METHOD:PUBLISH),
never requests: people answer in chat, so no ATTENDEE is listed, and no one's answer shows
in a file or a feed. DTSTAMP is the meeting's last change (its agenda's included), so an
unchanged meeting reads the same on every request. A series carries its RRULE, an
EXDATE for each occurrence cancelled alone, and one VEVENT with RECURRENCE-ID for each
occurrence moved alone. Times are local with a TZID (and the zone's VTIMEZONE), so a
series at 10:00 stays at 10:00 across daylight saving time.

The content lines are written here rather than through the icalendar library's object
model, which takes over half a second for a feed of a thousand meetings. The VTIMEZONE
blocks are written here too, in the yearly-rule form every calendar reads alike; the tests
parse the files back with icalendar, vobject, ics and recurring-ical-events.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from commands.render import plain_message as message
from models import (
    AgendaItem,
    AuditEvent,
    CalendarFeed,
    Experiment,
    Meeting,
    Membership,
    Person,
    Role,
    pk,
)

PRODID = "-//Coordo//Coordo meetings//FR"
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


# --------------------------------------------------------------------------- time zones

_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
# The years a VTIMEZONE describes exactly; past the last, its last rule goes on.
TZ_YEARS = (2000, 2040)


@dataclass(frozen=True)
class _Change:
    """One change of a zone's offset: when (local wall time before it), from, to, name."""

    local: datetime
    offset_from: timedelta
    offset_to: timedelta
    name: str
    dst: bool

    def rule(self) -> tuple[object, ...]:
        """What a yearly rule has to say for this change to recur: the month, the weekday
        in the month, the time of day and the offsets."""
        d = self.local
        last = (d + timedelta(days=7)).month != d.month
        which = "-1" if last else str((d.day - 1) // 7 + 1)
        return (
            d.month,
            which + _DAYS[d.weekday()],
            d.time(),
            self.offset_from,
            self.offset_to,
            self.name,
            self.dst,
        )


def _changes(tzid: str, first: int, last: int) -> list[_Change]:
    """Every change of offset of ``tzid`` from ``first`` to ``last`` (years), found by
    stepping a day at a time and narrowing to the second."""
    zone = ZoneInfo(tzid)
    found: list[_Change] = []
    moment = datetime(first, 1, 1, tzinfo=UTC)
    end = datetime(last + 1, 1, 1, tzinfo=UTC)
    step = timedelta(days=1)
    offset = moment.astimezone(zone).utcoffset()
    while moment < end:
        later = moment + step
        after = later.astimezone(zone).utcoffset()
        if after != offset:
            low, high = moment, later
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if middle.astimezone(zone).utcoffset() == offset:
                    low = middle
                else:
                    high = middle
            local = high.astimezone(zone)
            assert offset is not None
            assert after is not None
            found.append(
                _Change(
                    (high + offset).replace(tzinfo=None),
                    offset,
                    after,
                    local.tzname() or "",
                    bool(local.dst()),
                )
            )
            offset = after
        moment = later
    return found


def _offset(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{sign}{hours:02d}{minutes:02d}" + (f"{seconds:02d}" if seconds else "")


@cache
def vtimezone(tzid: str) -> str:
    """The VTIMEZONE block of ``tzid``, with CRLF line ends, in the form published time
    zone definitions use: each kind of change once, with its yearly rule
    (``RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU``). Some readers take a list of RDATEs wrong
    and put every time after a change an hour off. The rules are those of ``TZ_YEARS``;
    when a zone's rule changed in those years, each rule ends (UNTIL) where the next one
    begins, and a change that follows no weekday rule is listed by its dates."""
    first, last = TZ_YEARS
    changes = _changes(tzid, first, last)
    lines = ["BEGIN:VTIMEZONE", f"TZID:{tzid}"]
    if not changes:
        moment = datetime(first, 1, 1, tzinfo=ZoneInfo(tzid))
        offset = moment.utcoffset() or timedelta(0)
        lines += [
            "BEGIN:STANDARD",
            "DTSTART:19700101T000000",
            f"TZNAME:{escape_text(moment.tzname() or tzid)}",
            f"TZOFFSETFROM:{_offset(offset)}",
            f"TZOFFSETTO:{_offset(offset)}",
            "END:STANDARD",
        ]
        return "".join(fold(line) for line in [*lines, "END:VTIMEZONE"])
    # Runs of changes of the same kind (March's, October's) that follow one rule.
    runs: dict[tuple[bool, timedelta, timedelta], list[list[_Change]]] = {}
    for change in changes:
        kind = (change.dst, change.offset_from, change.offset_to)
        groups = runs.setdefault(kind, [])
        previous = groups[-1][-1] if groups else None
        if (
            previous is not None
            and previous.rule() == change.rule()
            and change.local.year == previous.local.year + 1
        ):
            groups[-1].append(change)
        else:
            groups.append([change])
    # The first zone's offset before the first change: a component starting then.
    blocks: list[tuple[datetime, list[str]]] = []
    for groups in runs.values():
        for index, group in enumerate(groups):
            head = group[0]
            name = "DAYLIGHT" if head.dst else "STANDARD"
            body = [
                f"BEGIN:{name}",
                f"DTSTART:{_stamp(head.local)}",
            ]
            month, byday = head.rule()[:2]
            if len(group) > 1:
                rule = f"RRULE:FREQ=YEARLY;BYMONTH={month};BYDAY={byday}"
                open_ended = group[-1].local.year == last and index == len(groups) - 1
                if not open_ended:
                    tail = group[-1]
                    rule += f";UNTIL={_stamp(tail.local - tail.offset_from)}Z"
                body.append(rule)
            body += [
                f"TZNAME:{escape_text(head.name)}",
                f"TZOFFSETFROM:{_offset(head.offset_from)}",
                f"TZOFFSETTO:{_offset(head.offset_to)}",
                f"END:{name}",
            ]
            blocks.append((head.local, body))
    for _, body in sorted(blocks, key=lambda b: b[0]):
        lines.extend(body)
    lines.append("END:VTIMEZONE")
    return "".join(fold(line) for line in lines)


# --------------------------------------------------------------------------- events


@dataclass
class EventData:
    """What the VEVENTs need beyond their meeting, gathered once for many events."""

    agenda: dict[int, list[str]] = field(default_factory=dict)
    # meeting id → the last change of its agenda (an item added or removed)
    agenda_changed: dict[int, datetime] = field(default_factory=dict)
    # the organisers
    people: dict[int, CalendarPerson] = field(default_factory=dict)
    # series id → its rows (occurrences moved, cancelled or prepared alone)
    overrides: dict[int, list[EventSource]] = field(default_factory=dict)


def gather(session: Session, meetings: Sequence[EventSource], condition: Any = None) -> EventData:
    """Agenda, organisers and the rows of series occurrences, for ``meetings``.

    ``condition`` is a WHERE clause on Meeting that selects the same meetings (a feed's
    ``experiment_id = …``), so the queries join instead of listing a thousand ids."""
    data = EventData()
    ids = [m.id for m in meetings if m.id is not None]
    if not ids:
        return data
    where = condition if condition is not None else col(Meeting.id).in_(ids)
    items = session.exec(
        select(
            AgendaItem.meeting_id, AgendaItem.title, AgendaItem.created_at, AgendaItem.deleted_at
        )
        .join(Meeting, col(Meeting.id) == AgendaItem.meeting_id)
        .where(where)
        .order_by(col(AgendaItem.meeting_id), col(AgendaItem.position), col(AgendaItem.id))
    ).all()
    changed = data.agenda_changed
    for meeting_id, title, created, deleted in items:
        if deleted is None:
            data.agenda.setdefault(meeting_id, []).append(title)
        moment = max(created, deleted) if deleted is not None else created
        if meeting_id not in changed or changed[meeting_id] < moment:
            changed[meeting_id] = moment
    people = data.people
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
    locale: str,
    status: str | None = None,
    exdates: Iterable[datetime] = (),
    recurrence_id: datetime | None = None,
    series: EventSource | None = None,
    alarm: bool = True,
) -> list[str]:
    """The content lines of one VEVENT (unfolded)."""
    tzid = meeting.timezone
    changed = meeting.updated_at or meeting.created_at
    agenda_changed = data.agenda_changed.get(meeting.id)  # type: ignore[arg-type]
    if agenda_changed is not None and agenda_changed > changed:
        changed = agenda_changed
    out = [
        "BEGIN:VEVENT",
        f"UID:{escape_text(uid)}",
        f"DTSTAMP:{utc_stamp(changed)}",
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
    out.append(f"LAST-MODIFIED:{utc_stamp(changed)}")
    organiser = data.people.get(meeting.organizer_id) if meeting.organizer_id else None
    if organiser is not None:
        out.append(organiser.property("ORGANIZER"))
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
    locale: str,
) -> list[str]:
    """A series: its master VEVENT (EXDATE for occurrences cancelled alone) and one VEVENT
    per occurrence with a row of its own that still takes place."""
    exdates = [r.recurrence_start for r in rows if r.status == "cancelled" and r.recurrence_start]
    lines = vevent(series, data, uid=series.uid, locale=locale, exdates=[d for d in exdates if d])
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
                locale=locale,
                recurrence_id=row.recurrence_start,
                series=series,
            )
        )
    return lines


def calendar(
    events: list[str], *, method: str | None, tzids: Iterable[str], name: str | None = None
) -> bytes:
    """A VCALENDAR. RFC 5545 wants at least one component: a calendar with no event still
    holds the VTIMEZONE of its first zone (UTC's too, then)."""
    header = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN"]
    if method:
        header.append(f"METHOD:{method}")
    if name:
        header.append(f"X-WR-CALNAME:{escape_text(name)}")
    parts = [fold(line) for line in header]
    zones = sorted(set(tzids))
    parts.extend(vtimezone(tz) for tz in zones if tz != "UTC")
    if not events and all(tz == "UTC" for tz in zones):
        parts.append(vtimezone("UTC"))
    parts.extend(fold(line) for line in events)
    parts.append("END:VCALENDAR\r\n")
    return "".join(parts).encode("utf-8")


# --------------------------------------------------------------------------- files


def meeting_file(
    session: Session,
    meeting: Meeting,
    *,
    locale: str,
    cancel: bool = False,
) -> bytes:
    """The .ics of one meeting, posted with its invitation, a change or its cancellation
    (STATUS:CANCELLED): published, as the feed is. For a series: the whole series; for one
    occurrence of a series: that occurrence alone, under the series' UID with its
    RECURRENCE-ID."""
    method = "PUBLISH"
    if meeting.series_id is not None:
        series = session.get(Meeting, meeting.series_id)
        assert series is not None
        data = gather(session, [series, meeting])
        events = vevent(
            meeting,
            data,
            uid=series.uid,
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
            events = vevent(meeting, data, uid=meeting.uid, locale=locale, status="CANCELLED")
        else:
            events = series_events(meeting, rows, data, locale=locale)
        return calendar(events, method=method, tzids=[meeting.timezone])
    data = gather(session, [meeting])
    events = vevent(
        meeting,
        data,
        uid=meeting.uid,
        locale=locale,
        status="CANCELLED" if cancel else None,
    )
    return calendar(events, method=method, tzids=[meeting.timezone])


def file_name(meeting: Meeting, tz: str | None = None) -> str:
    day = meeting.starts_at.astimezone(ZoneInfo(tz or meeting.timezone)).date()
    kind = re.sub(r"[^a-z0-9-]+", "-", meeting.kind.lower()).strip("-") or "meeting"
    return f"{kind}-{day.isoformat()}-{meeting.id}.ics"


def feed(session: Session, experiment: Experiment) -> bytes:
    """The experiment's calendar: every meeting, past and to come (cancelled ones stay,
    marked so, for calendars that had them). It shows meetings, never who answered what."""
    return _feed(
        session, experiment.id or -1, experiment.name, experiment.locale, experiment.timezone
    )


def _feed(session: Session, experiment_id: int, name: str, locale: str, timezone: str) -> bytes:
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
    tzids: set[str] = {timezone}
    for meeting in meetings:
        tzids.add(meeting.timezone)
        if meeting.rrule:
            rows = data.overrides.get(meeting.id, [])  # type: ignore[arg-type]
            events.extend(series_events(meeting, rows, data, locale=locale))
        elif meeting.series_id is None:
            events.extend(vevent(meeting, data, uid=meeting.uid, locale=locale))
        # occurrences of a series are written with their series
    return calendar(events, method="PUBLISH", tzids=tzids, name=name)


# --------------------------------------------------------------------------- feeds


@dataclass(frozen=True)
class FeedFile:
    """A feed as the web serves it: ``etag`` is a digest of the content (exact);
    ``last_modified`` the experiment's last recorded change, which the audit log keeps
    moving forward even when an undo puts a row back as it was."""

    name: str
    content: bytes
    etag: str
    last_modified: datetime | None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(24)


def _reader_may_read(session: Session, experiment_id: int, person_id: int) -> bool:
    person = session.get(Person, person_id)
    if person is None:
        return False
    if person.lab_role == Role.COORDINATOR:
        return True
    return (
        session.exec(
            select(Membership.id).where(
                Membership.experiment_id == experiment_id,
                Membership.person_id == person_id,
                col(Membership.removed_at).is_(None),
            )
        ).first()
        is not None
    )


def _shared_match(session: Session, token: str) -> int:
    """The experiment whose shared address is ``token``, or -1. Every experiment's token is
    compared, in constant time and without stopping at a match."""
    candidate = token.encode("utf-8")
    found_id = -1
    for experiment_id, secret in session.exec(select(Experiment.id, Experiment.calendar_token)):
        same = hmac.compare_digest(candidate, (secret or "").encode("utf-8"))
        if same and secret and experiment_id is not None:
            found_id = experiment_id
    return found_id


def last_change(session: Session, experiment_id: int) -> datetime | None:
    return session.exec(
        select(func.max(AuditEvent.at)).where(AuditEvent.experiment_id == experiment_id)
    ).one()


def feed_for_token(session: Session, token: str) -> FeedFile | None:
    """The feed whose secret is ``token``, or None.

    A personal address (looked up by its digest) answers while its person is on the team;
    the experiment's shared address, from before personal ones, until someone leaves the
    team. Neither answers once the experiment is archived. The feed's queries run whether
    a token matched or not, so the time of a wrong answer tells little of the right ones."""
    experiment_id = -1
    personal = session.exec(
        select(CalendarFeed.experiment_id, CalendarFeed.person_id).where(
            CalendarFeed.token_hash == token_hash(token), col(CalendarFeed.removed_at).is_(None)
        )
    ).first()
    if personal is not None:
        if _reader_may_read(session, personal[0], personal[1]):
            experiment_id = personal[0]
    else:
        experiment_id = _shared_match(session, token)
    match = session.get(Experiment, experiment_id) if experiment_id != -1 else None
    if match is not None and match.archived_at is not None:
        match = None
    body = _feed(
        session,
        pk(match) if match else -1,
        match.name if match else "",
        match.locale if match else "fr",
        match.timezone if match else "UTC",
    )
    if match is None:
        return None
    return FeedFile(
        name=f"{match.slug}.ics",
        content=body,
        etag='"' + hashlib.sha256(body).hexdigest()[:32] + '"',
        last_modified=last_change(session, pk(match)),
    )
