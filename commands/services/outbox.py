"""Queueing what Coordo has to say on its own (reminders, alerts, digests), and the
bookkeeping of their delivery.

``enqueue`` writes one outbox row per notification under a unique key
(``milestone:42:due-1d``); a key already queued is skipped, so a repeated scan, a
restart or a second worker never queues the same message twice. The sender (``bot``)
delivers the rows. Team news goes to a channel (``target_kind="channel"``, the platform's
channel id); a ping to a person goes by direct message (``target_kind="person"``, the
person's id in Coordo).

The life of a row, all of it in the row (so a restart forgets nothing):

- queued: ``not_before`` says when it may go (held to the experiment's working hours);
- claimed by one sender (``claimed_at``/``claimed_by``; PostgreSQL ``FOR UPDATE SKIP
  LOCKED``, SQLite's single writer), for ``lease`` at most: a sender that died gives its
  rows back when the lease runs out;
- then exactly one of: ``sent_at`` (the platform accepted it), ``next_attempt_at`` (a
  failure to retry, or a rate limit to wait out), ``dead_at`` (the last attempt failed,
  or the platform refused for good: the coordinators are told), ``dropped_at`` (no
  longer worth sending: expired, the milestone is done, the person muted the
  experiment…; the reason is in ``last_error``).

A row may carry in its payload, beside the neutral reply:

- ``ref``: what it is about, checked again just before sending so that a ping stops at
  once when its subject changed: ``{"milestone": id, "due_on": "2026-12-04"}`` (dropped
  when the milestone is done, deleted, acknowledged or rescheduled) or
  ``{"meeting": id, "starts_at": iso}`` (dropped when the meeting is cancelled, deleted
  or, for a one-off meeting, moved);
- ``files``: small files (base64), posted after the message;
- ``files_sent``: how far they went (``mark_file``), so a retry shares each once;
- ``chart``: the data of a chart drawn only when the message is sent, where the platform
  takes files (``commands.services.charts``);
- ``quiet``: held to the experiment's working hours; checked again at send time, so a
  ping caught up after downtime or retried late in the day waits for the next opening.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select as SQLModelSelect

from commands import usertext
from commands.messages import normalise_locale
from commands.render import render
from commands.reply import File, Reply
from models import (
    ChannelBinding,
    DatePoll,
    Experiment,
    Meeting,
    Membership,
    Milestone,
    MilestoneOwner,
    NotificationPreference,
    OutboxMessage,
    Person,
    Role,
    Workspace,
)

log = logging.getLogger(__name__)

TABLE = OutboxMessage.__table__  # type: ignore[attr-defined]
DEAD_LETTER = "dead_letter"
ERROR_LIMIT = 2000


def select_columns(*columns: Any) -> Any:
    """A select of several columns whose rows are read by name (``row.due_on``).
    ``sqlmodel.select`` types four entities at most, and rows as tuples."""
    return SQLModelSelect(*columns)


# -- working hours ----------------------------------------------------------------------


def working_days(experiment: Experiment) -> set[int]:
    """ISO weekday numbers (1 = Monday) the experiment works on; all week if unset."""
    days = {int(d) for d in experiment.working_days.split(",") if d.strip()}
    return days or set(range(1, 8))


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


def opening_on_or_before(experiment: Experiment, day: date) -> datetime:
    """The start of working hours on ``day``, or on the last working day before it: a
    reminder due on a Sunday goes out on the Friday, not late on the Monday."""
    days = working_days(experiment)
    for _ in range(7):
        if day.isoweekday() in days:
            break
        day -= timedelta(days=1)
    return datetime.combine(day, experiment.working_hours_start, ZoneInfo(experiment.timezone))


def closing_on(experiment: Experiment, day: date) -> datetime:
    """The end of working hours on ``day`` in the experiment's timezone."""
    return datetime.combine(day, experiment.working_hours_end, ZoneInfo(experiment.timezone))


