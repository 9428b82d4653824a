"""Steering meetings: schedule, move, cancel, agenda, invitations, minutes, decisions, actions.

A meeting is one row; a recurring series is one row with an ``rrule`` whose occurrences are
computed (python-dateutil), never stored. An occurrence gets a row of its own (``series_id``
and ``recurrence_start``, the start it replaces) only when something is about it alone: it is
moved or cancelled, or given an agenda, minutes or answers. Such a row is "materialised".

Who may do what: the experiment's coordinators and members schedule and change its
meetings; the lab's coordinators its own steering committee (``copil-labo``, bound to no
experiment); anyone with a role in the experiment, or invited, reads its meetings and
answers; partners may add agenda items. Services check, change, and record the audit log;
they never commit.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Literal
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr
from sqlalchemy import delete, func, or_
from sqlmodel import Session, col, select

from commands.core import Context, role_of
from commands.errors import NotFound, PermissionDenied, UserError
from commands.reply import Reply
from commands.services import calendars, milestones, outbox
from commands.services.audit import snapshot
from models import (
    AgendaItem,
    CalendarFeed,
    Decision,
    Experiment,
    Invitation,
    Meeting,
    Membership,
    Milestone,
    MilestoneOwner,
    OutboxMessage,
    Person,
    Role,
    pk,
)

log = logging.getLogger(__name__)

KINDS = ("copil", "cotech", "autre", "copil-labo")
LAB_KIND = "copil-labo"
DEFAULT_DURATIONS = {
    "copil": timedelta(hours=2),
    "copil-labo": timedelta(hours=2),
    "cotech": timedelta(hours=1, minutes=30),
    "autre": timedelta(hours=1),
}
MAX_DURATION = timedelta(hours=12)
RESPONSES = ("yes", "no", "maybe")
TITLE_LIMIT = 300
PLACE_LIMIT = 300
AGENDA_LIMIT = 500
TEXT_LIMIT = 20_000
# How far ahead warnings look for a recurring series, and how many occurrences they check.
SERIES_HORIZON = timedelta(days=366)
SERIES_CHECKED = 60

SCHEDULED = "scheduled"
CANCELLED = "cancelled"


# --------------------------------------------------------------------------- occurrences


@dataclass(frozen=True)
class Occurrence:
    """One sitting of a meeting. ``meeting`` is its own row, or the series' row when the
    occurrence has none (``virtual``)."""

    meeting: Meeting
    start: datetime
    end: datetime
    virtual: bool = False

    @property
    def series_id(self) -> int | None:
        """The series this occurrence belongs to, if any."""
        if self.meeting.series_id is not None:
            return self.meeting.series_id
        return pk(self.meeting) if self.meeting.rrule else None

    @property
    def key_id(self) -> int:
        """The id that names the occurrence in outbox keys: the series', so an occurrence
        keeps its reminders when it gets a row of its own."""
        return self.series_id or pk(self.meeting)

    @property
    def cancelled(self) -> bool:
        return self.meeting.status == CANCELLED

    def local_date(self) -> date:
        return self.start.astimezone(ZoneInfo(self.meeting.timezone)).date()


def series_starts(series: Meeting, after: datetime, before: datetime) -> list[datetime]:
    """Starts (UTC) of ``series`` in ``[after, before]``, as its RRULE computes them in its
    own timezone (so 10:00 stays 10:00 across a change of daylight saving time)."""
    if not series.rrule:
        return []
    tz = ZoneInfo(series.timezone)
    rule = _rule(series.rrule, series.starts_at.astimezone(tz))
    found = rule.between(after.astimezone(tz), before.astimezone(tz), inc=True)
    return [d.astimezone(UTC) for d in found]


def _rule(text: str, dtstart: datetime) -> rrule:
    parsed = rrulestr(text, dtstart=dtstart)
    assert isinstance(parsed, rrule)
    return parsed


def occurrences_between(
    session: Session, meetings: Sequence[Meeting], after: datetime, before: datetime
) -> list[Occurrence]:
    """Every occurrence of ``meetings`` starting in ``[after, before)``, sorted by start.

    Plain meetings and materialised occurrences are taken as they are; a series adds its
    computed occurrences except those with a row of their own (looked up here, whether
    ``meetings`` holds them or not). A cancelled series adds nothing."""
    result: list[Occurrence] = []
    series = [m for m in meetings if m.rrule and m.deleted_at is None]
    replaced: dict[int, set[datetime]] = {}
    if series:
        rows = session.exec(
            select(Meeting.series_id, Meeting.recurrence_start).where(
                col(Meeting.series_id).in_([pk(s) for s in series]),
                col(Meeting.deleted_at).is_(None),
            )
        ).all()
        for series_id, original in rows:
            if series_id is not None and original is not None:
                replaced.setdefault(series_id, set()).add(original)
    for meeting in meetings:
        if meeting.deleted_at is not None:
            continue
        if meeting.rrule:
            if meeting.status == CANCELLED:
                continue
            length = meeting.ends_at - meeting.starts_at
            skip = replaced.get(pk(meeting), set())
            for start in series_starts(meeting, after, before - timedelta(microseconds=1)):
                if start not in skip:
                    result.append(Occurrence(meeting, start, start + length, virtual=True))
        elif after <= meeting.starts_at < before:
            result.append(Occurrence(meeting, meeting.starts_at, meeting.ends_at))
    result.sort(key=lambda o: (o.start, pk(o.meeting)))
    return result


def overrides(session: Session, series: Meeting) -> list[Meeting]:
    """The occurrences of ``series`` that have a row of their own."""
    return list(
        session.exec(
            select(Meeting)
            .where(Meeting.series_id == series.id, col(Meeting.deleted_at).is_(None))
            .order_by(col(Meeting.starts_at))
        )
    )


def series_occurrences(
    session: Session, series: Meeting, after: datetime, before: datetime
) -> list[Occurrence]:
    """Occurrences of one series in ``[after, before)``: computed ones and its rows."""
    rows = [o for o in overrides(session, series) if after <= o.starts_at < before]
    return occurrences_between(session, [series, *rows], after, before)


# --------------------------------------------------------------------------- reading


def experiment_of(session: Session, meeting: Meeting) -> Experiment | None:
    if meeting.experiment_id is None:
        return None
    return session.get(Experiment, meeting.experiment_id)


def is_invited(session: Session, meeting: Meeting, person_id: int) -> bool:
    ids = [pk(meeting)] + ([meeting.series_id] if meeting.series_id else [])
    return (
        session.exec(
            select(Invitation.id).where(
                col(Invitation.meeting_id).in_(ids),
                Invitation.person_id == person_id,
                col(Invitation.deleted_at).is_(None),
            )
        ).first()
        is not None
    )


def can_read(ctx: Context, meeting: Meeting) -> bool:
    experiment = experiment_of(ctx.session, meeting)
    if experiment is not None and ctx.role_in(experiment) is not None:
        return True
    if experiment is None and not ctx.person.is_guest:
        return True  # the lab's own meetings: its team, not its guests
    return is_invited(ctx.session, meeting, ctx.person_id)


def load(ctx: Context, meeting_id: int) -> Meeting:
    """A meeting this person may read; any other is "not found", like a missing one."""
    meeting = ctx.session.get(Meeting, meeting_id)
    if (
        meeting is None
        or meeting.workspace_id != ctx.workspace_id
        or meeting.deleted_at is not None
        or not can_read(ctx, meeting)
    ):
        raise NotFound("meetings.unknown", id=meeting_id)
    return meeting


def require_organiser(ctx: Context, meeting: Meeting) -> None:
    """Coordinators and members of the meeting's experiment; the lab's coordinators for
    the lab's own meetings."""
    experiment = experiment_of(ctx.session, meeting)
    if experiment is None:
        ctx.require_lab_coordinator()
        return
    ctx.require(experiment, Role.COORDINATOR, Role.MEMBER)


