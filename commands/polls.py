"""``/copil sondage`` (``/meeting poll``): find the date of a meeting.

- ``/copil sondage "COPIL de janvier" 12/01 14h, 14/01 10h, 19/01 14h durée:2h @marie @elu``
  proposes the dates (separated by commas) to the people named (``equipe``: the team);
- ``/copil sondage repondre 4 oui non si-besoin``: one answer per date, in order (or
  ``2:non`` for one date); the buttons do the same, one click per date;
- ``/copil sondage clore 4 [2]``: the date chosen (by default the one with the most yes,
  then the most "if need be") becomes the meeting, and everyone asked is invited;
- ``/copil sondage voir 4`` and ``/copil sondage`` (the open polls).

English: ``/meeting poll "January steering" …``, ``answer 4 yes no if-need-be``,
``close 4 2``, ``show 4``.
"""

from __future__ import annotations

import re
from datetime import datetime

from commands import meetings
from commands.args import Args, as_id, fold
from commands.core import Context, Subcommand, words
from commands.dates import find_when, parse_when
from commands.errors import UserError
from commands.render import message, render
from commands.reply import Button, Reply, Visibility
from commands.services import polls as service
from commands.services.meetings import DEFAULT_DURATIONS, LAB_KIND, check_times
from models import DatePoll, Experiment, Person, pk

ANSWER_WORDS = {
    "oui": "yes",
    "o": "yes",
    "yes": "yes",
    "y": "yes",
    "non": "no",
    "n": "no",
    "no": "no",
    "si-besoin": "maybe",
    "sibesoin": "maybe",
    "si": "maybe",
    "sb": "maybe",
    "peut-etre": "maybe",
    "peutetre": "maybe",
    "pe": "maybe",
    "if-need-be": "maybe",
    "ifneedbe": "maybe",
    "if-needed": "maybe",
    "inb": "maybe",
    "maybe": "maybe",
    "?": "maybe",
}
VERBS = {
    "repondre": "answer",
    "reponse": "answer",
    "answer": "answer",
    "rsvp": "answer",
    "clore": "close",
    "clos": "close",
    "fermer": "close",
    "close": "close",
    "voir": "show",
    "show": "show",
    "liste": "list",
    "list": "list",
}
OPTIONS = {
    "duree": "duration",
    "duration": "duration",
    "lieu": "place",
    "place": "place",
    "salle": "place",
    "room": "place",
    "type": "kind",
    "titre": "title",
    "title": "title",
}
_PAIR = re.compile(r"(\d{1,2})\s*[:=]\s*(\S+)")


def parse_answers(words_: list[str], count: int, poll_id: int) -> dict[int, str]:
    """``oui non si-besoin`` (one per date, in order) or ``2:non 3:oui``."""
    choices: dict[int, str] = {}
    position = 0
    for word in words_:
        for piece in filter(None, word.split(",")):
            if m := _PAIR.fullmatch(piece):
                number, value = int(m.group(1)), m.group(2)
            else:
                position += 1
                number, value = position, piece
            answer = ANSWER_WORDS.get(fold(value).strip())
            if answer is None:
                raise UserError("polls.bad_answer", text=value, id=poll_id)
            if not 1 <= number <= count:
                raise UserError("polls.no_slot", id=poll_id, number=number, count=count)
            choices[number] = answer
    if not choices:
        raise UserError("polls.answer_usage", id=poll_id)
    return choices


# --------------------------------------------------------------------------- rendering


poll_reply = service.poll_reply


def _channel_locale(ctx: Context, experiment: Experiment | None) -> str:
    return experiment.locale if experiment else ctx.workspace.locale


refresh = service.refresh


# --------------------------------------------------------------------------- commands


def poll(ctx: Context, args: Args) -> Reply:
    if not args.words and not args.mentions:
        return list_(ctx, args)
    verb = VERBS.get(fold(args.words[0])) if args.words else None
    if verb is None and len(args.words) == 1 and meetings.parse_ref(args.words[0]) is not None:
        return show(ctx, _poll_of(ctx, args.words[0]))
    if verb == "list":
        return list_(ctx, args)
    if verb is not None:
        if len(args.words) < 2 or meetings.parse_ref(args.words[1]) is None:
            raise UserError(f"polls.{verb}_usage", id="4")
        target = _poll_of(ctx, args.words[1])
        rest = args.words[2:]
        if verb == "show":
            return show(ctx, target)
        if verb == "answer":
            count = len(service.slots(ctx.session, target))
            return _answered(ctx, target, parse_answers(rest, count, pk(target)))
        return close(ctx, target, rest, args)
    return create(ctx, args)


