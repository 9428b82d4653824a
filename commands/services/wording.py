"""What a queued message says, worked out again when it is sent.

A ping is rendered when the scan queues it, but it may go much later: held to working
hours, retried after an outage, taken over from a dead worker. Words relative to the day
("dans 7 jours", "demain") would then be wrong. A row whose text holds such words carries
``words`` in its payload: the local day they were worked out for and the timezone
(``{"on": "2026-11-24", "tz": "Europe/Paris"}``). Sent on that day, it goes as queued;
sent on a later day, it is re-worded from what it is about (a milestone ping: the days
left counted again, "late" once the deadline has passed; an agenda call: the days to the
meeting and the agenda so far) or, when nothing can re-word it,
dropped rather than sent stale.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from commands.messages import normalise_locale
from commands.reply import Reply
from commands.services.outbox import Claimed
from models import Experiment, Milestone, Person

STALE = "stale wording"


def words_on(day: date, timezone: str) -> dict[str, Any]:
    """The payload's ``words`` for text worked out on ``day`` in ``timezone``."""
    return {"on": day.isoformat(), "tz": timezone}


def reply_at(session: Session, row: Claimed, now: datetime) -> Reply | None:
    """The row's reply as it must read at ``now``; None when it cannot be said any more."""
    words = row.payload.get("words")
    if not isinstance(words, dict):
        return row.reply
    today = now.astimezone(ZoneInfo(str(words.get("tz") or "UTC"))).date()
    if str(words.get("on")) == today.isoformat():
        return row.reply
    ref = row.payload.get("ref") or {}
    if "milestone" in ref and row.target_kind == "person":
        return _milestone_ping(session, row, int(ref["milestone"]), now)
    if ref.get("step") == "agenda-call":
        from commands.services.meeting_reminders import agenda_call_at

        return agenda_call_at(session, ref, row.target_kind, row.target_id, now)
    return None


def _milestone_ping(
    session: Session, row: Claimed, milestone_id: int, now: datetime
) -> Reply | None:
    from commands.services.scan import milestone_reply  # the scan queues what this re-words

    milestone = session.get(Milestone, milestone_id)
    experiment = session.get(Experiment, row.experiment_id) if row.experiment_id else None
    person = session.get(Person, int(row.target_id)) if row.target_id.isdigit() else None
    if milestone is None or experiment is None or person is None:
        return None
    today = now.astimezone(ZoneInfo(experiment.timezone)).date()
    return milestone_reply(
        normalise_locale(person.locale or experiment.locale),
        experiment,
        milestone_id=milestone_id,
        title=milestone.title,
        due_on=milestone.due_on,
        progress=milestone.progress,
        days=(milestone.due_on - today).days,
    )