# -- queueing ---------------------------------------------------------------------------


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
    ref: dict[str, Any] | None = None,
    chart: dict[str, Any] | None = None,
    words: dict[str, Any] | None = None,
) -> bool:
    """Queue one notification; returns False when ``key`` was already queued.

    ``quiet_hours`` holds the message until the experiment's next working hour.
    ``expires_at``: past this moment the message is dropped rather than sent late (a
    reminder for a meeting that has begun). ``ref`` and ``chart``: see the module's
    docstring."""
    row = notification(
        key=key,
        workspace_id=workspace_id,
        kind=kind,
        target_kind=target_kind,
        target_id=target_id,
        reply=reply,
        not_before=not_before,
        experiment=experiment,
        expires_at=expires_at,
        quiet_hours=quiet_hours,
        ref=ref,
        chart=chart,
        words=words,
    )
    return enqueue_many(session, [row]) == 1


def notification(
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
    ref: dict[str, Any] | None = None,
    chart: dict[str, Any] | None = None,
    words: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The row ``enqueue`` would write, for ``enqueue_many``. ``words``: the day the text's
    relative words were worked out for (``commands.services.wording``)."""
    if target_kind not in ("channel", "person"):
        raise ValueError(f"unknown target kind {target_kind!r}")
    when = next_opening(experiment, not_before) if quiet_hours else not_before
    payload = reply.to_payload()
    if reply.files:
        payload["files"] = [
            {
                "filename": f.filename,
                "title": f.title,
                "mime_type": f.mime_type,
                "content": base64.b64encode(f.content).decode("ascii"),
            }
            for f in reply.files
        ]
    if ref:
        payload["ref"] = ref
    if chart:
        payload["chart"] = chart
    if words:
        payload["words"] = words
    if quiet_hours and experiment is not None:
        # Held to working hours at send time too: a ping caught up after downtime, or
        # retried past the end of the day, waits for the next opening.
        payload["quiet"] = True
    return {
        "key": key,
        "workspace_id": workspace_id,
        "experiment_id": experiment.id if experiment is not None else None,
        "kind": kind,
        "target_kind": target_kind,
        "target_id": target_id,
        "payload": payload,
        "not_before": when,
        "expires_at": expires_at,
        "attempts": 0,
        "last_error": "",
        "created_at": not_before,
    }


def enqueue_many(session: Session, rows: list[dict[str, Any]]) -> int:
    """Queue several notifications (``notification(...)``) in one statement; a key
    already queued is skipped. Returns how many were queued."""
    if not rows:
        return 0
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(TABLE).on_conflict_do_nothing(index_elements=["key"]).returning(TABLE.c.id)
    if len(rows) == 1:
        return len(session.exec(statement.values(**rows[0])).all())
    return len(session.exec(statement, params=rows).all())


def queued_keys(session: Session, keys: list[str]) -> set[str]:
    """Which of ``keys`` are queued already (sent or not): lets a scan render only what
    is new. (The unique key is what guarantees no double; this only saves work.)"""
    found: set[str] = set()
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        found.update(session.exec(select(TABLE.c.key).where(TABLE.c.key.in_(chunk))))
    return found


def keys_at(session: Session, moments: set[datetime]) -> set[str]:
    """The keys queued to go at one of ``moments``: a cheap superset of what a scan
    would ask ``queued_keys`` about, when it knows the moments of its pings."""
    if not moments:
        return set()
    return set(
        session.connection()
        .execute(select(TABLE.c.key).where(TABLE.c.not_before.in_(sorted(moments))))
        .scalars()
    )


def cancel_pending(session: Session, key_prefix: str, now: datetime, reason: str) -> int:
    """Drop the unsent rows whose key starts with ``key_prefix`` (a milestone marked
    done: ``"milestone:42:"``). The sender checks ``ref`` before sending anyway; this
    keeps the queue tidy."""
    result = session.exec(
        update(TABLE)
        .where(
            TABLE.c.key.startswith(key_prefix, autoescape=True),
            *_unfinished(),
        )
        .values(dropped_at=now, last_error=reason)
    )
    return int(result.rowcount or 0)


# -- what a row holds -------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    """A row a sender has claimed, detached from any session (safe across threads)."""

    id: int
    key: str
    workspace_id: int
    experiment_id: int | None
    kind: str
    target_kind: str
    target_id: str
    payload: dict[str, Any]
    not_before: datetime
    expires_at: datetime | None
    attempts: int
    platform_message_id: str | None
    # When a send of this row began whose outcome is unknown (see ``mark_sending``).
    sending_since: datetime | None = None

    @property
    def target(self) -> tuple[int, str, str]:
        """Messages to one target go one at a time, in order."""
        return (self.workspace_id, self.target_kind, self.target_id)

    @property
    def reply(self) -> Reply:
        reply = Reply.from_payload(self.payload)
        reply.files = [
            File(
                filename=f["filename"],
                content=base64.b64decode(f["content"]),
                title=f["title"],
                mime_type=f.get("mime_type", "application/octet-stream"),
            )
            for f in self.payload.get("files", [])
        ]
        return reply

    @property
    def chart(self) -> dict[str, Any] | None:
        chart = self.payload.get("chart")
        return chart if isinstance(chart, dict) else None


def _claimed(row: Any) -> Claimed:
    return Claimed(
        id=row.id,
        key=row.key,
        workspace_id=row.workspace_id,
        experiment_id=row.experiment_id,
        kind=row.kind,
        target_kind=row.target_kind,
        target_id=row.target_id,
        payload=dict(row.payload),
        not_before=row.not_before,
        expires_at=row.expires_at,
        attempts=row.attempts,
        platform_message_id=row.platform_message_id,
        sending_since=row.sending_since,
    )


def _unfinished() -> tuple[Any, ...]:
    return (
        TABLE.c.sent_at.is_(None),
        TABLE.c.dead_at.is_(None),
        TABLE.c.dropped_at.is_(None),
    )


# -- the sender's side ------------------------------------------------------------------


def claim(
    session: Session,
    *,
    now: datetime,
    worker: str,
    platforms: list[str],
    limit: int,
    lease: timedelta,
) -> list[Claimed]:
    """Claim up to ``limit`` rows that are due, for workspaces of ``platforms``.

    One statement. On PostgreSQL ``WITH picked AS MATERIALIZED (SELECT … LIMIT n FOR
    UPDATE SKIP LOCKED) UPDATE … FROM picked RETURNING``: two workers never wait on nor
    take the same rows. On SQLite ``UPDATE … WHERE id IN (SELECT … LIMIT n) AND <still
    due> RETURNING``: the statement is the transaction's first write, so it runs alone
    (one writer at a time), and the guard (unclaimed, or its lease run out) is in its
    WHERE. The caller commits at once: the claim is what other workers see."""
    due = _due(now=now, platforms=platforms, lease=lease)
    inner = select(TABLE.c.id).where(due).order_by(TABLE.c.not_before, TABLE.c.id).limit(limit)
    claimed = update(TABLE).values(claimed_at=now, claimed_by=worker).returning(*TABLE.c)
    if session.get_bind().dialect.name == "postgresql":
        # A CTE, materialized: in ``id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)`` the
        # planner may rescan the locking subquery, each rescan skipping the rows just
        # claimed and locking n more, so one statement would claim everything.
        picked = inner.with_for_update(skip_locked=True).cte("picked").prefix_with("MATERIALIZED")
        statement = claimed.where(TABLE.c.id == picked.c.id)
    else:
        statement = claimed.where(TABLE.c.id.in_(inner.scalar_subquery()), due)
    rows = [_claimed(r) for r in session.exec(statement)]
    return sorted(rows, key=lambda r: (r.not_before, r.id))


def _due(*, now: datetime, platforms: list[str], lease: timedelta) -> Any:
    return and_(
        *_unfinished(),
        TABLE.c.not_before <= now,
        or_(TABLE.c.next_attempt_at.is_(None), TABLE.c.next_attempt_at <= now),
        or_(TABLE.c.claimed_at.is_(None), TABLE.c.claimed_at < now - lease),
        TABLE.c.workspace_id.in_(
            select(col(Workspace.id)).where(col(Workspace.platform).in_(platforms))
        ),
    )


def has_due(session: Session, *, now: datetime, platforms: list[str], lease: timedelta) -> bool:
    """Whether ``claim`` would find anything: a read, so an idle sender never takes
    SQLite's write lock (a command's transaction that read before a write commits cannot
    write after it)."""
    found = session.exec(
        select(TABLE.c.id).where(_due(now=now, platforms=platforms, lease=lease)).limit(1)
    ).first()
    return found is not None


def has_expired(session: Session, now: datetime) -> bool:
    """Whether ``drop_expired`` would drop anything (a read, as ``has_due``)."""
    return session.exec(select(TABLE.c.id).where(*_expired(now)).limit(1)).first() is not None


def _expired(now: datetime) -> tuple[Any, ...]:
    return (
        *_unfinished(),
        TABLE.c.expires_at.is_not(None),
        TABLE.c.expires_at <= now,
        TABLE.c.claimed_at.is_(None),
    )


def drop_expired(session: Session, now: datetime) -> int:
    """Drop unsent rows past their ``expires_at`` that nobody is sending right now."""
    result = session.exec(
        update(TABLE).where(*_expired(now)).values(dropped_at=now, last_error="expired")
    )
    return int(result.rowcount or 0)


def release(session: Session, ids: list[int], *, retry_at: datetime | None = None) -> None:
    """Give rows back unsent and untried (a sender stopping, or waiting on a rate limit)."""
    if not ids:
        return
    session.exec(
        update(TABLE)
        .where(TABLE.c.id.in_(ids), *_unfinished())
        .values(claimed_at=None, claimed_by=None, next_attempt_at=retry_at)
    )


def mark_sending(session: Session, row_id: int, now: datetime) -> None:
    """A send of the row begins: committed before the platform is called, so whoever
    takes the row up next (a retry, another worker after a crash) knows the platform may
    have it and looks for it before sending again. The first moment is kept: the history
    is searched from the earliest attempt that may have landed. Cleared by a rate limit
    (``clear_sending``), a certain "not kept"; a failure that leaves doubt keeps it."""
    session.exec(
        update(TABLE)
        .where(TABLE.c.id == row_id, TABLE.c.sending_since.is_(None))
        .values(sending_since=now)
    )


def clear_sending(session: Session, row_id: int) -> None:
    """The platform answered that it did not keep the message (a rate limit): no doubt."""
    session.exec(
        update(TABLE).where(TABLE.c.id == row_id, *_unfinished()).values(sending_since=None)
    )


def mark_posted(session: Session, row_id: int, platform_message_id: str) -> None:
    """The message is on the platform; its files are still to go. A retry then sends only
    the files, never the message again."""
    session.exec(
        update(TABLE)
        .where(TABLE.c.id == row_id)
        .values(platform_message_id=platform_message_id[:255])
    )


def refresh(session: Session, row: Claimed) -> Claimed:
    """``row`` with its delivery marks as the database has them now: a row given back
    within a pass (a rate limit) may have had its message posted or a file shared since
    it was claimed."""
    found = session.exec(
        select_columns(TABLE.c.payload, TABLE.c.platform_message_id, TABLE.c.sending_since).where(
            TABLE.c.id == row.id
        )
    ).first()
    if found is None:
        return row
    return replace(
        row,
        payload=dict(found.payload),
        platform_message_id=found.platform_message_id,
        sending_since=found.sending_since,
    )


FILES_SENT = "files_sent"


def files_sent(row: Claimed) -> dict[str, dict[str, Any]]:
    """How far the row's files went, by their place (``"0"``, ``"1"``…) in the payload:
    ``since`` (ISO) once a share of the file began, ``id`` once the platform has it."""
    progress = row.payload.get(FILES_SENT)
    return dict(progress) if isinstance(progress, dict) else {}


def files_of_others(session: Session, row: Claimed, since: datetime) -> frozenset[str]:
    """The ids of the files other rows to the same target recorded as shared, of those
    posted or sent since ``since``: a platform that knows a file by its name and title
    (Slack) must not take another message's file of the same name for this row's."""
    found = session.exec(
        select_columns(TABLE.c.payload).where(
            TABLE.c.workspace_id == row.workspace_id,
            TABLE.c.target_kind == row.target_kind,
            TABLE.c.target_id == row.target_id,
            TABLE.c.id != row.id,
            TABLE.c.platform_message_id.is_not(None),
            or_(TABLE.c.sent_at.is_(None), TABLE.c.sent_at >= since),
        )
    )
    ids: set[str] = set()
    for other in found:
        progress = (other.payload or {}).get(FILES_SENT)
        if isinstance(progress, dict):
            ids.update(str(e["id"]) for e in progress.values() if e.get("id"))
    return frozenset(ids)


def mark_file(
    session: Session, row: Claimed, index: int, entry: dict[str, Any] | None
) -> dict[str, Any]:
    """Write the progress of file ``index`` (None: the platform did not keep it, no doubt
    left) into the row's payload, as ``mark_sending`` does for the message: committed
    before a share begins and once it is done. Returns the new payload, for the caller
    to keep in its ``Claimed`` once committed."""
    progress = files_sent(row)
    if entry is None:
        progress.pop(str(index), None)
    else:
        progress[str(index)] = entry
    payload = {**row.payload, FILES_SENT: progress}
    session.exec(update(TABLE).where(TABLE.c.id == row.id, *_unfinished()).values(payload=payload))
    return payload


def mark_sent(
    session: Session, row_id: int, now: datetime, platform_message_id: str | None, note: str = ""
) -> None:
    session.exec(
        update(TABLE)
        .where(TABLE.c.id == row_id, TABLE.c.sent_at.is_(None))
        .values(
            sent_at=now,
            platform_message_id=platform_message_id[:255] if platform_message_id else None,
            claimed_at=None,
            last_error=note[:ERROR_LIMIT],
        )
    )


def mark_retry(
    session: Session, row_id: int, *, at: datetime, error: str, count_attempt: bool
) -> None:
    """Try again from ``at``. A rate limit does not count as an attempt; a failure does."""
    values: dict[str, Any] = {
        "next_attempt_at": at,
        "claimed_at": None,
        "claimed_by": None,
        "last_error": error[:ERROR_LIMIT],
    }
    if count_attempt:
        values["attempts"] = TABLE.c.attempts + 1
    session.exec(update(TABLE).where(TABLE.c.id == row_id, *_unfinished()).values(**values))


def mark_dropped(session: Session, row_id: int, now: datetime, reason: str) -> None:
    session.exec(
        update(TABLE)
        .where(TABLE.c.id == row_id, *_unfinished())
        .values(dropped_at=now, claimed_at=None, last_error=reason[:ERROR_LIMIT])
    )


def mark_dead(session: Session, row: Claimed, now: datetime, error: str, attempts: int) -> int:
    """Give up on ``row`` and tell the coordinators (each by a row of its own); returns
    how many were told. A notice that dies itself tells no one (no loop)."""
    session.exec(
        update(TABLE)
        .where(TABLE.c.id == row.id, *_unfinished())
        .values(
            dead_at=now,
            claimed_at=None,
            attempts=attempts,
            last_error=error[:ERROR_LIMIT],
        )
    )
    if row.kind == DEAD_LETTER:
        return 0
    experiment = session.get(Experiment, row.experiment_id) if row.experiment_id else None
    target = describe_target(session, row)
    told = 0
    for person in coordinators(session, row.workspace_id, experiment):
        locale = normalise_locale(person.locale or (experiment.locale if experiment else None))
        text = render(
            "reminders/dead_letter",
            locale,
            experiment.timezone if experiment else "Europe/Paris",
            experiment=experiment,
            kind=row.kind,
            target=target,
            attempts=attempts,
            error=error[:300],
            excerpt=_excerpt(row.payload.get("text", "")),
        )
        told += enqueue(
            session,
            key=f"dead:{row.id}:p{person.id}",
            workspace_id=row.workspace_id,
            kind=DEAD_LETTER,
            target_kind="person",
            target_id=str(person.id),
            reply=Reply(text=text),
            not_before=now,
            experiment=experiment,
        )
    return told


def _excerpt(text: str, limit: int = 160) -> str:
    flat = " ".join(usertext.strip(str(text)).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def coordinators(
    session: Session, workspace_id: int, experiment: Experiment | None
) -> list[Person]:
    """The experiment's coordinators and the lab's, each once, by handle."""
    people = {
        p.id: p
        for p in session.exec(
            select(Person).where(
                Person.workspace_id == workspace_id, Person.lab_role == Role.COORDINATOR
            )
        )
    }
    if experiment is not None:
        for person in session.exec(
            select(Person)
            .join(Membership, col(Membership.person_id) == Person.id)
            .where(
                Membership.experiment_id == experiment.id,
                Membership.role == Role.COORDINATOR,
                col(Membership.removed_at).is_(None),
            )
        ):
            people[person.id] = person
    return sorted(people.values(), key=lambda p: p.handle)


def describe_target(session: Session, row: Claimed) -> str:
    """``~bondy`` or ``@marie``: the target as people know it (Coordo's markup around a
    name, which stays user text)."""
    if row.target_kind == "person":
        person = _person(session, row.target_id)
        if person is None:
            return usertext.Trusted("#" + usertext.mark(row.target_id))
        return usertext.Trusted("@" + usertext.mark(person.handle))
    name = session.exec(
        select(ChannelBinding.channel_name).where(
            ChannelBinding.workspace_id == row.workspace_id,
            ChannelBinding.channel_id == row.target_id,
        )
    ).first()
    return usertext.Trusted("~" + usertext.mark(name or row.target_id))


def _person(session: Session, target_id: str) -> Person | None:
    try:
        return session.get(Person, int(target_id))
    except ValueError:
        return None


@dataclass(frozen=True)
class Destination:
    """Where the platform client sends a row: a channel id, or a user id for a DM."""

    direct: bool
    platform_id: str


def message_id_of(session: Session, key: str) -> str | None:
    """The platform's id of the message sent under ``key`` (None while it is not sent):
    what an edit of that message needs."""
    found = session.exec(
        select(TABLE.c.platform_message_id).where(
            TABLE.c.key == key, TABLE.c.platform_message_id.is_not(None)
        )
    ).first()
    return str(found) if found else None


def destination(session: Session, row: Claimed) -> Destination | None:
    """The platform id to send ``row`` to; None when the person is unknown."""
    if row.target_kind == "channel":
        return Destination(False, row.target_id)
    person = _person(session, row.target_id)
    if person is None:
        return None
    return Destination(True, person.external_id)


def skip_reason(session: Session, row: Claimed, now: datetime) -> str | None:
    """Why ``row`` should not be sent after all, or None to send it."""
    if row.expires_at is not None and row.expires_at <= now:
        return "expired"
    ref = row.payload.get("ref") or {}
    if "milestone" in ref:
        milestone = session.get(Milestone, ref["milestone"])
        if milestone is None or milestone.deleted_at is not None:
            return "milestone deleted"
        if milestone.status != "open":
            return f"milestone {milestone.status}"
        if ref.get("due_on") and milestone.due_on.isoformat() != ref["due_on"]:
            return "milestone rescheduled"
        if milestone.acknowledged_at is not None:
            return "milestone acknowledged"
        if row.target_kind == "person" and not _owns(session, milestone, row.target_id):
            return "no longer an owner"
    if "meeting" in ref:
        meeting = session.get(Meeting, ref["meeting"])
        if meeting is None or meeting.deleted_at is not None:
            return "meeting deleted"
        if meeting.status == "cancelled":
            return "meeting cancelled"
        starts_at = ref.get("starts_at")
        if (
            starts_at
            and meeting.rrule is None
            and datetime.fromisoformat(starts_at) != meeting.starts_at
        ):
            return "meeting moved"
    if "poll" in ref:
        poll = session.get(DatePoll, ref["poll"])
        if poll is None or poll.deleted_at is not None:
            return "poll deleted"
        if poll.status != "open":
            return "poll closed"
    if "invoice" in ref:
        # Imported here: the payment clock queues through this module.
        from commands.services import payment_clock

        reason = payment_clock.skip_reason(session, ref)
        if reason is not None:
            return reason
    if row.experiment_id is not None:
        experiment = session.get(Experiment, row.experiment_id)
        if experiment is not None and experiment.archived_at is not None:
            return "experiment archived"
        if row.target_kind == "person" and row.kind != DEAD_LETTER:
            preference = preference_of(session, int(row.target_id), row.experiment_id)
            if preference is not None:
                if not preference.direct_messages:
                    return "direct messages off"
                if preference.muted_until is not None and preference.muted_until > now:
                    return "muted"
    return None


def _owns(session: Session, milestone: Milestone, target_id: str) -> bool:
    return (
        session.exec(
            select(MilestoneOwner.id).where(
                MilestoneOwner.milestone_id == milestone.id,
                MilestoneOwner.person_id == int(target_id),
                col(MilestoneOwner.removed_at).is_(None),
            )
        ).first()
        is not None
    )


def hold_until(session: Session, row: Claimed, now: datetime) -> datetime | None:
    """When a row held to its experiment's working hours may go, if not now."""
    if not row.payload.get("quiet") or row.experiment_id is None:
        return None
    experiment = session.get(Experiment, row.experiment_id)
    if experiment is None:
        return None
    opening = next_opening(experiment, now)
    return opening if opening > now else None