def _poll_of(ctx: Context, word: str) -> DatePoll:
    ref = meetings.parse_ref(word)
    assert ref is not None
    return service.load(ctx, as_id(ref, word))


def create(ctx: Context, args: Args) -> Reply:
    kind_text = args.option("kind")
    kind = meetings.parse_kind(kind_text) if kind_text else "copil"
    experiment: Experiment | None
    if kind == LAB_KIND:
        if args.option("experiment"):
            raise UserError("meetings.lab_has_no_experiment")
        experiment = None
        ctx.require_lab_coordinator()
        tz = ctx.tz()
    else:
        experiment = ctx.experiment(args)
        tz = experiment.timezone
    team = [w for w in args.words if fold(w) in meetings.TEAM_WORDS]
    positional = [w for w in args.words if fold(w) not in meetings.TEAM_WORDS]
    title, slots = _read_slots(ctx, positional, args, tz, kind)
    people = meetings._people(ctx, args)
    if team:
        if experiment is None:
            raise UserError("meetings.lab_has_no_team")
        people = [*meetings.service.team_of(ctx.session, experiment), *people]
    plan = service.PollPlan(
        title=args.option("title") or title or meetings._default_title(ctx, kind, experiment),
        kind=kind,
        timezone=tz,
        slots=slots,
        invitees=[p for p in people if p.id != ctx.person_id],
    )
    created = service.create(ctx, experiment, plan)
    locale = _channel_locale(ctx, experiment)
    counted = service.tally(ctx.session, created, locale)
    service.post_message(ctx, created, poll_reply(created, counted, locale, experiment=experiment))
    for person in counted.invitees:
        _ask(ctx, created, person, experiment, counted, kind="ask")
    reply = poll_reply(
        created,
        service.tally(ctx.session, created, ctx.locale),
        ctx.locale,
        experiment=experiment,
        header=ctx.message(
            "polls.created",
            id=pk(created),
            count=len(counted.invitees),
            posted=bool(created.channel_id),
        ),
        visibility=Visibility.EPHEMERAL,
    )
    reply.changed = True
    reply.buttons = [Button(ctx.message("core.undo_button"), "undo", ctx.batch)]
    return reply


def _ask(
    ctx: Context,
    poll: DatePoll,
    person: Person,
    experiment: Experiment | None,
    counted: service.Tally,
    *,
    kind: str,
) -> None:
    locale = person.locale or _channel_locale(ctx, experiment)
    reply = poll_reply(
        poll,
        service.tally(ctx.session, poll, locale) if locale != ctx.locale else counted,
        locale,
        experiment=experiment,
        header=message("polls.asked", locale, by=ctx.person.handle),
    )
    meetings.service.outbox.enqueue(
        ctx.session,
        key=f"poll:{pk(poll)}:{kind}:@{pk(person)}",
        workspace_id=ctx.workspace_id,
        kind=f"poll.{kind}",
        target_kind="person",
        target_id=str(pk(person)),
        reply=reply,
        not_before=ctx.now,
        experiment=experiment,
        ref={"poll": pk(poll)},
    )


