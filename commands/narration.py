"""The audit log told to people: one sentence per change, in the reader's language.

Who did it, what, to which thing by its name (never its row number), and what changed,
from → to, in the reader's units (euros, dates in words, yes/no). The history, the undo
replies and the settings replies all speak through here; the words are in
``commands/catalogs/narration.toml``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import inspect
from sqlmodel import Session, SQLModel

from commands.messages import raw_message
from commands.render import date_words, message, money
from commands.services.audit import ENTITIES, SOFT_DELETE, person_name
from models import (
    AuditEvent,
    BudgetLine,
    DatePoll,
    Expense,
    Experiment,
    Invitation,
    Meeting,
    Membership,
    Milestone,
    Person,
    PollAnswer,
    PollSlot,
)

# Columns never told: keys, links told through the thing's name, bookkeeping.
UNTOLD = frozenset(
    {
        "id",
        "workspace_id",
        "experiment_id",
        "person_id",
        "meeting_id",
        "milestone_id",
        "series_id",
        "author_id",
        "created_by_id",
        "organizer_id",
        "external_id",
        "channel_id",
        "channel_name",
        "slug",
        "key",
        "uid",
        "sequence",
        "created_at",
        "updated_at",
        "responded_at",
        "done_at",
        "recurrence_start",
        "original_due_on",
        "handle",
        "version",
        "chosen_slot_id",
        "closed_at",
        "answered_at",
        "slot_id",
        "poll_id",
        "carried_from_id",
        "display_name",
        "lab_role",
        "is_guest",
        *SOFT_DELETE,
    }
)
# Columns told by a phrase of their own rather than from → to.
PHRASED = {
    "calendar_token": "narration.calendar_renewed",
    "minutes": "narration.minutes_added",
    "acknowledged_at": "narration.acknowledged",
    "dealt_at": "narration.dealt",
}
ROLE_WORDS = {"coordinator", "member", "partner"}


class Narrator:
    """Tells events in one locale and timezone, looking up the names it needs once."""

    def __init__(self, session: Session, locale: str, tz: str = "Europe/Paris") -> None:
        self.session = session
        self.locale = locale
        self.tz = tz
        self._rows: dict[tuple[type[SQLModel], int], Any] = {}

    # -- the pieces ----------------------------------------------------------------------

    def m(self, key: str, **params: Any) -> str:
        return message(f"narration.{key}", self.locale, **params)

    def row(self, model: type[SQLModel], key: Any) -> Any:
        if key is None:
            return None
        if (model, key) not in self._rows:
            self._rows[model, key] = self.session.get(model, key)
        return self._rows[model, key]

    def handle(self, person_id: Any) -> str:
        person = self.row(Person, person_id)
        return person.handle if person else "?"

    def experiment_name(self, experiment_id: Any) -> str:
        experiment = self.row(Experiment, experiment_id)
        return experiment.name if experiment else "?"

    def quote(self, text: str) -> str:
        return self.m("quote", text=text)

    def meeting(self, meeting: Meeting | Mapping[str, Any] | None, prep: str = "") -> str:
        """``le COPIL du mardi 8 décembre 2026 à 14:00``, ``la réunion « Bilan » du …``."""
        if meeting is None:
            return "?"
        data = meeting if isinstance(meeting, Mapping) else _columns(meeting)
        starts = _value(Meeting, "starts_at", data.get("starts_at"))
        when = date_words(starts, self.locale, data.get("timezone") or self.tz)
        if data.get("title"):
            return self.m("meeting_titled", prep=prep, name=data["title"], when=when)
        kind = str(data.get("kind") or "autre").replace("-", "_")
        label = message(f"meetings.kind_{kind}", self.locale)
        if kind == "autre":
            return self.m("meeting_titled", prep=prep, name=label, when=when)
        return self.m("meeting_kind", prep=prep, kind=label, when=when)

    def value(self, model: type[SQLModel], field: str, raw: Any, currency: str = "EUR") -> str:
        """A column's value in the reader's units."""
        value = _value(model, field, raw)
        if field == "muted_until":
            return (
                self.m("until", when=date_words(value, self.locale, self.tz))
                if value
                else self.m("no")
            )
        if field == "daily_summary":
            return self.m("summary_daily" if value else "summary_now")
        if field == "locale" and not value:
            return self.m("locale_default")
        if value is None or value == "":
            return self.m("none")
        if isinstance(value, bool):
            return self.m("yes" if value else "no")
        if field.endswith("_cents"):
            return money(int(value), currency, self.locale)
        if isinstance(value, datetime | date):
            return date_words(value, self.locale, self.tz)
        if isinstance(value, time):
            return value.strftime("%H:%M")
        if field == "locale":
            return self.m(f"locale_{value}") if value in ("fr", "en") else str(value)
        if field == "role" and value in ROLE_WORDS:
            return message(f"core.role_{value}", self.locale)
        if field == "status":
            return self.m(f"status_{value}")
        if field == "response":
            return self.m(f"response_{value}")
        if field == "answer":
            return self.m(f"answer_{value}")
        if field == "kind":
            return message(f"meetings.kind_{str(value).replace('-', '_')}", self.locale)
        if field == "progress":
            return f"{value}\u00a0%"
        if field == "budget_line_id":
            line = self.row(BudgetLine, value)
            return self.quote(line.label) if line else "?"
        if field in ("working_days", "digest_weekday"):
            names = [_weekday(int(d), self.locale) for d in str(value).split(",") if d.strip()]
            return self._and(names)
        if field == "reminder_lead_days":
            leads = [d.strip() for d in str(value).split(",") if d.strip()]
            return self.m("lead_days", days=self._and(leads)) if leads else self.m("none")
        if field == "position":
            return str(int(value) + 1)
        if field in ("timezone", "currency"):
            return str(value)
        return self.quote(str(value))

    def _and(self, items: list[str]) -> str:
        if len(items) <= 1:
            return "".join(items)
        return ", ".join(items[:-1]) + self.m("list_and") + items[-1]

    def change(
        self, model: type[SQLModel], field: str, before: Any, after: Any, currency: str = "EUR"
    ) -> str | None:
        """``plafond par dépense 50 000,00 € → 10 000,00 €``; None for what is not told."""
        if field in UNTOLD:
            return None
        if field in PHRASED:
            return self.m(PHRASED[field].split(".", 1)[1])
        if f"field_{field}" not in _keys(self.locale):
            # A field with no words for people (a ledger step's author, a stamp) is not told.
            return None
        return self.m(
            "change",
            field=self.m(f"field_{field}"),
            before=self.value(model, field, before, currency),
            after=self.value(model, field, after, currency),
        )

    def changes(
        self,
        model: type[SQLModel],
        pairs: Iterable[tuple[str, Any, Any]],
        currency: str = "EUR",
    ) -> str:
        told = [self.change(model, f, b, a, currency) for f, b, a in pairs]
        return ", ".join(t for t in told if t)

    # -- one event -------------------------------------------------------------------------

    def thing(
        self, entity: str, data: Mapping[str, Any], params: dict[str, Any], prep: str = ""
    ) -> str:
        """The changed row by its name."""
        if entity == "meeting":
            return self.meeting(data, prep)
        return self.m(entity, prep=prep, **params)

    def params(self, entity: str, data: Mapping[str, Any]) -> dict[str, Any]:
        """What the phrases about a row of ``entity`` may say of it."""
        get = data.get
        if entity == "experiment":
            return {"name": get("name", "?")}
        if entity == "budget_line":
            return {
                "name": get("label", "?"),
                "planned": self.value(BudgetLine, "planned_cents", get("planned_cents")),
            }
        if entity == "expense":
            amount = money(int(get("amount_cents") or 0), get("currency") or "EUR", self.locale)
            return {"name": get("description", "?"), "amount": amount}
        if entity == "milestone":
            due = self.value(Milestone, "due_on", get("due_on"))
            return {"name": get("title", "?"), "due": due}
        if entity == "meeting":
            return {}
        if entity in ("agenda_item", "decision"):
            meeting = self.row(Meeting, get("meeting_id"))
            name = get("title") if entity == "agenda_item" else get("text")
            return {"name": name or "?", "meeting": self.meeting(meeting, "de")}
        if entity == "channel_binding":
            channel = get("channel_name") or get("channel_id") or "?"
            return {
                "name": channel,
                "channel": channel,
                "experiment": self.experiment_name(get("experiment_id")),
                "shared": bool(get("is_shared")),
            }
        if entity == "membership":
            return {
                "handle": self.handle(get("person_id")),
                "experiment": self.experiment_name(get("experiment_id")),
                "role": self.value(Membership, "role", get("role")),
            }
        if entity == "person":
            return {"handle": get("handle", "?")}
        if entity == "milestone_owner":
            milestone = self.row(Milestone, get("milestone_id"))
            return {
                "handle": self.handle(get("person_id")),
                "milestone": milestone.title if milestone else "?",
            }
        if entity == "invitation":
            meeting = self.row(Meeting, get("meeting_id"))
            return {
                "handle": self.handle(get("person_id")),
                "meeting": self.meeting(meeting, "de"),
                "meeting_to": self.meeting(meeting, "à"),
                "response": self.value(Invitation, "response", get("response")),
            }
        if entity == "notification_preference":
            return {
                "handle": self.handle(get("person_id")),
                "experiment": self.experiment_name(get("experiment_id")),
            }
        if entity in ("ledger_entry", "allocation") and get("expense_id") is not None:
            expense = self.row(Expense, get("expense_id"))
            if expense is not None:
                amount = money(expense.amount_cents, expense.currency, self.locale)
                return {"name": expense.description, "amount": amount}
        if entity in ("supplier", "funder"):
            return {"name": get("name", "?")}
        if entity in ("line_nature", "allocation") and get("budget_line_id") is not None:
            line = self.row(BudgetLine, get("budget_line_id"))
            return {"name": line.label if line else "?"}
        if entity == "allocation":
            return {"name": "?"}
        if entity == "experiment_finance":
            return {"name": self.experiment_name(get("experiment_id"))}
        if entity in ("calendar_feed", "attendance"):
            meeting = self.row(Meeting, get("meeting_id"))
            return {
                "handle": self.handle(get("person_id")),
                "experiment": self.experiment_name(get("experiment_id")),
                "meeting": self.meeting(meeting, "de") if meeting is not None else "",
            }
        if entity in ("date_poll", "poll_slot", "poll_invitee", "poll_answer"):
            return self.poll_params(entity, data)
        raise LookupError(f"no narration for {entity!r}")

    def poll_params(self, entity: str, data: Mapping[str, Any]) -> dict[str, Any]:
        get = data.get
        slot = self.row(PollSlot, get("slot_id")) if entity == "poll_answer" else None
        poll_id = get("id") if entity == "date_poll" else get("poll_id")
        if slot is not None:
            poll_id = slot.poll_id
        poll = self.row(DatePoll, poll_id)
        tz = poll.timezone if poll is not None else self.tz
        starts = get("starts_at") if entity == "poll_slot" else (slot.starts_at if slot else None)
        day = date_words(_value(PollSlot, "starts_at", starts), self.locale, tz) if starts else ""
        return {
            "name": (poll.title if poll is not None else get("title")) or "?",
            "handle": self.handle(get("person_id")),
            "day": day,
            "answer": self.value(PollAnswer, "answer", get("answer")) if get("answer") else "",
        }

    def what(self, event: AuditEvent) -> tuple[str, str]:
        """The participle phrase of an event and the changes it made, told."""
        model = ENTITIES[event.entity]
        action = _action(event)
        # Named as it was before the change, so a rename reads "X: name X → Y"; an answer
        # as it was given.
        data: Mapping[str, Any] = (
            event.after if action == "respond" else (event.before or event.after)
        )
        params = self.params(event.entity, data)
        thing = self.thing(event.entity, data, params)
        specific = f"{action}_{event.entity}"
        if specific in _keys(self.locale):
            what = self.m(specific, thing=thing, **params)
        else:
            thing_de = self.thing(event.entity, data, params, "de")
            what = self.m(f"do_{action}", thing=thing, thing_de=thing_de, **params)
        details = ""
        if event.before is not None and action in ("update", "reschedule", "undo", "done"):
            currency = str(event.after.get("currency") or self._currency(event))
            pairs = [
                (k, event.before.get(k), v)
                for k, v in event.after.items()
                if event.before.get(k) != v and not (action == "done" and k == "status")
            ]
            # A meeting's times in its own timezone, as its name says them.
            narrator = self
            if event.entity == "meeting" and data.get("timezone"):
                narrator = Narrator(self.session, self.locale, str(data["timezone"]))
                narrator._rows = self._rows
            details = narrator.changes(model, pairs, currency)
        return what, details

    def _currency(self, event: AuditEvent) -> str:
        experiment = self.row(Experiment, event.experiment_id)
        return experiment.currency if experiment else "EUR"

    def sentence(self, event: AuditEvent, *, undone: bool = False) -> str:
        """``@camille a reporté le jalon « X » : échéance … → …``."""
        what, details = self.what(event)
        return self.m(
            "sentence",
            who=person_name(self.session, event.actor_id),
            aux=self.m("aux_undone" if undone else "aux"),
            what=what,
            details=details,
        )

    def undone(self, events: Iterable[AuditEvent]) -> str:
        """The reply to an undo: what was undone, newest first, told as it was done."""
        # The separator's spaces are part of it: a rendered message is stripped.
        separator = raw_message("narration.separator", self.locale)
        return self.m(
            "undone",
            sentences=separator.join(self.sentence(e, undone=True) for e in events),
        )


def _keys(locale: str) -> set[str]:
    from commands.messages import catalog, normalise_locale

    return set(catalog("narration")[normalise_locale(locale)])


def _action(event: AuditEvent) -> str:
    """The event's action, with a soft deletion or its reversal told as such."""
    if event.action == "update" and event.before is not None:
        for column in SOFT_DELETE:
            if column in event.after and bool(event.before.get(column)) != bool(
                event.after[column]
            ):
                return "delete" if event.after[column] else "create"
    return event.action


def _columns(row: SQLModel) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in inspect(type(row)).columns}


def _value(model: type[SQLModel], field: str, raw: Any) -> Any:
    """A snapshot's JSON value back to its column's Python type."""
    if raw is None or not isinstance(raw, str):
        return raw
    column = inspect(model).columns.get(field)
    if column is None:
        return raw
    try:
        kind = getattr(column.type, "impl", column.type).python_type
    except NotImplementedError:
        return raw
    if kind is datetime:
        return datetime.fromisoformat(raw)
    if kind is date:
        return date.fromisoformat(raw)
    if kind is time:
        return time.fromisoformat(raw)
    return raw


def _weekday(iso_day: int, locale: str) -> str:
    from babel.dates import get_day_names

    from commands.render import babel_locale

    return str(get_day_names("wide", locale=babel_locale(locale))[(iso_day - 1) % 7])