def preference_of(
    session: Session, person_id: int, experiment_id: int
) -> NotificationPreference | None:
    return session.exec(
        select(NotificationPreference).where(
            NotificationPreference.person_id == person_id,
            NotificationPreference.experiment_id == experiment_id,
        )
    ).first()


def retry_delay(attempts: int, *, base: float = 60.0, cap: float = 3600.0) -> timedelta:
    """Backoff after the ``attempts``-th failure: 1, 2, 4… minutes, at most an hour."""
    return timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


def platforms_of(session: Session, workspace_ids: set[int]) -> dict[int, tuple[str, str]]:
    """Workspace id → (platform, the platform's id for the workspace)."""
    rows = session.exec(
        select(col(Workspace.id), Workspace.platform, Workspace.external_id).where(
            col(Workspace.id).in_(workspace_ids)
        )
    )
    return {int(i or 0): (str(p), str(e)) for i, p, e in rows}


def resume_held(session: Session, platform: str, external_id: str, reason: str) -> int:
    """The rows of a workspace held for ``reason`` (the app was not installed in it), due
    again now and untried; returns how many. The caller commits."""
    workspace_ids = select(col(Workspace.id)).where(
        Workspace.platform == platform, Workspace.external_id == external_id
    )
    result = session.exec(
        update(TABLE)
        .where(
            TABLE.c.workspace_id.in_(workspace_ids.scalar_subquery()),
            TABLE.c.last_error == reason,
            TABLE.c.claimed_at.is_(None),
            *_unfinished(),
        )
        .values(next_attempt_at=None, last_error="")
    )
    return int(result.rowcount or 0)