def _read_slots(
    ctx: Context, positional: list[str], args: Args, tz: str, kind: str
) -> tuple[str, list[tuple[datetime, datetime]]]:
    """The title and the dates: ``"Titre" 12/01 14h, 14/01 10h`` (the first date may
    follow the title without a comma). An ambiguous or past date is asked back."""
    text = " ".join(positional).strip()
    pieces = [p.strip() for p in text.split(",")]
    if not text or len(pieces) < 2 or not all(pieces):
        raise UserError("polls.usage")
    duration_text = args.option("duration")
    length = meetings.parse_duration(duration_text) if duration_text else DEFAULT_DURATIONS[kind]
    if length > meetings.service.MAX_DURATION:
        raise UserError(
            "meetings.too_long", hours=meetings.service.hours_of(length), text=duration_text
        )
    first, title = find_when(pieces[0], now=ctx.now, lang=ctx.locale, tz=tz, prefer="end")
    whens = [(first, pieces[0])]
    for piece in pieces[1:]:
        whens.append((parse_when(piece, now=ctx.now, lang=ctx.locale, tz=tz), piece))
    slots: list[tuple[datetime, datetime]] = []
    for when, piece in whens:
        if when.rrule:
            raise UserError("polls.no_recurrence", text=piece)
        if not when.has_time:
            raise UserError("polls.slot_time", text=piece)
        end = when.end if when.end and not duration_text else when.start + length
        check_times(ctx, when.start, end, piece)
        slots.append((when.start, end))
    return title.strip(" ,;-\"'«»“”"), slots


def show(ctx: Context, target: DatePoll) -> Reply:
    experiment = service.experiment_of(ctx.session, target)
    counted = service.tally(ctx.session, target, ctx.locale)
    return poll_reply(
        target, counted, ctx.locale, experiment=experiment, visibility=Visibility.EPHEMERAL
    )


def list_(ctx: Context, args: Args) -> Reply:
    if args.option("experiment") or ctx.channel_binding is not None:
        experiments = [ctx.experiment(args)]
    else:
        experiments = ctx.visible_experiments()
    found = service.open_polls(ctx, experiments)
    rows = [(p, service.tally(ctx.session, p, ctx.locale)) for p in found]
    return Reply(text=render("meeting/polls", ctx.locale, ctx.tz(), rows=rows, me=ctx.person_id))


def _answered(ctx: Context, target: DatePoll, choices: dict[int, str]) -> Reply:
    service.answer(ctx, target, choices)
    refresh(ctx, target)
    counted = service.tally(ctx.session, target, ctx.locale)
    mine = {
        n: a
        for s in counted.slots
        for n, a in [(s.number, _answer_of(s, ctx.person_id))]
        if a is not None
    }
    reply = Reply(
        text=render(
            "meeting/poll_answered",
            ctx.locale,
            target.timezone,
            poll=target,
            tally=counted,
            mine=mine,
            left=len(counted.slots) - len(mine),
        ),
        visibility=Visibility.EPHEMERAL,
        changed=True,
    )
    reply.buttons = [Button(ctx.message("core.undo_button"), "undo", ctx.batch)]
    return reply


def _answer_of(slot: service.SlotTally, person_id: int) -> str | None:
    for name in service.ANSWERS:
        if any(pk(p) == person_id for p in getattr(slot, name)):
            return name
    return None


def answer_action(ctx: Context, value: str) -> Reply:
    """The buttons: ``"<poll>:<date number>:<yes|maybe|no>"``."""
    parts = value.split(":")
    if (
        len(parts) != 3
        or not all(p.isascii() and p.isdigit() for p in parts[:2])
        or parts[2] not in service.ANSWERS
    ):
        raise UserError("core.unknown_action")
    target = service.load(ctx, as_id(int(parts[0]), parts[0]))
    return _answered(ctx, target, {int(parts[1]): parts[2]})


def close(ctx: Context, target: DatePoll, rest: list[str], args: Args) -> Reply:
    number: int | None = None
    if rest:
        if len(rest) > 1 or not rest[0].isascii() or not rest[0].isdigit():
            raise UserError("polls.close_usage", id=pk(target))
        number = int(rest[0])
    meeting, chosen, people = service.close(ctx, target, number, place=args.option("place") or "")
    experiment = service.experiment_of(ctx.session, target)
    refresh(ctx, target)
    reply = meetings._scheduled_reply(ctx, meeting, experiment, invited=people)
    reply.text = (
        render("meeting/poll_closed", ctx.locale, target.timezone, poll=target, chosen=chosen)
        + "\n\n"
        + reply.text
    )
    return reply


def subcommands() -> tuple[Subcommand, ...]:
    return (
        Subcommand(
            "poll",
            words(["sondage", "sondages"], ["poll", "polls"]),
            poll,
            OPTIONS,
        ),
    )
