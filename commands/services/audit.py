"""The audit log and undo.

Every change goes through ``record``: who, when, which row, the row before and after.
``undo`` reverts the last batch of changes a person made (one command's worth), by
putting each row back as it was; a creation is undone by soft-deleting what it created.
Undo is itself recorded, so the log tells the whole story. A row with a ``sequence`` (a
meeting) moves it on when put back, as calendars require.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, select

from commands.errors import NotFound, PermissionDenied
from models import (
    AgendaItem,
    Allocation,
    Attendance,
    AuditEvent,
    BudgetLine,
    CalendarFeed,
    ChannelBinding,
    DatePoll,
    Decision,
    Expense,
    Experiment,
    ExperimentFinance,
    Funder,
    Invitation,
    LedgerEntry,
    LineNature,
    Meeting,
    Membership,
    Milestone,
    MilestoneOwner,
    NotificationPreference,
    Person,
    PollAnswer,
    PollInvitee,
    PollSlot,
    Supplier,
)

# Entities people change, by table name. Undoing the creation of one of them sets its
# soft-delete column; for a link row without one (a channel binding, a milestone owner)
# the row is removed, as the log keeps its content.
ENTITIES: dict[str, type[SQLModel]] = {
    cls.__tablename__: cls  # type: ignore[misc]
    for cls in (
        Experiment,
        ChannelBinding,
        Membership,
        Person,
        BudgetLine,
        Expense,
        Milestone,
        MilestoneOwner,
        Meeting,
        AgendaItem,
        Invitation,
        Decision,
        NotificationPreference,
        # The finance ledger (commands.services.ledger).
        ExperimentFinance,
        Supplier,
        LedgerEntry,
        Funder,
        Allocation,
        LineNature,
        CalendarFeed,
        Attendance,
        # Date polls (commands.services.polls).
        DatePoll,
        PollSlot,
        PollInvitee,
        PollAnswer,
    )
}
SOFT_DELETE = ("deleted_at", "removed_at", "archived_at")


_WROTE = "coordo.wrote"


def wrote(session: Session) -> bool:
    """Whether this session recorded a change (every change is recorded)."""
    return bool(session.info.get(_WROTE))


# The scan's bookkeeping (``models.due``), not the thing's: neither recorded nor restored
# (an undo sets it back to due at once, as any write does).
NOT_RECORDED = frozenset({"next_due_at", "digest_next_at"})


def snapshot(row: SQLModel) -> dict[str, Any]:
    """The row's columns as JSON-able values."""
    data: dict[str, Any] = {}
    for column in inspect(type(row)).columns:
        if column.key in NOT_RECORDED:
            continue
        value = getattr(row, column.key)
        if isinstance(value, datetime) and value.tzinfo is not None:
            value = value.astimezone(UTC)
        if isinstance(value, datetime | date | time):
            value = value.isoformat()
        data[column.key] = value
    return data


def _restore(row: SQLModel, data: dict[str, Any]) -> None:
    for column in inspect(type(row)).columns:
        if column.key not in data or column.primary_key:
            continue
        value = data[column.key]
        if value is not None:
            kind = getattr(column.type, "impl", column.type).python_type
            if kind is datetime:
                value = datetime.fromisoformat(value)
            elif kind is date:
                value = date.fromisoformat(value)
            elif kind is time:
                value = time.fromisoformat(value)
        setattr(row, column.key, value)


def record(
    session: Session,
    *,
    workspace_id: int,
    actor_id: int | None,
    action: str,
    row: SQLModel,
    before: dict[str, Any] | None,
    now: datetime,
    batch: str,
    experiment_id: int | None = None,
    command: str = "",
) -> AuditEvent:
    """Write one event; call after the change (the row is flushed to get its id)."""
    session.add(row)
    session.flush()
    entity_id = getattr(row, "id", None)
    assert entity_id is not None
    event = AuditEvent(
        workspace_id=workspace_id,
        experiment_id=experiment_id,
        actor_id=actor_id,
        at=now,
        action=action,
        entity=type(row).__tablename__,  # type: ignore[arg-type]
        entity_id=entity_id,
        before=before,
        after=snapshot(row),
        batch=batch,
        command=command[:2000],
    )
    session.add(event)
    session.info[_WROTE] = True
    return event


def last_batch(
    session: Session,
    workspace_id: int,
    actor_id: int,
    experiment_id: int | None = None,
    entities: Collection[str] | None = None,
) -> str | None:
    """The actor's most recent batch of changes that is not undone and is not an undo;
    with ``entities`` (table names), the most recent one that touched one of them."""
    query = (
        select(AuditEvent.batch)
        .where(
            AuditEvent.workspace_id == workspace_id,
            AuditEvent.actor_id == actor_id,
            col(AuditEvent.undone_at).is_(None),
            col(AuditEvent.undo_of).is_(None),
            AuditEvent.action != "undo",
        )
        .order_by(col(AuditEvent.id).desc())
        .limit(1)
    )
    if experiment_id is not None:
        query = query.where(AuditEvent.experiment_id == experiment_id)
    if entities is not None:
        query = query.where(col(AuditEvent.entity).in_(list(entities)))
    return session.exec(query).first()


