"""What the scheduler queues for meetings, worked out from the database each minute.

``scan_meetings(session, now)`` looks at the occurrences starting within the next seven
days and queues, under unique keys (a repeated scan, a restart or a second worker never
queues twice):

- the call for agenda items, seven days before a COPIL (the lab's too), to the channel:
  ``meeting:<id>:<date>:agenda-call``;
- the reminder the day before, with the agenda: ``meeting:<id>:<date>:remind-1d``;
- the reminder an hour before, with the place and the video link: ``…:remind-1h``;

the reminders to the channel and, by direct message, to each invitee who said yes or has
not answered. ``<id>`` is the series' id for an occurrence of a series and ``<date>`` the
occurrence's day in the meeting's timezone. Each message expires when the meeting begins.

After downtime a message is still queued while it is relevant: the agenda call until two
days before, the day-before reminder until an hour before, the last one until the start;
past that it is skipped for good.

The caller (the scheduler's job) owns the transaction and commits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from commands.render import message, render
from commands.reply import Button, Reply, Visibility
from commands.services import minutes, outbox, polls, wording
from commands.services.due import write_moments
from commands.services.meetings import (
    CANCELLED,
    SCHEDULED,
    Occurrence,
    agenda,
    invitations,
    occurrences_between,
    series_occurrences,
)
from models import (
    ChannelBinding,
    DatePoll,
    Experiment,
    Meeting,
    NotificationPreference,
    Person,
    Workspace,
    pk,
)

log = logging.getLogger(__name__)

HORIZON = timedelta(days=7)
AGENDA_CALL_KINDS = ("copil", "copil-labo")


@dataclass(frozen=True)
class Step:
    """A message ``lead`` before the start, still worth sending until ``until`` before."""

    name: str
    lead: timedelta
    until: timedelta
    to_people: bool
    quiet_hours: bool


STEPS = (
    Step("agenda-call", timedelta(days=7), timedelta(days=2), to_people=False, quiet_hours=True),
    Step("remind-1d", timedelta(days=1), timedelta(hours=1), to_people=True, quiet_hours=True),
    # An hour before is the meeting's own time: never held back to working hours.
    Step("remind-1h", timedelta(hours=1), timedelta(0), to_people=True, quiet_hours=False),
)


def due_steps(occurrence: Occurrence, now: datetime) -> list[Step]:
    """The steps whose time has come and that are still relevant at ``now``."""
    left = occurrence.start - now
    return [
        s
        for s in STEPS
        if s.until < left <= s.lead
        and (s.name != "agenda-call" or occurrence.meeting.kind in AGENDA_CALL_KINDS)
    ]


# How far ahead a series is expanded to find its next moment; past that, it is looked at
# again after ``LOOK_AGAIN`` (every step of a later sitting comes after that).
LOOK_AHEAD = timedelta(days=15)
LOOK_AGAIN = LOOK_AHEAD - max(s.lead for s in STEPS)
CHUNK = 500
_TABLE: Any = Meeting.__table__  # type: ignore[attr-defined]


def due_meetings(session: Session, now: datetime) -> list[Any]:
    """The meetings and series whose next-due moment has come (``models.due``), by the
    index on ``next_due_at``, as plain rows; locked on PostgreSQL (those a command or
    another worker holds are left to the next tick)."""
    m = _TABLE.c
    query = sa_select(
        m.id,
        m.experiment_id,
        m.kind,
        m.starts_at,
        m.rrule,
        ((m.status == SCHEDULED) & m.deleted_at.is_(None)).label("live"),
    ).where(m.next_due_at <= now)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.connection().execute(query).all())


def _steps_of(kind: str) -> list[Step]:
    return [s for s in STEPS if s.name != "agenda-call" or kind in AGENDA_CALL_KINDS]


def next_moment(meeting: Any, occurrences: list[Occurrence], now: datetime) -> datetime | None:
    """The first moment after ``now`` at which a step of one of ``meeting``'s sittings
    comes due (``occurrences``: its sittings in ``(now, now + LOOK_AHEAD]``); None once
    none will."""
    later = [
        o.start - s.lead
        for o in occurrences
        for s in _steps_of(meeting.kind)
        if o.start - s.lead > now
    ]
    if later:
        return min(later)
    if meeting.rrule:
        return now + LOOK_AGAIN
    if meeting.starts_at > now + LOOK_AHEAD:
        return meeting.starts_at - max(s.lead for s in STEPS)
    return None


def scan_meetings(session: Session, now: datetime) -> int:
    """Queue the meeting messages due at ``now``; returns how many were queued.

    Only the meetings whose next-due moment has come are read, as plain rows; a single
    meeting's next moment is worked out from its row, and only series and the meetings
    with a step due now are loaded whole. A step whose channel message is queued already
    was queued whole, for every target, in one scan: it is skipped before anything is
    rendered or looked up. (Someone invited after a step went out gets the next step, and
    the invitation itself.)"""
    # Items not dealt with go to the next sitting first, so its agenda call lists them.
    minutes.carry_over_automatically(session, now)
    queued = _scan_steps(session, now)
    # Date polls: a reminder to who has not answered after two working days.
    return queued + polls.queue_poll_reminders(session, now, _poll_reminder)


def _scan_steps(session: Session, now: datetime) -> int:
    """The meetings' own steps (agenda call, reminders) due at ``now``."""
    rows = due_meetings(session, now)
    if not rows:
        return 0
    archived = set(
        session.exec(
            select(Experiment.id).where(
                col(Experiment.id).in_({r.experiment_id for r in rows if r.experiment_id}),
                col(Experiment.archived_at).is_not(None),
            )
        )
    )
    moments: dict[int, datetime | None] = {}
    whole: list[int] = []
    for row in rows:
        if not row.live or row.experiment_id in archived:
            moments[row.id] = None
        elif row.rrule:
            whole.append(row.id)
        else:
            left = row.starts_at - now
            steps = _steps_of(row.kind)
            if any(s.until < left <= s.lead for s in steps):
                whole.append(row.id)
            ahead = [row.starts_at - s.lead for s in steps if row.starts_at - s.lead > now]
            moments[row.id] = min(ahead, default=None)
    live: list[Meeting] = []
    for i in range(0, len(whole), CHUNK):
        live += session.exec(select(Meeting).where(col(Meeting.id).in_(whole[i : i + CHUNK])))
    found = occurrences_between(
        session, live, now + timedelta(microseconds=1), now + LOOK_AHEAD + timedelta(microseconds=1)
    )
    by_meeting: dict[int, list[Occurrence]] = {}
    due: list[tuple[Occurrence, list[Step]]] = []
    for occurrence in found:
        if occurrence.meeting.status == CANCELLED:
            continue
        by_meeting.setdefault(pk(occurrence.meeting), []).append(occurrence)
        if occurrence.start <= now + HORIZON:
            steps = due_steps(occurrence, now)
            if steps:
                due.append((occurrence, steps))
    for meeting in live:
        moments[pk(meeting)] = next_moment(meeting, by_meeting.get(pk(meeting), []), now)
    write_moments(session, _TABLE, "next_due_at", moments)
    done = outbox.queued_keys(
        session, [f"{_key(occurrence)}:{step.name}" for occurrence, steps in due for step in steps]
    )
    queued = 0
    for occurrence, steps in due:
        fresh = [step for step in steps if f"{_key(occurrence)}:{step.name}" not in done]
        if fresh:
            queued += _queue(session, occurrence, fresh, now)
    return queued


