"""Who was there, and the minutes as a document an elected official can read, sign and
file: a DOCX (python-docx, editable in Writer and Word) or a PDF (fpdf2, pure Python,
with the DejaVu font matplotlib ships, so accents and dashes print).

Attendance is recorded apart from the answers (``Attendance`` rows): who said yes did not
always come. Until it is recorded, the roll is what the answers expect: the organiser and
whoever said yes, shown as expected, not as present.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import exists
from sqlmodel import Session, col, select

from commands.core import Context
from commands.errors import UserError
from commands.render import plain_message as message
from commands.services import audit
from commands.services import meetings as service
from commands.services.audit import snapshot
from commands.services.meetings import require_organiser
from models import AgendaItem, Attendance, Experiment, Meeting, Person, Workspace, pk

AGENDA = AgendaItem.__table__.alias("copy")  # type: ignore[attr-defined]
PRESENT = "present"
EXCUSED = "excused"
ABSENT = "absent"
STATUSES = (PRESENT, EXCUSED, ABSENT)


# --------------------------------------------------------------------------- attendance


@dataclass
class Roll:
    """Who was there. ``recorded`` is False when nobody took the roll: ``present`` is
    then who was expected (the organiser, and whoever said yes)."""

    recorded: bool
    present: list[Person] = field(default_factory=list)
    excused: list[Person] = field(default_factory=list)
    absent: list[Person] = field(default_factory=list)


def record_attendance(
    ctx: Context, meeting: Meeting, marks: Sequence[tuple[Person, str]]
) -> list[tuple[Person, str]]:
    """Mark each person present, excused or absent (a later mark replaces an earlier one);
    returns the marks that changed something."""
    service.require_organiser(ctx, meeting)
    service.require_held(ctx, meeting)
    if not marks:
        raise UserError("copil.attendance_usage", id=pk(meeting))
    changed: list[tuple[Person, str]] = []
    seen: set[int] = set()
    for person, status in marks:
        if pk(person) in seen:
            raise UserError("copil.attendance_twice", handle=person.handle)
        seen.add(pk(person))
        row = ctx.session.exec(
            select(Attendance).where(
                Attendance.meeting_id == meeting.id, Attendance.person_id == person.id
            )
        ).first()
        if row is None:
            row = Attendance(
                meeting_id=pk(meeting), person_id=pk(person), status=status, created_at=ctx.now
            )
            ctx.record("create", row, experiment_id=meeting.experiment_id)
            changed.append((person, status))
            continue
        if row.status == status and row.removed_at is None:
            continue
        before = snapshot(row)
        row.status = status
        row.removed_at = None
        ctx.record("update", row, before, experiment_id=meeting.experiment_id)
        changed.append((person, status))
    if not changed:
        raise UserError("copil.attendance_unchanged", id=pk(meeting))
    return changed


def roll(session: Session, meeting: Meeting) -> Roll:
    rows = session.exec(
        select(Attendance, Person)
        .join(Person, col(Person.id) == Attendance.person_id)
        .where(Attendance.meeting_id == meeting.id, col(Attendance.removed_at).is_(None))
        .order_by(col(Person.handle))
    ).all()
    if rows:
        result = Roll(recorded=True)
        for attendance, person in rows:
            getattr(result, attendance.status).append(person)
        return result
    expected: dict[int, Person] = {}
    if meeting.organizer_id is not None:
        organiser = session.get(Person, meeting.organizer_id)
        if organiser is not None:
            expected[pk(organiser)] = organiser
    for invitation, person in service.invitations(session, meeting):
        if invitation.response == "yes":
            expected[pk(person)] = person
    return Roll(recorded=False, present=sorted(expected.values(), key=lambda p: p.handle))


# --------------------------------------------------------------------------- the document


@dataclass(frozen=True)
class ActionLine:
    title: str
    owners: str
    due: date
    done: bool


@dataclass(frozen=True)
class MinutesDoc:
    """What the document says, in words already chosen for its language."""

    locale: str
    lab: str
    experiment: str
    title: str
    number: int
    when: str
    place: str
    roll: Roll
    agenda: list[str]
    minutes: str
    decisions: list[tuple[int, str]]
    actions: list[ActionLine]
    made: str

    def label(self, key: str, **params: Any) -> str:
        return message(f"copil.doc_{key}", self.locale, **params)

    def names(self, people: Sequence[Person]) -> str:
        return ", ".join(p.display_name or p.handle for p in people) or "—"


def gather_document(ctx: Context, meeting: Meeting, locale: str) -> MinutesDoc:
    experiment: Experiment | None = service.experiment_of(ctx.session, meeting)
    workspace = ctx.session.get(Workspace, meeting.workspace_id)
    tz = ZoneInfo(meeting.timezone)
    start = meeting.starts_at.astimezone(tz)
    end = meeting.ends_at.astimezone(tz)
    actions = [
        ActionLine(
            milestone.title,
            ", ".join(p.display_name or p.handle for p in owners) or "—",
            milestone.due_on,
            milestone.status == "done",
        )
        for milestone, owners in service.actions_of(ctx.session, meeting)
    ]
    return MinutesDoc(
        locale=locale,
        lab=workspace.name if workspace else "",
        experiment=experiment.name if experiment else "",
        title=meeting.title,
        number=pk(meeting),
        when=message("copil.doc_when", locale, start=start, end=end),
        place=meeting.place,
        roll=roll(ctx.session, meeting),
        agenda=[item.title for item in service.agenda(ctx.session, meeting)],
        minutes=meeting.minutes,
        decisions=[(pk(d), d.text) for d in service.decisions_of(ctx.session, meeting)],
        actions=actions,
        made=message("copil.doc_made", locale, now=ctx.now.astimezone(tz)),
    )


def _day(doc: MinutesDoc, day: date) -> str:
    return message("copil.doc_day", doc.locale, day=day)


def _sections(doc: MinutesDoc) -> list[tuple[str, list[str]]]:
    """The document's sections as (heading, paragraphs), shared by DOCX and PDF."""
    roll_lines = [
        f"{doc.label('present' if doc.roll.recorded else 'expected')} : "
        if doc.locale == "fr"
        else f"{doc.label('present' if doc.roll.recorded else 'expected')}: "
    ]
    roll_lines[0] += doc.names(doc.roll.present)
    if doc.roll.recorded:
        roll_lines.append(_pair(doc, "excused", doc.names(doc.roll.excused)))
        if doc.roll.absent:
            roll_lines.append(_pair(doc, "absent", doc.names(doc.roll.absent)))
    sections = [(doc.label("attendance"), roll_lines)]
    sections.append(
        (
            doc.label("agenda"),
            [f"{n}. {t}" for n, t in enumerate(doc.agenda, 1)] or [doc.label("none")],
        )
    )
    sections.append((doc.label("minutes"), doc.minutes.splitlines() or [doc.label("none")]))
    sections.append(
        (
            doc.label("decisions"),
            [doc.label("decision", number=n, text=t) for n, t in doc.decisions]
            or [doc.label("none")],
        )
    )
    return sections


