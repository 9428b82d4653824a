"""``/copil`` (``/meeting`` in English): steering meetings (COPIL, COTECH…) — schedule,
move, cancel, agenda, invitations and answers, minutes, decisions, actions, calendars.

A meeting is named by its number (``/copil voir 3``); one occurrence of a recurring
meeting by its number and day (``/copil decommander 4 seance:01/12``). Where the number is
left out, the agenda, invitations and answers are about the experiment's next meeting, and
minutes, decisions and actions about its last one held.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from commands import moving
from commands.args import Args, as_id, fold
from commands.core import Context, Family, Router, Subcommand, find_person, words
from commands.dates import When, find_when, parse_when
from commands.errors import NotFound, UserError
from commands.lab import undo_batch
from commands.render import message, plain_message, render
from commands.reply import Button, File, Form, FormField, Reply, Visibility
from commands.services import audit, calendars
from commands.services import meetings as service
from commands.services import minutes as minutes_service
from commands.services.meetings import Change, Occurrence, Plan
from models import Experiment, Meeting, Person, Role, pk

DEFAULT_PUBLIC_URL = "http://localhost:8000"

SCHEDULE_OPTIONS = {
    "duree": "duration",
    "duration": "duration",
    "fin": "end",
    "end": "end",
    "lieu": "place",
    "place": "place",
    "salle": "place",
    "room": "place",
    "visio": "video",
    "video": "video",
    "type": "kind",
    "titre": "title",
    "title": "title",
}
OCCURRENCE_OPTIONS = {"seance": "occurrence", "occurrence": "occurrence"}
MOVE_OPTIONS = {k: v for k, v in SCHEDULE_OPTIONS.items() if v != "kind"} | OCCURRENCE_OPTIONS

KIND_WORDS = {
    "copil": "copil",
    "cotech": "cotech",
    "autre": "autre",
    "other": "autre",
    "reunion": "autre",
    "meeting": "autre",
    "copil-labo": "copil-labo",
    "copil-lab": "copil-labo",
    "lab-copil": "copil-labo",
    "labo": "copil-labo",
    "lab": "copil-labo",
}
RESPONSE_WORDS = {
    "oui": "yes",
    "yes": "yes",
    "o": "yes",
    "y": "yes",
    "non": "no",
    "no": "no",
    "n": "no",
    "peut-etre": "maybe",
    "peutetre": "maybe",
    "peut": "maybe",
    "maybe": "maybe",
    "pe": "maybe",
}
AGENDA_VERBS = {
    "ajouter": "add",
    "add": "add",
    "monter": "up",
    "up": "up",
    "descendre": "down",
    "down": "down",
    "retirer": "remove",
    "supprimer": "remove",
    "remove": "remove",
    "delete": "remove",
    "traite": "dealt",
    "traité": "dealt",
    "dealt": "dealt",
    "done": "dealt",
}
TEAM_WORDS = {"equipe", "team"}
PAST_WORDS = {"passees", "passes", "past"}
ROTATE_WORDS = {"nouveau", "nouvelle", "changer", "rotate", "new", "renew"}
# Words that may stand between a meeting's number and its new date ("au jeudi 10h").
FILLER_WORDS = {"au", "a", "le", "la", "pour", "to", "on", "for", "at", "the"}

_REF = re.compile(r"(?:n°|no|#)?(\d{1,9})", re.IGNORECASE)
_DURATION_FORMS = [
    (re.compile(r"(\d{1,2})\s*[h:]\s*(\d{1,2})\s*(?:min|mn|m)?"), "hm"),
    (re.compile(r"(\d{1,2}(?:[.,]\d+)?)\s*(?:h|hr|hrs|heures?|hours?)"), "h"),
    (re.compile(r"(\d{1,4})\s*(?:min|mins|mn|m|minutes?)"), "m"),
]
_RAW_OPTION = re.compile(
    r"(?<!\S)(?:expe|exp|experiment|seance|séance|occurrence):\S+\s*", re.IGNORECASE
)


# --------------------------------------------------------------------------- parsing


def parse_duration(text: str) -> timedelta:
    """``2h``, ``90min``, ``1h30``, ``1:30``, ``1,5h``, ``45 minutes``."""
    folded = fold(text).strip()
    for pattern, form in _DURATION_FORMS:
        m = pattern.fullmatch(folded)
        if m is None:
            continue
        if form == "hm":
            value = timedelta(hours=int(m.group(1)), minutes=int(m.group(2)))
        elif form == "h":
            value = timedelta(hours=float(m.group(1).replace(",", ".")))
        else:
            value = timedelta(minutes=int(m.group(1)))
        if value <= timedelta(0):
            break
        return value
    raise UserError("meetings.bad_duration", text=text)


def parse_kind(text: str) -> str:
    try:
        return KIND_WORDS[fold(text).strip()]
    except KeyError:
        raise UserError("meetings.bad_kind", text=text) from None


def parse_response(text: str) -> str:
    try:
        return RESPONSE_WORDS[fold(text).strip()]
    except KeyError:
        raise UserError("meetings.bad_response", text=text) from None


def parse_ref(word: str) -> int | None:
    m = _REF.fullmatch(word.strip())
    return int(m.group(1)) if m else None


def rule_parts(text: str | None) -> dict[str, Any] | None:
    """An RRULE as the templates describe it in words."""
    if not text:
        return None
    parts = dict(p.split("=", 1) for p in text.upper().split(";") if "=" in p)
    days: list[tuple[int, int]] = []
    names = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
    for item in filter(None, parts.get("BYDAY", "").split(",")):
        m = re.fullmatch(r"([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)", item)
        if m:
            days.append((int(m.group(1) or 0), names.index(m.group(2))))
    monthdays = [int(d) for d in filter(None, parts.get("BYMONTHDAY", "").split(","))]
    return {
        "freq": parts.get("FREQ", "").lower(),
        "interval": int(parts.get("INTERVAL", "1")),
        "days": days,
        "monthdays": monthdays,
        "text": text,
    }


@dataclass(frozen=True)
class Target:
    meeting: Meeting
    words: list[str]  # what follows the meeting's number


def _day(ctx: Context, args: Args, tz: str) -> date | None:
    value = args.option("occurrence")
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return parse_when(value, now=ctx.now, lang=ctx.locale, tz=tz, mode="any").start.date()


def _meeting(ctx: Context, args: Args, purpose: Literal["next", "last"] | None) -> Target:
    """The meeting named by the first word; without a number, the experiment's next one
    (``purpose="next"``) or last one held (``"last"``), or a usage error (None)."""
    if args.words and (ref := parse_ref(args.words[0])) is not None:
        return Target(service.load(ctx, ref), args.words[1:])
    if purpose is None:
        raise UserError("meetings.id_needed")
    experiment = ctx.experiment(args)
    now = ctx.now
    if purpose == "next":
        found = [
            o
            for o in service.upcoming(
                ctx,
                [experiment],
                lab=False,
                after=now - timedelta(hours=12),
                before=now + timedelta(days=400),
            )
            if o.end > now and not o.cancelled
        ]
        if not found:
            raise NotFound("meetings.none_ahead", experiment=experiment.name)
        return Target(found[0].meeting, args.words)
    held = [
        o
        for o in service.upcoming(
            ctx, [experiment], lab=False, after=now - timedelta(days=400), before=now
        )
        if not o.cancelled
    ]
    if not held:
        raise NotFound("meetings.none_held", experiment=experiment.name)
    return Target(held[-1].meeting, args.words)


def _occurrence(
    ctx: Context, args: Args, meeting: Meeting, purpose: Literal["next", "last"]
) -> Occurrence:
    return service.find_occurrence(ctx, meeting, _day(ctx, args, meeting.timezone), purpose)


def _row(ctx: Context, args: Args, meeting: Meeting, purpose: Literal["next", "last"]) -> Meeting:
    """The row of the occurrence a command is about, created for an occurrence of a
    series that has none yet."""
    return service.materialise(ctx, _occurrence(ctx, args, meeting, purpose))


def _raw_tail(ctx: Context) -> str:
    """The text after the subcommand and the meeting's number, as typed (mentions and
    quotes kept), for minutes and decisions."""
    text = _RAW_OPTION.sub("", ctx.invocation.text.strip())
    _, _, rest = text.partition(" ")
    rest = rest.strip()
    first, _, tail = rest.partition(" ")
    return tail.strip() if parse_ref(first) is not None else rest


def _people(ctx: Context, args: Args) -> list[Person]:
    return [find_person(ctx, m.name, m.user_id) for m in args.mentions]


def _when(ctx: Context, text: str, tz: str, *, prefer: Literal["start", "end"]) -> tuple[When, str]:
    return find_when(text, now=ctx.now, lang=ctx.locale, tz=tz, mode="deadline", prefer=prefer)


def _end_option(ctx: Context, value: str, start: datetime, tz: str) -> datetime:
    """``fin:16h`` is that time on the meeting's day; ``fin:"jeudi 16h"`` a full date."""
    from zoneinfo import ZoneInfo

    midnight = datetime.combine(
        start.astimezone(ZoneInfo(tz)).date(), datetime.min.time(), ZoneInfo(tz)
    )
    when = parse_when(value, now=midnight, lang=ctx.locale, tz=tz, mode="any")
    if not when.has_time:
        raise UserError("meetings.bad_end", text=value)
    return when.start


