"""Milestones: create, update, reschedule, list, and what the reminders rely on.

What the reminder scan may rely on (keep it true when changing this module):

- Only milestones with ``status == "open"`` and ``deleted_at IS NULL`` are pinged; done
  and deleted ones never are.
- ``due_on`` is the current deadline (a local date in the experiment's timezone), with
  ``due_at`` (aware UTC) when a time of day was given; ``original_due_on`` is the first
  deadline and never changes, so slippage stays visible.
- ``acknowledged_at`` is set when an owner acknowledges a ping (pings stop); a
  reschedule or done clears it, so the pings of a new deadline start again.
- A reschedule, done or delete drops the milestone's unsent outbox rows (keys starting
  ``milestone:<id>:``), so a ping queued for the old deadline is never sent. Keys should
  carry the deadline (``milestone:42:2027-01-15:due-1d``) so that the pings of a new
  deadline are not mistaken for those already queued for the old one.
- The owners are ``current_owners`` (``MilestoneOwner.removed_at IS NULL``).

Services check permissions and write the audit log; they never commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlmodel import Session, col, select

from commands.core import Context, role_of
from commands.errors import NotFound, PermissionDenied, UserError
from commands.services.audit import snapshot
from models import Experiment, Milestone, MilestoneOwner, OutboxMessage, Person, Role, pk

TITLE_LIMIT = 300
OPEN = "open"
DONE = "done"
STATUSES = ("open", "late", "done", "all")
EDITORS = (Role.COORDINATOR, Role.MEMBER)
POSTPONE = timedelta(days=7)


@dataclass(frozen=True)
class Deadline:
    """A milestone's deadline: a local day, and a moment when a time of day was given."""

    on: date
    at: datetime | None = None

    def __post_init__(self) -> None:
        if self.at is not None and self.at.tzinfo is None:
            raise ValueError("a deadline's time must be timezone-aware")

    @property
    def shown(self) -> date | datetime:
        """What replies show: the moment if there is one, else the day."""
        return self.at or self.on


def deadline_of(milestone: Milestone) -> Deadline:
    return Deadline(milestone.due_on, milestone.due_at)


def today_in(experiment: Experiment, now: datetime) -> date:
    return now.astimezone(ZoneInfo(experiment.timezone)).date()


def is_late(milestone: Milestone, experiment: Experiment, now: datetime) -> bool:
    """Open and past its deadline: its time if it has one, else the end of its day."""
    if milestone.status != OPEN:
        return False
    if milestone.due_at is not None:
        return milestone.due_at < now
    return milestone.due_on < today_in(experiment, now)


# -- checks ---------------------------------------------------------------------------------


def check_title(title: str) -> str:
    cleaned = " ".join(title.split())
    if not cleaned:
        raise UserError("milestones.missing_title")
    if len(cleaned) > TITLE_LIMIT:
        raise UserError("milestones.title_too_long", length=len(cleaned), limit=TITLE_LIMIT)
    return cleaned


def check_deadline(experiment: Experiment, deadline: Deadline, now: datetime) -> None:
    """A deadline is today or later (the date parser refuses past dates already; this
    guards callers that build a deadline themselves)."""
    past = deadline.at < now if deadline.at else deadline.on < today_in(experiment, now)
    if past:
        raise UserError("milestones.past_deadline", due=deadline.shown)


def check_owners(ctx: Context, experiment: Experiment, people: Iterable[Person]) -> list[Person]:
    """Owners are coordinators or members of the experiment (they get the pings and may
    mark the milestone done); duplicates are dropped, order kept."""
    owners: list[Person] = []
    for person in people:
        if any(p.id == person.id for p in owners):
            continue
        role = role_of(ctx.session, person, experiment)
        if role not in EDITORS:
            raise UserError(
                "milestones.owner_not_in_team",
                handle=person.handle,
                experiment=experiment.name,
                slug=experiment.slug,
                role=role.value if role else None,
            )
        owners.append(person)
    return owners