def _pair(doc: MinutesDoc, key: str, value: str) -> str:
    return f"{doc.label(key)} : {value}" if doc.locale == "fr" else f"{doc.label(key)}: {value}"


def _action_rows(doc: MinutesDoc) -> list[list[str]]:
    return [
        [
            a.title + (" ✓" if a.done else ""),
            a.owners,
            _day(doc, a.due),
        ]
        for a in doc.actions
    ]


def docx_bytes(doc: MinutesDoc) -> bytes:
    import docx  # imported when a document is asked for: it weighs on start-up

    document = docx.Document()
    document.core_properties.title = doc.title
    document.core_properties.language = doc.locale
    header = document.sections[0].header.paragraphs[0]
    header.text = " · ".join(x for x in (doc.lab, doc.experiment) if x)
    document.add_heading(doc.label("heading", title=doc.title, number=doc.number), level=1)
    document.add_paragraph(doc.when)
    if doc.place:
        document.add_paragraph(_pair(doc, "place", doc.place))
    for heading, lines in _sections(doc):
        document.add_heading(heading, level=2)
        for line in lines:
            document.add_paragraph(line)
    document.add_heading(doc.label("actions"), level=2)
    rows = _action_rows(doc)
    if rows:
        table = document.add_table(rows=1, cols=3)
        table.style = "Table Grid"
        for cell, key in zip(table.rows[0].cells, ("action", "owners", "due"), strict=True):
            cell.text = doc.label(key)
        for row in rows:
            cells = table.add_row().cells
            for cell, value in zip(cells, row, strict=True):
                cell.text = value
    else:
        document.add_paragraph(doc.label("none"))
    document.add_heading(doc.label("signatures"), level=2)
    table = document.add_table(rows=2, cols=2)
    table.style = "Table Grid"
    table.rows[0].cells[0].text = doc.label("chair")
    table.rows[0].cells[1].text = doc.label("secretary")
    table.rows[1].cells[0].text = "\n\n\n"
    table.rows[1].cells[1].text = "\n\n\n"
    document.add_paragraph(doc.made)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