def may_organise(ctx: Context, meeting: Meeting) -> bool:
    try:
        require_organiser(ctx, meeting)
    except PermissionDenied:
        return False
    return True


def role_for(ctx: Context, meeting: Meeting) -> Role | None:
    experiment = experiment_of(ctx.session, meeting)
    if experiment is None:
        return Role.COORDINATOR if ctx.is_lab_coordinator else None
    return ctx.role_in(experiment)


def upcoming(
    ctx: Context,
    experiments: Sequence[Experiment],
    *,
    lab: bool,
    after: datetime,
    before: datetime,
) -> list[Occurrence]:
    """Occurrences in ``[after, before)`` of the meetings of ``experiments`` (and of the
    lab's own meetings when ``lab``)."""
    conditions = []
    ids = [pk(e) for e in experiments]
    if ids:
        conditions.append(col(Meeting.experiment_id).in_(ids))
    if lab:
        conditions.append(col(Meeting.experiment_id).is_(None))
    if not conditions:
        return []
    meetings = ctx.session.exec(
        select(Meeting).where(
            Meeting.workspace_id == ctx.workspace_id,
            col(Meeting.deleted_at).is_(None),
            or_(*conditions),
            or_(
                col(Meeting.rrule).is_not(None),
                (col(Meeting.starts_at) >= after) & (col(Meeting.starts_at) < before),
            ),
        )
    ).all()
    return occurrences_between(ctx.session, list(meetings), after, before)


