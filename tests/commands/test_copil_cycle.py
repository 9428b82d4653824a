"""The COPIL cycle's ends, as people type them (demo lab, Tuesday 24 November 2026, 10:00
in Paris; n°3 is Bondy's COPIL n°2 on Tuesday 8 December 14:00, marie said yes, karim has
not answered, sophie declined): undo and the invitees, moving a meeting, attendance,
minutes as a document, agenda carry-over, date polls. Replies are checked as the console
prints them and as Slack and Mattermost render them."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import docx
import ics
import pypdf
import vobject
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.console import Console, ConsoleChat
from bot.mattermost.render import MattermostSigner, to_mattermost
from bot.sender import Sender
from bot.slack.render import to_slack
from commands.reply import Reply
from commands.services.meeting_reminders import scan_meetings
from models import Decision, Invitation, Meeting, OutboxMessage, Person, Workspace
from tests.chat import converse, normalise
from tests.conftest import NOW

PARIS = ZoneInfo("Europe/Paris")
SIGNER = MattermostSigner("https://coordo.example.org", b"k" * 32)


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def run(console: Console, line: str) -> Reply:
    command, _, text = line.lstrip("/").partition(" ")
    return console.router.dispatch(console.engine, console.invocation(command, text))


def click(console: Console, action: str, value: str) -> Reply:
    return console.router.act(console.engine, console.invocation("copil", ""), action, value)


def on_both_platforms(reply: Reply, *expected: str) -> None:
    """Each expected piece shows in the Slack message and in the Mattermost post, and the
    buttons come along on both."""
    slack = to_slack(reply)
    slack_text = normalise(
        "\n".join(b["text"]["text"] for b in slack.blocks or [] if b.get("type") == "section")
    )
    mattermost = to_mattermost(reply, SIGNER, team_id="T1")
    mattermost_text = normalise(mattermost.text)
    for piece in expected:
        assert normalise(piece) in slack_text, (piece, slack_text)
        assert normalise(piece) in mattermost_text, (piece, mattermost_text)
    if reply.buttons:
        slack_buttons = [
            e["value"] for b in slack.blocks or [] if b["type"] == "actions" for e in b["elements"]
        ]
        assert slack_buttons == [b.value for b in reply.buttons]
        (actions,) = [a["actions"] for a in mattermost.attachments or [] if "actions" in a]
        assert [a["integration"]["context"]["value"] for a in actions] == [
            b.value for b in reply.buttons
        ]


def send_notices(engine: Engine, tmp_path: Path, now: datetime = NOW) -> list[str]:
    """Run the real sender once over the outbox, to the console's chat; what it sent."""
    chat = ConsoleChat(tmp_path / "sent")
    Sender(engine, {"console": chat}, clock=lambda: now, concurrency=1, pacing={}).run_once(
        wait=False
    )
    return chat.drain()


def notices(engine: Engine, kind: str) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(OutboxMessage)
                .where(OutboxMessage.kind == kind)
                .order_by(col(OutboxMessage.id))
            )
        )


def handle_of(engine: Engine, person_id: str) -> str:
    with Session(engine) as session:
        person = session.get(Person, int(person_id))
        assert person is not None
        return person.handle


def sequence_read(content: bytes) -> tuple[int, int, str]:
    """SEQUENCE and STATUS as vobject and ics read them."""
    event = vobject.readOne(content.decode("utf-8")).vevent
    (other,) = ics.Calendar(content.decode("utf-8")).events
    (from_ics,) = [line.value for line in other.extra if line.name == "SEQUENCE"]
    assert event.status.value == other.status
    return int(event.sequence.value), int(from_ics), str(other.status)


# --------------------------------------------------------------------------- undo