# --------------------------------------------------------------------------- replies


def _reply(
    ctx: Context,
    name: str,
    tz: str,
    *,
    visibility: Visibility = Visibility.EPHEMERAL,
    changed: bool = False,
    undo: bool = False,
    buttons: list[Button] | None = None,
    **context: Any,
) -> Reply:
    all_buttons = list(buttons or [])
    if undo:
        all_buttons.append(Button(ctx.message("core.undo_button"), "undo", ctx.batch))
    return Reply(
        text=render(name, ctx.locale, tz, **context),
        visibility=visibility,
        buttons=all_buttons,
        changed=changed,
    )


def rsvp_buttons(ctx: Context, meeting: Meeting) -> list[Button]:
    return [
        Button(ctx.message(f"meetings.button_{r}"), "meeting.rsvp", f"{pk(meeting)}:{r}", style)
        for r, style in (("yes", "primary"), ("no", None), ("maybe", None))
    ]


def ics(ctx: Context, meeting: Meeting, *, cancel: bool = False) -> File:
    content = calendars.meeting_file(ctx.session, meeting, locale=ctx.locale, cancel=cancel)
    title = ctx.message(
        "meetings.ics_cancel_title" if cancel else "meetings.ics_title", title=meeting.title
    )
    return File(calendars.file_name(meeting), content, title, "text/calendar")


