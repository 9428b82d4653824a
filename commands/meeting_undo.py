"""What an undo owes the people invited to a meeting.

Undoing a cancellation or a move puts the meeting back (its SEQUENCE still grows: see
``commands.services.audit``). The notices of the change not yet sent are withdrawn; those
already sent (or being sent) were read, so their readers are told the meeting stands, at
its time; the reply carries the meeting's calendar file again.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import update
from sqlmodel import col, select

from commands.core import Context
from commands.render import render
from commands.reply import File, Reply, Visibility
from commands.services import calendars, polls
from commands.services import meetings as service
from models import AuditEvent, Experiment, Meeting, OutboxMessage, Person, pk

TABLE = OutboxMessage.__table__  # type: ignore[attr-defined]
# The notices an undo takes back.
UNDONE_NOTICES = ("cancelled", "moved")


def after_undo(ctx: Context, events: list[AuditEvent], reply: Reply) -> None:
    """Withdraw and correct the notices of the meetings ``events`` put back (and of the
    date polls: ``commands.services.polls.after_undo``)."""
    reopened, withdrawn = polls.after_undo(ctx, events, _withdrawn(ctx))
    for poll in reopened:
        reply.text += "\n" + ctx.message("polls.reopened", id=pk(poll))
    if withdrawn:
        reply.text += "\n" + ctx.message("polls.withdrawn_told", count=withdrawn)
    seen: set[int] = set()
    told = 0
    for event in events:
        if event.entity != "meeting" or event.before is None or event.entity_id in seen:
            continue
        if event.action not in ("cancel", "reschedule", "update"):
            continue
        seen.add(event.entity_id)
        row = ctx.session.get(Meeting, event.entity_id)
        if row is None or row.deleted_at is not None:
            continue
        told += _correct(ctx, row, int(event.after.get("sequence", row.sequence)))
        reply.files.append(
            File(
                calendars.file_name(row),
                calendars.meeting_file(
                    ctx.session, row, locale=ctx.locale, cancel=row.status == "cancelled"
                ),
                ctx.message("meetings.ics_title", title=row.title),
                "text/calendar",
            )
        )
    if told:
        reply.text += "\n" + ctx.message("copil.undo_told", count=told)


def _correct(ctx: Context, row: Meeting, sequence: int) -> int:
    """Drop the unsent notices of the change numbered ``sequence``; tell the people who
    got one that the meeting stands. Returns how many will be told."""
    key_id = row.series_id or pk(row)
    reached: set[int] = set()
    for kind in UNDONE_NOTICES:
        prefix = f"meeting:{key_id}:{kind}:{pk(row)}:{sequence}:@"
        ctx.session.exec(
            update(TABLE)
            .where(
                TABLE.c.key.startswith(prefix, autoescape=True),
                TABLE.c.sent_at.is_(None),
                TABLE.c.claimed_at.is_(None),
                TABLE.c.dead_at.is_(None),
                TABLE.c.dropped_at.is_(None),
            )
            .values(dropped_at=ctx.now, last_error="undone")
        )
        # What is left was sent, or is being sent: its reader is told.
        sent = ctx.session.exec(
            select(OutboxMessage.target_id).where(
                col(OutboxMessage.key).startswith(prefix, autoescape=True),
                col(OutboxMessage.dropped_at).is_(None),
                col(OutboxMessage.dead_at).is_(None),
            )
        ).all()
        reached.update(int(t) for t in sent if t.isdigit())
    if not reached:
        return 0
    people = ctx.session.exec(select(Person).where(col(Person.id).in_(sorted(reached)))).all()
    experiment = service.experiment_of(ctx.session, row)
    return service.notify_invitees(
        ctx, row, kind="restored", reply_for=_notice(ctx, row, experiment), people=people
    )


def _notice(ctx: Context, row: Meeting, experiment: Experiment | None) -> Callable[[Person], Reply]:
    def build(person: Person) -> Reply:
        locale = person.locale or (experiment.locale if experiment else ctx.workspace.locale)
        return Reply(
            text=render(
                "meeting/restored",
                locale,
                row.timezone,
                m=row,
                experiment=experiment,
                by=ctx.person,
                cancelled=row.status == "cancelled",
            ),
            visibility=Visibility.EPHEMERAL,
        )

    return build


def _withdrawn(ctx: Context) -> Callable[[Meeting, Person], Reply]:
    """The notice to someone invited to a meeting a poll's close had made, now undone."""

    def build(row: Meeting, person: Person) -> Reply:
        experiment = service.experiment_of(ctx.session, row)
        locale = person.locale or (experiment.locale if experiment else ctx.workspace.locale)
        return Reply(
            text=render(
                "meeting/notice",
                locale,
                row.timezone,
                what="withdrawn",
                m=row,
                experiment=experiment,
            ),
            visibility=Visibility.EPHEMERAL,
        )

    return build