def check_percent(value: int) -> int:
    if not 0 <= value <= 100:
        raise UserError("milestones.bad_progress", text=f"{value}%")
    return value


# -- reading --------------------------------------------------------------------------------


def find(
    ctx: Context, milestone_id: int, expected: Experiment | None = None
) -> tuple[Milestone, Experiment]:
    """The milestone numbered ``milestone_id`` and its experiment, if the person can see it.

    ``expected``: the experiment the command is about (``expe:`` or the channel's); a
    milestone of another experiment is refused rather than changed by a mistyped number."""
    milestone = ctx.session.get(Milestone, milestone_id)
    experiment = ctx.session.get(Experiment, milestone.experiment_id) if milestone else None
    if (
        milestone is None
        or experiment is None
        or milestone.deleted_at is not None
        or experiment.workspace_id != ctx.workspace_id
        or experiment.archived_at is not None
        or ctx.role_in(experiment) is None
    ):
        raise NotFound("milestones.unknown", id=milestone_id)
    if expected is not None and expected.id != experiment.id:
        raise UserError(
            "milestones.other_experiment",
            id=milestone_id,
            experiment=experiment.name,
            slug=experiment.slug,
            here=expected.name,
        )
    return milestone, experiment


def current_owners(session: Session, milestone_ids: Sequence[int]) -> dict[int, list[Person]]:
    """Milestone id → its current owners, by handle."""
    owners: dict[int, list[Person]] = {i: [] for i in milestone_ids}
    if not milestone_ids:
        return owners
    rows = session.exec(
        select(MilestoneOwner.milestone_id, Person)
        .join(Person, col(Person.id) == MilestoneOwner.person_id)
        .where(
            col(MilestoneOwner.milestone_id).in_(milestone_ids),
            col(MilestoneOwner.removed_at).is_(None),
        )
        .order_by(col(Person.handle))
    ).all()
    for milestone_id, person in rows:
        owners[milestone_id].append(person)
    return owners


@dataclass(frozen=True)
class Line:
    """One milestone as a list shows it."""

    milestone: Milestone
    experiment: Experiment
    owners: list[Person]
    today: date
    late: bool

    @property
    def days_left(self) -> int:
        return (self.milestone.due_on - self.today).days

    @property
    def slipped_days(self) -> int:
        return (self.milestone.due_on - self.milestone.original_due_on).days

    @property
    def due(self) -> date | datetime:
        return self.milestone.due_at or self.milestone.due_on


def listing(
    ctx: Context,
    experiments: Sequence[Experiment],
    *,
    status: str = "open",
    owners: Sequence[Person] = (),
    limit: int | None = None,
) -> list[Line]:
    """Milestones of ``experiments``: late ones first, then by deadline.

    ``status``: "open" (late included), "late", "done" or "all"; ``owners``: only those
    owned by one of these people."""
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}")
    by_id = {pk(e): e for e in experiments}
    if not by_id:
        return []
    query = select(Milestone).where(
        col(Milestone.experiment_id).in_(list(by_id)), col(Milestone.deleted_at).is_(None)
    )
    if status in ("open", "late"):
        query = query.where(Milestone.status == OPEN)
    elif status == "done":
        query = query.where(Milestone.status == DONE)
    if owners:
        query = query.where(
            col(Milestone.id).in_(
                select(MilestoneOwner.milestone_id).where(
                    col(MilestoneOwner.person_id).in_([pk(p) for p in owners]),
                    col(MilestoneOwner.removed_at).is_(None),
                )
            )
        )
    milestones = list(ctx.session.exec(query))
    lines = []
    for m in milestones:
        experiment = by_id[m.experiment_id]
        late = is_late(m, experiment, ctx.now)
        if status == "late" and not late:
            continue
        lines.append((m, experiment, late))
    lines.sort(key=lambda t: (not t[2], t[0].due_on, t[0].due_at or _MIDNIGHT, pk(t[0])))
    if limit is not None:
        lines = lines[:limit]
    owners_by_id = current_owners(ctx.session, [pk(m) for m, _, _ in lines])
    return [Line(m, e, owners_by_id[pk(m)], today_in(e, ctx.now), late) for m, e, late in lines]


