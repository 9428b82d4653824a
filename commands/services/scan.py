"""The scan tick: work out from the database what is due now and queue it in the outbox.

Run every minute by the scheduler, and safe to run as often as one likes: each
notification has a unique key, so a repeated scan, a restart or a second worker queues
nothing twice. What is queued:

- milestone pings to each owner, by direct message: one per lead time of the
  experiment (``reminder_lead_days``, default 7 days, 1 day and the day itself), at the
  start of working hours on that day (or on the last working day before it), then,
  once the deadline has passed, one each working day until the milestone is done or
  rescheduled. A ping is queued only while it is the current one: after downtime the
  scan sends the ping that is relevant now and never a stale one (the 7-day ping is
  not sent once the 1-day one is due), and a lead time that had passed before the
  milestone was created or last changed is skipped;
- the weekly digests (``commands.services.digests``);
- the meeting reminders, when the meetings' own scan is installed
  (``commands.services.meeting_reminders.scan_meetings``).

The scan only reads and inserts: the caller owns the transaction and commits.
"""

from __future__ import annotations

import functools
import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from commands.messages import normalise_locale
from commands.render import message, render
from commands.reply import Button, Reply
from commands.services import digests, due, outbox, payment_clock, summaries, wording
from models import Experiment, Milestone, MilestoneOwner, Person

log = logging.getLogger(__name__)

MEETINGS_SCAN = "commands.services.meeting_reminders"
DEFAULT_LEADS = (7, 1, 0)
MAX_LEAD_DAYS = 90

MeetingScan = Callable[[Session, datetime], int]


@dataclass
class ScanReport:
    milestone_pings: int = 0
    digests: int = 0
    lab_digests: int = 0
    # None when the meetings' scan is not installed.
    meeting_reminders: int | None = None
    invoice_pings: int = 0
    # Digests were left for another pass (``digests.DIGESTS_PER_PASS``): scan again.
    more: bool = False

    @property
    def queued(self) -> int:
        return (
            self.milestone_pings
            + self.digests
            + self.lab_digests
            + (self.meeting_reminders or 0)
            + self.invoice_pings
        )


def scan(session: Session, now: datetime) -> ScanReport:
    """Queue everything due at ``now``; returns how much was queued.

    Each source reads the rows that can be due now and loads the experiments of those
    rows only (``commands.services.due``): never every experiment of the deployment."""
    report = ScanReport()
    report.milestone_pings = queue_milestone_pings(session, now)
    report.digests, report.lab_digests, report.more = digests.queue_digest_pass(
        session, now, limit=digests.DIGESTS_PER_PASS
    )
    report.invoice_pings = payment_clock.queue_invoice_pings(session, now)
    meetings = meeting_scan()
    if meetings is not None:
        report.meeting_reminders = meetings(session, now)
    return report


def meeting_scan() -> MeetingScan | None:
    """The meetings' scan if that module is installed; the seam that lets this scan work
    before and after it lands."""
    try:
        module = importlib.import_module(MEETINGS_SCAN)
    except ModuleNotFoundError as error:
        if error.name != MEETINGS_SCAN:
            raise
        return None
    scanner: MeetingScan = module.scan_meetings
    return scanner


# -- milestones -------------------------------------------------------------------------


def lead_days(experiment: Experiment) -> list[int]:
    """The experiment's lead times in days, largest first (``"7,1,0"`` → ``[7, 1, 0]``)."""
    return parse_leads(experiment.reminder_lead_days)


def parse_leads(text: str) -> list[int]:
    """Lead times written ``"7,1,0"``, largest first; what is not a number of days is left out."""
    leads: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if part.isdigit() and int(part) <= MAX_LEAD_DAYS:
            leads.add(int(part))
    return sorted(leads, reverse=True)


class Ping(NamedTuple):
    """The ping a milestone owner is due now. ``label`` goes in the outbox key;
    ``days`` is the days left (negative: days late)."""

    label: str
    moment: datetime
    expires_at: datetime
    days: int