def past(
    ctx: Context, experiments: Sequence[Experiment], *, lab: bool, limit: int
) -> list[Meeting]:
    """The last meetings held (rows only: an occurrence with minutes has a row)."""
    conditions = []
    if experiments:
        conditions.append(col(Meeting.experiment_id).in_([pk(e) for e in experiments]))
    if lab:
        conditions.append(col(Meeting.experiment_id).is_(None))
    if not conditions:
        return []
    return list(
        ctx.session.exec(
            select(Meeting)
            .where(
                Meeting.workspace_id == ctx.workspace_id,
                col(Meeting.deleted_at).is_(None),
                col(Meeting.rrule).is_(None),
                Meeting.starts_at < ctx.now,
                or_(*conditions),
            )
            .order_by(col(Meeting.starts_at).desc())
            .limit(limit)
        )
    )


def find_occurrence(
    ctx: Context,
    meeting: Meeting,
    day: date | None,
    purpose: Literal["next", "last"],
) -> Occurrence:
    """The occurrence a command is about: of a plain meeting, the meeting; of a series,
    the one on ``day``, else the next one (``purpose="next"``, for the agenda, moves,
    answers) or the last one begun (``"last"``, for minutes, decisions, actions)."""
    if not meeting.rrule:
        if day is not None and _local_day(meeting, meeting.starts_at) != day:
            raise UserError(
                "meetings.not_that_day", id=pk(meeting), day=day, start=meeting.starts_at
            )
        return Occurrence(meeting, meeting.starts_at, meeting.ends_at)
    now = ctx.now
    if day is not None:
        tz = ZoneInfo(meeting.timezone)
        day_start = datetime.combine(day, datetime.min.time(), tz)
        rows = overrides(ctx.session, meeting)
        for row in rows:
            if _local_day(meeting, row.starts_at) == day or (
                row.recurrence_start and _local_day(meeting, row.recurrence_start) == day
            ):
                return Occurrence(row, row.starts_at, row.ends_at)
        found = series_occurrences(ctx.session, meeting, day_start, day_start + timedelta(days=1))
        if found:
            return found[0]
        nexts = series_occurrences(ctx.session, meeting, now, now + SERIES_HORIZON)[:3]
        raise UserError(
            "meetings.no_occurrence", id=pk(meeting), day=day, nexts=[o.local_date() for o in nexts]
        )
    if purpose == "next":
        found = [
            o
            for o in series_occurrences(
                ctx.session, meeting, now - timedelta(hours=12), now + SERIES_HORIZON
            )
            if o.end > now and not o.cancelled
        ]
        if found:
            return found[0]
        raise UserError("meetings.series_over", id=pk(meeting))
    begun = series_occurrences(ctx.session, meeting, now - SERIES_HORIZON, now)
    if begun:
        return begun[-1]
    raise UserError("meetings.not_held_yet", id=pk(meeting), start=meeting.starts_at)


def _local_day(meeting: Meeting, moment: datetime) -> date:
    return moment.astimezone(ZoneInfo(meeting.timezone)).date()


def materialise(ctx: Context, occurrence: Occurrence) -> Meeting:
    """The row of an occurrence, created if it has none yet."""
    if not occurrence.virtual:
        return occurrence.meeting
    row = occurrence_row(occurrence, ctx.now)
    ctx.record("create", row, experiment_id=row.experiment_id)
    return row


def occurrence_row(occurrence: Occurrence, now: datetime) -> Meeting:
    """A new row for a virtual occurrence of a series (not recorded yet)."""
    series = occurrence.meeting
    stamp = occurrence.start.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Meeting(
        workspace_id=series.workspace_id,
        experiment_id=series.experiment_id,
        kind=series.kind,
        title=series.title,
        starts_at=occurrence.start,
        ends_at=occurrence.end,
        timezone=series.timezone,
        place=series.place,
        video_url=series.video_url,
        series_id=pk(series),
        recurrence_start=occurrence.start,
        status=SCHEDULED,
        uid=f"{series.uid}/{stamp}",
        sequence=series.sequence,
        organizer_id=series.organizer_id,
        channel_id=series.channel_id,
        created_at=now,
    )


def invitations(session: Session, meeting: Meeting) -> list[tuple[Invitation, Person]]:
    """Who is invited to ``meeting``: a series' invitations hold for its occurrences, and
    an occurrence's own answer replaces the series' one."""
    ids = [pk(meeting)] + ([meeting.series_id] if meeting.series_id else [])
    rows = session.exec(
        select(Invitation, Person)
        .join(Person, col(Person.id) == Invitation.person_id)
        .where(col(Invitation.meeting_id).in_(ids), col(Invitation.deleted_at).is_(None))
        .order_by(col(Person.handle))
    ).all()
    by_person: dict[int, tuple[Invitation, Person]] = {}
    for invitation, person in rows:
        current = by_person.get(invitation.person_id)
        if current is None or invitation.meeting_id == meeting.id:
            by_person[invitation.person_id] = (invitation, person)
    return sorted(by_person.values(), key=lambda r: r[1].handle)