def undo_batch(
    session: Session,
    *,
    batch: str,
    workspace_id: int,
    actor_id: int,
    may_undo_others: bool,
    now: datetime,
    new_batch: str,
) -> list[AuditEvent]:
    """Revert every event of ``batch`` (newest first) and return the events reverted.

    Applies once whatever the race: the batch's events are read ``FOR UPDATE`` (on
    PostgreSQL a second undo of the batch waits for the first to commit, then finds it
    undone; SQLite has one writer, and a transaction that read before another's write
    committed runs again). Every row put back gets an ``undo`` event, so an undo is itself
    undone by its batch; reverting an undo's event puts its original back in effect
    (``undone_at`` cleared), so the log keeps telling what holds."""
    events = list(
        session.exec(
            select(AuditEvent)
            .where(AuditEvent.batch == batch, AuditEvent.workspace_id == workspace_id)
            .order_by(col(AuditEvent.id).desc())
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )
    if not events:
        raise NotFound("core.nothing_to_undo")
    if any(e.undone_at is not None for e in events):
        raise NotFound("core.already_undone")
    if not may_undo_others and any(e.actor_id != actor_id for e in events):
        raise PermissionDenied("core.undo_not_yours")
    for event in events:
        model = ENTITIES[event.entity]
        row = session.get(model, event.entity_id)
        if row is None:
            # A link row removed for good (a channel unbound): put it back as it was.
            before_undo: dict[str, Any] | None = None
            row = _recreate(session, model, event)
            after: dict[str, Any] = snapshot(row) if row is not None else {}
        else:
            before_undo = snapshot(row)
            if _differs(before_undo, event.after):
                raise PermissionDenied(
                    "core.changed_since", entity=event.entity, id=event.entity_id
                )
            soft = next((c for c in SOFT_DELETE if hasattr(row, c)), None)
            if event.before is None and soft is None:
                # A link row created by the command: removed (the log keeps its content).
                session.delete(row)
                session.flush()
                after = {}
            else:
                if event.before is not None:
                    _restore(row, event.before)
                    if before_undo is not None and "sequence" in before_undo:
                        # A calendar keeps the highest SEQUENCE it saw: putting a meeting
                        # back is one more change, never a step back.
                        row.sequence = int(before_undo["sequence"]) + 1
                        row.updated_at = now
                elif soft is not None:
                    setattr(row, soft, now)
                session.add(row)
                session.flush()
                after = snapshot(row)
        event.undone_at = now
        session.add(event)
        if event.undo_of is not None:
            # An undo undone: what it had reverted holds again.
            original = session.get(AuditEvent, event.undo_of)
            if original is not None:
                original.undone_at = None
                session.add(original)
        session.add(
            AuditEvent(
                workspace_id=workspace_id,
                experiment_id=event.experiment_id,
                actor_id=actor_id,
                at=now,
                action="undo",
                entity=event.entity,
                entity_id=event.entity_id,
                before=before_undo,
                after=after,
                batch=new_batch,
                undo_of=event.id,
            )
        )
    session.info[_WROTE] = True
    return events


def _recreate(session: Session, model: type[SQLModel], event: AuditEvent) -> SQLModel | None:
    if event.before is None:
        return None
    row = model()
    _restore(row, event.before)
    row.id = event.entity_id
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        # Something took its place since (the channel was bound again).
        raise PermissionDenied(
            "core.changed_since", entity=event.entity, id=event.entity_id
        ) from None
    return row


def _differs(current: dict[str, Any], recorded: dict[str, Any]) -> bool:
    return any(current.get(k) != v for k, v in recorded.items() if k != "updated_at")


def history(session: Session, entity: str, entity_id: int) -> list[AuditEvent]:
    return list(
        session.exec(
            select(AuditEvent)
            .where(AuditEvent.entity == entity, AuditEvent.entity_id == entity_id)
            .order_by(col(AuditEvent.id))
        )
    )


def changed_fields(event: AuditEvent) -> dict[str, tuple[Any, Any]]:
    """``{field: (before, after)}`` for the fields an event changed."""
    if event.before is None:
        return {}
    return {
        key: (event.before.get(key), value)
        for key, value in event.after.items()
        if event.before.get(key) != value and key not in ("updated_at",)
    }


def person_name(session: Session, person_id: int | None) -> str:
    if person_id is None:
        return "Coordo"
    person = session.get(Person, person_id)
    return person.handle if person else "?"