class Schedule:
    """An experiment's reminder calendar as of ``now``, worked out once per scan: its
    today, working days, lead times, and the ping moments of each deadline.

    Before a deadline each lead time's ping is current from its moment (the start of
    working hours on that day, or on the last working day before it) until the next
    one's (the last until the end of the due day's working hours); after the deadline a
    ping is current during each working day's working hours.

    Moments are kept in UTC: comparing datetimes of one same zone skips the zone's
    offset look-ups, which a scan over thousands of milestones notices."""

    def __init__(self, experiment: Experiment, now: datetime) -> None:
        self.experiment = experiment
        self.now = now.astimezone(UTC)
        self.tz = ZoneInfo(experiment.timezone)
        self.today = now.astimezone(self.tz).date()
        self.leads = lead_days(experiment)
        self.days = outbox.working_days(experiment)
        self._late: tuple[str, datetime, datetime] | None = None
        if self.today.isoweekday() in self.days:
            opening = self._at(self.today, experiment.working_hours_start)
            closing = self._at(self.today, experiment.working_hours_end)
            if opening <= self.now < closing:
                self._late = (f"late-{self.today.isoformat()}", opening, closing)
        self._due: dict[date, tuple[int, datetime, datetime] | None] = {}
        # What its moments depend on besides the deadline (``now`` is the scan's).
        self.settings = (
            experiment.timezone,
            experiment.working_days,
            experiment.working_hours_start,
            experiment.working_hours_end,
            experiment.reminder_lead_days,
        )

    def ping(self, due_on: date, since: datetime | None) -> Ping | None:
        """The ping current now for a deadline ``due_on``; a lead time whose moment came
        before ``since`` (the milestone's creation or last change) is skipped."""
        if due_on < self.today:
            if self._late is None:
                return None
            label, moment, expires = self._late
            return Ping(label, moment, expires, (due_on - self.today).days)
        if due_on not in self._due:
            self._due[due_on] = self._current_lead(due_on)
        current = self._due[due_on]
        if current is None:
            return None
        lead, moment, expires = current
        if since is not None and moment < since.astimezone(UTC):
            return None
        return Ping(f"due-{lead}d", moment, expires, (due_on - self.today).days)

    def next_moment(self, due_on: date) -> datetime:
        """The first moment after now at which a ping of a deadline ``due_on`` may become
        current: a lead time's moment, or the opening of a working day after the
        deadline (the late pings). A lower bound: the scan looks again then."""
        # Lead times largest first: their moments come in order.
        for lead in self.leads:
            moment = self._opening_on_or_before(due_on - timedelta(days=lead))
            if moment > self.now:
                return moment
        day = max(due_on + timedelta(days=1), self.today)
        for _ in range(8):
            if day.isoweekday() in self.days:
                opening = self._at(day, self.experiment.working_hours_start)
                if opening > self.now:
                    return opening
            day += timedelta(days=1)
        return self.now + timedelta(days=1)

    def _current_lead(self, due_on: date) -> tuple[int, datetime, datetime] | None:
        moments = [
            (lead, self._opening_on_or_before(due_on - timedelta(days=lead))) for lead in self.leads
        ]
        for i, (lead, moment) in enumerate(moments):
            expires = (
                moments[i + 1][1]
                if i + 1 < len(moments)
                else self._at(due_on, self.experiment.working_hours_end)
            )
            if moment <= self.now < expires:
                return lead, moment, expires
        return None

    def _opening_on_or_before(self, day: date) -> datetime:
        for _ in range(7):
            if day.isoweekday() in self.days:
                break
            day -= timedelta(days=1)
        return self._at(day, self.experiment.working_hours_start)

    def _at(self, day: date, clock: time) -> datetime:
        return _utc_at(self.experiment.timezone, day, clock)

    def may_ping(self, due_on: date) -> bool:
        """Whether a ping of a deadline ``due_on`` can be current now: not when even its
        longest lead time's moment (at most six days before, on a working day) is ahead."""
        return due_on <= self.today + timedelta(days=(self.leads[0] if self.leads else 0) + 7)


@functools.lru_cache(maxsize=65536)
def _utc_at(zone: str, day: date, clock: time) -> datetime:
    """``clock`` on ``day`` in ``zone``, in UTC; kept, as experiments share their settings."""
    return datetime.combine(day, clock, ZoneInfo(zone)).astimezone(UTC)


def milestone_ping(
    experiment: Experiment, due_on: date, since: datetime | None, now: datetime
) -> Ping | None:
    """The ping of a milestone due on ``due_on`` that is current at ``now``, if any."""
    return Schedule(experiment, now).ping(due_on, since)


_MILESTONE: Any = Milestone.__table__  # type: ignore[attr-defined]
_OWNER: Any = MilestoneOwner.__table__  # type: ignore[attr-defined]
_EXPERIMENT: Any = Experiment.__table__  # type: ignore[attr-defined]