def _notice(ctx: Context, meeting: Meeting, what: str) -> Callable[[Person], Reply]:
    """Builds the direct message about ``meeting`` for one person, in their language."""
    experiment = service.experiment_of(ctx.session, meeting)

    def build(person: Person) -> Reply:
        locale = person.locale or (experiment.locale if experiment else ctx.workspace.locale)
        buttons = []
        if what != "cancelled":
            buttons = [
                Button(
                    message(f"meetings.button_{r}", locale), "meeting.rsvp", f"{pk(meeting)}:{r}"
                )
                for r in ("yes", "no", "maybe")
            ]
        return Reply(
            text=render(
                "meeting/notice",
                locale,
                meeting.timezone,
                what=what,
                m=meeting,
                rule=rule_parts(meeting.rrule),
                experiment=experiment,
                by=ctx.person,
            ),
            visibility=Visibility.EPHEMERAL,
            buttons=buttons,
        )

    return build


def _experiment_or_none(ctx: Context, meeting: Meeting) -> Experiment | None:
    return service.experiment_of(ctx.session, meeting)


# --------------------------------------------------------------------------- scheduling


def schedule(ctx: Context, args: Args) -> Reply:
    if not args.words:
        return usage(ctx, args)
    kind_text = args.option("kind")
    kind = parse_kind(kind_text) if kind_text else "copil"
    if kind == service.LAB_KIND:
        if args.option("experiment"):
            raise UserError("meetings.lab_has_no_experiment")
        experiment = None
        ctx.require_lab_coordinator()
        tz = ctx.tz()
    else:
        experiment = ctx.experiment(args)
        ctx.require(experiment, Role.COORDINATOR, Role.MEMBER)
        tz = experiment.timezone
    text = " ".join(args.words)
    try:
        when, rest = _when(ctx, text, tz, prefer="start")
    except UserError as error:
        if error.key != "dates.missing":
            raise
        # No date anywhere: a word /copil does not know, not a milestone's missing date.
        raise UserError("meetings.unknown_word", word=args.words[0]) from None
    plan = _plan(ctx, args, when, text, tz, kind, experiment)
    plan.title = args.option("title") or rest.strip(" ,;-") or _default_title(ctx, kind, experiment)
    plan.invitees = _people(ctx, args)
    meeting = service.schedule(ctx, experiment, plan)
    return _scheduled_reply(ctx, meeting, experiment, invited=plan.invitees)


def _default_title(ctx: Context, kind: str, experiment: Experiment | None) -> str:
    # Stored as the meeting's title: plain text, as if typed.
    return plain_message(
        "meetings.default_title",
        ctx.locale,
        kind=ctx.message(f"meetings.kind_{kind.replace('-', '_')}"),
        experiment=experiment.name if experiment else "",
    )


def _plan(
    ctx: Context,
    args: Args,
    when: When,
    text: str,
    tz: str,
    kind: str,
    experiment: Experiment | None,
) -> Plan:
    if not when.has_time:
        raise UserError("meetings.missing_time", text=text)
    start = when.start
    end = _end(ctx, args, when, tz, service.DEFAULT_DURATIONS[kind])
    service.check_times(ctx, start, end, text)
    video = args.option("video")
    return Plan(
        kind=kind,
        title="",
        start=start,
        end=end,
        timezone=tz,
        place=args.option("place") or "",
        video_url=service.check_video(video) if video else "",
        rrule=when.rrule,
    )


def _end(ctx: Context, args: Args, when: When, tz: str, default: timedelta) -> datetime:
    duration = args.option("duration")
    end_text = args.option("end")
    if duration and end_text:
        raise UserError("meetings.duration_and_end")
    if duration:
        length = parse_duration(duration)
        if length > service.MAX_DURATION:
            raise UserError("meetings.too_long", hours=service.hours_of(length), text=duration)
        return when.start + length
    if end_text:
        return _end_option(ctx, end_text, when.start, tz)
    return when.end or when.start + default