def test_undoing_a_cancellation_withdraws_unsent_notices_and_never_lowers_the_sequence(
    console: Console,
) -> None:
    cancelled = run(console, "/copil decommander 3")
    assert sequence_read(cancelled.files[0].content) == (1, 1, "CANCELLED")
    queued = notices(console.engine, "meeting.cancelled")
    assert sorted(handle_of(console.engine, n.target_id) for n in queued) == ["karim", "marie"]
    undone = run(console, "/copil annuler")
    # Nothing went out yet: the notices are withdrawn, and nobody needs telling.
    assert all(n.dropped_at is not None for n in notices(console.engine, "meeting.cancelled"))
    assert notices(console.engine, "meeting.restored") == []
    assert "maintenue" not in undone.text
    (file,) = undone.files
    assert sequence_read(file.content) == (2, 2, "CONFIRMED")  # 2, never 0 again
    with Session(console.engine) as session:
        meeting = session.get(Meeting, 3)
        assert meeting is not None
        assert (meeting.status, meeting.sequence) == ("scheduled", 2)


def test_undoing_a_cancellation_already_sent_tells_the_invitees_the_meeting_stands(
    console: Console, tmp_path: Path
) -> None:
    run(console, "/copil decommander 3")
    sent = send_notices(console.engine, tmp_path)
    assert sum("❌" in line for line in sent) == 2
    undone = run(console, "/copil annuler")
    assert "Les 2 personnes déjà prévenues du changement le seront" in normalise(undone.text)
    on_both_platforms(undone, "la réunion est maintenue")
    told = send_notices(console.engine, tmp_path)
    assert len(told) == 2
    for line in told:
        assert "a annulé le changement : COPIL n°2 du budget participatif" in normalise(line)
        assert "est maintenu, comme avant" in normalise(line)
        assert "mardi 8 décembre 2026 à 14:00–16:00" in normalise(line)
    assert sorted(line.split("\n")[0] for line in told) == [
        "📨 Coordo → @karim",
        "📨 Coordo → @marie",
    ]


# --------------------------------------------------------------------------- moving


def answers(engine: Engine, meeting_id: int) -> dict[str, str]:
    with Session(engine) as session:
        rows = session.exec(
            select(Invitation, Person)
            .join(Person, col(Person.id) == Invitation.person_id)
            .where(Invitation.meeting_id == meeting_id)
        ).all()
        return {p.handle: i.response for i, p in rows}


def test_a_weekday_alone_is_the_one_in_the_meeting_s_week(console: Console) -> None:
    # Meeting n°3 is on Tuesday 8 December; today is Tuesday 24 November.
    reply = run(console, "/copil deplacer 3 jeudi 10h")
    text = normalise(reply.text)
    assert (
        "🗓️ jeudi 10 décembre 2026 à 10:00–12:00 (au lieu du mardi 8 décembre 2026 à 14:00)" in text
    )
    assert "↔️ Déplacé de 1 jour 20 h plus tard." in text
    with Session(console.engine) as session:
        meeting = session.get(Meeting, 3)
        assert meeting is not None
        assert meeting.starts_at == paris(2026, 12, 10, 10).astimezone(UTC)
    # Earlier in the same week, and the same day at another time.
    converse(
        console,
        """
        > /copil deplacer 3 lundi 9h
        🗓️ lundi 7 décembre 2026 à 09:00–11:00
        ↔️ Déplacé de 3 jours 1 h plus tôt.
        > /copil deplacer 3 lundi 9h30
        ↔️ Déplacé de 30 min plus tard.
        > /meeting move 3 friday 2pm
        🗓️ Friday 11 December 2026 at 14:00–16:00
        ↔️ Moved 4 days 4 hours 30 min later.
        """,
    )


def test_a_relative_date_that_depends_on_the_reference_is_asked_back(console: Console) -> None:
    before = answers(console.engine, 3)
    with Session(console.engine) as session:
        count = len(session.exec(select(OutboxMessage)).all())
    converse(
        console,
        """
        > /copil deplacer 3 jeudi prochain 10h
        « jeudi prochain 10h » : jeudi 3 décembre 2026 à 10:00 (à partir d'aujourd'hui) ou jeudi 17 décembre 2026 à 10:00 (à partir de la réunion, le mardi 8 décembre 2026 à 14:00) ? Rien n'est changé
        > /copil deplacer 3 dans 3 jours 10h
        (à partir d'aujourd'hui) ou
        > /meeting move 3 tomorrow 10am
        Nothing changed
        > /copil deplacer 3 10/12 10h
        🗓️ jeudi 10 décembre 2026 à 10:00–12:00
        """,
    )
    assert before == {"marie": "yes", "karim": "pending", "sophie": "no"}
    with Session(console.engine) as session:
        # Only the last, explicit, date moved the meeting and queued notices.
        moved = session.exec(
            select(OutboxMessage).where(OutboxMessage.kind == "meeting.moved")
        ).all()
        assert len(session.exec(select(OutboxMessage)).all()) == count + len(moved)


