"""Date polls: "when can everyone come?" before a meeting exists.

A poll proposes slots; each person asked answers yes, if need be (``maybe``) or no per
slot; the organiser closes it on one slot, which becomes the meeting (scheduled by
``commands.services.meetings.schedule``, with its invitations). Whoever may read the
poll may answer: the experiment's team, partners included, and the people asked.

The poll's message goes to the channel through the outbox (``poll:<id>:message``), so
Coordo knows its id on the platform; each answer queues an edit of that message
(``poll:<id>:edit:<version>:<command's batch>``, the newest one only: an undo puts
the version back, the batch keeps the key new), and the sender edits it in place.
Those who have not answered after two working days are reminded once
(``poll:<id>:remind:@<person>``, by ``queue_poll_reminders`` from the meetings' scan).

Services check, change and record the audit log; they never commit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_
from sqlmodel import Session, col, select

from commands.core import Context
from commands.errors import NotFound, UserError
from commands.render import message, render
from commands.reply import Button, Reply, Visibility
from commands.services import meetings, outbox
from commands.services.audit import snapshot
from models import (
    AuditEvent,
    DatePoll,
    Experiment,
    Meeting,
    OutboxMessage,
    Person,
    PollAnswer,
    PollInvitee,
    PollSlot,
    Role,
    pk,
)

OPEN = "open"
CLOSED = "closed"
ANSWERS = ("yes", "maybe", "no")
MAX_SLOTS = 8
REMIND_AFTER_WORKING_DAYS = 2


# --------------------------------------------------------------------------- reading


def load(ctx: Context, poll_id: int) -> DatePoll:
    """A poll this person may read; any other is "not found", like a missing one."""
    poll = ctx.session.get(DatePoll, poll_id)
    if (
        poll is None
        or poll.workspace_id != ctx.workspace_id
        or poll.deleted_at is not None
        or not can_read(ctx, poll)
    ):
        raise NotFound("polls.unknown", id=poll_id)
    return poll


def experiment_of(session: Session, poll: DatePoll) -> Experiment | None:
    return session.get(Experiment, poll.experiment_id) if poll.experiment_id else None


def can_read(ctx: Context, poll: DatePoll) -> bool:
    experiment = experiment_of(ctx.session, poll)
    if experiment is not None and ctx.role_in(experiment) is not None:
        return True
    if experiment is None and not ctx.person.is_guest:
        return True
    return ctx.person_id in {pk(p) for p in invitees(ctx.session, poll)}


def require_organiser(ctx: Context, poll: DatePoll) -> None:
    """The experiment's coordinators and members (the lab's coordinators for its own)."""
    experiment = experiment_of(ctx.session, poll)
    if experiment is None:
        ctx.require_lab_coordinator()
        return
    ctx.require(experiment, Role.COORDINATOR, Role.MEMBER)


def slots(session: Session, poll: DatePoll) -> list[PollSlot]:
    return list(
        session.exec(
            select(PollSlot)
            .where(PollSlot.poll_id == poll.id, col(PollSlot.deleted_at).is_(None))
            .order_by(col(PollSlot.position), col(PollSlot.id))
        )
    )


def invitees(session: Session, poll: DatePoll) -> list[Person]:
    return list(
        session.exec(
            select(Person)
            .join(PollInvitee, col(PollInvitee.person_id) == Person.id)
            .where(PollInvitee.poll_id == poll.id, col(PollInvitee.deleted_at).is_(None))
            .order_by(col(Person.handle))
        )
    )


def answers(session: Session, poll: DatePoll) -> dict[tuple[int, int], PollAnswer]:
    """``(slot id, person id)`` → the answer."""
    ids = [pk(s) for s in slots(session, poll)]
    if not ids:
        return {}
    rows = session.exec(
        select(PollAnswer).where(
            col(PollAnswer.slot_id).in_(ids), col(PollAnswer.deleted_at).is_(None)
        )
    ).all()
    return {(r.slot_id, r.person_id): r for r in rows}


def open_polls(ctx: Context, experiments: Sequence[Experiment]) -> list[DatePoll]:
    ids = [pk(e) for e in experiments]
    if not ids:
        return []
    return list(
        ctx.session.exec(
            select(DatePoll)
            .where(
                DatePoll.workspace_id == ctx.workspace_id,
                col(DatePoll.experiment_id).in_(ids),
                DatePoll.status == OPEN,
                col(DatePoll.deleted_at).is_(None),
            )
            .order_by(col(DatePoll.id))
        )
    )


@dataclass
class SlotTally:
    """One slot as the poll's message shows it: counts, names, and what to flag."""

    number: int
    slot: PollSlot
    yes: list[Person] = field(default_factory=list)
    maybe: list[Person] = field(default_factory=list)
    no: list[Person] = field(default_factory=list)
    holiday: str | None = None
    overlaps: list[Meeting] = field(default_factory=list)

    @property
    def score(self) -> tuple[int, int]:
        return (len(self.yes), len(self.maybe))