def agenda(session: Session, meeting: Meeting) -> list[AgendaItem]:
    return list(
        session.exec(
            select(AgendaItem)
            .where(AgendaItem.meeting_id == meeting.id, col(AgendaItem.deleted_at).is_(None))
            .order_by(col(AgendaItem.position), col(AgendaItem.id))
        )
    )


def decisions_of(session: Session, meeting: Meeting) -> list[Decision]:
    return list(
        session.exec(
            select(Decision)
            .where(Decision.meeting_id == meeting.id, col(Decision.deleted_at).is_(None))
            .order_by(col(Decision.id))
        )
    )


def actions_of(session: Session, meeting: Meeting) -> list[tuple[Milestone, list[Person]]]:
    milestones = list(
        session.exec(
            select(Milestone)
            .where(Milestone.meeting_id == meeting.id, col(Milestone.deleted_at).is_(None))
            .order_by(col(Milestone.due_on), col(Milestone.id))
        )
    )
    return [(m, milestone_owners(session, m)) for m in milestones]


def milestone_owners(session: Session, milestone: Milestone) -> list[Person]:
    return list(
        session.exec(
            select(Person)
            .join(MilestoneOwner, col(MilestoneOwner.person_id) == Person.id)
            .where(MilestoneOwner.milestone_id == milestone.id)
            .order_by(col(Person.handle))
        )
    )


# --------------------------------------------------------------------------- checks


@dataclass
class Warning:
    """Something to say without refusing: ``kind`` is "overlap" (``other`` is the other
    meeting, first met at ``other_start``, ``count`` sittings in all) or "holiday"
    (``name`` of the public holiday)."""

    kind: str
    start: datetime
    other: Meeting | None = None
    other_start: datetime | None = None
    name: str = ""
    count: int = 1


def check_times(ctx: Context, start: datetime, end: datetime, text: str) -> None:
    if end <= start:
        raise UserError("meetings.end_before_start", start=start, end=end)
    if end - start > MAX_DURATION:
        raise UserError("meetings.too_long", hours=hours_of(end - start), text=text)
    if start < ctx.now:
        raise UserError("meetings.past", start=start, text=text)


def hours_of(length: timedelta) -> float | int:
    hours = round(length.total_seconds() / 3600, 1)
    return int(hours) if hours.is_integer() else hours


def check_video(url: str) -> str:
    url = url.strip()
    parsed = urlparse(url)
    if parsed.scheme.lower() not in ("http", "https") or not parsed.netloc:
        raise UserError("meetings.bad_video", url=url)
    if len(url) > 2000:
        raise UserError("core.text_too_long", length=len(url), limit=2000)
    return url


def check_text(text: str, limit: int) -> str:
    text = text.strip()
    if len(text) > limit:
        raise UserError("core.text_too_long", length=len(text), limit=limit)
    return text


@cache
def _holidays(year: int, language: str) -> dict[date, str]:
    import holidays  # imported when first needed: it weighs on every process's start-up

    table = holidays.country_holidays("FR", years=year, language=language)
    return {day: str(name) for day, name in table.items()}


def holiday_name(day: date, locale: str) -> str | None:
    return _holidays(day.year, "fr" if locale == "fr" else "en_US").get(day)


def warnings_for(ctx: Context, meeting: Meeting) -> list[Warning]:
    """Overlaps with the other meetings of the same experiment (or of the lab, for the
    lab's own), and French public holidays, over the meeting's occurrences (a year of a
    series at most)."""
    if meeting.rrule:
        mine = series_occurrences(
            ctx.session, meeting, meeting.starts_at, meeting.starts_at + SERIES_HORIZON
        )[:SERIES_CHECKED]
    else:
        mine = [Occurrence(meeting, meeting.starts_at, meeting.ends_at)]
    mine = [o for o in mine if not o.cancelled]
    if not mine:
        return []
    warnings: list[Warning] = []
    tz = ZoneInfo(meeting.timezone)
    for occurrence in mine:
        day = occurrence.start.astimezone(tz).date()
        name = holiday_name(day, ctx.locale)
        if name:
            warnings.append(Warning("holiday", occurrence.start, name=name))
    first, last = mine[0].start, mine[-1].end
    same_place = (
        col(Meeting.experiment_id) == meeting.experiment_id
        if meeting.experiment_id is not None
        else col(Meeting.experiment_id).is_(None)
    )
    own_rows = {pk(meeting)} | ({meeting.series_id} if meeting.series_id else set())
    others = [
        m
        for m in ctx.session.exec(
            select(Meeting).where(
                Meeting.workspace_id == meeting.workspace_id,
                same_place,
                col(Meeting.deleted_at).is_(None),
                Meeting.status == SCHEDULED,
                col(Meeting.id) != meeting.id,
                col(Meeting.starts_at) < last,
            )
        ).all()
        if m.id not in own_rows and m.series_id != meeting.id
    ]
    theirs = [
        o
        for o in occurrences_between(ctx.session, others, first - MAX_DURATION, last)
        if not o.cancelled
    ]
    # A moved occurrence no longer sits where the series would have put it.
    if meeting.series_id is not None:
        theirs = [
            o
            for o in theirs
            if not (o.virtual and o.series_id == meeting.series_id)
            or o.start != meeting.recurrence_start
        ]
    # One warning per other meeting, with how many sittings clash (a series against a
    # series clashes every month).
    clashes: dict[int, Warning] = {}
    for occurrence in mine:
        for other in theirs:
            if other.start < occurrence.end and other.end > occurrence.start:
                key = pk(other.meeting)
                if key in clashes:
                    clashes[key].count += 1
                else:
                    clashes[key] = Warning(
                        "overlap", occurrence.start, other=other.meeting, other_start=other.start
                    )
    return warnings + list(clashes.values())