def queue_milestone_pings(session: Session, now: datetime) -> int:
    """Queue the current ping of every milestone whose next-due moment has come, to each
    of its owners, and write each one's next moment (``models.due``).

    Only the rows due now are read (by the index on ``next_due_at``), with plain rows (no
    ORM objects), and checked against the keys already queued at the pings' moments; what
    is new is rendered and inserted in one statement. On PostgreSQL the rows read are
    locked (others are skipped: a second worker or a command holds them, and the next
    tick takes them), so that a command's change is never overwritten by a moment worked
    out from the values before it."""
    m = _MILESTONE.c
    query = sa_select(
        m.id,
        m.experiment_id,
        m.title,
        m.due_on,
        m.progress,
        # Whether it can be pinged at all, as one plain value (no timestamps to convert).
        ((m.status == "open") & m.deleted_at.is_(None) & m.acknowledged_at.is_(None)).label("live"),
        func.coalesce(m.updated_at, m.created_at).label("since"),
    ).where(m.next_due_at <= now)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    found = session.connection().execute(query).all()
    if not found:
        return 0
    owners: dict[int, list[int]] = {}
    ids = [row.id for row in found]
    for i in range(0, len(ids), due.CHUNK):
        for milestone_id, person_id in session.connection().execute(
            sa_select(_OWNER.c.milestone_id, _OWNER.c.person_id).where(
                _OWNER.c.milestone_id.in_(ids[i : i + due.CHUNK]), _OWNER.c.removed_at.is_(None)
            )
        ):
            owners.setdefault(milestone_id, []).append(person_id)
    experiments = due.active_experiments(session, {row.experiment_id for row in found})
    schedules: dict[int, Schedule] = {}
    candidates = []
    moments: dict[int, datetime | None] = {}
    # Experiments of the same settings share their moments for a same deadline.
    shared: dict[tuple[Any, ...], datetime] = {}
    for row in found:
        experiment = experiments.get(row.experiment_id)
        if experiment is None or not row.live:
            moments[row.id] = None
            continue
        schedule = schedules.get(row.experiment_id)
        if schedule is None:
            schedule = schedules[row.experiment_id] = Schedule(experiment, now)
        same = (*schedule.settings, row.due_on)
        moment = shared.get(same)
        if moment is None:
            moment = shared[same] = schedule.next_moment(row.due_on)
        moments[row.id] = moment
        if not schedule.may_ping(row.due_on):
            continue
        ping = schedule.ping(row.due_on, row.since)
        if ping is None:
            continue
        for person_id in owners.get(row.id, []):
            key = f"milestone:{row.id}:{row.due_on.isoformat()}:{ping.label}:p{person_id}"
            candidates.append((key, row, person_id, schedule.experiment, ping))
    due.write_moments(session, _MILESTONE, "next_due_at", moments)
    if not candidates:
        return 0
    known = outbox.keys_at(session, {c[4].moment for c in candidates})
    fresh = [c for c in candidates if c[0] not in known]
    if not fresh:
        return 0
    people = {
        p.id: p
        for p in session.exec(select(Person).where(col(Person.id).in_({c[2] for c in fresh})))
    }
    notifications = []
    for key, row, person_id, experiment, ping in fresh:
        person = people.get(person_id)
        if person is None:
            continue
        locale = normalise_locale(person.locale or experiment.locale)
        notifications.append(
            outbox.notification(
                key=key,
                workspace_id=experiment.workspace_id,
                kind="milestone",
                target_kind="person",
                target_id=str(person.id),
                reply=milestone_reply(
                    locale,
                    experiment,
                    milestone_id=row.id,
                    title=row.title,
                    due_on=row.due_on,
                    progress=row.progress,
                    days=ping.days,
                ),
                not_before=ping.moment,
                experiment=experiment,
                expires_at=ping.expires_at,
                ref={"milestone": row.id, "due_on": row.due_on.isoformat()},
                words=wording.words_on(schedules[row.experiment_id].today, experiment.timezone),
            )
        )
    # A person's routine pings of one moment go as one summary (their choice).
    return outbox.enqueue_many(session, summaries.gather(session, notifications, now))


def milestone_reply(
    locale: str,
    experiment: Experiment,
    *,
    milestone_id: int,
    title: str,
    due_on: date,
    progress: int,
    days: int,
) -> Reply:
    """The ping itself, with the milestones' buttons (``commands.milestones``): done, one
    more week; their value is the milestone's id."""
    name = "reminders/milestone_late" if days < 0 else "reminders/milestone_due"
    text = render(
        name,
        locale,
        experiment.timezone,
        experiment=experiment,
        milestone_id=milestone_id,
        title=title,
        due_on=due_on,
        progress=progress,
        days=abs(days),
    )
    return Reply(
        text=text,
        buttons=[
            Button(
                message("milestones.button_done", locale),
                "milestone.done",
                str(milestone_id),
                "primary",
            ),
            Button(
                message("milestones.button_postpone", locale),
                "milestone.postpone",
                str(milestone_id),
            ),
        ],
    )