@dataclass
class Tally:
    poll: DatePoll
    slots: list[SlotTally]
    invitees: list[Person]
    waiting: list[Person]  # asked, not answered yet

    @property
    def best(self) -> SlotTally | None:
        """Most yes, then most if-need-be, then the earliest."""
        if not self.slots:
            return None
        return max(self.slots, key=lambda s: (s.score, -s.number))


def tally(session: Session, poll: DatePoll, locale: str) -> Tally:
    rows = slots(session, poll)
    given = answers(session, poll)
    people = {pk(p): p for p in invitees(session, poll)}
    answered = {person_id for _, person_id in given}
    for person_id in answered - set(people):
        person = session.get(Person, person_id)
        if person is not None:
            people[person_id] = person
    ordered = sorted(people.values(), key=lambda p: p.handle)
    tz = ZoneInfo(poll.timezone)
    overlaps = _overlaps(session, poll, rows)
    result: list[SlotTally] = []
    for number, slot in enumerate(rows, start=1):
        entry = SlotTally(number, slot)
        entry.holiday = meetings.holiday_name(slot.starts_at.astimezone(tz).date(), locale)
        entry.overlaps = overlaps.get(pk(slot), [])
        for person in ordered:
            found = given.get((pk(slot), pk(person)))
            if found is not None:
                getattr(entry, found.answer).append(person)
        result.append(entry)
    waiting = [p for p in ordered if pk(p) not in answered]
    return Tally(poll, result, ordered, waiting)


def _overlaps(session: Session, poll: DatePoll, rows: list[PollSlot]) -> dict[int, list[Meeting]]:
    """The experiment's other meetings (the lab's, for a lab poll) each slot overlaps."""
    if not rows:
        return {}
    first = min(s.starts_at for s in rows)
    last = max(s.ends_at for s in rows)
    same_place = (
        col(Meeting.experiment_id) == poll.experiment_id
        if poll.experiment_id is not None
        else col(Meeting.experiment_id).is_(None)
    )
    candidates = list(
        session.exec(
            select(Meeting).where(
                Meeting.workspace_id == poll.workspace_id,
                same_place,
                col(Meeting.deleted_at).is_(None),
                Meeting.status == meetings.SCHEDULED,
                col(Meeting.starts_at) < last,
            )
        )
    )
    if poll.meeting_id is not None:
        candidates = [m for m in candidates if m.id != poll.meeting_id]
    theirs = [
        o
        for o in meetings.occurrences_between(
            session, candidates, first - meetings.MAX_DURATION, last
        )
        if not o.cancelled
    ]
    found: dict[int, list[Meeting]] = {}
    for slot in rows:
        for other in theirs:
            if other.start < slot.ends_at and other.end > slot.starts_at:
                found.setdefault(pk(slot), []).append(other.meeting)
    return found


# --------------------------------------------------------------------------- changes


@dataclass
class PollPlan:
    title: str
    kind: str
    timezone: str
    slots: list[tuple[datetime, datetime]]
    invitees: list[Person]
    place: str = ""