def test_a_new_date_tells_everyone_invited_and_answers_start_again(
    console: Console, tmp_path: Path
) -> None:
    reply = run(console, "/copil deplacer 3 jeudi 10h")
    # The answer buttons come first, then undo, on both platforms.
    assert [b.action for b in reply.buttons] == ["meeting.rsvp"] * 3 + ["undo"]
    on_both_platforms(reply, "Déplacé de 1 jour 20 h plus tard", "jeudi 10 décembre 2026")
    assert answers(console.engine, 3) == {
        "marie": "pending",
        "karim": "pending",
        "sophie": "pending",
    }
    told = {
        handle_of(console.engine, n.target_id) for n in notices(console.engine, "meeting.moved")
    }
    assert told == {"marie", "karim", "sophie"}  # sophie had declined: told too
    for notice in notices(console.engine, "meeting.moved"):
        assert [b[1] for b in notice.payload["buttons"]] == ["meeting.rsvp"] * 3
        assert "jeudi 10 décembre 2026" in normalise(notice.payload["text"])
    sent = send_notices(console.engine, tmp_path)
    assert len(sent) == 3
    # An answer by the notice's button counts again.
    console.user = "sophie"
    answered = click(console, "meeting.rsvp", "3:yes")
    assert answered.changed
    assert answers(console.engine, 3)["sophie"] == "yes"
    # An undo now would take back sophie's new answer: it is refused, nothing changes.
    console.user = "camille"
    refused = run(console, "/copil annuler")
    assert "modifié depuis" in normalise(refused.text)
    assert answers(console.engine, 3)["sophie"] == "yes"


def test_undoing_a_move_brings_the_answers_back(console: Console) -> None:
    run(console, "/copil deplacer 3 jeudi 10h")
    run(console, "/copil annuler")
    assert answers(console.engine, 3) == {"marie": "yes", "karim": "pending", "sophie": "no"}
    with Session(console.engine) as session:
        meeting = session.get(Meeting, 3)
        assert meeting is not None
        assert (meeting.starts_at, meeting.sequence) == (paris(2026, 12, 8, 14).astimezone(UTC), 2)
    # The move's notices had not gone: withdrawn.
    assert all(n.dropped_at is not None for n in notices(console.engine, "meeting.moved"))


def test_a_change_of_place_alone_keeps_the_answers(console: Console) -> None:
    reply = run(console, '/copil deplacer 3 lieu:"Salle des fêtes"')
    assert "Déplacé de" not in reply.text
    assert answers(console.engine, 3) == {"marie": "yes", "karim": "pending", "sophie": "no"}


def test_one_sitting_of_a_series_moved_resets_that_sitting_only(console: Console) -> None:
    run(console, "/copil reponse 4 seance:01/12 oui")
    reply = run(console, "/copil deplacer 4 seance:01/12 jeudi 14h")
    text = normalise(reply.text)
    assert "jeudi 3 décembre 2026 à 14:00" in text
    assert "↔️ Déplacé de 2 jours 4 h plus tard." in text


# --------------------------------------------------------------------------- attendance


def test_attendance_is_recorded_apart_from_the_answers(console: Console) -> None:
    # Before the roll is taken, the summary says who was expected, organiser included.
    converse(
        console,
        """
        > /copil resume 1
        Attendus : @camille
        présences non relevées
        > /copil presents 1 @marie @karim excuses:@sophie
        🧾 Présences — COPIL n°1 du budget participatif (réf. 1)
        Présents : @karim, @marie
        Excusés : @sophie
        > /copil resume 1
        Présents : @karim, @marie
        Excusés : @sophie
        > /meeting attendance 1 @camille excused: @karim absent:@lucas
        Present: @camille, @marie
        Excused: @karim, @sophie
        Absent: @lucas
        > /copil presents 1 @marie
        Rien ne change aux présences de la réunion n°1.
        > /copil presents 1 @marie excuses:@marie
        @marie est nommé·e deux fois
        > /copil presents 1 @marie retard:@karim
        Je ne comprends pas « retard » dans les présences.
        > /copil presents 1
        Dites qui était là.
        > /copil presents 3 @marie
        La réunion n°3 n'a pas encore eu lieu
        :user elu.bondy
        > /copil presents 1 @marie
        Action réservée
        """,
    )