def _scheduled_reply(
    ctx: Context, meeting: Meeting, experiment: Experiment | None, *, invited: list[Person]
) -> Reply:
    warnings = service.warnings_for(ctx, meeting)
    if invited:
        service.notify_invitees(
            ctx, meeting, kind="invite", reply_for=_notice(ctx, meeting, "invite"), people=invited
        )
    nexts = (
        service.series_occurrences(ctx.session, meeting, ctx.now, ctx.now + timedelta(days=400))[:3]
        if meeting.rrule
        else []
    )
    reply = _reply(
        ctx,
        "meeting/scheduled",
        meeting.timezone,
        visibility=Visibility.CHANNEL,
        changed=True,
        undo=True,
        buttons=rsvp_buttons(ctx, meeting),
        m=meeting,
        experiment=experiment,
        rule=rule_parts(meeting.rrule),
        nexts=nexts,
        invited=invited,
        warnings=warnings,
    )
    reply.files.append(ics(ctx, meeting))
    return reply


def usage(ctx: Context, args: Args) -> Reply:
    """``/copil`` alone: a form to schedule a meeting (the console prints the help)."""
    kinds = tuple((k, ctx.message(f"meetings.kind_{k.replace('-', '_')}")) for k in service.KINDS)
    form = Form(
        callback="meeting.schedule",
        title=ctx.message("meetings.form_title"),
        submit_label=ctx.message("meetings.form_submit"),
        fields=(
            FormField(
                "when",
                ctx.message("meetings.form_when"),
                placeholder=ctx.message("meetings.form_when_example"),
            ),
            FormField(
                "duration", ctx.message("meetings.form_duration"), required=False, placeholder="2h"
            ),
            FormField("place", ctx.message("meetings.form_place"), required=False),
            FormField(
                "video", ctx.message("meetings.form_video"), required=False, placeholder="https://"
            ),
            FormField(
                "kind",
                ctx.message("meetings.form_kind"),
                kind="select",
                required=False,
                initial="copil",
                options=kinds,
            ),
        ),
    )
    reply = ctx.reply("help/_meeting")
    reply.form = form
    return reply


def schedule_form(ctx: Context, values: dict[str, str]) -> Reply:
    """The scheduling form, submitted: the same path as the typed command."""
    args = Args(words=[values.get("when", "").strip()] if values.get("when", "").strip() else [])
    for name in ("duration", "place", "video", "kind", "title"):
        value = (values.get(name) or "").strip()
        if value:
            args.options[name] = value
    if not args.words:
        raise UserError("meetings.schedule_usage")
    return schedule(ctx, args)


# --------------------------------------------------------------------------- reading


def _scope(ctx: Context, args: Args) -> tuple[list[Experiment], bool, Experiment | None]:
    """The experiments a listing covers: the one named or bound to the channel; else every
    experiment of the person, with the lab's own meetings (for the lab's team)."""
    if args.option("experiment") or ctx.channel_binding is not None:
        experiment = ctx.experiment(args)
        return [experiment], False, experiment
    return ctx.visible_experiments(), not ctx.person.is_guest, None


def list_(ctx: Context, args: Args) -> Reply:
    experiments, lab, experiment = _scope(ctx, args)
    tz = experiment.timezone if experiment else ctx.tz()
    names = {pk(e): e.slug for e in experiments} if experiment is None else {}
    if args.words and fold(args.words[0]) in PAST_WORDS:
        held = service.past(ctx, experiments, lab=lab, limit=15)
        return _reply(ctx, "meeting/past", tz, meetings=held, experiment=experiment, names=names)
    now = ctx.now
    found = [
        o
        for o in service.upcoming(
            ctx,
            experiments,
            lab=lab,
            after=now - timedelta(hours=12),
            before=now + timedelta(days=92),
        )
        if o.end > now
    ][:25]
    return _reply(
        ctx,
        "meeting/list",
        tz,
        occurrences=found,
        experiment=experiment,
        names=names,
    )