def create(ctx: Context, experiment: Experiment | None, plan: PollPlan) -> DatePoll:
    if experiment is None:
        ctx.require_lab_coordinator()
    else:
        ctx.require(experiment, Role.COORDINATOR, Role.MEMBER)
    if len(plan.slots) < 2:
        raise UserError("polls.too_few_slots")
    if len(plan.slots) > MAX_SLOTS:
        raise UserError("polls.too_many_slots", count=len(plan.slots), limit=MAX_SLOTS)
    starts = [s for s, _ in plan.slots]
    if len(set(starts)) != len(starts):
        raise UserError("polls.same_slot_twice")
    poll = DatePoll(
        workspace_id=ctx.workspace_id,
        experiment_id=experiment.id if experiment else None,
        kind=plan.kind,
        title=meetings.check_text(plan.title, meetings.TITLE_LIMIT),
        timezone=plan.timezone,
        organizer_id=ctx.person_id,
        channel_id=ctx.invocation.channel.external_id,
        status=OPEN,
        created_at=ctx.now,
    )
    ctx.record("create", poll, experiment_id=poll.experiment_id)
    for position, (start, end) in enumerate(sorted(plan.slots)):
        slot = PollSlot(
            poll_id=pk(poll),
            position=position,
            starts_at=start.astimezone(UTC),
            ends_at=end.astimezone(UTC),
        )
        ctx.record("create", slot, experiment_id=poll.experiment_id)
    for person in {pk(p): p for p in plan.invitees}.values():
        _ask(ctx, poll, person)
    return poll


def _ask(ctx: Context, poll: DatePoll, person: Person) -> bool:
    existing = ctx.session.exec(
        select(PollInvitee).where(
            PollInvitee.poll_id == poll.id, PollInvitee.person_id == person.id
        )
    ).first()
    if existing is not None and existing.deleted_at is None:
        return False
    if existing is None:
        row = PollInvitee(poll_id=pk(poll), person_id=pk(person), created_at=ctx.now)
        ctx.record("create", row, experiment_id=poll.experiment_id)
    else:
        before = snapshot(existing)
        existing.deleted_at = None
        ctx.record("update", existing, before, experiment_id=poll.experiment_id)
    return True


def answer(ctx: Context, poll: DatePoll, choices: dict[int, str]) -> list[tuple[int, str]]:
    """Record the person's answers (slot number → yes, maybe or no); returns those that
    changed. One not asked yet is added to the poll by answering."""
    if poll.status != OPEN:
        raise UserError("polls.closed_already", id=pk(poll))
    rows = slots(ctx.session, poll)
    for number in choices:
        if not 1 <= number <= len(rows):
            raise UserError("polls.no_slot", id=pk(poll), number=number, count=len(rows))
    _ask(ctx, poll, ctx.person)
    changed: list[tuple[int, str]] = []
    for number, value in sorted(choices.items()):
        if value not in ANSWERS:
            raise UserError("polls.bad_answer", text=value)
        slot = rows[number - 1]
        row = ctx.session.exec(
            select(PollAnswer).where(
                PollAnswer.slot_id == slot.id, PollAnswer.person_id == ctx.person_id
            )
        ).first()
        if row is None:
            row = PollAnswer(
                slot_id=pk(slot), person_id=ctx.person_id, answer=value, answered_at=ctx.now
            )
            ctx.record("respond", row, experiment_id=poll.experiment_id)
        elif row.answer != value or row.deleted_at is not None:
            before = snapshot(row)
            row.answer = value
            row.answered_at = ctx.now
            row.deleted_at = None
            ctx.record("respond", row, before, experiment_id=poll.experiment_id)
        else:
            continue
        changed.append((number, value))
    if changed:
        bump(ctx, poll)
    return changed


def bump(ctx: Context, poll: DatePoll) -> None:
    """A new version of the poll's message (its edit is keyed by it)."""
    before = snapshot(poll)
    poll.version += 1
    ctx.record("update", poll, before, experiment_id=poll.experiment_id)


