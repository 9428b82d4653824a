"""iCalendar files and feeds: written by Coordo, read back by the icalendar library."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlmodel import Session, select

from bot.console import Console
from commands.services import calendars
from commands.services.meetings import series_starts
from models import Experiment, Meeting

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
        content = calendars.meeting_file(session, meeting, now=NOW, locale="fr", cancel=cancel)
    assert all(len(p) <= 75 for p in lines(content))
    return Calendar.from_ical(content)


def test_an_invitation_file(console: Console) -> None:
    cal = file_of(console, 3)
    assert str(cal["METHOD"]) == "REQUEST"
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
    assert event.decoded("DTSTAMP") == NOW
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
    attendees = {str(a).removeprefix("mailto:"): dict(a.params) for a in event["ATTENDEE"]}
    assert {k: v["PARTSTAT"] for k, v in attendees.items()} == {
        "karim@coordo.invalid": "NEEDS-ACTION",
        "marie@coordo.invalid": "ACCEPTED",
        "sophie@coordo.invalid": "DECLINED",
    }
    assert attendees["marie@coordo.invalid"]["CN"] == "Marie Dubois"
    assert attendees["marie@coordo.invalid"]["RSVP"] == "TRUE"
    (alarm,) = event.walk("VALARM")
    assert (str(alarm["ACTION"]), alarm.decoded("TRIGGER")) == ("DISPLAY", timedelta(hours=-1))


def test_a_change_raises_the_sequence_and_a_cancellation_says_cancel(console: Console) -> None:
    console.handle("/copil deplacer 3 jeudi 10h")
    event = file_of(console, 3).walk("VEVENT")[0]
    assert (event["SEQUENCE"], event.decoded("DTSTART")) == (1, paris(2026, 11, 26, 10))
    console.handle("/copil decommander 3")
    cal = file_of(console, 3, cancel=True)
    assert str(cal["METHOD"]) == "CANCEL"
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
    assert str(cal["METHOD"]) == "CANCEL"
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
        content = calendars.feed(session, experiment, now=NOW)
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
        found = calendars.feed_for_token(session, token, now=NOW)
        assert found is not None
        name, content = found
        assert name == "montreuil-ac.ics"
        (event,) = Calendar.from_ical(content).walk("VEVENT")
        assert str(event["SUMMARY"]) == "COTECH de l'assemblée citoyenne"
        for wrong in ("", token[:-1], token + "x", token.upper(), "x" * len(token)):
            assert calendars.feed_for_token(session, wrong, now=NOW) is None


@pytest.mark.parametrize("tz", ["Europe/Paris", "America/Cayenne", "UTC"])
def test_any_timezone_round_trips(console: Console, tz: str) -> None:
    console.handle(f"/labo reglages fuseau:{tz}")
    console.handle("/copil jeudi 10h")
    with Session(console.engine) as session:
        meeting = session.exec(select(Meeting).order_by(Meeting.id.desc())).first()  # type: ignore[union-attr]
        assert meeting is not None
        content = calendars.meeting_file(session, meeting, now=NOW, locale="en")
    (event,) = Calendar.from_ical(content).walk("VEVENT")
    assert event.decoded("DTSTART") == datetime(2026, 11, 26, 10, tzinfo=ZoneInfo(tz))
    assert event.decoded("DTSTART").date() == date(2026, 11, 26)