_MIDNIGHT = datetime(1970, 1, 1, tzinfo=UTC)


# -- changes --------------------------------------------------------------------------------


def create(
    ctx: Context,
    experiment: Experiment,
    *,
    title: str,
    deadline: Deadline,
    owners: Sequence[Person] = (),
    meeting_id: int | None = None,
) -> tuple[Milestone, list[Person]]:
    """A new open milestone; with no owner named, the person creating it owns it."""
    ctx.require(experiment, *EDITORS)
    title = check_title(title)
    check_deadline(experiment, deadline, ctx.now)
    people = check_owners(ctx, experiment, owners or [ctx.person])
    milestone = Milestone(
        experiment_id=pk(experiment),
        title=title,
        due_on=deadline.on,
        due_at=deadline.at,
        original_due_on=deadline.on,
        meeting_id=meeting_id,
        created_by_id=ctx.person_id,
        created_at=ctx.now,
    )
    ctx.record("create", milestone, experiment_id=experiment.id)
    for person in people:
        link = MilestoneOwner(milestone_id=pk(milestone), person_id=pk(person))
        ctx.record("create", link, experiment_id=experiment.id)
    return milestone, people


def _editable(ctx: Context, milestone: Milestone, experiment: Experiment) -> Role:
    role = ctx.require(experiment, *EDITORS)
    if milestone.status == DONE:
        raise UserError(
            "milestones.already_done",
            id=milestone.id,
            title=milestone.title,
            done=milestone.done_at,
        )
    return role


def mark_done(ctx: Context, milestone: Milestone, experiment: Experiment) -> None:
    _editable(ctx, milestone, experiment)
    before = snapshot(milestone)
    milestone.status = DONE
    milestone.progress = 100
    milestone.done_at = ctx.now
    milestone.acknowledged_at = None
    milestone.updated_at = ctx.now
    ctx.record("done", milestone, before, experiment_id=experiment.id)
    stop_pending_pings(ctx.session, milestone, ctx.now)


def reopen(ctx: Context, milestone: Milestone, experiment: Experiment) -> None:
    """Back to open, for a milestone marked done by mistake; its progress stays."""
    ctx.require(experiment, *EDITORS)
    if milestone.status != DONE:
        raise UserError("milestones.not_done", id=milestone.id, title=milestone.title)
    before = snapshot(milestone)
    milestone.status = OPEN
    milestone.done_at = None
    milestone.updated_at = ctx.now
    ctx.record("update", milestone, before, experiment_id=experiment.id)


def set_progress(ctx: Context, milestone: Milestone, experiment: Experiment, percent: int) -> None:
    _editable(ctx, milestone, experiment)
    check_percent(percent)
    if milestone.progress == percent:
        raise UserError("milestones.progress_unchanged", id=milestone.id, percent=percent)
    before = snapshot(milestone)
    milestone.progress = percent
    milestone.updated_at = ctx.now
    ctx.record("update", milestone, before, experiment_id=experiment.id)


def reschedule(
    ctx: Context, milestone: Milestone, experiment: Experiment, deadline: Deadline
) -> Deadline:
    """Move the deadline; ``original_due_on`` keeps the first one. Returns the previous."""
    _editable(ctx, milestone, experiment)
    previous = deadline_of(milestone)
    if deadline == previous:
        raise UserError("milestones.same_deadline", id=milestone.id, due=deadline.shown)
    check_deadline(experiment, deadline, ctx.now)
    before = snapshot(milestone)
    milestone.due_on = deadline.on
    milestone.due_at = deadline.at
    milestone.acknowledged_at = None
    milestone.updated_at = ctx.now
    ctx.record("reschedule", milestone, before, experiment_id=experiment.id)
    stop_pending_pings(ctx.session, milestone, ctx.now)
    return previous