def close(
    ctx: Context, poll: DatePoll, number: int | None, *, place: str = ""
) -> tuple[Meeting, SlotTally, list[Person]]:
    """Close the poll on slot ``number`` (the best one by default): the slot becomes the
    meeting, everyone asked is invited. Returns the meeting, the slot and the invitees."""
    require_organiser(ctx, poll)
    if poll.status != OPEN:
        raise UserError("polls.closed_already", id=pk(poll))
    counted = tally(ctx.session, poll, ctx.locale)
    if number is None:
        chosen = counted.best
        assert chosen is not None
    else:
        if not 1 <= number <= len(counted.slots):
            raise UserError("polls.no_slot", id=pk(poll), number=number, count=len(counted.slots))
        chosen = counted.slots[number - 1]
    if chosen.slot.starts_at < ctx.now:
        raise UserError("polls.slot_past", id=pk(poll), number=chosen.number)
    experiment = experiment_of(ctx.session, poll)
    people = counted.invitees
    meeting = meetings.schedule(
        ctx,
        experiment,
        meetings.Plan(
            kind=poll.kind,
            title=poll.title,
            start=chosen.slot.starts_at,
            end=chosen.slot.ends_at,
            timezone=poll.timezone,
            place=place,
            invitees=people,
        ),
    )
    if poll.channel_id:
        meeting.channel_id = poll.channel_id
    before = snapshot(poll)
    poll.status = CLOSED
    poll.chosen_slot_id = pk(chosen.slot)
    poll.meeting_id = pk(meeting)
    poll.closed_at = ctx.now
    poll.version += 1
    ctx.record("close", poll, before, experiment_id=poll.experiment_id)
    return meeting, chosen, people


# --------------------------------------------------------------------------- the message


def buttons(poll: DatePoll, count: int, locale: str) -> list[Button]:
    """One button per date and answer: ``"<poll>:<date number>:<answer>"``."""
    return [
        Button(
            message("polls.button", locale, number=n, answer=a),
            "poll.answer",
            f"{pk(poll)}:{n}:{a}",
            "primary" if a == "yes" else None,
        )
        for n in range(1, count + 1)
        for a in ANSWERS
    ]


def poll_reply(
    poll: DatePoll,
    counted: Tally,
    locale: str,
    *,
    experiment: Experiment | None,
    header: str = "",
    visibility: Visibility = Visibility.CHANNEL,
) -> Reply:
    """The poll as its message shows it: the dates with their counts and flags, who has
    not answered, and the buttons while it is open."""
    text = render(
        "meeting/poll",
        locale,
        poll.timezone,
        poll=poll,
        tally=counted,
        experiment=experiment,
        header=header,
        best=counted.best if poll.status == OPEN else None,
    )
    shown = buttons(poll, len(counted.slots), locale) if poll.status == OPEN else []
    return Reply(text=text, visibility=visibility, buttons=shown)


def message_key(poll: DatePoll) -> str:
    return f"poll:{pk(poll)}:message"


def post_message(ctx: Context, poll: DatePoll, reply: Reply) -> None:
    """Queue the poll's message to the channel it was made in."""
    if not poll.channel_id:
        return
    outbox.enqueue(
        ctx.session,
        key=message_key(poll),
        workspace_id=ctx.workspace_id,
        kind="poll.message",
        target_kind="channel",
        target_id=poll.channel_id,
        reply=reply,
        not_before=ctx.now,
        experiment=experiment_of(ctx.session, poll),
        quiet_hours=False,
    )


def edit_message(ctx: Context, poll: DatePoll, reply: Reply) -> None:
    """Queue an edit of the poll's message, in place; an older edit not sent yet is
    dropped (the newest says it all)."""
    if not poll.channel_id:
        return
    prefix = f"poll:{pk(poll)}:edit:"
    outbox.cancel_pending(ctx.session, prefix, ctx.now, "superseded")
    payload_reply = Reply(text=reply.text, visibility=reply.visibility, buttons=reply.buttons)
    row = outbox.notification(
        key=f"{prefix}{poll.version}:{ctx.batch}",
        workspace_id=ctx.workspace_id,
        kind="poll.edit",
        target_kind="channel",
        target_id=poll.channel_id,
        reply=payload_reply,
        not_before=ctx.now,
        experiment=experiment_of(ctx.session, poll),
        quiet_hours=False,
    )
    row["payload"]["edit_of"] = message_key(poll)
    outbox.enqueue_many(ctx.session, [row])