def test_attendance_on_both_platforms_and_undo(console: Console) -> None:
    reply = run(console, "/copil presents 1 @marie @karim excuses:@sophie")
    on_both_platforms(reply, "Présents : @karim, @marie", "Excusés : @sophie")
    assert reply.visibility == "channel"
    run(console, "/copil annuler")
    assert "Attendus" in normalise(run(console, "/copil resume 1").text)


# --------------------------------------------------------------------------- the document


def docx_text(content: bytes) -> str:
    document = docx.Document(io.BytesIO(content))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append(" | ".join(cell.text for cell in row.cells))
    parts.extend(p.text for p in document.sections[0].header.paragraphs)
    return "\n".join(parts)


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages)


def prepare_sitting(console: Console) -> None:
    console.handle("/copil presents 1 @marie @karim excuses:@sophie")
    console.handle("/copil action 1 Envoyer le devis à l'imprimeur vendredi @karim")


def test_the_minutes_as_an_editable_document(console: Console) -> None:
    prepare_sitting(console)
    reply = run(console, "/copil compte-rendu 1 docx")
    assert "📄 Compte-rendu de **COPIL n°1 du budget participatif** (réf. 1), en DOCX" in normalise(
        reply.text
    )
    assert reply.visibility == "channel"
    (file,) = reply.files
    assert file.filename.startswith("compte-rendu-2026-10-")
    assert file.filename.endswith("-1.docx")
    assert file.mime_type.endswith("wordprocessingml.document")
    text = normalise(docx_text(file.content))
    with Session(console.engine) as session:
        meeting = session.get(Meeting, 1)
        assert meeting is not None
        decisions = session.exec(select(Decision).where(Decision.meeting_id == 1)).all()
        workspace = session.get(Workspace, 1)
        assert workspace is not None
    assert workspace.name in text  # the lab's name, in the header
    assert "Budget participatif de Bondy" in text
    assert "Compte-rendu — COPIL n°1 du budget participatif (réunion n°1)" in text
    assert "Présents : Karim Benali, Marie Dubois" in text
    assert "Excusés : Sophie Martin" in text
    for line in meeting.minutes.splitlines():
        assert line in text
    assert decisions
    for decision in decisions:
        assert f"Décision n°{decision.id} : {decision.text}" in text
    assert "Action | Responsables | Échéance" in text
    assert "Envoyer le devis à l'imprimeur | Karim Benali | 27/11/2026" in text
    assert "Le président ou la présidente de séance | Le ou la secrétaire de séance" in text
    on_both_platforms(reply, "COPIL n°1 du budget participatif", "en DOCX")


def test_the_minutes_as_a_pdf_in_english(console: Console) -> None:
    prepare_sitting(console)
    reply = run(console, "/meeting minutes 1 pdf")
    (file,) = reply.files
    assert file.mime_type == "application/pdf"
    assert file.filename.startswith("minutes-2026-10-")
    assert file.content.startswith(b"%PDF-")
    text = normalise(pdf_text(file.content))
    assert "Minutes — COPIL n°1 du budget participatif (meeting #1)" in text
    assert "Present: Karim Benali, Marie Dubois" in text
    assert "Excused: Sophie Martin" in text
    assert "Envoyer le devis à l'imprimeur" in text
    assert "Decision #" in text
    assert "The chair" in text


def test_without_a_format_the_minutes_command_still_adds_minutes(console: Console) -> None:
    converse(
        console,
        """
        > /copil compte-rendu 1 Le vote aura lieu en mars.
        Le vote aura lieu en mars.
        > /copil compte-rendu 3 docx
        La réunion n°3 n'a pas encore eu lieu
        """,
    )


