"""The daily summary: a person's routine reminders of a day, gathered into one message.

At the start of a working day the scan queues each owner's milestone pings (late ones,
and those due in some days). For a person who chose the summary (``Person.daily_summary``,
the default), the routine pings that go at one same moment become one message, each
milestone with its buttons; the pings themselves are still queued under their own keys,
already marked dropped, so that no later scan queues them again. Urgent pings (a
milestone due today) stay separate, and so does a lone ping. Someone who chose "each at
once" (``/labo rappels tout-de-suite``) gets every ping as it comes.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from commands.messages import normalise_locale
from commands.render import message, render
from commands.reply import Button, Reply
from commands.services import outbox
from commands.services.meetings import SCHEDULED, Occurrence, occurrences_between
from models import (
    DatePoll,
    Experiment,
    Invitation,
    Meeting,
    Milestone,
    NotificationPreference,
    Person,
    PollAnswer,
    PollInvitee,
    PollSlot,
    pk,
)

URGENT_LABEL = ":due-0d:"
TITLE_IN_BUTTON = 28


def is_routine(row: dict[str, Any]) -> bool:
    """A ping that may wait for the summary: a milestone's, to a person, not due today."""
    return (
        row["kind"] == "milestone"
        and row["target_kind"] == "person"
        and URGENT_LABEL not in row["key"]
        and "milestone" in (row["payload"].get("ref") or {})
    )


