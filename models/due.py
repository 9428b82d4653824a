"""Next-due moments: what lets the scan read only the rows that can be due now.

``Milestone.next_due_at`` and ``Meeting.next_due_at`` hold a moment before which the
row owes no ping (a lower bound: the scan may find nothing when it comes); ``None`` is
never (a milestone done or deleted, a meeting cancelled or past). The scan reads the
rows whose moment has come (by the index on the column), queues what is due and writes
the next moment. Every write that can change what is due sets the moment back to
``RECOMPUTE`` (due at once, whatever the clock), here, on each flush, so that no command,
no undo and no correction has to remember it:

- a milestone written, or an owner of it added or removed;
- a meeting written (a series too when one of its occurrences is);
- an experiment's reminder settings, time zone or archiving changed (its milestones
  and meetings).

``Experiment.digest_next_at`` is the weekly digest's next moment, kept the same way: set
back to ``RECOMPUTE`` (``None`` once archived) when the experiment's digest day or time,
time zone or archiving changes, and when a channel is bound to it or unbound (a channel
bound after the digest went gets that day's digest too).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, inspect, update
from sqlalchemy.orm import Session, UOWTransaction

from models.base import RECOMPUTE
from models.lab import ChannelBinding, Experiment
from models.meetings import Meeting
from models.milestones import Milestone, MilestoneOwner

__all__ = ["RECOMPUTE"]

# The experiment's fields the scan's moments depend on.
SCHEDULE_FIELDS = (
    "timezone",
    "working_days",
    "working_hours_start",
    "working_hours_end",
    "reminder_lead_days",
    "archived_at",
)

# The experiment's fields its digest's moment depends on.
DIGEST_FIELDS = ("timezone", "digest_weekday", "digest_time", "archived_at")

_PENDING = "coordo_due_resets"


def _changed(row: Any, fields: tuple[str, ...]) -> bool:
    state = inspect(row)
    return any(state.attrs[name].history.has_changes() for name in fields)


@event.listens_for(Session, "before_flush")
def _collect(session: Session, flush_context: UOWTransaction, instances: Any) -> None:
    milestones: set[int] = set()
    meetings: set[int] = set()
    experiments: set[int] = set()
    bound: set[int] = set()
    for row in (*session.new, *session.dirty, *session.deleted):
        written = isinstance(row, (Milestone, Meeting)) and (
            row in session.new or (session.is_modified(row) and not _only_next_due(row))
        )
        if isinstance(row, Milestone) and written:
            open_ = row.status == "open" and row.deleted_at is None and row.acknowledged_at is None
            row.next_due_at = RECOMPUTE if open_ else None
        elif isinstance(row, MilestoneOwner) and row.milestone_id is not None:
            milestones.add(row.milestone_id)
        elif isinstance(row, Meeting) and written:
            live = row.status == "scheduled" and row.deleted_at is None
            row.next_due_at = RECOMPUTE if live else None
            if row.series_id is not None:
                meetings.add(row.series_id)
        elif isinstance(row, Experiment) and row in session.new:
            row.digest_next_at = RECOMPUTE if row.archived_at is None else None
        elif isinstance(row, Experiment) and row.id is not None:
            if _changed(row, SCHEDULE_FIELDS):
                experiments.add(row.id)
            if _changed(row, DIGEST_FIELDS):
                row.digest_next_at = RECOMPUTE if row.archived_at is None else None
        elif isinstance(row, ChannelBinding) and row.experiment_id is not None:
            bound.add(row.experiment_id)
            # Rebound to another experiment: the one it leaves too.
            before = inspect(row).attrs.experiment_id.history.deleted
            bound.update(i for i in before or () if i is not None)
    if milestones or meetings or experiments or bound:
        pending = session.info.setdefault(_PENDING, [set(), set(), set(), set()])
        pending[0] |= milestones
        pending[1] |= meetings
        pending[2] |= experiments
        pending[3] |= bound


def _only_next_due(row: Any) -> bool:
    state = inspect(row)
    changed = {a.key for a in state.attrs if a.history.has_changes()}
    return changed <= {"next_due_at"}


@event.listens_for(Session, "after_flush")
def _reset(session: Session, flush_context: UOWTransaction) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    milestones, meetings, experiments, bound = pending
    connection = session.connection()
    if bound:
        experiment: Any = Experiment.__table__  # type: ignore[attr-defined]
        connection.execute(
            update(experiment)
            .where(experiment.c.id.in_(sorted(bound)), experiment.c.archived_at.is_(None))
            .values(digest_next_at=RECOMPUTE)
        )
    milestone: Any = Milestone.__table__  # type: ignore[attr-defined]
    meeting: Any = Meeting.__table__  # type: ignore[attr-defined]
    if milestones:
        connection.execute(
            update(milestone)
            .where(milestone.c.id.in_(sorted(milestones)))
            .values(next_due_at=RECOMPUTE)
        )
    if meetings:
        connection.execute(
            update(meeting).where(meeting.c.id.in_(sorted(meetings))).values(next_due_at=RECOMPUTE)
        )
    if experiments:
        ids = sorted(experiments)
        connection.execute(
            update(milestone)
            .where(milestone.c.experiment_id.in_(ids), milestone.c.status == "open")
            .values(next_due_at=RECOMPUTE)
        )
        connection.execute(
            update(meeting)
            .where(meeting.c.experiment_id.in_(ids), meeting.c.deleted_at.is_(None))
            .values(next_due_at=RECOMPUTE)
        )
