"""Date polls as people type and click them (demo lab, Tuesday 24 November 2026, 10:00 in
Paris; n°3 is Bondy's COPIL on Tuesday 8 December 14:00; elu.bondy is a partner of
Bondy). Replies are checked as the console prints them and as Slack and Mattermost render
them; the poll's message goes through the real outbox and sender."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import time_machine
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from bot.console import Console, ConsoleChat
from bot.sender import Sender
from commands.services.meeting_reminders import scan_meetings
from models import DatePoll, Invitation, Meeting, OutboxMessage, Person, PollAnswer, pk
from tests.chat import converse, normalise
from tests.commands.test_copil_cycle import (
    click,
    handle_of,
    notices,
    on_both_platforms,
    paris,
    run,
    send_notices,
)

CREATE = (
    '/copil sondage "COPIL de janvier" 08/12 14h, 01/01 10h, 14/01 10h durée:2h '
    "@marie @karim @elu.bondy"
)


def poll_row(engine: Engine, poll_id: int = 2) -> DatePoll:
    with Session(engine) as session:
        poll = session.get(DatePoll, poll_id)
        assert poll is not None
        return poll


def reminders(engine: Engine) -> list[OutboxMessage]:
    """The reminders of the poll the test made (n°2; the demo has n°1)."""
    return [n for n in notices(engine, "poll.remind") if n.key.startswith("poll:2:")]


def count(engine: Engine, model: type) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


def test_a_poll_flags_holidays_and_overlaps_and_asks_each_invitee(console: Console) -> None:
    reply = run(console, CREATE)
    on_both_platforms(
        reply,
        "Sondage n°2 créé, demandé à 3 personnes",
        "· sondage de date n°2 · Budget participatif de Bondy",
        "1. mardi 8 décembre 2026 à 14:00–16:00",
        "⚠️ chevauche « COPIL n°2 du budget participatif » (réf. 3)",
        "2. vendredi 1er janvier 2027 à 10:00–12:00",
        "⚠️ jour férié : Jour de l'an",
        "3. jeudi 14 janvier 2027 à 10:00–12:00",
    )
    assert [b.action for b in reply.buttons] == ["undo"]
    # The poll's message to the channel carries the nine buttons (three dates × three
    # answers); each person asked gets it by direct message.
    (message,) = notices(console.engine, "poll.message")
    assert message.target_kind == "channel"
    assert message.target_id == "bondy"
    buttons = [b[2] for b in message.payload["buttons"]]
    assert buttons[:3] == ["2:1:yes", "2:1:maybe", "2:1:no"]
    assert len(buttons) == 9
    asked = notices(console.engine, "poll.ask")
    assert len(asked) == 3
    assert "vous demande quand vous pouvez venir" in normalise(asked[0].payload["text"])


def test_answers_by_command_and_by_button_update_the_message_in_place(
    console: Console, tmp_path: Path
) -> None:
    run(console, CREATE)
    sent = send_notices(console.engine, tmp_path)
    assert any(
        line.startswith("📣 Coordo → ~bondy") and "sondage de date n°2" in line for line in sent
    )
    converse(
        console,
        """
        :user marie
        > /copil sondage repondre 2 oui non si-besoin
        C'est noté pour COPIL de janvier (sondage n°2)
        - 1. mardi 8 décembre 2026 à 14:00 : oui
        - 2. vendredi 1er janvier 2027 à 10:00 : non
        - 3. jeudi 14 janvier 2027 à 10:00 : si besoin
        > /copil sondage repondre 2 2:oui
        - 2. vendredi 1er janvier 2027 à 10:00 : oui
        """,
    )
    # The partner answers with the buttons.
    console.handle(":user elu.bondy")
    clicked = click(console, "poll.answer", "2:3:yes")
    on_both_platforms(clicked, "3. jeudi 14 janvier 2027 à 10:00 : oui", "reste 2 dates")
    # One edit waits, the newest; the older ones were superseded.
    edits = notices(console.engine, "poll.edit")
    waiting = [e for e in edits if e.dropped_at is None]
    assert len(edits) == 3
    assert len(waiting) == 1
    text = normalise(waiting[0].payload["text"])
    assert "1. mardi 8 décembre 2026 à 14:00–16:00 — ✅ 1 oui" in text
    assert "3. jeudi 14 janvier 2027 à 10:00–12:00 — ✅ 1 oui · 🤷 1 si besoin" in text
    assert "Sans réponse : <@karim|karim>" in text
    edited = send_notices(console.engine, tmp_path)
    (line,) = [x for x in edited if x.startswith("✏️")]
    assert line.startswith("✏️ Coordo → ~bondy (console-1)")
    assert poll_row(console.engine).version == 3


def test_english_and_the_list_of_open_polls(console: Console) -> None:
    converse(
        console,
        """
        > /meeting poll "January steering" Jan 12 2pm, Jan 14 10am duration:90min @marie
        Poll #2 created, asked of 1 person
        1. Tuesday 12 January 2027 at 14:00–15:30
        2. Thursday 14 January 2027 at 10:00–11:30
        :user marie
        > /meeting polls
        #2 January steering: 2 dates, 0 of 1 answered — ⏳ your answer is awaited
        > /meeting poll answer 2 if-need-be no
        - 1. Tuesday 12 January 2027 at 14:00: if need be
        - 2. Thursday 14 January 2027 at 10:00: no
        > /copil sondage voir 2
        1. mardi 12 janvier 2027 à 14:00–15:30 — ✅ 0 oui · 🤷 1 si besoin · ❌ 0 non
        si besoin : marie
        """,
    )


def test_closing_makes_the_meeting_with_its_invitations_and_undo_reopens(
    console: Console,
) -> None:
    run(console, CREATE)
    for user, answers in (("marie", "non oui si-besoin"), ("karim", "non si-besoin oui")):
        console.handle(f":user {user}")
        run(console, f"/copil sondage repondre 2 {answers}")
    console.handle(":user elu.bondy")
    run(console, "/copil sondage repondre 2 non non oui")
    # A partner answers but does not close.
    refused = normalise(console.handle("/copil sondage clore 2"))
    assert "Action réservée aux membres de l'équipe" in refused
    assert poll_row(console.engine).status == "open"
    console.handle(":user camille")
    closed = run(console, "/copil sondage clore 2")
    # Date 3 has 2 yes (date 2: 1 yes): the best by default.
    on_both_platforms(
        closed,
        "Sondage n°2 clos : date n°3 retenue, jeudi 14 janvier 2027 à 10:00 (2 oui, 1 si besoin, 0 non)",
        "COPIL de janvier",
        "Invitation envoyée à",
    )
    assert [b.action for b in closed.buttons] == ["meeting.rsvp"] * 3 + ["undo"]
    assert closed.files
    assert closed.files[0].mime_type == "text/calendar"
    poll = poll_row(console.engine)
    assert poll.status == "closed"
    assert poll.meeting_id is not None
    meeting_id = poll.meeting_id
    with Session(console.engine) as session:
        meeting = session.get(Meeting, meeting_id)
        assert meeting is not None
        assert meeting.starts_at == paris(2027, 1, 14, 10).astimezone(UTC)
        assert meeting.ends_at == paris(2027, 1, 14, 12).astimezone(UTC)
        invited = session.exec(select(Invitation).where(Invitation.meeting_id == meeting_id)).all()
        assert len(invited) == 3
    invites = [n for n in notices(console.engine, "meeting.invite") if n.dropped_at is None]
    assert len(invites) == 3
    # Answering a closed poll is refused, in words.
    console.handle(":user marie")
    assert "est clos" in normalise(console.handle("/copil sondage repondre 2 oui oui oui"))
    console.handle(":user camille")
    undone = normalise(console.handle("/copil annuler"))
    assert "avait clos le sondage de date « COPIL de janvier »" in undone
    assert "Le sondage n°2 est rouvert et sa réunion retirée." in undone
    poll = poll_row(console.engine)
    assert (poll.status, poll.meeting_id) == ("open", None)
    with Session(console.engine) as session:
        meeting = session.get(Meeting, meeting_id)
        assert meeting is not None
        assert meeting.deleted_at is not None
        live = session.exec(
            select(Invitation).where(
                Invitation.meeting_id == meeting_id, col(Invitation.deleted_at).is_(None)
            )
        ).all()
        assert live == []
    # The invitations not sent yet are withdrawn; the poll's message shows it open again.
    assert all(n.dropped_at is not None for n in notices(console.engine, "meeting.invite"))
    last_edit = notices(console.engine, "poll.edit")[-1]
    assert last_edit.dropped_at is None
    assert "Répondre" in normalise(last_edit.payload["text"])
    # Closed again on the organiser's choice.
    closed = run(console, "/copil sondage clore 2 2")
    assert "date n°2 retenue, vendredi 1er janvier 2027 à 10:00" in normalise(closed.text)


def test_reminders_go_after_two_working_days_to_those_who_have_not_answered(
    console: Console, tmp_path: Path
) -> None:
    run(console, CREATE)
    console.handle(":user marie")
    run(console, "/copil sondage repondre 2 oui oui oui")

    def scan_at(moment: datetime) -> list[str]:
        with time_machine.travel(moment, tick=False):
            now = datetime.now(UTC)
            with Session(console.engine) as session:
                scan_meetings(session, now)
                session.commit()
            return [n.target_id for n in reminders(console.engine)]

    # Made on Tuesday 10:00: Wednesday is one working day, Thursday 10:00 the second.
    assert scan_at(paris(2026, 11, 25, 16)) == []
    assert scan_at(paris(2026, 11, 26, 9, 59)) == []
    reminded = scan_at(paris(2026, 11, 26, 10))
    with Session(console.engine) as session:
        handles = sorted(
            p.handle for p in session.exec(select(Person)).all() if str(pk(p)) in reminded
        )
    assert handles == ["elu.bondy", "karim"]  # marie answered
    assert len(scan_at(paris(2026, 11, 27, 10))) == 2  # once each
    (remind, _) = reminders(console.engine)
    text = normalise(remind.payload["text"])
    assert "Rappel : vous n'avez pas encore répondu" in text
    assert len(remind.payload["buttons"]) == 9
    # The sender's clock too: the reminder goes out on the Thursday.
    with time_machine.travel(paris(2026, 11, 26, 10, 1), tick=False):
        chat = ConsoleChat(tmp_path / "sent")
        Sender(console.engine, {"console": chat}, concurrency=1, pacing={}).run_once(wait=False)
        sent = chat.drain()
    assert (
        sum("Rappel" in line and "COPIL de janvier" in line for line in map(normalise, sent)) == 2
    )


def test_holidays_do_not_count_as_working_days(console: Console, tmp_path: Path) -> None:
    console.fixed_now = paris(2026, 12, 24, 10)  # Thursday; Friday 25 is Christmas
    run(console, '/copil sondage "Bilan" 12/01 14h, 14/01 10h @karim')
    for moment, expected in (
        (paris(2026, 12, 28, 10), 0),  # Monday: one working day
        (paris(2026, 12, 29, 10), 1),  # Tuesday: two
    ):
        with Session(console.engine) as session:
            scan_meetings(session, moment.astimezone(UTC))
            session.commit()
        assert len(reminders(console.engine)) == expected
    # Closed meanwhile: the queued reminder is dropped, not sent.
    run(console, "/copil sondage clore 2")
    send_notices(console.engine, tmp_path, paris(2026, 12, 29, 11).astimezone(UTC))
    (remind,) = reminders(console.engine)
    assert (remind.sent_at, remind.last_error) == (None, "poll closed")


def test_bad_input_is_asked_back_and_nothing_is_written(console: Console) -> None:
    polls, answers = count(console.engine, DatePoll), count(console.engine, PollAnswer)
    converse(
        console,
        """
        > /copil sondage "COPIL" 12/01 14h
        Proposez au moins deux dates avec leur heure
        > /copil sondage "COPIL" 12/01 14h, 14/01
        « 14/01 » : à quelle heure ?
        > /copil sondage "COPIL" 12/01 14h, 24/11 9h
        c'est déjà passé
        > /meeting poll "COPIL" 12/01 2pm, Jan 14 10am
        can be read more than one way
        > /copil sondage "COPIL" 12/01 14h, 12/01 14h
        La même date est proposée deux fois
        > /copil sondage repondre 9 oui
        Pas de sondage de date n°9 ici
        """,
    )
    assert count(console.engine, DatePoll) == polls
    run(console, CREATE)
    converse(
        console,
        """
        > /copil sondage repondre 2 oui peut
        « peut » n'est pas une réponse
        > /copil sondage repondre 2 4:oui
        Le sondage n°2 n'a pas de date n°4 (3 dates)
        > /copil sondage repondre 2 oui oui oui oui
        Le sondage n°2 n'a pas de date n°4 (3 dates)
        > /copil sondage repondre 2
        Donnez une réponse par date, dans l'ordre
        > /copil sondage clore 2 deux
        Pour clore
        > /copil sondage clore 2 7
        Le sondage n°2 n'a pas de date n°7
        """,
    )
    assert count(console.engine, PollAnswer) == answers
    click_reply = click(console, "poll.answer", "2:9:yes")
    assert "n'a pas de date n°9" in normalise(click_reply.text)
    assert count(console.engine, PollAnswer) == answers


def test_someone_outside_the_experiment_does_not_see_the_poll(console: Console) -> None:
    answers = count(console.engine, PollAnswer)
    run(console, '/copil sondage "COPIL" 12/01 14h, 14/01 10h @marie')
    console.handle(":user agent.montreuil")
    console.handle(":channel montreuil")
    assert "Pas de sondage de date n°2" in normalise(
        console.handle("/copil sondage repondre 2 oui oui")
    )
    assert count(console.engine, PollAnswer) == answers


def test_undoing_a_close_tells_who_had_the_invitation_already(
    console: Console, tmp_path: Path
) -> None:
    run(console, CREATE)
    closed = run(console, "/copil sondage clore 2 3")
    assert "Invitation envoyée à" in normalise(closed.text)
    # The invitations go out before the undo: their readers must hear of it.
    sent = send_notices(console.engine, tmp_path, paris(2026, 11, 24, 10, 5))
    assert sum("vous invite à" in line for line in map(normalise, sent)) == 3

    undone = normalise(console.handle("/copil annuler"))

    assert "Le sondage n°2 est rouvert et sa réunion retirée." in undone
    assert (
        "Les 3 personnes qui avaient déjà reçu l'invitation seront prévenues du retrait." in undone
    )
    told = [n for n in notices(console.engine, "meeting.withdrawn") if n.dropped_at is None]
    assert sorted(handle_of(console.engine, n.target_id) for n in told) == [
        "elu.bondy",
        "karim",
        "marie",
    ]
    text = normalise(told[0].payload["text"])
    assert (
        "**COPIL de janvier** (Budget participatif de Bondy), fixé au jeudi 14 janvier 2027 "
        "à 10:00 par un sondage, est retiré" in text
    )
    assert "la clôture du sondage a été annulée" in text
    assert told[0].payload.get("buttons") in (None, [])
    # The notices go out, one to each.
    again = send_notices(console.engine, tmp_path, paris(2026, 11, 24, 10, 10))
    assert sum("est retiré" in line for line in map(normalise, again)) == 3


def test_undoing_a_close_before_the_invitations_went_tells_nobody(console: Console) -> None:
    run(console, CREATE)
    run(console, "/copil sondage clore 2 3")

    undone = normalise(console.handle("/copil annuler"))

    assert "Le sondage n°2 est rouvert et sa réunion retirée." in undone
    assert "prévenue" not in undone
    assert notices(console.engine, "meeting.withdrawn") == []


def test_undo_of_the_poll_itself_withdraws_its_messages(console: Console) -> None:
    run(console, CREATE)
    undone = normalise(console.handle("/copil annuler"))
    assert "sondage de date « COPIL de janvier »" in undone
    assert poll_row(console.engine).deleted_at is not None
    with Session(console.engine) as session:
        rows = session.exec(
            select(OutboxMessage).where(col(OutboxMessage.key).startswith("poll:2:"))
        ).all()
        assert rows
        assert all(r.dropped_at is not None for r in rows)
    assert "Pas de sondage de date n°2" in normalise(console.handle("/copil sondage voir 2"))


def test_undoing_an_answer_takes_it_back_and_the_message_follows(console: Console) -> None:
    run(console, CREATE)
    console.handle(":user marie")
    run(console, "/copil sondage repondre 2 oui oui non")
    undone = normalise(console.handle("/copil annuler"))
    assert "répondu « oui » pour le mardi 8 décembre 2026 à 14:00" in undone
    with Session(console.engine) as session:
        marie = session.exec(select(Person).where(Person.handle == "marie")).one()
        rows = session.exec(select(PollAnswer).where(PollAnswer.person_id == marie.id)).all()
        mine = [r for r in rows if r.slot_id > 3]  # the demo poll's slots are 1 to 3
        assert len(mine) == 3
        assert all(r.deleted_at is not None for r in mine)  # withdrawn, kept in the log
    edits = [e for e in notices(console.engine, "poll.edit") if e.dropped_at is None]
    assert "✅ 0 oui" in normalise(edits[-1].payload["text"])
    assert "Sans réponse : <@elu.bondy|elu.bondy>, <@karim|karim>, <@marie|marie>" in normalise(
        edits[-1].payload["text"]
    )
    run(console, "/copil sondage repondre 2 non oui non")  # the same version again: a new edit
    edits = [e for e in notices(console.engine, "poll.edit") if e.dropped_at is None]
    assert len(edits) == 1
    assert "2. vendredi 1er janvier 2027 à 10:00–12:00 — ✅ 1 oui" in normalise(
        edits[0].payload["text"]
    )


def test_a_weekend_does_not_count_either(console: Console) -> None:
    console.fixed_now = paris(2026, 11, 26, 10)  # a Thursday
    run(console, '/copil sondage "Bilan" 12/01 14h, 14/01 10h @karim')
    for moment, expected in (
        (paris(2026, 11, 27, 10), 0),  # Friday: one working day
        (paris(2026, 11, 28, 10), 0),  # Saturday does not count
        (paris(2026, 11, 30, 9, 59), 0),
        (paris(2026, 11, 30, 10), 1),  # Monday: two
    ):
        with Session(console.engine) as session:
            scan_meetings(session, moment.astimezone(UTC))
            session.commit()
        assert len(reminders(console.engine)) == expected, moment