def show(ctx: Context, args: Args) -> Reply:
    target = _meeting(ctx, args, "next")
    meeting = target.meeting
    day = _day(ctx, args, meeting.timezone)
    series: Meeting | None = None
    occurrence: Occurrence | None = None
    nexts: list[Occurrence] = []
    if meeting.rrule and day is None:
        nexts = service.series_occurrences(
            ctx.session, meeting, ctx.now - timedelta(hours=12), ctx.now + timedelta(days=400)
        )[:5]
        row = meeting
    else:
        occurrence = service.find_occurrence(ctx, meeting, day, "next")
        row = occurrence.meeting
        if row.series_id is not None:
            series = ctx.session.get(Meeting, row.series_id)
        elif row.rrule:
            series = row
    start = occurrence.start if occurrence else row.starts_at
    end = occurrence.end if occurrence else row.ends_at
    virtual = bool(occurrence and occurrence.virtual)
    invitees = service.invitations(ctx.session, row)
    reply = _reply(
        ctx,
        "meeting/show",
        row.timezone,
        m=row,
        start=start,
        end=end,
        virtual=virtual,
        day=occurrence.local_date() if occurrence and virtual else None,
        series=series,
        rule=rule_parts((series or row).rrule),
        nexts=nexts,
        experiment=_experiment_or_none(ctx, row),
        organiser=ctx.session.get(Person, row.organizer_id) if row.organizer_id else None,
        invitees=invitees,
        counts=service.count_by_response(invitees),
        agenda=[] if virtual else service.agenda(ctx.session, row),
        decisions=[] if virtual else service.decisions_of(ctx.session, row),
        actions=[] if virtual else service.actions_of(ctx.session, row),
        organise=service.may_organise(ctx, row),
        now=ctx.now,
    )
    if not virtual:
        reply.files.append(ics(ctx, row))
        if row.status == service.SCHEDULED and row.ends_at > ctx.now:
            reply.buttons = rsvp_buttons(ctx, row)
    return reply


# --------------------------------------------------------------------------- changes


def move(ctx: Context, args: Args) -> Reply:
    if not args.words or parse_ref(args.words[0]) is None:
        raise UserError("meetings.move_usage")
    target = _meeting(ctx, args, None)
    meeting = target.meeting
    day = _day(ctx, args, meeting.timezone)
    whole_series = bool(meeting.rrule) and day is None
    change = Change(
        place=args.option("place"),
        video_url=service.check_video(v) if (v := args.option("video")) else None,
        title=args.option("title"),
    )
    text = " ".join(target.words)
    if text:
        anchor = (
            meeting.starts_at if whole_series else _occurrence(ctx, args, meeting, "next").start
        )
        when, rest = moving.new_date(ctx, text, meeting.timezone, anchor)
        if rest and not set(fold(rest).split()) <= FILLER_WORDS:
            raise UserError("meetings.move_leftover", text=rest)
        if not when.has_time:
            when = _keep_time(when, meeting)
        if whole_series and not when.rrule:
            raise UserError("meetings.series_move", id=pk(meeting))
        if when.rrule and not whole_series and meeting.series_id is not None:
            raise UserError("meetings.occurrence_not_series", id=pk(meeting))
        if when.rrule and day is not None:
            raise UserError("meetings.occurrence_not_series", id=pk(meeting))
        length = meeting.ends_at - meeting.starts_at
        end = _end(ctx, args, when, meeting.timezone, length)
        service.check_times(ctx, when.start, end, text)
        change.start, change.end, change.rrule = when.start, end, when.rrule
    elif args.option("duration") or args.option("end"):
        occurrence_start = meeting.starts_at
        if not whole_series:
            occurrence_start = _occurrence(ctx, args, meeting, "next").start
        fake = When(start=occurrence_start, has_time=True)
        change.end = _end(ctx, args, fake, meeting.timezone, meeting.ends_at - meeting.starts_at)
        service.check_times(ctx, occurrence_start, change.end, args.option("duration") or "")
        if whole_series:
            change.start = meeting.starts_at
    elif all(v is None for v in (change.place, change.video_url, change.title)):
        raise UserError("meetings.move_usage")
    if whole_series:
        occurrence = Occurrence(meeting, meeting.starts_at, meeting.ends_at)
    else:
        occurrence = _occurrence(ctx, args, meeting, "next")
    before_start = occurrence.start
    row = service.move(ctx, occurrence, change)
    moved_by = moving.distance(before_start, row.starts_at, row.timezone)
    if moved_by.none:
        service.notify_invitees(ctx, row, kind="moved", reply_for=_notice(ctx, row, "moved"))
    else:
        # A new date: everyone invited is told, those who declined too, and answers
        # start again (the notice carries the buttons).
        told = service.reset_answers(ctx, row)
        service.notify_invitees(
            ctx, row, kind="moved", reply_for=_notice(ctx, row, "moved"), people=told
        )
    reply = _reply(
        ctx,
        "meeting/moved",
        row.timezone,
        visibility=Visibility.CHANNEL,
        changed=True,
        undo=True,
        m=row,
        before=before_start,
        rule=rule_parts(row.rrule),
        experiment=_experiment_or_none(ctx, row),
        warnings=service.warnings_for(ctx, row),
    )
    if not moved_by.none:
        reply.text += "\n" + ctx.message(
            "copil.moved_by", d=moved_by, rrule=bool(row.rrule), feminine=row.kind == "autre"
        )
        reply.buttons[:0] = rsvp_buttons(ctx, row)
    reply.files.append(ics(ctx, row))
    return reply


