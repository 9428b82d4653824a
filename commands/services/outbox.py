"""Queueing what Coordo has to say on its own (reminders, alerts, digests).

``enqueue`` writes one outbox row per notification under a unique key
(``milestone:42:due-1d``); a key already queued is skipped, so a repeated scan, a
restart or a second worker never queues the same message twice. The sender (``bot``)
delivers the rows. Team news goes to a channel (``target_kind="channel"``, the platform's
channel id); a ping to a person goes by direct message (``target_kind="person"``, the
person's id in Coordo).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from commands.reply import Reply
from models import Experiment, OutboxMessage


def next_opening(experiment: Experiment | None, moment: datetime) -> datetime:
    """The first moment at or after ``moment`` inside the experiment's working hours
    (working days, start to end time, in its timezone). Without an experiment: ``moment``."""
    if experiment is None:
        return moment
    tz = ZoneInfo(experiment.timezone)
    days = {int(d) for d in experiment.working_days.split(",") if d.strip()}
    if not days:
        return moment
    local = moment.astimezone(tz)
    for _ in range(15):
        if local.isoweekday() in days:
            start = datetime.combine(local.date(), experiment.working_hours_start, tz)
            end = datetime.combine(local.date(), experiment.working_hours_end, tz)
            if local < start:
                return start
            if local < end:
                return local
        local = datetime.combine(
            local.date() + timedelta(days=1), experiment.working_hours_start, tz
        )
    return moment


def enqueue(
    session: Session,
    *,
    key: str,
    workspace_id: int,
    kind: str,
    target_kind: str,
    target_id: str,
    reply: Reply,
    not_before: datetime,
    experiment: Experiment | None = None,
    expires_at: datetime | None = None,
    quiet_hours: bool = True,
) -> bool:
    """Queue one notification; returns False when ``key`` was already queued.

    ``quiet_hours`` holds the message until the experiment's next working hour.
    ``expires_at``: past this moment the message is dropped rather than sent late (a
    reminder for a meeting that has begun)."""
    if target_kind not in ("channel", "person"):
        raise ValueError(f"unknown target kind {target_kind!r}")
    when = next_opening(experiment, not_before) if quiet_hours else not_before
    values: dict[str, Any] = {
        "key": key,
        "workspace_id": workspace_id,
        "experiment_id": experiment.id if experiment is not None else None,
        "kind": kind,
        "target_kind": target_kind,
        "target_id": target_id,
        "payload": reply.to_payload(),
        "not_before": when,
        "expires_at": expires_at,
        "attempts": 0,
        "last_error": "",
        "created_at": not_before,
    }
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(table.c.id)
    )
    return session.execute(statement).first() is not None