def refresh(ctx: Context, poll: DatePoll) -> None:
    """Queue the edit of the poll's message in its channel, as the poll now stands."""
    experiment = experiment_of(ctx.session, poll)
    locale = experiment.locale if experiment else ctx.workspace.locale
    counted = tally(ctx.session, poll, locale)
    edit_message(ctx, poll, poll_reply(poll, counted, locale, experiment=experiment))


def after_undo(
    ctx: Context, events: Sequence[AuditEvent], withdrawn: Callable[[Meeting, Person], Reply]
) -> tuple[list[DatePoll], int]:
    """What an undo owes a poll's message and the invitees: a poll undone whole takes its
    unsent messages with it; a poll put back (an answer or a close undone) has its
    message edited again; a meeting a close had made, now removed, takes its unsent
    invitations with it, and the people whose invitation went out are told it is
    withdrawn (``withdrawn`` words it for each). Returns the polls reopened and how many
    people will be told."""
    reopened: list[DatePoll] = []
    told = 0
    seen: set[int] = set()
    for event in events:
        if event.entity == "meeting" and event.before is None:
            outbox.cancel_pending(
                ctx.session, f"meeting:{event.entity_id}:", ctx.now, "meeting withdrawn"
            )
            told += _tell_withdrawn(ctx, event.entity_id, withdrawn)
        if event.entity != "date_poll" or event.entity_id in seen:
            continue
        seen.add(event.entity_id)
        poll = ctx.session.get(DatePoll, event.entity_id)
        if poll is None:
            continue
        if poll.deleted_at is not None:
            outbox.cancel_pending(ctx.session, f"poll:{pk(poll)}:", ctx.now, "poll withdrawn")
            continue
        if event.action == "close":
            reopened.append(poll)
        refresh(ctx, poll)
    return reopened, told


def _tell_withdrawn(
    ctx: Context, meeting_id: int, withdrawn: Callable[[Meeting, Person], Reply]
) -> int:
    """Tell the people whose invitation to ``meeting_id`` was sent, or is being sent,
    that the meeting is withdrawn (the unsent ones were dropped just before)."""
    meeting = ctx.session.get(Meeting, meeting_id)
    if meeting is None:
        return 0
    prefix = f"meeting:{meeting_id}:invite:"
    reached = ctx.session.exec(
        select(OutboxMessage.target_id).where(
            col(OutboxMessage.key).startswith(prefix, autoescape=True),
            col(OutboxMessage.dead_at).is_(None),
            # Sent, or claimed by a sender when the undo came (it may be on its way).
            or_(
                col(OutboxMessage.sent_at).is_not(None), col(OutboxMessage.claimed_at).is_not(None)
            ),
        )
    ).all()
    ids = sorted({int(t) for t in reached if t.isdigit()})
    if not ids:
        return 0
    people = ctx.session.exec(select(Person).where(col(Person.id).in_(ids))).all()
    return meetings.notify_invitees(
        ctx,
        meeting,
        kind="withdrawn",
        reply_for=lambda person: withdrawn(meeting, person),
        people=people,
    )


def withdraw(session: Session, prefix: str, now: datetime, reason: str) -> int:
    """Drop the unsent outbox rows under ``prefix``."""
    return outbox.cancel_pending(session, prefix, now, reason)


# --------------------------------------------------------------------------- reminders


def working_days_after(start: date, count: int, workdays: set[int]) -> date:
    """The day ``count`` working days after ``start`` (``workdays``: ISO weekday numbers,
    1 = Monday; French public holidays off)."""
    day = start
    left = count
    while left > 0:
        day += timedelta(days=1)
        if day.isoweekday() in workdays and meetings.holiday_name(day, "fr") is None:
            left -= 1
    return day