def _poll_reminder(
    poll: DatePoll, person: Person, counted: polls.Tally, experiment: Experiment | None
) -> Reply:
    """The poll as it stands, in the person's language, with its buttons."""
    locale = person.locale or (experiment.locale if experiment else "fr")
    return polls.poll_reply(
        poll,
        counted,
        locale,
        experiment=experiment,
        header=message("polls.reminder", locale),
    )


def _key(occurrence: Occurrence) -> str:
    """The key prefix of one sitting's messages: ``meeting:<series or meeting>:<day>``."""
    tz = ZoneInfo(occurrence.meeting.timezone)
    return f"meeting:{occurrence.key_id}:{occurrence.start.astimezone(tz).date().isoformat()}"


@dataclass(frozen=True)
class Target:
    kind: str  # "channel" or "person"
    id: str
    suffix: str
    locale: str
    tz: str


def _channels(session: Session, meeting: Meeting, experiment: Experiment | None) -> list[str]:
    """Where a meeting's news goes: the channels bound to its experiment (the one it was
    scheduled in first), else the channel it was scheduled in."""
    bound: list[str] = []
    if experiment is not None:
        rows = session.exec(
            select(ChannelBinding)
            .where(ChannelBinding.experiment_id == experiment.id)
            .order_by(col(ChannelBinding.is_shared), col(ChannelBinding.id))
        ).all()
        bound = [b.channel_id for b in rows]
    if meeting.channel_id and meeting.channel_id in bound:
        bound.remove(meeting.channel_id)
        bound.insert(0, meeting.channel_id)
    if not bound and meeting.channel_id:
        bound = [meeting.channel_id]
    return bound