def _keep_time(when: When, meeting: Meeting) -> When:
    """``/copil deplacer 3 jeudi``: the new day, at the meeting's time of day."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(meeting.timezone)
    clock = meeting.starts_at.astimezone(tz).time()
    start = datetime.combine(when.start.astimezone(tz).date(), clock, tz)
    return When(start=start, has_time=True, end=None, rrule=when.rrule)


def cancel(ctx: Context, args: Args) -> Reply:
    if not args.words or parse_ref(args.words[0]) is None:
        raise UserError("meetings.cancel_usage")
    meeting = _meeting(ctx, args, None).meeting
    day = _day(ctx, args, meeting.timezone)
    if meeting.rrule and day is None:
        occurrence = Occurrence(meeting, meeting.starts_at, meeting.ends_at)
    else:
        occurrence = service.find_occurrence(ctx, meeting, day, "next")
    row = service.cancel(ctx, occurrence)
    service.notify_invitees(ctx, row, kind="cancelled", reply_for=_notice(ctx, row, "cancelled"))
    reply = _reply(
        ctx,
        "meeting/cancelled",
        row.timezone,
        visibility=Visibility.CHANNEL,
        changed=True,
        undo=True,
        m=row,
        start=occurrence.start,
        whole_series=bool(row.rrule),
        rule=rule_parts(row.rrule),
        experiment=_experiment_or_none(ctx, row),
    )
    reply.files.append(ics(ctx, row, cancel=True))
    return reply


def agenda(ctx: Context, args: Args) -> Reply:
    """``odj [n] [ajouter "…" | monter k | descendre k | retirer k]``; alone, shows it."""
    target = _meeting(ctx, args, "next")
    rest = target.words
    verb = AGENDA_VERBS.get(fold(rest[0])) if rest else None
    if rest and verb is None:
        raise UserError("meetings.agenda_usage", id=pk(target.meeting))
    row = target.meeting
    if verb is None:
        occurrence = _occurrence(ctx, args, row, "next")
        row = occurrence.meeting
        items = [] if occurrence.virtual else service.agenda(ctx.session, row)
        return _agenda_reply(ctx, row, occurrence.start, items, changed=False)
    # Marking an item dealt with is about the sitting held (the next one, if none yet).
    purpose: Literal["next", "last"] = "next"
    if verb == "dealt" and not args.option("occurrence") and row.rrule:
        begun = service.series_occurrences(
            ctx.session, row, ctx.now - service.SERIES_HORIZON, ctx.now
        )
        purpose = "last" if begun else "next"
    occurrence = _occurrence(ctx, args, row, purpose)
    if verb == "add":
        title = " ".join(rest[1:]).strip()
        if not title:
            raise UserError("meetings.agenda_usage", id=pk(row))
        if (
            occurrence.virtual
            and service.role_for(ctx, row) is None
            and not service.is_invited(ctx.session, row, ctx.person_id)
        ):
            raise UserError("meetings.agenda_forbidden")
        row = service.materialise(ctx, occurrence)
        service.add_agenda_item(ctx, row, title)
    else:
        if len(rest) < 2 or not rest[1].isascii() or not rest[1].isdigit():
            raise UserError("meetings.agenda_usage", id=pk(row))
        if occurrence.virtual:
            raise NotFound("meetings.no_agenda_item", number=int(rest[1]), count=0, id=pk(row))
        row = occurrence.meeting
        number = as_id(int(rest[1]), rest[1])
        if verb == "remove":
            service.remove_agenda_item(ctx, row, number)
        elif verb == "dealt":
            minutes_service.mark_dealt(ctx, row, number)
        else:
            service.shift_agenda_item(ctx, row, number, -1 if verb == "up" else 1)
    return _agenda_reply(ctx, row, occurrence.start, service.agenda(ctx.session, row), changed=True)


def _agenda_reply(
    ctx: Context, row: Meeting, start: datetime, items: list[Any], *, changed: bool
) -> Reply:
    authors = {
        i.author_id: ctx.session.get(Person, i.author_id) for i in items if i.author_id is not None
    }
    return _reply(
        ctx,
        "meeting/agenda",
        row.timezone,
        visibility=Visibility.CHANNEL if changed else Visibility.EPHEMERAL,
        changed=changed,
        undo=changed,
        m=row,
        start=start,
        items=items,
        authors=authors,
    )


def invite(ctx: Context, args: Args) -> Reply:
    target = _meeting(ctx, args, "next")
    meeting = target.meeting
    service.require_organiser(ctx, meeting)
    people = _people(ctx, args)
    if any(fold(w) in TEAM_WORDS for w in target.words):
        experiment = _experiment_or_none(ctx, meeting)
        if experiment is None:
            raise UserError("meetings.lab_has_no_team")
        people = list(
            {pk(p): p for p in [*service.team_of(ctx.session, experiment), *people]}.values()
        )
    if not people:
        raise UserError("meetings.invite_usage", id=pk(meeting))
    row = _row(ctx, args, meeting, "next") if args.option("occurrence") else meeting
    added = service.invite(ctx, row, people)
    if not added:
        raise UserError("meetings.already_invited", handles=[p.handle for p in people])
    service.notify_invitees(
        ctx, row, kind="invite", reply_for=_notice(ctx, row, "invite"), people=added
    )
    reply = _reply(
        ctx,
        "meeting/invited",
        row.timezone,
        visibility=Visibility.CHANNEL,
        changed=True,
        undo=True,
        buttons=rsvp_buttons(ctx, row),
        m=row,
        added=added,
        already=[p for p in people if p not in added],
        rule=rule_parts(row.rrule),
    )
    reply.files.append(ics(ctx, row))
    return reply


def rsvp(ctx: Context, args: Args) -> Reply:
    target = _meeting(ctx, args, "next")
    if not target.words:
        raise UserError("meetings.rsvp_usage", id=pk(target.meeting))
    response = parse_response(target.words[0])
    row = _row(ctx, args, target.meeting, "next") if args.option("occurrence") else target.meeting
    return _answer(ctx, row, response)


def _answer(ctx: Context, row: Meeting, response: str) -> Reply:
    service.respond(ctx, row, response)
    invitees = service.invitations(ctx.session, row)
    return _reply(
        ctx,
        "meeting/rsvp",
        row.timezone,
        changed=True,
        undo=True,
        m=row,
        response=response,
        counts=service.count_by_response(invitees),
        invitees=invitees,
        organise=service.may_organise(ctx, row),
    )


def rsvp_action(ctx: Context, value: str) -> Reply:
    """The answer buttons: ``"<id>:yes"``, or ``"<id>:<YYYY-MM-DD>:yes"`` for one occurrence
    of a series."""
    parts = value.split(":")
    if (
        len(parts) not in (2, 3)
        or not parts[0].isascii()
        or not parts[0].isdigit()
        or parts[-1] not in service.RESPONSES
    ):
        raise UserError("core.unknown_action")
    meeting = service.load(ctx, as_id(int(parts[0]), parts[0]))
    row = meeting
    if len(parts) == 3:
        try:
            day = date.fromisoformat(parts[1])
        except ValueError:
            raise UserError("core.unknown_action") from None
        row = service.materialise(ctx, service.find_occurrence(ctx, meeting, day, "next"))
    return _answer(ctx, row, parts[-1])


# --------------------------------------------------------------------------- after


def minutes(ctx: Context, args: Args) -> Reply:
    target = _meeting(ctx, args, "last")
    service.require_organiser(ctx, target.meeting)
    row = _row(ctx, args, target.meeting, "last")
    text = _raw_tail(ctx)
    if not text:
        return summary_reply(ctx, row, visibility=Visibility.EPHEMERAL)
    service.add_minutes(ctx, row, text)
    return summary_reply(ctx, row, visibility=Visibility.CHANNEL, changed=True)


def decision(ctx: Context, args: Args) -> Reply:
    target = _meeting(ctx, args, "last")
    service.require_organiser(ctx, target.meeting)
    row = _row(ctx, args, target.meeting, "last")
    text = _raw_tail(ctx)
    if not text:
        raise UserError("meetings.decision_usage", id=pk(row))
    added = service.add_decision(ctx, row, text)
    return _reply(
        ctx,
        "meeting/decision_added",
        row.timezone,
        visibility=Visibility.CHANNEL,
        changed=True,
        undo=True,
        m=row,
        decision=added,
    )


def action(ctx: Context, args: Args) -> Reply:
    target = _meeting(ctx, args, "last")
    service.require_organiser(ctx, target.meeting)
    occurrence = _occurrence(ctx, args, target.meeting, "last")
    experiment = _experiment_or_none(ctx, occurrence.meeting)
    if experiment is None:
        if not args.option("experiment"):
            raise UserError("meetings.action_needs_experiment", id=pk(target.meeting))
        experiment = ctx.experiment(args)
    text = " ".join(target.words).strip()
    if not text:
        raise UserError("meetings.action_usage", id=pk(target.meeting))
    when, title = _when(ctx, text, experiment.timezone, prefer="end")
    owners = _people(ctx, args)
    # Checked first, written last: a refused action leaves no sitting row behind.
    row = service.materialise(ctx, occurrence)
    milestone, owners = service.add_action(
        ctx,
        row,
        experiment,
        title=title.strip(" ,;-"),
        due=when.start,
        has_time=when.has_time,
        owners=owners,
    )
    return _reply(
        ctx,
        "meeting/action_added",
        experiment.timezone,
        visibility=Visibility.CHANNEL,
        changed=True,
        undo=True,
        m=row,
        milestone=milestone,
        owners=owners,
        experiment=experiment,
    )


def summary(ctx: Context, args: Args) -> Reply:
    target = _meeting(ctx, args, "last")
    occurrence = _occurrence(ctx, args, target.meeting, "last")
    if occurrence.virtual:
        raise NotFound("meetings.no_minutes", id=pk(target.meeting))
    return summary_reply(ctx, occurrence.meeting, visibility=Visibility.CHANNEL)


def summary_reply(
    ctx: Context, row: Meeting, *, visibility: Visibility, changed: bool = False
) -> Reply:
    return _reply(
        ctx,
        "meeting/summary",
        row.timezone,
        visibility=visibility,
        changed=changed,
        undo=changed,
        m=row,
        experiment=_experiment_or_none(ctx, row),
        decisions=service.decisions_of(ctx.session, row),
        actions=service.actions_of(ctx.session, row),
        invitees=service.invitations(ctx.session, row),
        roll=minutes_service.roll(ctx.session, row),
    )


def decisions(ctx: Context, args: Args) -> Reply:
    experiments, lab, experiment = _scope(ctx, args)
    rows = service.decisions(ctx, experiments, lab=lab)
    tz = experiment.timezone if experiment else ctx.tz()
    names = {pk(e): e.slug for e in experiments} if experiment is None else {}
    return _reply(ctx, "meeting/decisions", tz, rows=rows, experiment=experiment, names=names)


def calendar(ctx: Context, args: Args, *, public_url: str) -> Reply:
    experiment = ctx.experiment(args)
    rotate = bool(args.words) and fold(args.words[0]) in ROTATE_WORDS
    if args.words and not rotate:
        raise UserError("meetings.calendar_usage")
    token = service.calendar_address(ctx, experiment, rotate=rotate)
    url = f"{public_url.rstrip('/')}/calendar/{token}.ics"
    return _reply(
        ctx,
        "meeting/calendar",
        experiment.timezone,
        changed=rotate,
        undo=rotate,
        experiment=experiment,
        url=url,
        rotated=rotate,
        count=service.meeting_count(ctx.session, experiment),
    )


def help_(ctx: Context, args: Args) -> Reply:
    return ctx.reply("help/_meeting")


def undo(ctx: Context, args: Args) -> Reply:
    experiment_id = None
    if args.option("experiment") or ctx.channel_binding is not None:
        experiment_id = ctx.experiment(args).id
    return undo_batch(
        ctx, audit.last_batch(ctx.session, ctx.workspace_id, ctx.person_id, experiment_id)
    )


def register(
    router: Router,
    *,
    public_url: str = DEFAULT_PUBLIC_URL,
    extra: tuple[Subcommand, ...] = (),
) -> None:
    """``extra``: subcommands of other modules, found before the family's own words."""

    def calendar_(ctx: Context, args: Args) -> Reply:
        return calendar(ctx, args, public_url=public_url)

    router.add_action("meeting.rsvp", rsvp_action)
    router.add_form("meeting.schedule", schedule_form)
    occurrence = OCCURRENCE_OPTIONS
    router.add(
        Family(
            name="meeting",
            words={"copil": "fr", "meeting": "en"},
            subcommands=(
                *extra,
                Subcommand("help", words(["aide"], ["help"], ["?"]), help_),
                Subcommand(
                    "schedule", words(["planifier"], ["schedule"]), schedule, SCHEDULE_OPTIONS
                ),
                Subcommand("list", words(["liste"], ["list"]), list_),
                Subcommand("show", words(["voir"], ["show"]), show, occurrence),
                Subcommand(
                    "move",
                    words(["deplacer", "déplacer", "modifier"], ["move", "edit", "reschedule"]),
                    move,
                    MOVE_OPTIONS,
                ),
                Subcommand(
                    "cancel", words(["decommander", "décommander"], ["cancel"]), cancel, occurrence
                ),
                Subcommand(
                    "agenda", words(["odj", "ordre-du-jour"], ["agenda"]), agenda, occurrence
                ),
                Subcommand("invite", words(["inviter"], ["invite"]), invite, occurrence),
                Subcommand(
                    "rsvp",
                    words(["reponse", "réponse", "repondre", "répondre"], ["rsvp", "answer"]),
                    rsvp,
                    occurrence,
                ),
                Subcommand(
                    "minutes", words(["compte-rendu", "cr"], ["minutes"]), minutes, occurrence
                ),
                Subcommand(
                    "decision", words([], [], ["decision", "décision"]), decision, occurrence
                ),
                Subcommand("action", words([], [], ["action"]), action, occurrence),
                Subcommand("decisions", words([], [], ["decisions", "décisions"]), decisions),
                Subcommand(
                    "summary",
                    words(["resume", "résumé", "bilan"], ["summary"]),
                    summary,
                    occurrence,
                ),
                Subcommand("calendar", words(["calendrier"], ["calendar"]), calendar_),
                Subcommand("undo", words(["annuler"], ["undo"]), undo),
            ),
            default=Subcommand("schedule", {}, schedule, SCHEDULE_OPTIONS),
            empty=Subcommand("usage", {}, usage),
        )
    )