# --------------------------------------------------------------------------- changes


@dataclass
class Plan:
    """What a scheduling command asked for, read and checked by the command layer."""

    kind: str
    title: str
    start: datetime
    end: datetime
    timezone: str
    place: str = ""
    video_url: str = ""
    rrule: str | None = None
    invitees: list[Person] = field(default_factory=list)


def schedule(ctx: Context, experiment: Experiment | None, plan: Plan) -> Meeting:
    if experiment is None:
        ctx.require_lab_coordinator()
    else:
        ctx.require(experiment, Role.COORDINATOR, Role.MEMBER)
    meeting = Meeting(
        workspace_id=ctx.workspace_id,
        experiment_id=experiment.id if experiment else None,
        kind=plan.kind,
        title=check_text(plan.title, TITLE_LIMIT),
        starts_at=plan.start.astimezone(UTC),
        ends_at=plan.end.astimezone(UTC),
        timezone=plan.timezone,
        place=check_text(plan.place, PLACE_LIMIT),
        video_url=plan.video_url,
        rrule=plan.rrule,
        status=SCHEDULED,
        uid=f"{uuid.uuid4()}@coordo",
        organizer_id=ctx.person_id,
        channel_id=ctx.invocation.channel.external_id,
        created_at=ctx.now,
    )
    ctx.record("create", meeting, experiment_id=meeting.experiment_id)
    invite(ctx, meeting, plan.invitees)
    return meeting


@dataclass
class Change:
    start: datetime | None = None
    end: datetime | None = None
    rrule: str | None = None
    place: str | None = None
    video_url: str | None = None
    title: str | None = None


def move(ctx: Context, occurrence: Occurrence, change: Change) -> Meeting:
    """Move or edit one meeting, one occurrence of a series, or a whole series (when
    ``occurrence`` is the series itself and ``change.rrule`` gives its new rhythm)."""
    require_organiser(ctx, occurrence.meeting)
    meeting = materialise(ctx, occurrence)
    if meeting.status == CANCELLED and change.start is None:
        raise UserError("meetings.cancelled_already", id=pk(meeting))
    before = snapshot(meeting)
    old_start = meeting.starts_at
    if change.start is not None:
        length = meeting.ends_at - meeting.starts_at
        meeting.starts_at = change.start.astimezone(UTC)
        meeting.ends_at = (change.end or change.start + length).astimezone(UTC)
        meeting.status = SCHEDULED
    elif change.end is not None:
        meeting.ends_at = change.end.astimezone(UTC)
    if change.rrule is not None:
        meeting.rrule = change.rrule
    if change.place is not None:
        meeting.place = check_text(change.place, PLACE_LIMIT)
    if change.video_url is not None:
        meeting.video_url = change.video_url
    if change.title is not None:
        meeting.title = check_text(change.title, TITLE_LIMIT)
    if snapshot(meeting) == before:
        raise UserError("meetings.nothing_changed", id=pk(meeting))
    meeting.sequence += 1
    meeting.updated_at = ctx.now
    action = "reschedule" if meeting.starts_at != old_start or change.rrule else "update"
    ctx.record(action, meeting, before, experiment_id=meeting.experiment_id)
    if meeting.rrule:
        _carry_overrides(ctx, meeting, before)
    if meeting.starts_at != old_start or change.end is not None:
        forget_reminders(ctx.session, occurrence.key_id, _local_day(meeting, old_start))
    return meeting