def _quiet_people(session: Session, experiment: Experiment | None, now: datetime) -> set[int]:
    """People who turned direct messages off, or muted them, for this experiment."""
    if experiment is None:
        return set()
    rows = session.exec(
        select(NotificationPreference).where(NotificationPreference.experiment_id == experiment.id)
    ).all()
    return {
        r.person_id
        for r in rows
        if not r.direct_messages or (r.muted_until is not None and r.muted_until > now)
    }


def _queue(session: Session, occurrence: Occurrence, steps: list[Step], now: datetime) -> int:
    meeting = occurrence.meeting
    experiment = session.get(Experiment, meeting.experiment_id) if meeting.experiment_id else None
    workspace = session.get(Workspace, meeting.workspace_id)
    assert workspace is not None
    base_locale = experiment.locale if experiment else workspace.locale
    tz = meeting.timezone
    rows = [] if occurrence.virtual else agenda(session, meeting)
    items = [i.title for i in rows]
    # Items carried over from an earlier sitting: the agenda call says so.
    carried = [i.title for i in rows if i.carried_from_id is not None]
    key = _key(occurrence)
    reference = _reference(occurrence)
    channel_targets = [
        Target("channel", c, "" if n == 0 else f":~{c}", base_locale, tz)
        for n, c in enumerate(_channels(session, meeting, experiment))
    ]
    people: list[Target] = []
    if any(s.to_people for s in steps):
        quiet = _quiet_people(session, experiment, now)
        for invitation, person in invitations(session, meeting):
            if invitation.response in ("yes", "pending") and pk(person) not in quiet:
                people.append(_person_target(person, base_locale, tz))
    words = wording.words_on(now.astimezone(ZoneInfo(tz)).date(), tz)
    count = 0
    for step in steps:
        targets = channel_targets + (people if step.to_people else [])
        for target in targets:
            reply = _reply(step, occurrence, items, reference, target, experiment, now, carried)
            count += int(
                outbox.enqueue(
                    session,
                    key=f"{key}:{step.name}{target.suffix}",
                    workspace_id=meeting.workspace_id,
                    kind=f"meeting.{step.name}",
                    target_kind=target.kind,
                    target_id=target.id,
                    reply=reply,
                    not_before=now,
                    experiment=experiment,
                    expires_at=occurrence.start,
                    quiet_hours=step.quiet_hours,
                    # "Demain" is true on the day it was queued only: held past it, dropped.
                    # The agenda call ("dans 5 jours", and the agenda so far) is worked out
                    # again from the meeting when it goes on a later day.
                    words=words if step.name in ("remind-1d", "agenda-call") else None,
                    ref=_agenda_call_ref(occurrence) if step.name == "agenda-call" else None,
                )
            )
    return count


