"""A ping says what is true when it goes, not when it was queued: its relative words are
worked out again at send time, and one that nothing can re-word is dropped. Against the
fake Slack, the clock set by the test."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.console import ConsoleChat
from bot.sender import Sender
from bot.slack.client import SlackChat
from bot.slack.render import to_slack
from commands.services.meeting_reminders import scan_meetings
from commands.services.wording import STALE, words_on
from models import Meeting, OutboxMessage
from tests.chat import normalise
from tests.fakes.slack_api import FakeSlack
from tests.lab import Lab, build_lab, paris, slack_workspace

FRIDAY_DUE = date(2026, 12, 4)


@pytest.fixture
def lab(engine: Engine) -> Lab:
    return build_lab(engine)


def send_at(lab: Lab, slack: FakeSlack, moment: datetime) -> None:
    slack_workspace(slack)
    Sender(
        lab.engine,
        {"slack": SlackChat(slack.token, base_url=slack.api_url)},
        clock=lambda: moment,
        concurrency=1,
        pacing={},
        renderers={"slack": to_slack},
    ).run_once(wait=False)


def test_a_ping_queued_before_an_outage_is_reworded_when_it_goes(
    lab: Lab, fake_slack: FakeSlack
) -> None:
    lab.add_milestone("Rendu du dossier", FRIDAY_DUE)
    # The 7-day ping is queued on Friday 27 November; the sender is down until Tuesday.
    assert lab.scan(paris(2026, 11, 27, 9)).milestone_pings == 1
    [queued] = lab.rows("milestone")
    assert "dans 7 jours" in normalise(queued.payload["text"])
    send_at(lab, fake_slack, paris(2026, 12, 1, 10))
    [message] = fake_slack.messages
    assert "Jalon à rendre dans 3 jours" in normalise(message.text or "")
    assert "7 jours" not in normalise(message.text or "")
    assert "vendredi 4 décembre" in normalise(message.text or "")


def test_a_ping_sent_on_the_day_it_was_queued_goes_as_queued(
    lab: Lab, fake_slack: FakeSlack
) -> None:
    lab.add_milestone("Rendu du dossier", FRIDAY_DUE)
    lab.scan(paris(2026, 11, 27, 9))
    send_at(lab, fake_slack, paris(2026, 11, 27, 17))
    [message] = fake_slack.messages
    assert "Jalon à rendre dans 7 jours" in normalise(message.text or "")


def test_in_english_too(lab: Lab, fake_slack: FakeSlack) -> None:
    lab.add_milestone("File the report", FRIDAY_DUE, owners=("karim",))
    lab.scan(paris(2026, 11, 27, 9))
    send_at(lab, fake_slack, paris(2026, 12, 2, 17))  # Wednesday, before the 1-day ping
    [message] = fake_slack.messages
    assert "Milestone due in 2 days" in normalise(message.text or "")


def test_a_stale_ping_nothing_can_reword_is_dropped(lab: Lab, fake_slack: FakeSlack) -> None:
    lab.queue(
        "note:1", text="Rendez-vous demain", words=words_on(date(2026, 11, 30), "Europe/Paris")
    )
    lab.queue(
        "note:2", text="Rendez-vous demain", words=words_on(date(2026, 12, 1), "Europe/Paris")
    )
    send_at(lab, fake_slack, paris(2026, 12, 1, 10))
    assert [m.text for m in fake_slack.messages] == ["Rendez-vous demain"]
    rows = {r.key: r for r in lab.rows()}
    assert rows["note:1"].dropped_at is not None
    assert rows["note:1"].last_error == STALE
    assert rows["note:2"].sent_at is not None


def test_a_day_before_meeting_reminder_held_to_the_next_day_is_dropped(
    demo_engine: Engine, tmp_path: Path
) -> None:
    """ "Demain" queued on Sunday for a Monday 14:00 meeting, held to Monday's opening:
    it would be false, so it is dropped (the hour-before reminder follows)."""
    with Session(demo_engine) as session:
        meeting = session.get(Meeting, 3)
        assert meeting is not None
        meeting.starts_at, meeting.ends_at = paris(2026, 12, 7, 14), paris(2026, 12, 7, 16)
        session.add(meeting)
        session.commit()
        scan_meetings(session, paris(2026, 12, 6, 14, 30))
        session.commit()
    chat = ConsoleChat(tmp_path)
    monday = paris(2026, 12, 7, 9)
    Sender(demo_engine, {"console": chat}, clock=lambda: monday, concurrency=1).run_once(wait=False)
    with Session(demo_engine) as session:
        rows = session.exec(
            select(OutboxMessage).where(col(OutboxMessage.key).startswith("meeting:3:"))
        ).all()
    reminders = [r for r in rows if r.key.endswith("remind-1d") or ":remind-1d:" in r.key]
    assert reminders
    assert all(r.last_error == STALE and r.sent_at is None for r in reminders)
    assert not [line for line in chat.drain() if "Demain" in line]


def test_an_agenda_call_held_past_its_day_is_worded_again_with_the_agenda_so_far(
    demo_engine: Engine, tmp_path: Path
) -> None:
    """The call for agenda items of the 8 December COPIL, queued a week before, goes out
    two days later: it says "dans 5 jours", not "dans une semaine", and lists the item
    added in between."""
    with Session(demo_engine) as session:
        assert scan_meetings(session, paris(2026, 12, 1, 14, 30)) > 0
        session.commit()
        [row] = session.exec(
            select(OutboxMessage).where(
                col(OutboxMessage.key) == "meeting:3:2026-12-08:agenda-call"
            )
        ).all()
        assert "dans une semaine" in normalise(row.payload["text"])
    from bot.console import Console
    from commands.registry import build_router

    console = Console(
        demo_engine,
        build_router(),
        user="camille",
        channel="bondy",
        now=paris(2026, 12, 2, 11),
        files_dir=tmp_path,
    )
    console.handle('/copil odj 3 ajouter "Point ajouté entre-temps"')
    chat = ConsoleChat(tmp_path)
    thursday = paris(2026, 12, 3, 10)
    Sender(demo_engine, {"console": chat}, clock=lambda: thursday, concurrency=1).run_once(
        wait=False
    )
    said = normalise("\n".join(chat.drain()))
    assert "COPIL n°2 du budget participatif dans 5 jours" in said, said
    assert "dans une semaine" not in said
    assert "Point ajouté entre-temps" in said
