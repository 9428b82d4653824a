"""iCalendar files and feeds: written by Coordo, read back by the icalendar library."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import ics
import pytest
import recurring_ical_events
import vobject
from icalendar import Calendar
from sqlmodel import Session, col, select

from bot.console import Console
from commands.services import calendars
from commands.services.meetings import series_starts
from models import Experiment, Meeting, pk

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def lines(content: bytes) -> list[bytes]:
    assert content.endswith(b"\r\n")
    return content[:-2].split(b"\r\n")


# --------------------------------------------------------------------------- content lines


def test_long_lines_fold_at_75_octets_without_splitting_a_character() -> None:
    line = "SUMMARY:" + "Réunion à l'Hôtel de Ville — " * 8
    folded = calendars.fold(line).encode("utf-8")
    parts = lines(folded)
    assert len(parts) > 3
    assert all(len(p) <= 75 for p in parts)
    assert all(p.startswith(b" ") for p in parts[1:])
    for part in parts:
        part.decode("utf-8")  # no character cut in two
    assert b"".join(p.removeprefix(b" ") for p in parts).decode("utf-8") == line


def test_text_and_parameters_are_escaped() -> None:
    assert calendars.escape_text("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"
    assert calendars.param_value("Dupont, Marie") == '"Dupont, Marie"'
    assert calendars.param_value('Le "maire"') == "Le 'maire'"
    assert calendars.param_value("Marie") == "Marie"


def test_time_parts_are_left_out_of_the_rrule() -> None:
    assert (
        calendars.ics_rrule("FREQ=MONTHLY;BYDAY=1TU;BYHOUR=10;BYMINUTE=0")
        == "FREQ=MONTHLY;BYDAY=1TU"
    )


def test_a_series_keeps_its_local_time_across_daylight_saving_time() -> None:
    series = Meeting(
        id=1,
        workspace_id=1,
        starts_at=paris(2027, 3, 2, 10).astimezone(UTC),
        ends_at=paris(2027, 3, 2, 12).astimezone(UTC),
        timezone="Europe/Paris",
        rrule="FREQ=MONTHLY;BYDAY=1TU;BYHOUR=10;BYMINUTE=0",
        uid="x",
    )
    starts = series_starts(series, paris(2027, 3, 1), paris(2027, 5, 1))
    assert [s.astimezone(PARIS) for s in starts] == [paris(2027, 3, 2, 10), paris(2027, 4, 6, 10)]
    assert [s.hour for s in starts] == [9, 8]  # in UTC: winter, then summer time


# --------------------------------------------------------------------------- files


def file_of(console: Console, meeting_id: int, *, cancel: bool = False) -> Calendar:
    with Session(console.engine) as session:
        meeting = session.get(Meeting, meeting_id)
        assert meeting is not None
        content = calendars.meeting_file(session, meeting, locale="fr", cancel=cancel)
    assert all(len(p) <= 75 for p in lines(content))
    return Calendar.from_ical(content)


def test_an_invitation_file(console: Console) -> None:
    cal = file_of(console, 3)
    assert str(cal["METHOD"]) == "PUBLISH"
    assert str(cal["VERSION"]) == "2.0"
    (tz,) = cal.walk("VTIMEZONE")
    assert str(tz["TZID"]) == "Europe/Paris"
    (event,) = cal.walk("VEVENT")
    with Session(console.engine) as session:
        meeting = session.get(Meeting, 3)
        assert meeting is not None
        assert str(event["UID"]) == meeting.uid
    assert event["DTSTART"].params["TZID"] == "Europe/Paris"
    assert event.decoded("DTSTART") == paris(2026, 12, 8, 14)
    assert event.decoded("DTEND") == paris(2026, 12, 8, 16)
    with Session(console.engine) as session:
        # The meeting's last change: the same on every request.
        assert event.decoded("DTSTAMP") == session.get(Meeting, 3).created_at  # type: ignore[union-attr]
    assert str(event["SUMMARY"]) == "COPIL n°2 du budget participatif"
    assert str(event["LOCATION"]) == "Mairie de Bondy, salle du conseil"
    assert str(event["DESCRIPTION"]).splitlines() == [
        "Ordre du jour\u202f:",
        "1. Bilan du dépôt des projets",
        "2. Recevabilité : critères et calendrier",
        "3. Organisation du vote",
    ]
    assert (event["SEQUENCE"], str(event["STATUS"])) == (0, "CONFIRMED")
    organiser = event["ORGANIZER"]
    assert (str(organiser), organiser.params["CN"]) == (
        "mailto:camille@coordo.invalid",
        "Camille Laurent",
    )
    # Published, not requested: answers are given in chat, so nobody is listed.
    assert "ATTENDEE" not in event
    (alarm,) = event.walk("VALARM")
    assert (str(alarm["ACTION"]), alarm.decoded("TRIGGER")) == ("DISPLAY", timedelta(hours=-1))


def test_a_change_raises_the_sequence_and_a_cancellation_says_cancel(console: Console) -> None:
    console.handle("/copil deplacer 3 jeudi 10h")
    event = file_of(console, 3).walk("VEVENT")[0]
    # Thursday of the meeting's week (10 December), not the next one after today.
    assert (event["SEQUENCE"], event.decoded("DTSTART")) == (1, paris(2026, 12, 10, 10))
    console.handle("/copil decommander 3")
    cal = file_of(console, 3, cancel=True)
    assert str(cal["METHOD"]) == "PUBLISH"
    event = cal.walk("VEVENT")[0]
    assert (event["SEQUENCE"], str(event["STATUS"])) == (2, "CANCELLED")
    assert event.walk("VALARM") == []


def test_one_sitting_of_a_series_moved_or_cancelled_alone(console: Console) -> None:
    console.handle("/copil deplacer 4 seance:01/12 mercredi 2 décembre 14h")
    console.handle("/copil decommander 4 seance:05/01")
    with Session(console.engine) as session:
        series = session.get(Meeting, 4)
        moved, cancelled = session.exec(
            select(Meeting).where(Meeting.series_id == 4).order_by(Meeting.id)  # type: ignore[arg-type]
        ).all()
        uid, moved_id, cancelled_id = series.uid, moved.id, cancelled.id  # type: ignore[union-attr]
    master, override = file_of(console, 4).walk("VEVENT")
    assert str(master["UID"]) == str(override["UID"]) == uid
    assert str(master["RRULE"].to_ical(), "ascii") == "FREQ=MONTHLY;BYDAY=1TU"
    assert master.decoded("DTSTART") == paris(2026, 12, 1, 10)
    assert [d.dt for d in master["EXDATE"].dts] == [paris(2027, 1, 5, 10)]
    assert override.decoded("RECURRENCE-ID") == paris(2026, 12, 1, 10)
    assert override.decoded("DTSTART") == paris(2026, 12, 2, 14)
    assert override["SEQUENCE"] == 1
    # The file sent when one sitting moves: that sitting alone, under the series' UID.
    (alone,) = file_of(console, moved_id).walk("VEVENT")  # type: ignore[arg-type]
    assert (str(alone["UID"]), alone.decoded("RECURRENCE-ID")) == (uid, paris(2026, 12, 1, 10))
    # The cancellation of one sitting names it by its RECURRENCE-ID.
    cal = file_of(console, cancelled_id, cancel=True)  # type: ignore[arg-type]
    (gone,) = cal.walk("VEVENT")
    assert str(cal["METHOD"]) == "PUBLISH"
    assert (str(gone["UID"]), gone.decoded("RECURRENCE-ID"), str(gone["STATUS"])) == (
        uid,
        paris(2027, 1, 5, 10),
        "CANCELLED",
    )


# --------------------------------------------------------------------------- feeds


def test_the_feed_of_an_experiment(console: Console) -> None:
    console.handle("/copil jeudi 10h visio:https://visio.example.org/bondy")
    console.handle("/copil vendredi 10h")
    console.handle("/copil annuler")  # the Friday one is undone: soft-deleted
    console.handle("/copil decommander 5")
    console.handle(":channel montreuil")
    console.handle("/copil lundi 7 décembre 10h")  # another experiment's
    with Session(console.engine) as session:
        experiment = session.get(Experiment, 1)
        assert experiment is not None
        content = calendars.feed(session, experiment)
    cal = Calendar.from_ical(content)
    assert str(cal["METHOD"]) == "PUBLISH"
    assert str(cal["X-WR-CALNAME"]) == "Budget participatif de Bondy"
    events = {str(e["SUMMARY"]): e for e in cal.walk("VEVENT")}
    assert set(events) == {
        "COPIL n°1 du budget participatif",
        "COPIL n°2 du budget participatif",
        "COPIL — Budget participatif de Bondy",
    }
    assert str(events["COPIL — Budget participatif de Bondy"]["STATUS"]) == "CANCELLED"
    assert str(events["COPIL n°1 du budget participatif"]["STATUS"]) == "CONFIRMED"


def test_a_feed_is_found_by_its_token_only(console: Console) -> None:
    with Session(console.engine) as session:
        token = session.get(Experiment, 2).calendar_token  # type: ignore[union-attr]
        assert token
        found = calendars.feed_for_token(session, token)
        assert found is not None
        assert found.name == "montreuil-ac.ics"
        (event,) = Calendar.from_ical(found.content).walk("VEVENT")
        assert str(event["SUMMARY"]) == "COTECH de l'assemblée citoyenne"
        for wrong in ("", token[:-1], token + "x", token.upper(), "x" * len(token)):
            assert calendars.feed_for_token(session, wrong) is None


@pytest.mark.parametrize("tz", ["Europe/Paris", "America/Cayenne", "UTC"])
def test_any_timezone_round_trips(console: Console, tz: str) -> None:
    console.handle(f"/labo reglages fuseau:{tz}")
    console.handle("/copil jeudi 10h")
    with Session(console.engine) as session:
        meeting = session.exec(select(Meeting).order_by(Meeting.id.desc())).first()  # type: ignore[union-attr]
        assert meeting is not None
        content = calendars.meeting_file(session, meeting, locale="en")
    (event,) = Calendar.from_ical(content).walk("VEVENT")
    assert event.decoded("DTSTART") == datetime(2026, 11, 26, 10, tzinfo=ZoneInfo(tz))
    assert event.decoded("DTSTART").date() == date(2026, 11, 26)


# --------------------------------------------------------------------------- other readers
# Each defect below is checked with readers other than icalendar: vobject and ics (their
# own parsers and time zone handling) and recurring-ical-events (which expands series).


def vobject_calendar(content: bytes) -> Any:
    return vobject.readOne(content.decode("utf-8"))


def ics_calendar(content: bytes) -> ics.Calendar:
    return ics.Calendar(content.decode("utf-8"))


def ics_property(event: ics.Event, name: str) -> str:
    (value,) = [line.value for line in event.extra if line.name == name]
    return str(value)


def newest(console: Console) -> Meeting:
    with Session(console.engine) as session:
        found = session.exec(select(Meeting).order_by(col(Meeting.id).desc())).first()
        assert found is not None
        return found


def file_bytes(console: Console, meeting_id: int, *, cancel: bool = False) -> bytes:
    with Session(console.engine) as session:
        meeting = session.get(Meeting, meeting_id)
        assert meeting is not None
        return calendars.meeting_file(session, meeting, locale="fr", cancel=cancel)


def feed_bytes(console: Console, experiment_id: int) -> bytes:
    with Session(console.engine) as session:
        experiment = session.get(Experiment, experiment_id)
        assert experiment is not None
        return calendars.feed(session, experiment)


def test_the_time_zone_is_written_as_yearly_rules(console: Console) -> None:
    text = file_bytes(console, 3).decode("utf-8")
    zone = text[text.index("BEGIN:VTIMEZONE") : text.index("END:VTIMEZONE")]
    assert "RDATE" not in zone
    assert "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU" in zone
    assert "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU" in zone


# Sittings of a monthly series at 10:00 in Paris, across both clock changes of 2027
# (28 March and 31 October): 09:00 UTC in winter, 08:00 in summer.
SITTINGS_2027 = [
    paris(2027, 3, 2, 10),
    paris(2027, 4, 6, 10),
    paris(2027, 5, 4, 10),
    paris(2027, 6, 1, 10),
    paris(2027, 7, 6, 10),
    paris(2027, 8, 3, 10),
    paris(2027, 9, 7, 10),
    paris(2027, 10, 5, 10),
    paris(2027, 11, 2, 10),
]


def test_every_reader_puts_a_series_at_the_same_times_across_both_clock_changes(
    console: Console,
) -> None:
    console.handle("/copil planifier le premier mardi du mois à 10h")
    content = file_bytes(console, pk(newest(console)))
    expected = [s.astimezone(UTC) for s in SITTINGS_2027]
    assert [s.hour for s in expected] == [9, 8, 8, 8, 8, 8, 8, 8, 9]
    series = vobject_calendar(content).vevent
    window = (datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 11, 30, tzinfo=UTC))
    starts = [d.astimezone(UTC) for d in series.getrruleset().between(*window)]
    assert starts == expected
    expanded = recurring_ical_events.of(Calendar.from_ical(content)).between(
        datetime(2027, 3, 1), datetime(2027, 11, 30)
    )
    assert [e["DTSTART"].dt.astimezone(UTC) for e in expanded] == expected


def test_every_reader_puts_single_meetings_at_the_same_times_across_both_clock_changes(
    console: Console,
) -> None:
    for typed, start in [
        ("/copil mardi 23 mars 2027 10h", paris(2027, 3, 23, 10)),  # before the spring change
        ("/copil mardi 6 avril 2027 10h", paris(2027, 4, 6, 10)),  # after it
        ("/copil mardi 26 octobre 2027 10h", paris(2027, 10, 26, 10)),  # before the autumn one
        ("/copil mardi 2 novembre 2027 10h", paris(2027, 11, 2, 10)),  # after it
    ]:
        console.handle(typed)
        content = file_bytes(console, pk(newest(console)))
        assert vobject_calendar(content).vevent.dtstart.value.astimezone(UTC) == start.astimezone(
            UTC
        ), typed
        (event,) = ics_calendar(content).events
        assert event.begin.datetime.astimezone(UTC) == start.astimezone(UTC), typed
    # The whole feed, read by both: each meeting where the database has it.
    content = feed_bytes(console, 1)
    with Session(console.engine) as session:
        rows = session.exec(select(Meeting).where(Meeting.experiment_id == 1)).all()
        starts = sorted(m.starts_at for m in rows if m.rrule is None and m.deleted_at is None)
    read = sorted(e.dtstart.value.astimezone(UTC) for e in vobject_calendar(content).vevent_list)
    assert read == starts
    assert sorted(e.begin.datetime.astimezone(UTC) for e in ics_calendar(content).events) == starts


def test_chat_files_are_published_and_name_nobody(console: Console) -> None:
    for content in (file_bytes(console, 3), file_bytes(console, 3, cancel=True)):
        assert b"ATTENDEE" not in content
        assert b"RSVP" not in content
        cal = vobject_calendar(content)
        assert cal.method.value == "PUBLISH"
        assert not hasattr(cal.vevent, "attendee")
        assert cal.vevent.organizer.value == "mailto:camille@coordo.invalid"
        (event,) = ics_calendar(content).events
        assert event.attendees == set()
    cancelled = ics_calendar(file_bytes(console, 3, cancel=True))
    (event,) = cancelled.events
    assert event.status == "CANCELLED"
    assert vobject_calendar(file_bytes(console, 3, cancel=True)).vevent.status.value == "CANCELLED"


def test_the_feed_shows_no_one_s_answer(console: Console) -> None:
    console.handle("/copil reponse 3 non")  # camille declines; marie said yes, sophie no
    content = feed_bytes(console, 1)
    for word in (b"ATTENDEE", b"PARTSTAT", b"DECLINED", b"ACCEPTED", b"marie", b"sophie"):
        assert word not in content
    cal = vobject_calendar(content)
    assert cal.method.value == "PUBLISH"
    assert all(not hasattr(e, "attendee") for e in cal.vevent_list)
    assert all(e.attendees == set() for e in ics_calendar(content).events)


@pytest.mark.parametrize("tz", ["Europe/Paris", "UTC"])
def test_a_feed_without_meetings_is_a_valid_calendar(console: Console, tz: str) -> None:
    with Session(console.engine) as session:
        experiment = session.get(Experiment, 3)
        assert experiment is not None
        experiment.timezone = tz
        session.add(experiment)
        session.commit()
        assert session.exec(select(Meeting).where(Meeting.experiment_id == 3)).first() is None
    content = feed_bytes(console, 3)
    # RFC 5545: a calendar holds at least one component.
    cal = Calendar.from_ical(content)
    assert [c.name for c in cal.subcomponents] == ["VTIMEZONE"]
    assert str(cal.subcomponents[0]["TZID"]) == tz
    read = vobject_calendar(content)
    assert read.vtimezone.tzid.value == tz
    assert not hasattr(read, "vevent")
    assert list(ics_calendar(content).events) == []


def test_the_stamp_of_an_unchanged_meeting_does_not_move(console: Console) -> None:
    first = feed_bytes(console, 1)
    console.fixed_now = NOW + timedelta(hours=3)
    assert feed_bytes(console, 1) == first
    with Session(console.engine) as session:
        created = session.get(Meeting, 3).created_at  # type: ignore[union-attr]
    stamps = {e.uid.value: e.dtstamp.value for e in vobject_calendar(first).vevent_list}
    assert created in stamps.values()
    console.handle("/copil deplacer 3 mercredi 9 décembre 14h")
    moved = {
        e.uid.value: e.dtstamp.value for e in vobject_calendar(feed_bytes(console, 1)).vevent_list
    }
    changed = [uid for uid in stamps if moved[uid] != stamps[uid]]
    assert len(changed) == 1
    assert moved[changed[0]] == NOW + timedelta(hours=3)
