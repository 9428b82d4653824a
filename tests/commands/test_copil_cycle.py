"""The COPIL cycle's ends, as people type them (demo lab, Tuesday 24 November 2026, 10:00
in Paris; n°3 is Bondy's COPIL n°2 on Tuesday 8 December 14:00, marie said yes, karim has
not answered, sophie declined): undo and the invitees, moving a meeting, attendance,
minutes as a document, agenda carry-over, date polls. Replies are checked as the console
prints them and as Slack and Mattermost render them."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import ics
import vobject
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.console import Console, ConsoleChat
from bot.platforms.render import MattermostSigner, to_mattermost, to_slack
from bot.sender import Sender
from commands.reply import Reply
from models import Meeting, OutboxMessage, Person
from tests.chat import normalise
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
        assert "a annulé le changement : COPIL n°2 du budget participatif" in line
        assert "est maintenue, comme avant" in normalise(line)
        assert "mardi 8 décembre 2026 à 14:00–16:00" in normalise(line)
    assert sorted(line.split("\n")[0] for line in told) == [
        "📨 Coordo → @karim",
        "📨 Coordo → @marie",
    ]
