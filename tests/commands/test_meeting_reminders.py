"""The meeting scan: times in, outbox rows out, with the clock set rather than slept through.

The demo lab: n°2 Montreuil's COTECH on Monday 30 November 10:00 (~montreuil; sophie,
lucas and agent.montreuil invited, no answer yet); n°3 Bondy's COPIL on Tuesday 8 December
14:00 (~bondy and the shared ~bondy-partenaires; marie yes, karim no answer, sophie no);
n°4 the lab's COPIL, first Tuesday of the month at 10:00 (~labo; camille, sophie, karim)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.console import Console
from commands.services.meeting_reminders import scan_meetings
from commands.usertext import strip as plain
from models import Experiment, Meeting, NotificationPreference, OutboxMessage, Person

PARIS = ZoneInfo("Europe/Paris")


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def scan(engine: Engine, now: datetime) -> int:
    with Session(engine) as session:
        queued = scan_meetings(session, now)
        session.commit()
        return queued


def keys(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return sorted(session.exec(select(OutboxMessage.key)))


def handles(engine: Engine) -> dict[str, str]:
    """Person ids as outbox keys name them (``@3``) → handles."""
    with Session(engine) as session:
        return {f"@{p.id}": p.handle for p in session.exec(select(Person))}


def readable(engine: Engine) -> list[str]:
    """The reminders queued (not the notices of changes), people by handle."""
    names = handles(engine)
    out = []
    for key in keys(engine):
        if not any(step in key for step in ("agenda-call", "remind-")):
            continue
        head, _, tail = key.rpartition(":")
        out.append(f"{head}:@{names[tail]}" if tail in names else key)
    return sorted(out)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Tuesday 24 November 10:00: the lab's COPIL is a week ahead: the call for items.
        (paris(2026, 11, 24, 10), ["meeting:4:2026-12-01:agenda-call"]),
        # A COTECH gets no call for items; a week before it, nothing.
        (paris(2026, 11, 23, 10), []),
        # Sunday 29 November 10:00: the day before the COTECH, to the channel and to the
        # three invitees who have not answered.
        (
            paris(2026, 11, 29, 10),
            [
                "meeting:2:2026-11-30:remind-1d",
                "meeting:2:2026-11-30:remind-1d:@agent.montreuil",
                "meeting:2:2026-11-30:remind-1d:@lucas",
                "meeting:2:2026-11-30:remind-1d:@sophie",
            ],
        ),
        # Monday 30 November 9:00: an hour before.
        (
            paris(2026, 11, 30, 9),
            [
                "meeting:2:2026-11-30:remind-1h",
                "meeting:2:2026-11-30:remind-1h:@agent.montreuil",
                "meeting:2:2026-11-30:remind-1h:@lucas",
                "meeting:2:2026-11-30:remind-1h:@sophie",
            ],
        ),
        # Back after a night down, at 9:30: the day-before reminder is no longer worth
        # sending; the last one is.
        (
            paris(2026, 11, 30, 9, 30),
            [
                "meeting:2:2026-11-30:remind-1h",
                "meeting:2:2026-11-30:remind-1h:@agent.montreuil",
                "meeting:2:2026-11-30:remind-1h:@lucas",
                "meeting:2:2026-11-30:remind-1h:@sophie",
            ],
        ),
        # Once it has begun, nothing for it; the lab's COPIL is the day after.
        (
            paris(2026, 11, 30, 10, 1),
            [
                "meeting:4:2026-12-01:remind-1d",
                "meeting:4:2026-12-01:remind-1d:@camille",
                "meeting:4:2026-12-01:remind-1d:@karim",
                "meeting:4:2026-12-01:remind-1d:@sophie",
            ],
        ),
        # Tuesday 1 December 14:00: the COPIL of 8 December is a week ahead: the call for
        # items in both its channels (the shared one too: partners may add items).
        (
            paris(2026, 12, 1, 14),
            [
                "meeting:3:2026-12-08:agenda-call",
                "meeting:3:2026-12-08:agenda-call:~bondy-partenaires",
            ],
        ),
        # Back on 5 December after four days down: the call is still worth making.
        (
            paris(2026, 12, 5, 14),
            [
                "meeting:3:2026-12-08:agenda-call",
                "meeting:3:2026-12-08:agenda-call:~bondy-partenaires",
            ],
        ),
        # Sunday 6 December 15:00, two days before: too late for a call for items.
        (paris(2026, 12, 6, 15), []),
        # Monday 7 December 14:00: the day before; Sophie said no.
        (
            paris(2026, 12, 7, 14),
            [
                "meeting:3:2026-12-08:remind-1d",
                "meeting:3:2026-12-08:remind-1d:@karim",
                "meeting:3:2026-12-08:remind-1d:@marie",
                "meeting:3:2026-12-08:remind-1d:~bondy-partenaires",
            ],
        ),
        # The lab's series: its January sitting, computed from the RRULE.
        (
            paris(2027, 1, 4, 10),
            [
                "meeting:4:2027-01-05:remind-1d",
                "meeting:4:2027-01-05:remind-1d:@camille",
                "meeting:4:2027-01-05:remind-1d:@karim",
                "meeting:4:2027-01-05:remind-1d:@sophie",
            ],
        ),
    ],
)
def test_what_is_queued_when(demo_engine: Engine, now: datetime, expected: list[str]) -> None:
    assert scan(demo_engine, now) == len(expected)
    assert readable(demo_engine) == expected
    # A second scan, a restart or a second worker queues nothing more.
    assert scan(demo_engine, now) == 0


def test_the_messages(demo_engine: Engine) -> None:
    # In the order of the clock: the scan keeps each meeting's next moment.
    scan(demo_engine, paris(2026, 11, 30, 9))
    scan(demo_engine, paris(2026, 12, 7, 14))
    with Session(demo_engine) as s:
        rows = {r.key: r for r in s.exec(select(OutboxMessage))}
        marie = s.exec(select(Person).where(Person.handle == "marie")).one()
    channel = rows["meeting:3:2026-12-08:remind-1d"]
    assert (channel.target_kind, channel.target_id, channel.kind) == (
        "channel",
        "bondy",
        "meeting.remind-1d",
    )
    assert channel.expires_at == paris(2026, 12, 8, 14)
    text = plain(channel.payload["text"])
    assert (
        "Demain\u202f: **COPIL n°2 du budget participatif** (Budget participatif de Bondy)" in text
    )
    assert "1. Bilan du dépôt des projets\n2. Recevabilité : critères et calendrier" in text
    assert [b[1:3] for b in channel.payload["buttons"]] == [
        ["meeting.rsvp", "3:yes"],
        ["meeting.rsvp", "3:no"],
        ["meeting.rsvp", "3:maybe"],
    ]
    personal = rows[f"meeting:3:2026-12-08:remind-1d:@{marie.id}"]
    assert (personal.target_kind, personal.target_id) == ("person", str(marie.id))
    assert "Rappel pour demain\u202f: **COPIL n°2" in plain(personal.payload["text"])
    hour = rows["meeting:2:2026-11-30:remind-1h"]
    assert "Dans une heure, à 10:00\u202f: **COTECH de l'assemblée citoyenne**" in plain(
        hour.payload["text"]
    )
    assert "🎥 https://visio.example.org/cotech-montreuil" in plain(hour.payload["text"])
    assert hour.expires_at == paris(2026, 11, 30, 10)


def test_the_call_for_items_of_a_sitting_names_it(demo_engine: Engine) -> None:
    scan(demo_engine, paris(2026, 11, 24, 10))
    with Session(demo_engine) as s:
        call = s.exec(select(OutboxMessage)).one()
    assert (call.target_kind, call.target_id) == ("channel", "labo")
    assert (
        "📣 **COPIL du labo** dans une semaine\u202f: mardi 1er décembre 2026 à 10:00–12:00"
        in plain(call.payload["text"])
    )
    assert '`/copil odj 4 seance:01/12/2026 ajouter "Votre point"`' in plain(call.payload["text"])


def test_reminders_wait_for_working_hours_except_the_last_hour(demo_engine: Engine) -> None:
    with Session(demo_engine) as s:
        early = s.get(Meeting, 3)
        assert early is not None
        # Monday 7 December 8:30: the day-before reminder falls on Sunday.
        early.starts_at, early.ends_at = paris(2026, 12, 7, 8, 30), paris(2026, 12, 7, 10)
        s.add(early)
        s.commit()
    scan(demo_engine, paris(2026, 12, 6, 8, 30))
    scan(demo_engine, paris(2026, 12, 7, 7, 30))
    with Session(demo_engine) as s:
        rows = {
            r.key: r
            for r in s.exec(
                select(OutboxMessage).where(col(OutboxMessage.key).startswith("meeting:3:"))
            )
        }
    assert rows["meeting:3:2026-12-07:remind-1d"].not_before == paris(2026, 12, 7, 9)  # held
    assert rows["meeting:3:2026-12-07:remind-1h"].not_before == paris(
        2026, 12, 7, 7, 30
    )  # not held


def test_no_reminder_for_what_is_cancelled_archived_or_muted(console: Console) -> None:
    engine = console.engine
    console.handle("/copil decommander 3")
    console.handle("/copil decommander 4 seance:05/01")
    with Session(engine) as s:
        montreuil = s.get(Experiment, 2)
        lucas = s.exec(select(Person).where(Person.handle == "lucas")).one()
        assert montreuil is not None
        s.add(NotificationPreference(person_id=lucas.id, experiment_id=2, direct_messages=False))  # type: ignore[arg-type]
        s.commit()
    scan(engine, paris(2026, 12, 7, 14))
    scan(engine, paris(2027, 1, 4, 10))
    scan(engine, paris(2026, 11, 29, 10))
    assert "lucas" not in str(readable(engine))
    assert [k for k in readable(engine) if not k.startswith("meeting:2:")] == []
    with Session(engine) as s:
        montreuil = s.get(Experiment, 2)
        assert montreuil is not None
        montreuil.archived_at = paris(2026, 11, 29, 12)
        s.add(montreuil)
        s.commit()
    assert scan(engine, paris(2026, 11, 30, 9)) == 0


def test_a_sitting_keeps_its_key_once_it_has_a_row_of_its_own(console: Console) -> None:
    scan(console.engine, paris(2026, 11, 24, 10))
    console.handle('/copil odj 4 ajouter "Bilan des expérimentations"')  # the sitting gets a row
    assert scan(console.engine, paris(2026, 11, 24, 10, 1)) == 0
    scan(console.engine, paris(2026, 11, 30, 10))
    with Session(console.engine) as s:
        day_before = s.exec(
            select(OutboxMessage).where(OutboxMessage.key == "meeting:4:2026-12-01:remind-1d")
        ).one()
    assert "1. Bilan des expérimentations" in plain(day_before.payload["text"])


def test_a_moved_meeting_is_reminded_at_its_new_time(console: Console) -> None:
    scan(console.engine, paris(2026, 12, 7, 14))
    assert "meeting:3:2026-12-08:remind-1d" in keys(console.engine)
    with Session(console.engine) as s:
        queued = s.exec(
            select(OutboxMessage).where(OutboxMessage.key == "meeting:3:2026-12-08:remind-1d")
        ).one()
        queued.not_before = paris(2026, 12, 8, 9)  # not taken by the sender yet
        s.add(queued)
        s.commit()
    console.fixed_now = paris(2026, 12, 7, 14, 5)
    console.handle("/copil deplacer 3 mercredi 9 décembre 14h")
    assert not [k for k in keys(console.engine) if k.startswith("meeting:3:2026-12-08:")]
    scan(console.engine, paris(2026, 12, 8, 14))
    assert "meeting:3:2026-12-09:remind-1d" in keys(console.engine)