def remind_moment(created_at: datetime, timezone: str, working_days: str | None) -> datetime:
    """Two working days after the poll was made, at the same time of day
    (``working_days``: the experiment's setting, ISO numbers; Monday to Friday without)."""
    tz = ZoneInfo(timezone)
    made = created_at.astimezone(tz)
    workdays = {int(d) for d in (working_days or "1,2,3,4,5").split(",") if d.strip()}
    day = working_days_after(made.date(), REMIND_AFTER_WORKING_DAYS, workdays or {1, 2, 3, 4, 5})
    return datetime.combine(day, made.timetz().replace(tzinfo=None), tz).astimezone(UTC)


# Past this age a poll is not looked at for reminders any more: each goes once, two
# working days after the poll was made (a long weekend and holidays around it included).
REMIND_WINDOW = timedelta(days=10)


def queue_poll_reminders(
    session: Session,
    now: datetime,
    build: Callable[[DatePoll, Person, Tally, Experiment | None], Reply],
) -> int:
    """Remind once, by direct message, each person asked who has not answered an open
    poll two working days after it was made.

    Cheap when nothing is new (nearly every tick): who is waiting comes from one query,
    the keys already queued from another, and a poll is counted and rendered only for
    the reminders not queued yet."""
    # Columns only: nearly every tick finds nothing new, and rows cost more than tuples.
    rows = session.exec(
        select(
            DatePoll.id,
            DatePoll.created_at,
            DatePoll.timezone,
            Experiment.working_days,
        )
        .outerjoin(Experiment, col(Experiment.id) == DatePoll.experiment_id)
        .where(
            DatePoll.status == OPEN,
            col(DatePoll.deleted_at).is_(None),
            col(Experiment.archived_at).is_(None),
            col(DatePoll.created_at) <= now - timedelta(days=REMIND_AFTER_WORKING_DAYS),
            col(DatePoll.created_at) > now - REMIND_WINDOW,
        )
    ).all()
    due = [
        poll_id
        for poll_id, created_at, timezone, working_days in rows
        if poll_id is not None and remind_moment(created_at, timezone, working_days) <= now
    ]
    if not due:
        return 0
    answered = set(
        session.exec(
            select(PollSlot.poll_id, PollAnswer.person_id)
            .join(PollAnswer, col(PollAnswer.slot_id) == PollSlot.id)
            .where(col(PollSlot.poll_id).in_(due), col(PollAnswer.deleted_at).is_(None))
        ).all()
    )
    asked = session.exec(
        select(PollInvitee.poll_id, PollInvitee.person_id).where(
            col(PollInvitee.poll_id).in_(due), col(PollInvitee.deleted_at).is_(None)
        )
    ).all()
    waiting = [
        (poll_id, person_id) for poll_id, person_id in asked if (poll_id, person_id) not in answered
    ]
    keys = {
        f"poll:{poll_id}:remind:@{person_id}": (poll_id, person_id)
        for poll_id, person_id in waiting
    }
    done = outbox.queued_keys(session, list(keys))
    fresh = [v for k, v in keys.items() if k not in done]
    queued = 0
    counted: dict[int, Tally] = {}
    for poll_id, person_id in fresh:
        poll = session.get(DatePoll, poll_id)
        person = session.get(Person, person_id)
        if poll is None or person is None:
            continue
        experiment = experiment_of(session, poll)
        if poll_id not in counted:
            counted[poll_id] = tally(session, poll, experiment.locale if experiment else "fr")
        queued += int(
            outbox.enqueue(
                session,
                key=f"poll:{poll_id}:remind:@{person_id}",
                workspace_id=poll.workspace_id,
                kind="poll.remind",
                target_kind="person",
                target_id=str(person_id),
                reply=build(poll, person, counted[poll_id], experiment),
                not_before=now,
                experiment=experiment,
                ref={"poll": poll_id},
            )
        )
    return queued