@cache
def _font_dir() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def pdf_bytes(doc: MinutesDoc) -> bytes:
    from fpdf import FPDF  # imported when a document is asked for

    pdf = FPDF(format="A4")
    pdf.set_title(doc.title)
    pdf.set_lang(doc.locale)
    pdf.add_font("DejaVu", "", str(_font_dir() / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(_font_dir() / "DejaVuSans-Bold.ttf"))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def text(value: str, size: int = 11, style: str = "", gap: float = 1.5) -> None:
        pdf.set_font("DejaVu", style, size)
        pdf.multi_cell(width, 6, value, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(gap)

    text(" · ".join(x for x in (doc.lab, doc.experiment) if x), size=9)
    text(doc.label("heading", title=doc.title, number=doc.number), size=16, style="B")
    text(doc.when)
    if doc.place:
        text(_pair(doc, "place", doc.place))
    for heading, lines in _sections(doc):
        pdf.ln(2)
        text(heading, size=13, style="B")
        for line in lines:
            text(line, gap=0.5)
    pdf.ln(2)
    text(doc.label("actions"), size=13, style="B")
    rows = _action_rows(doc)
    if rows:
        pdf.set_font("DejaVu", "", 10)
        with pdf.table(col_widths=(3, 2, 1.4)) as table:
            table.row([doc.label("action"), doc.label("owners"), doc.label("due")])
            for row in rows:
                table.row(row)
        pdf.ln(2)
    else:
        text(doc.label("none"))
    pdf.ln(2)
    text(doc.label("signatures"), size=13, style="B")
    pdf.set_font("DejaVu", "", 10)
    with pdf.table(col_widths=(1, 1), line_height=8) as table:
        table.row([doc.label("chair"), doc.label("secretary")])
        table.row(["\n\n\n", "\n\n\n"])
    pdf.ln(2)
    text(doc.made, size=9)
    return bytes(pdf.output())


def file_name(doc: MinutesDoc, day: datetime, fmt: str) -> str:
    return f"{message('copil.doc_file', doc.locale)}-{day.date().isoformat()}-{doc.number}.{fmt}"


# --------------------------------------------------------------------------- carry-over


def carry_over(
    ctx: Context, sitting: Meeting, next_sitting: Meeting, numbers: Sequence[int]
) -> list[AgendaItem]:
    """Carry agenda items of ``sitting`` not dealt with to ``next_sitting`` of the same
    series: the numbered ones, or every one not carried yet. Returns the new items."""
    require_organiser(ctx, sitting)
    items = service.agenda(ctx.session, sitting)
    if numbers:
        for number in numbers:
            if not 1 <= number <= len(items):
                raise UserError(
                    "meetings.no_agenda_item", number=number, count=len(items), id=pk(sitting)
                )
        chosen = [items[n - 1] for n in dict.fromkeys(numbers)]
    else:
        chosen = items
    carried = set(
        ctx.session.exec(
            select(AgendaItem.carried_from_id).where(
                col(AgendaItem.carried_from_id).in_([pk(i) for i in chosen]),
                col(AgendaItem.deleted_at).is_(None),
            )
        ).all()
    )
    chosen = [i for i in chosen if pk(i) not in carried]
    if not chosen:
        raise UserError("copil.carry_nothing", id=sitting.series_id or pk(sitting))
    existing = service.agenda(ctx.session, next_sitting)
    position = (existing[-1].position + 1) if existing else 0
    added: list[AgendaItem] = []
    for offset, item in enumerate(chosen):
        copy = AgendaItem(
            meeting_id=pk(next_sitting),
            position=position + offset,
            title=item.title,
            author_id=item.author_id,
            created_at=ctx.now,
            carried_from_id=pk(item),
        )
        ctx.record("create", copy, experiment_id=next_sitting.experiment_id)
        added.append(copy)
    return added


def mark_dealt(ctx: Context, meeting: Meeting, number: int) -> AgendaItem:
    """Item ``number`` was dealt with at its sitting: it is not carried over (a copy
    already carried to a sitting not held yet is withdrawn)."""
    require_organiser(ctx, meeting)
    item = service.agenda_item(ctx, meeting, number)
    if item.dealt_at is not None:
        raise UserError("copil.dealt_already", number=number, id=pk(meeting))
    before = snapshot(item)
    item.dealt_at = ctx.now
    ctx.record("update", item, before, experiment_id=meeting.experiment_id)
    copies = ctx.session.exec(
        select(AgendaItem, Meeting)
        .join(Meeting, col(Meeting.id) == AgendaItem.meeting_id)
        .where(
            AgendaItem.carried_from_id == item.id,
            col(AgendaItem.deleted_at).is_(None),
            Meeting.starts_at > ctx.now,
        )
    ).all()
    for copy, sitting in copies:
        copy_before = snapshot(copy)
        copy.deleted_at = ctx.now
        ctx.record("delete", copy, copy_before, experiment_id=sitting.experiment_id)
    return item


# How far back the scan looks for sittings held whose items were not carried.
CARRY_WINDOW = timedelta(days=30)


def carry_over_automatically(session: Session, now: datetime) -> int:
    """Items of a sitting of a series, once it has ended, not dealt with, go to the next
    sitting: once each (an item with any copy, even one withdrawn since, stays). An item
    marked dealt with later takes its copy back (``mark_dealt``).
    Recorded in the audit log as the sitting's organiser's, one batch per sitting, so
    undo takes them back. Returns how many items were carried."""
    rows = session.exec(
        select(AgendaItem, Meeting)
        .join(Meeting, col(Meeting.id) == AgendaItem.meeting_id)
        .where(
            col(Meeting.series_id).is_not(None),
            col(Meeting.deleted_at).is_(None),
            Meeting.status == service.SCHEDULED,
            Meeting.ends_at <= now,
            Meeting.ends_at > now - CARRY_WINDOW,
            col(AgendaItem.deleted_at).is_(None),
            col(AgendaItem.dealt_at).is_(None),
            ~exists().where(AGENDA.c.carried_from_id == AgendaItem.id),
        )
        .order_by(col(Meeting.id), col(AgendaItem.position), col(AgendaItem.id))
    ).all()
    by_sitting: dict[int, tuple[Meeting, list[AgendaItem]]] = {}
    for item, sitting in rows:
        by_sitting.setdefault(pk(sitting), (sitting, []))[1].append(item)
    carried = 0
    for sitting, items in by_sitting.values():
        carried += _carry_sitting(session, sitting, items, now)
    return carried


def _carry_sitting(
    session: Session, sitting: Meeting, items: list[AgendaItem], now: datetime
) -> int:
    series = session.get(Meeting, sitting.series_id)
    if series is None or series.deleted_at is not None or series.status != service.SCHEDULED:
        return 0
    upcoming = [
        o
        for o in service.series_occurrences(session, series, now, now + service.SERIES_HORIZON)
        if not o.cancelled and o.start > sitting.starts_at
    ]
    if not upcoming:
        return 0
    batch = uuid.uuid4().hex
    actor = sitting.organizer_id

    def record(row: Any, before: dict[str, Any] | None = None) -> None:
        audit.record(
            session,
            workspace_id=sitting.workspace_id,
            actor_id=actor,
            action="create",
            row=row,
            before=before,
            now=now,
            batch=batch,
            experiment_id=sitting.experiment_id,
            command="(carry-over)",
        )

    following = upcoming[0].meeting
    if upcoming[0].virtual:
        following = service.occurrence_row(upcoming[0], now)
        record(following)
    existing = service.agenda(session, following)
    position = (existing[-1].position + 1) if existing else 0
    for offset, item in enumerate(items):
        record(
            AgendaItem(
                meeting_id=pk(following),
                position=position + offset,
                title=item.title,
                author_id=item.author_id,
                created_at=now,
                carried_from_id=pk(item),
            )
        )
    return len(items)