def moved_to(experiment: Experiment, milestone: Milestone, day: date) -> Deadline:
    """The deadline moved to ``day``, at the same local time of day if it has one."""
    if milestone.due_at is None:
        return Deadline(day)
    tz = ZoneInfo(experiment.timezone)
    clock = milestone.due_at.astimezone(tz).time()
    return Deadline(day, datetime.combine(day, clock, tz).astimezone(UTC))


def postponed(experiment: Experiment, milestone: Milestone, now: datetime) -> Deadline:
    """What the postpone button does: one week after the deadline; for a milestone so late
    that this is still past, one week from today."""
    day = milestone.due_on + POSTPONE
    today = today_in(experiment, now)
    if day <= today:
        day = today + POSTPONE
    return moved_to(experiment, milestone, day)


def reassign(
    ctx: Context, milestone: Milestone, experiment: Experiment, people: Sequence[Person]
) -> tuple[list[Person], list[Person]]:
    """Give the milestone these owners instead of its current ones; returns (before, after)."""
    _editable(ctx, milestone, experiment)
    owners = check_owners(ctx, experiment, people)
    if not owners:
        raise UserError("milestones.reassign_usage")
    links = {
        link.person_id: link
        for link in ctx.session.exec(
            select(MilestoneOwner).where(MilestoneOwner.milestone_id == milestone.id)
        )
    }
    previous = current_owners(ctx.session, [pk(milestone)])[pk(milestone)]
    wanted = {pk(p) for p in owners}
    if wanted == {pk(p) for p in previous}:
        raise UserError(
            "milestones.owners_unchanged", id=milestone.id, handles=[p.handle for p in owners]
        )
    for person_id, link in links.items():
        if link.removed_at is None and person_id not in wanted:
            before = snapshot(link)
            link.removed_at = ctx.now
            ctx.record("update", link, before, experiment_id=experiment.id)
    for person in owners:
        existing = links.get(pk(person))
        if existing is None:
            created = MilestoneOwner(milestone_id=pk(milestone), person_id=pk(person))
            ctx.record("create", created, experiment_id=experiment.id)
        elif existing.removed_at is not None:
            before = snapshot(existing)
            existing.removed_at = None
            ctx.record("update", existing, before, experiment_id=experiment.id)
    # Pings went to the former owners: the new ones start afresh.
    before = snapshot(milestone)
    milestone.acknowledged_at = None
    milestone.updated_at = ctx.now
    ctx.record("update", milestone, before, experiment_id=experiment.id)
    stop_pending_pings(ctx.session, milestone, ctx.now)
    return previous, owners


def rename(ctx: Context, milestone: Milestone, experiment: Experiment, title: str) -> str:
    """Returns the former title."""
    ctx.require(experiment, *EDITORS)
    title = check_title(title)
    if title == milestone.title:
        raise UserError("milestones.title_unchanged", id=milestone.id, title=title)
    previous = milestone.title
    before = snapshot(milestone)
    milestone.title = title
    milestone.updated_at = ctx.now
    ctx.record("update", milestone, before, experiment_id=experiment.id)
    return previous


def delete(ctx: Context, milestone: Milestone, experiment: Experiment) -> None:
    """Soft: the row stays, with ``deleted_at``. A member deletes only what they created."""
    role = ctx.require(experiment, *EDITORS)
    if role != Role.COORDINATOR and milestone.created_by_id != ctx.person_id:
        raise PermissionDenied("milestones.delete_not_yours", id=milestone.id)
    before = snapshot(milestone)
    milestone.deleted_at = ctx.now
    ctx.record("delete", milestone, before, experiment_id=experiment.id)
    stop_pending_pings(ctx.session, milestone, ctx.now)


def stop_pending_pings(session: Session, milestone: Milestone, now: datetime) -> int:
    """Drop the milestone's queued, unsent notifications; returns how many."""
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    result = session.execute(
        update(table)
        .where(
            table.c.key.like(f"milestone:{pk(milestone)}:%"),
            table.c.sent_at.is_(None),
            table.c.dropped_at.is_(None),
            table.c.dead_at.is_(None),
        )
        .values(dropped_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)