def gather(session: Session, rows: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """``rows`` (``outbox.notification`` dicts about to be queued) with each person's
    routine pings of one moment gathered into a summary."""
    for row in rows:
        row.setdefault("dropped_at", None)
    groups: dict[tuple[str, datetime], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if is_routine(row):
            groups[row["target_id"], row["not_before"]].append(row)
    groups = {k: v for k, v in groups.items() if len(v) > 1}
    if not groups:
        return rows
    people = {
        str(p.id): p
        for p in session.exec(select(Person).where(col(Person.id).in_({int(k[0]) for k in groups})))
        if p.daily_summary
    }
    preferences = _preferences(
        session,
        {int(p) for p in people},
        {r["experiment_id"] for k, group in groups.items() if k[0] in people for r in group},
    )
    summaries = []
    for (person_id, moment), group in groups.items():
        person = people.get(person_id)
        if person is None:
            continue
        # A ping the person's preferences for its experiment stop is left to the sender.
        wanted = [
            r for r in group if _wanted(preferences.get((int(person_id), r["experiment_id"])), now)
        ]
        if len(wanted) < 2:
            continue
        for row in wanted:
            row["dropped_at"] = now
            row["last_error"] = "in the daily summary"
        summaries.append(summary_row(session, person, moment, wanted))
    return rows + summaries


def _preferences(
    session: Session, people: set[int], experiments: set[Any]
) -> dict[tuple[int, Any], NotificationPreference]:
    """The preferences of ``people`` for ``experiments``, by (person, experiment): read in
    a few queries for every summary of the scan, not one per ping."""
    found: dict[tuple[int, Any], NotificationPreference] = {}
    wanted = sorted(people)
    for i in range(0, len(wanted), 500):
        for preference in session.exec(
            select(NotificationPreference)
            .where(col(NotificationPreference.person_id).in_(wanted[i : i + 500]))
            .order_by(col(NotificationPreference.id))
        ):
            if preference.experiment_id in experiments:
                found[(preference.person_id, preference.experiment_id)] = preference
    return found


def _wanted(preference: NotificationPreference | None, now: datetime) -> bool:
    if preference is None:
        return True
    if not preference.direct_messages:
        return False
    return preference.muted_until is None or preference.muted_until <= now


class Item:
    """One milestone in a summary."""

    def __init__(self, milestone: Milestone, experiment: Experiment, today: date) -> None:
        self.id = milestone.id
        self.title = milestone.title
        self.due_on = milestone.due_on
        self.progress = milestone.progress
        self.experiment = experiment.name
        self.days = (milestone.due_on - today).days


def summary_row(
    session: Session, person: Person, moment: datetime, rows: list[dict[str, Any]]
) -> dict[str, Any]:
    ids = [int(r["payload"]["ref"]["milestone"]) for r in rows]
    milestones = {
        m.id: m for m in session.exec(select(Milestone).where(col(Milestone.id).in_(ids)))
    }
    experiments = {
        e.id: e
        for e in session.exec(
            select(Experiment).where(
                col(Experiment.id).in_({m.experiment_id for m in milestones.values()})
            )
        )
    }
    first = experiments[milestones[ids[0]].experiment_id]
    locale = normalise_locale(person.locale or first.locale)
    tz = first.timezone
    today = moment.astimezone(ZoneInfo(tz)).date()
    items = [Item(milestones[i], experiments[milestones[i].experiment_id], today) for i in ids]
    # Late first (the latest first), then by deadline.
    items.sort(key=lambda i: (i.days >= 0, i.days if i.days >= 0 else -abs(i.days)))
    day_start = datetime.combine(today, time.min, ZoneInfo(tz))
    meetings = meetings_of_the_day(session, person, day_start, day_start + timedelta(days=1))
    polls = polls_awaiting(session, person)
    reply = summary_reply(locale, tz, today, items, meetings=meetings, polls=polls)
    digest = hashlib.sha1("|".join(sorted(r["key"] for r in rows)).encode()).hexdigest()[:12]
    row = outbox.notification(
        key=f"summary:p{person.id}:{moment.isoformat()}:{digest}",
        workspace_id=person.workspace_id,
        kind="summary",
        target_kind="person",
        target_id=str(person.id),
        reply=reply,
        not_before=moment,
        expires_at=max((r["expires_at"] for r in rows if r["expires_at"]), default=None),
        quiet_hours=False,
        ref={"milestones": ids},
    )
    row["dropped_at"] = None
    return row


def meetings_of_the_day(
    session: Session, person: Person, start: datetime, end: datetime
) -> list[Occurrence]:
    """The sittings in ``[start, end)`` the person is invited to and has not declined."""
    rows = session.exec(
        select(Meeting)
        .join(Invitation, col(Invitation.meeting_id) == Meeting.id)
        .where(
            Invitation.person_id == person.id,
            col(Invitation.deleted_at).is_(None),
            Invitation.response != "no",
            col(Meeting.deleted_at).is_(None),
            Meeting.status == SCHEDULED,
            (col(Meeting.rrule).is_not(None)) | (col(Meeting.starts_at) < end),
        )
    ).all()
    found = occurrences_between(session, list({pk(m): m for m in rows}.values()), start, end)
    return [o for o in found if not o.cancelled]


def polls_awaiting(session: Session, person: Person) -> list[DatePoll]:
    """Open date polls the person was asked to answer and has not answered at all."""
    answered = (
        select(PollSlot.poll_id)
        .join(PollAnswer, col(PollAnswer.slot_id) == PollSlot.id)
        .where(PollAnswer.person_id == person.id, col(PollAnswer.deleted_at).is_(None))
    )
    return list(
        session.exec(
            select(DatePoll)
            .join(PollInvitee, col(PollInvitee.poll_id) == DatePoll.id)
            .where(
                PollInvitee.person_id == person.id,
                col(PollInvitee.deleted_at).is_(None),
                DatePoll.status == "open",
                col(DatePoll.deleted_at).is_(None),
                col(DatePoll.id).not_in(answered),
            )
            .order_by(col(DatePoll.id))
        )
    )


def summary_reply(
    locale: str,
    tz: str,
    today: date,
    items: list[Item],
    *,
    meetings: list[Occurrence] | None = None,
    polls: list[DatePoll] | None = None,
) -> Reply:
    """The summary, with each milestone's two buttons (done, one more week), the day's
    meetings and the date polls awaiting the person's answer."""
    text = render(
        "reminders/summary",
        locale,
        tz,
        today=today,
        items=items,
        meetings=meetings or [],
        polls=polls or [],
    )
    buttons = []
    for item in items:
        short = (
            item.title
            if len(item.title) <= TITLE_IN_BUTTON
            else item.title[: TITLE_IN_BUTTON - 1] + "…"
        )
        buttons.append(
            Button(
                message("reminders.summary_done", locale, title=short),
                "milestone.done",
                str(item.id),
                "primary",
            )
        )
        buttons.append(
            Button(
                message("reminders.summary_postpone", locale, title=short),
                "milestone.postpone",
                str(item.id),
            )
        )
    return Reply(text=text, buttons=buttons)