# --------------------------------------------------------------------------- carry-over


def test_items_not_dealt_with_go_to_the_next_sitting_and_its_call_says_so(
    console: Console,
) -> None:
    converse(
        console,
        """
        > /copil planifier tous les mardis à 11h
        réunion n°5
        > /copil odj 5 ajouter "Budget de la communication"
        > /copil odj 5 ajouter "Calendrier du vote"
        2. Calendrier du vote
        """,
    )
    console.fixed_now = NOW + timedelta(hours=3)  # the sitting of 11:00 is over
    replies = converse(
        console,
        """
        > /copil reporter 5 2
        ↪️ Reporté de la séance du 24/11/2026 à celle du mardi 1er décembre 2026 à 11:00
        - Calendrier du vote
        > /copil reporter 5 2
        Rien à reporter de la dernière séance de la réunion n°5
        > /meeting carry 5
        ↪️ Carried over from the sitting of 24/11/2026 to the one of Tuesday 1 December 2026 at 11:00
        - Budget de la communication
        > /copil reporter 5 9
        Pas de point n°9 à l'ordre du jour de la réunion n°6 (2 points)
        > /copil reporter 3
        La réunion n°3 n'est pas récurrente
        """,
    )
    on_both_platforms(run(console, "/copil odj 5 seance:01/12"), "Calendrier du vote")
    assert "Calendrier du vote" in replies[0]
    with Session(console.engine) as session:
        scan_meetings(session, console.now())
        session.commit()
        (call,) = session.exec(
            select(OutboxMessage).where(
                OutboxMessage.kind == "meeting.agenda-call", OutboxMessage.target_id == "bondy"
            )
        ).all()
    text = normalise(call.payload["text"])
    assert "1. Calendrier du vote" in text
    assert "2. Budget de la communication" in text
    assert (
        "↪️ Reportés de la séance précédente : Calendrier du vote · Budget de la communication"
        in text
    )


def test_items_not_dealt_with_go_over_by_themselves_when_the_sitting_ends(
    console: Console,
) -> None:
    converse(
        console,
        """
        > /copil planifier tous les premiers mardis du mois à 11h
        réunion n°5
        > /copil odj 5 ajouter "Budget de la communication"
        > /copil odj 5 ajouter "Calendrier du vote"
        > /copil odj 5 ajouter "Questions diverses"
        3. Questions diverses
        """,
    )
    console.fixed_now = paris(2026, 12, 1, 14)  # the sitting of 1 December is over
    converse(
        console,
        """
        > /copil odj 5 traite 1
        1. Budget de la communication _(camille)_ ✔️ traité
        > /copil odj 5 traite 1
        est déjà marqué traité
        > /meeting agenda 5 done 9
        No item 9 on the agenda of meeting #6 (3 items)
        """,
    )

    def scan(moment: datetime) -> None:
        with Session(console.engine) as session:
            scan_meetings(session, moment.astimezone(UTC))
            session.commit()

    scan(paris(2026, 12, 1, 14))
    converse(
        console,
        """
        > /copil odj 5
        mardi 5 janvier 2027 à 11:00
        1. Calendrier du vote _(camille)_ ↪️
        2. Questions diverses _(camille)_ ↪️
        > /copil odj 5 seance:01/12 traite 3
        3. Questions diverses _(camille)_ ✔️ traité
        """,
    )
    scan(paris(2026, 12, 2, 9))  # nothing more: each item goes over once
    on_both_platforms(run(console, "/copil odj 5"), "1. Calendrier du vote", "↪️")
    assert "Questions diverses" not in run(console, "/copil odj 5").text
    scan(paris(2026, 12, 29, 12))  # a week before the next sitting: its agenda call
    with Session(console.engine) as session:
        (call,) = session.exec(
            select(OutboxMessage).where(
                OutboxMessage.kind == "meeting.agenda-call",
                OutboxMessage.target_id == "bondy",
                col(OutboxMessage.key).contains("2027-01-05"),
            )
        ).all()
    text = normalise(call.payload["text"])
    assert "1. Calendrier du vote" in text
    assert "Reporté de la séance précédente : Calendrier du vote" in text