def _carry_overrides(ctx: Context, series: Meeting, before: dict[str, object]) -> None:
    """After a whole series changed: its occurrences prepared alone (an agenda, answers)
    but not moved follow it when the new rhythm has a sitting the same day, and become
    meetings of their own otherwise (their agenda kept)."""
    old_length = datetime.fromisoformat(str(before["ends_at"])) - datetime.fromisoformat(
        str(before["starts_at"])
    )
    length = series.ends_at - series.starts_at
    for row in overrides(ctx.session, series):
        if row.starts_at < ctx.now or row.status == CANCELLED or row.recurrence_start is None:
            continue
        untouched = row.starts_at == row.recurrence_start and row.ends_at - row.starts_at == (
            old_length
        )
        row_before = snapshot(row)
        if untouched:
            day = _local_day(series, row.starts_at)
            tz = ZoneInfo(series.timezone)
            day_start = datetime.combine(day, datetime.min.time(), tz)
            starts = series_starts(series, day_start, day_start + timedelta(days=1))
            if starts:
                row.starts_at = row.recurrence_start = starts[0]
                row.ends_at = starts[0] + length
                row.place, row.video_url, row.title = series.place, series.video_url, series.title
                if snapshot(row) != row_before:
                    row.sequence = max(row.sequence + 1, series.sequence)
                    row.updated_at = ctx.now
                    ctx.record("update", row, row_before, experiment_id=row.experiment_id)
                continue
        if row.recurrence_start not in series_starts(
            series, row.recurrence_start, row.recurrence_start
        ):
            row.series_id = None
            row.recurrence_start = None
            row.uid = f"{uuid.uuid4()}@coordo"
            row.updated_at = ctx.now
            ctx.record("update", row, row_before, experiment_id=row.experiment_id)


def cancel(ctx: Context, occurrence: Occurrence) -> Meeting:
    """Cancel a meeting, a whole series (``occurrence`` is the series), or one occurrence."""
    require_organiser(ctx, occurrence.meeting)
    meeting = materialise(ctx, occurrence)
    if meeting.status == CANCELLED:
        raise UserError("meetings.cancelled_already", id=pk(meeting))
    before = snapshot(meeting)
    meeting.status = CANCELLED
    meeting.sequence += 1
    meeting.updated_at = ctx.now
    ctx.record("cancel", meeting, before, experiment_id=meeting.experiment_id)
    if meeting.rrule:
        # The occurrences to come that have a row of their own go with the series.
        for row in overrides(ctx.session, meeting):
            if row.status == SCHEDULED and row.starts_at >= ctx.now:
                row_before = snapshot(row)
                row.status = CANCELLED
                row.sequence += 1
                row.updated_at = ctx.now
                ctx.record("cancel", row, row_before, experiment_id=row.experiment_id)
        forget_reminders(ctx.session, pk(meeting), None)
    else:
        forget_reminders(ctx.session, occurrence.key_id, _local_day(meeting, meeting.starts_at))
    return meeting