def _agenda_call_ref(occurrence: Occurrence) -> dict[str, object]:
    return {
        "meeting": pk(occurrence.meeting),
        "start": occurrence.start.isoformat(),
        "step": "agenda-call",
    }


def agenda_call_at(
    session: Session, ref: dict[str, object], target_kind: str, target_id: str, now: datetime
) -> Reply | None:
    """The agenda call for the sitting ``ref`` names, worded as it reads at ``now`` (the
    days left, the agenda so far); None when the sitting is no longer to come or no
    longer a meeting that gets one (the row is then dropped rather than sent stale)."""
    meeting = session.get(Meeting, int(str(ref["meeting"])))
    if meeting is None or meeting.deleted_at is not None or meeting.status != SCHEDULED:
        return None
    start = datetime.fromisoformat(str(ref["start"]))
    after, before = start - timedelta(microseconds=1), start + timedelta(microseconds=1)
    if meeting.rrule:
        candidates = series_occurrences(session, meeting, after, before)
    else:
        candidates = occurrences_between(session, [meeting], after, before)
    found = [o for o in candidates if o.start == start and not o.cancelled]
    if not found or start <= now:
        return None
    occurrence = found[0]
    step = next(s for s in STEPS if s.name == "agenda-call")
    experiment = session.get(Experiment, meeting.experiment_id) if meeting.experiment_id else None
    workspace = session.get(Workspace, meeting.workspace_id)
    assert workspace is not None
    rows = [] if occurrence.virtual else agenda(session, occurrence.meeting)
    target = Target(
        target_kind,
        target_id,
        "",
        experiment.locale if experiment else workspace.locale,
        occurrence.meeting.timezone,
    )
    return _reply(
        step,
        occurrence,
        [i.title for i in rows],
        _reference(occurrence),
        target,
        experiment,
        now,
        [i.title for i in rows if i.carried_from_id is not None],
    )


def _person_target(person: Person, locale: str, tz: str) -> Target:
    return Target("person", str(pk(person)), f":@{pk(person)}", person.locale or locale, tz)


def _reference(occurrence: Occurrence) -> dict[str, object]:
    """How commands name this occurrence: ``3``, or ``4 seance:01/12/2026`` for one
    occurrence of series 4 without a row of its own."""
    meeting = occurrence.meeting
    return {
        "id": pk(meeting),
        "day": occurrence.local_date() if occurrence.virtual else None,
    }


def _reply(
    step: Step,
    occurrence: Occurrence,
    items: list[str],
    reference: dict[str, object],
    target: Target,
    experiment: Experiment | None,
    now: datetime,
    carried: list[str] | None = None,
) -> Reply:
    meeting = occurrence.meeting
    # Days from the day it goes out to the meeting's, as people count them ("in a week" is
    # only said a week before).
    zone = ZoneInfo(target.tz)
    days = (occurrence.start.astimezone(zone).date() - now.astimezone(zone).date()).days
    text = render(
        f"meeting/{step.name.replace('-', '_')}",
        target.locale,
        target.tz,
        m=meeting,
        start=occurrence.start,
        end=occurrence.end,
        agenda=items,
        carried=carried or [],
        ref=reference,
        experiment=experiment,
        personal=target.kind == "person",
        days=days,
    )
    buttons: list[Button] = []
    if step.name == "remind-1d":
        value_id = f"{reference['id']}"
        if reference["day"] is not None:
            value_id += f":{reference['day']}"
        buttons = [
            Button(
                message(f"meetings.button_{r}", target.locale), "meeting.rsvp", f"{value_id}:{r}"
            )
            for r in ("yes", "no", "maybe")
        ]
    return Reply(text=text, visibility=Visibility.CHANNEL, buttons=buttons)
