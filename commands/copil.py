"""The ends of a COPIL's cycle, as subcommands of ``/copil`` (``/meeting``): who was there
(``presents``/``attendance``), the minutes as a document (``compte-rendu 3 docx|pdf``)
and the agenda carried over to the next sitting of a series (``reporter 4 [2 3]``).

They are wired into the meeting family by ``commands.registry`` (``subcommands()``), ahead
of the family's own words, so ``compte-rendu`` with a format makes the document and without
one keeps adding to the minutes.
"""

from __future__ import annotations

import re

from commands import meetings
from commands.args import Args, Mention, fold, mention_from_text, tokenize
from commands.core import Context, Subcommand, find_person, words
from commands.errors import UserError
from commands.render import render
from commands.reply import Button, File, Reply, Visibility
from commands.services import minutes as service
from commands.services.meetings import materialise, require_held, require_organiser
from models import Person, pk

FORMATS = {"docx": "docx", "word": "docx", "pdf": "pdf"}
MIME = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
}
# ``excuses:@sophie``, ``excused: @sophie @lucas``, ``absents:@x``
STATUS_WORDS = {
    "presents": service.PRESENT,
    "present": service.PRESENT,
    "excuses": service.EXCUSED,
    "excuse": service.EXCUSED,
    "excused": service.EXCUSED,
    "absents": service.ABSENT,
    "absent": service.ABSENT,
}
_STATUS = re.compile(r"([^\W\d_]+):(.*)", re.DOTALL)


def _marks(ctx: Context, text: str) -> list[tuple[Person, str]]:
    """People and what they were, in the order typed: mentions are present until a word
    ``excuses:`` (``excused:``) or ``absents:`` changes what follows."""
    status = service.PRESENT
    marks: list[tuple[Person, str]] = []
    for token, quoted in tokenize(text):
        rest = token
        if not quoted and (m := _STATUS.fullmatch(token)):
            word = fold(m.group(1))
            if word not in STATUS_WORDS:
                raise UserError("copil.attendance_word", word=m.group(1))
            status = STATUS_WORDS[word]
            rest = m.group(2)
            if not rest:
                continue
        mention = mention_from_text(rest.rstrip(",;"))
        if mention is None:
            raise UserError("copil.attendance_word", word=rest)
        marks.append((_person(ctx, mention), status))
    return marks


def _person(ctx: Context, mention: Mention) -> Person:
    return find_person(ctx, mention.name, mention.user_id)


# --------------------------------------------------------------------------- attendance


def attendance(ctx: Context, args: Args) -> Reply:
    """``presents [n] @marie @karim excuses:@sophie``: who was at the last sitting held."""
    target = meetings._meeting(ctx, args, "last")
    require_organiser(ctx, target.meeting)
    occurrence = meetings._occurrence(ctx, args, target.meeting, "last")
    marks = _marks(ctx, meetings._raw_tail(ctx))
    if not marks:
        raise UserError("copil.attendance_usage", id=pk(target.meeting))
    row = materialise(ctx, occurrence)
    changed = service.record_attendance(ctx, row, marks)
    return Reply(
        text=render(
            "meeting/attendance",
            ctx.locale,
            row.timezone,
            m=row,
            roll=service.roll(ctx.session, row),
            changed=changed,
        ),
        visibility=Visibility.CHANNEL,
        changed=True,
        buttons=[Button(ctx.message("core.undo_button"), "undo", ctx.batch)],
    )


# --------------------------------------------------------------------------- the document


def minutes_or_document(ctx: Context, args: Args) -> Reply:
    """``compte-rendu [n] docx|pdf`` makes the document; any other text is minutes."""
    target = meetings._meeting(ctx, args, "last")
    if len(target.words) != 1 or fold(target.words[0]) not in FORMATS:
        return meetings.minutes(ctx, args)
    fmt = FORMATS[fold(target.words[0])]
    occurrence = meetings._occurrence(ctx, args, target.meeting, "last")
    if occurrence.virtual:
        raise UserError("meetings.no_minutes", id=pk(target.meeting))
    row = occurrence.meeting
    require_held(ctx, row)
    document = service.gather_document(ctx, row, ctx.locale)
    content = service.docx_bytes(document) if fmt == "docx" else service.pdf_bytes(document)
    name = service.file_name(document, row.starts_at, fmt)
    return Reply(
        text=ctx.message("copil.document_posted", title=row.title, id=pk(row), fmt=fmt.upper()),
        visibility=Visibility.CHANNEL,
        files=[
            File(
                name, content, document.label("heading", title=row.title, number=pk(row)), MIME[fmt]
            )
        ],
    )


# --------------------------------------------------------------------------- carry-over


def carry(ctx: Context, args: Args) -> Reply:
    """``reporter [n] [2 3]``: the agenda items of the last sitting held of series ``n``
    (the numbered ones, or all not carried yet) go to its next sitting."""
    target = meetings._meeting(ctx, args, "last")
    series = target.meeting
    if series.series_id is not None:
        series = meetings.service.load(ctx, series.series_id)
    if not series.rrule:
        raise UserError("copil.carry_needs_series", id=pk(target.meeting))
    numbers: list[int] = []
    for word in target.words:
        if not word.isdigit():
            raise UserError("copil.carry_usage", id=pk(series))
        numbers.append(int(word))
    held = meetings._occurrence(ctx, args, series, "last")
    if held.virtual:
        raise UserError("copil.carry_nothing", id=pk(series))
    upcoming = [
        o
        for o in meetings.service.series_occurrences(
            ctx.session, series, ctx.now, ctx.now + meetings.service.SERIES_HORIZON
        )
        if not o.cancelled and o.start > held.start
    ]
    if not upcoming:
        raise UserError("meetings.series_over", id=pk(series))
    sitting = held.meeting
    following = materialise(ctx, upcoming[0])
    added = service.carry_over(ctx, sitting, following, numbers)
    return Reply(
        text=render(
            "meeting/carried",
            ctx.locale,
            following.timezone,
            m=following,
            before=sitting,
            items=added,
        ),
        visibility=Visibility.CHANNEL,
        changed=True,
        buttons=[Button(ctx.message("core.undo_button"), "undo", ctx.batch)],
    )


def subcommands() -> tuple[Subcommand, ...]:
    """Put ahead of the meeting family's own (``compte-rendu`` is shared with its minutes)."""
    occurrence = meetings.OCCURRENCE_OPTIONS
    return (
        Subcommand(
            "attendance",
            words(["presents", "présents", "presence", "présence"], ["attendance", "present"]),
            attendance,
            occurrence,
        ),
        Subcommand(
            "carry",
            words(["reporter"], ["carry", "carry-over", "postpone"]),
            carry,
            occurrence,
        ),
        Subcommand(
            "minutes",
            words(["compte-rendu", "cr"], ["minutes"]),
            minutes_or_document,
            occurrence,
        ),
    )