def forget_reminders(session: Session, key_id: int, day: date | None) -> int:
    """Drop reminders queued for an occurrence that moved or was cancelled, and not yet
    taken by the sender, so the new time gets its own."""
    prefix = f"meeting:{key_id}:" + (f"{day.isoformat()}:" if day else "")
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    result = session.execute(
        delete(table).where(
            table.c.key.startswith(prefix, autoescape=True),
            table.c.sent_at.is_(None),
            table.c.claimed_at.is_(None),
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def invite(ctx: Context, meeting: Meeting, people: Iterable[Person]) -> list[Person]:
    """Invite ``people`` (those already invited are left as they are); returns the new ones."""
    added: list[Person] = []
    for person in people:
        existing = ctx.session.exec(
            select(Invitation).where(
                Invitation.meeting_id == meeting.id, Invitation.person_id == person.id
            )
        ).first()
        if existing is not None and existing.deleted_at is None:
            continue
        if existing is None:
            invitation = Invitation(
                meeting_id=pk(meeting), person_id=pk(person), created_at=ctx.now
            )
            ctx.record("create", invitation, experiment_id=meeting.experiment_id)
        else:
            before = snapshot(existing)
            existing.deleted_at = None
            existing.response = "pending"
            existing.responded_at = None
            ctx.record("update", existing, before, experiment_id=meeting.experiment_id)
        added.append(person)
    return added


def reset_answers(ctx: Context, meeting: Meeting) -> list[Person]:
    """After a change of date, everyone invited has to answer again: the answers of
    ``meeting`` go back to "no answer" (for one sitting of a series, the series' answers
    stay for the other sittings, and this one gets rows of its own). Returns who is
    invited."""
    people: list[Person] = []
    for invitation, person in invitations(ctx.session, meeting):
        people.append(person)
        if invitation.response == "pending":
            continue
        if invitation.meeting_id == meeting.id:
            before = snapshot(invitation)
            invitation.response = "pending"
            invitation.responded_at = None
            ctx.record("update", invitation, before, experiment_id=meeting.experiment_id)
        else:
            own = Invitation(meeting_id=pk(meeting), person_id=pk(person), created_at=ctx.now)
            ctx.record("create", own, experiment_id=meeting.experiment_id)
    return people


def team_of(session: Session, experiment: Experiment) -> list[Person]:
    return list(
        session.exec(
            select(Person)
            .join(Membership, col(Membership.person_id) == Person.id)
            .where(Membership.experiment_id == experiment.id, col(Membership.removed_at).is_(None))
            .order_by(col(Person.handle))
        )
    )


def respond(ctx: Context, meeting: Meeting, response: str) -> Invitation:
    """The person's answer. Whoever may read the meeting may answer; one not invited yet
    invites themselves by answering."""
    if response not in RESPONSES:
        raise UserError("meetings.bad_response", text=response)
    if meeting.status == CANCELLED:
        raise UserError("meetings.cancelled_already", id=pk(meeting))
    invitation = ctx.session.exec(
        select(Invitation).where(
            Invitation.meeting_id == meeting.id, Invitation.person_id == ctx.person_id
        )
    ).first()
    if invitation is None:
        invitation = Invitation(
            meeting_id=pk(meeting),
            person_id=ctx.person_id,
            response=response,
            responded_at=ctx.now,
            created_at=ctx.now,
        )
        ctx.record("respond", invitation, experiment_id=meeting.experiment_id)
        return invitation
    before = snapshot(invitation)
    invitation.response = response
    invitation.responded_at = ctx.now
    invitation.deleted_at = None
    ctx.record("respond", invitation, before, experiment_id=meeting.experiment_id)
    return invitation


def add_agenda_item(ctx: Context, meeting: Meeting, title: str) -> AgendaItem:
    role = role_for(ctx, meeting)
    if role is None and not is_invited(ctx.session, meeting, ctx.person_id):
        raise PermissionDenied("meetings.agenda_forbidden")
    title = check_text(title, AGENDA_LIMIT)
    if not title:
        raise UserError("meetings.agenda_usage", id=pk(meeting))
    items = agenda(ctx.session, meeting)
    item = AgendaItem(
        meeting_id=pk(meeting),
        position=(items[-1].position + 1) if items else 0,
        title=title,
        author_id=ctx.person_id,
        created_at=ctx.now,
    )
    ctx.record("create", item, experiment_id=meeting.experiment_id)
    return item


def agenda_item(ctx: Context, meeting: Meeting, number: int) -> AgendaItem:
    items = agenda(ctx.session, meeting)
    if not 1 <= number <= len(items):
        raise NotFound("meetings.no_agenda_item", number=number, count=len(items), id=pk(meeting))
    return items[number - 1]


def shift_agenda_item(ctx: Context, meeting: Meeting, number: int, by: int) -> AgendaItem:
    """Move item ``number`` (1-based) up (``by`` < 0) or down, renumbering every item."""
    require_organiser(ctx, meeting)
    items = agenda(ctx.session, meeting)
    item = agenda_item(ctx, meeting, number)
    target = max(0, min(len(items) - 1, number - 1 + by))
    if target == number - 1:
        raise UserError("meetings.agenda_edge", number=number)
    items.remove(item)
    items.insert(target, item)
    for position, row in enumerate(items):
        if row.position != position:
            before = snapshot(row)
            row.position = position
            ctx.record("update", row, before, experiment_id=meeting.experiment_id)
    return item


def remove_agenda_item(ctx: Context, meeting: Meeting, number: int) -> AgendaItem:
    item = agenda_item(ctx, meeting, number)
    if item.author_id != ctx.person_id:
        require_organiser(ctx, meeting)
    before = snapshot(item)
    item.deleted_at = ctx.now
    ctx.record("delete", item, before, experiment_id=meeting.experiment_id)
    return item


def require_held(ctx: Context, meeting: Meeting) -> None:
    if meeting.starts_at > ctx.now:
        raise UserError("meetings.not_held_yet", id=pk(meeting), start=meeting.starts_at)


def add_minutes(ctx: Context, meeting: Meeting, text: str) -> Meeting:
    """Minutes grow with each message (chat commands hold one line each)."""
    require_organiser(ctx, meeting)
    require_held(ctx, meeting)
    text = text.strip()
    if not text:
        raise UserError("meetings.minutes_usage", id=pk(meeting))
    before = snapshot(meeting)
    meeting.minutes = f"{meeting.minutes}\n{text}".strip() if meeting.minutes else text
    check_text(meeting.minutes, TEXT_LIMIT)
    meeting.updated_at = ctx.now
    ctx.record("update", meeting, before, experiment_id=meeting.experiment_id)
    return meeting


def add_decision(ctx: Context, meeting: Meeting, text: str) -> Decision:
    require_organiser(ctx, meeting)
    require_held(ctx, meeting)
    text = check_text(text, TEXT_LIMIT)
    if not text:
        raise UserError("meetings.decision_usage", id=pk(meeting))
    decision = Decision(
        meeting_id=pk(meeting),
        experiment_id=meeting.experiment_id,
        text=text,
        author_id=ctx.person_id,
        created_at=ctx.now,
    )
    ctx.record("create", decision, experiment_id=meeting.experiment_id)
    return decision


def add_action(
    ctx: Context,
    meeting: Meeting,
    experiment: Experiment,
    *,
    title: str,
    due: datetime,
    has_time: bool,
    owners: Sequence[Person],
) -> tuple[Milestone, list[Person]]:
    """An action decided in a meeting: a milestone of ``experiment`` linked to it, under
    the milestones' own rules (a title, a deadline to come, owners from the team)."""
    require_organiser(ctx, meeting)
    require_held(ctx, meeting)
    local = due.astimezone(ZoneInfo(experiment.timezone))
    deadline = milestones.Deadline(local.date(), due.astimezone(UTC) if has_time else None)
    return milestones.create(
        ctx, experiment, title=title, deadline=deadline, owners=owners, meeting_id=pk(meeting)
    )


def decisions(
    ctx: Context, experiments: Sequence[Experiment], *, lab: bool, limit: int = 30
) -> list[tuple[Decision, Meeting]]:
    """Past decisions, newest first."""
    conditions = []
    if experiments:
        conditions.append(col(Meeting.experiment_id).in_([pk(e) for e in experiments]))
    if lab:
        conditions.append(col(Meeting.experiment_id).is_(None))
    if not conditions:
        return []
    rows = ctx.session.exec(
        select(Decision, Meeting)
        .join(Meeting, col(Meeting.id) == Decision.meeting_id)
        .where(
            Meeting.workspace_id == ctx.workspace_id,
            col(Decision.deleted_at).is_(None),
            col(Meeting.deleted_at).is_(None),
            or_(*conditions),
        )
        .order_by(col(Meeting.starts_at).desc(), col(Decision.id).desc())
        .limit(limit)
    ).all()
    return [(d, m) for d, m in rows]


def calendar_address(ctx: Context, experiment: Experiment, *, rotate: bool = False) -> str:
    """The person's own secret address of ``experiment``'s calendar (made on first use; a
    new one, the old one stopping, with ``rotate``). Only the team and the lab's
    coordinators get one: a personal address answers while its person is on the team."""
    if role_of(ctx.session, ctx.person, experiment) is None:
        raise PermissionDenied("copil.calendar_team_only", experiment=experiment.name)
    current = list(
        ctx.session.exec(
            select(CalendarFeed).where(
                CalendarFeed.experiment_id == experiment.id,
                CalendarFeed.person_id == ctx.person_id,
                col(CalendarFeed.removed_at).is_(None),
            )
        )
    )
    if current and not rotate:
        return current[0].token
    for row in current:
        before = snapshot(row)
        row.removed_at = ctx.now
        ctx.record("delete", row, before, experiment_id=experiment.id)
    token = calendars.new_token()
    feed = CalendarFeed(
        experiment_id=pk(experiment),
        person_id=ctx.person_id,
        token=token,
        token_hash=calendars.token_hash(token),
        created_at=ctx.now,
    )
    ctx.record("create", feed, experiment_id=experiment.id)
    return token


# --------------------------------------------------------------------------- notices


def notify_invitees(
    ctx: Context,
    meeting: Meeting,
    *,
    kind: str,
    reply_for: Callable[[Person], Reply],
    people: Iterable[Person] | None = None,
) -> int:
    """Queue a direct message to each invitee who has not declined (or to ``people``):
    the outbox delivers it, within the experiment's working hours. ``reply_for(person)``
    builds the message in that person's language. The key carries the meeting's sequence,
    so each change is told once."""
    experiment = experiment_of(ctx.session, meeting)
    targets = (
        list(people)
        if people is not None
        else [p for i, p in invitations(ctx.session, meeting) if i.response != "no"]
    )
    key_id = meeting.series_id or pk(meeting)
    count = 0
    for person in targets:
        if person.id == ctx.person_id:
            continue
        queued = outbox.enqueue(
            ctx.session,
            key=f"meeting:{key_id}:{kind}:{meeting.id}:{meeting.sequence}:@{pk(person)}",
            workspace_id=ctx.workspace_id,
            kind=f"meeting.{kind}",
            target_kind="person",
            target_id=str(pk(person)),
            reply=reply_for(person),
            not_before=ctx.now,
            experiment=experiment,
            expires_at=meeting.ends_at if not meeting.rrule else None,
        )
        count += int(queued)
    return count


def count_by_response(rows: Sequence[tuple[Invitation, Person]]) -> dict[str, int]:
    counts = dict.fromkeys(("yes", "maybe", "pending", "no"), 0)
    for invitation, _ in rows:
        counts[invitation.response] = counts.get(invitation.response, 0) + 1
    return counts


def meeting_count(session: Session, experiment: Experiment) -> int:
    return session.exec(
        select(func.count()).where(
            Meeting.experiment_id == experiment.id, col(Meeting.deleted_at).is_(None)
        )
    ).one()
