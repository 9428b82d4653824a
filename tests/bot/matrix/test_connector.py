"""Conversations with Coordo on a real Synapse: people type commands in rooms, Coordo
answers in the command's thread, privately in a direct room, and through its outbox.

Users of another homeserver cannot be created without federation (a second Synapse and
their keys to each other): the partner here is a user of the test server marked as a
partner in the settings (``MATRIX_PARTNERS``), the same rule ``is_partner`` applies to
another homeserver's users."""

from __future__ import annotations

import contextlib
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from bot.kit.port import ChatPort, PlatformMessage
from bot.matrix.connector import MatrixConnector
from bot.matrix.port import MatrixChat
from bot.matrix.render import to_matrix
from bot.sender import Sender
from commands.reply import Button, File, Reply, Visibility
from commands.services import outbox
from models import Expense, OutboxMessage, Workspace
from tests.bot.matrix.conftest import Lab
from tests.synapse import Client


def in_thread(event: dict[str, Any], root: str) -> bool:
    relates = event.get("content", {}).get("m.relates_to") or {}
    return relates.get("rel_type") == "m.thread" and relates.get("event_id") == root


def room_with_coordo(lab: Lab, owner: Client, *others: Client) -> str:
    room = owner.create_room(invite=[lab.bot.user_id, *(o.user_id for o in others)])
    for other in others:
        other.join(room)
    owner.wait_for(
        lambda r, e: (
            r == room
            and e.get("type") == "m.room.member"
            and e.get("state_key") == lab.bot.user_id
            and e["content"].get("membership") == "join"
        )
    )
    return room


def ask(lab: Lab, person: Client, room: str, text: str) -> tuple[str, list[str]]:
    """Type ``text``; return the command's event id and Coordo's messages in its thread
    (waiting for the first; reactions and later ones that came along are included)."""
    command = person.say(room, text)
    seen = person.wait_for(
        lambda r, e: r == room and e.get("type") == "m.room.message" and in_thread(e, command),
        sender=lab.bot.user_id,
    )
    time.sleep(0.3)
    seen += [(r, e) for r, e in person.events() if e.get("sender") == lab.bot.user_id]
    bodies = [
        e["content"]["body"]
        for r, e in seen
        if r == room and e.get("type") == "m.room.message" and in_thread(e, command)
    ]
    return command, bodies


def expenses(engine: Engine) -> int:
    with Session(engine) as session:
        return int(
            session.exec(
                select(func.count()).select_from(Expense).where(col(Expense.deleted_at).is_(None))
            ).one()
        )


def start_lab(
    lab: Lab, *, partners: list[str] | None = None
) -> tuple[MatrixConnector, Client, str]:
    """Camille, the lab's first person, opens a room with Coordo and an experiment."""
    connector = lab.connector(partners=partners)
    camille = lab.person("camille")
    room = room_with_coordo(lab, camille)
    _, said = ask(
        lab, camille, room, '!labo creer bondy-bp "Budget participatif de Bondy" budget:45000'
    )
    assert any("Budget participatif de Bondy" in s for s in said), said
    _, said = ask(lab, camille, room, "!labo lier bondy-bp")
    assert said
    return connector, camille, room


def test_commands_in_french_and_english_answer_in_the_thread(lab: Lab) -> None:
    _, camille, room = start_lab(lab)
    _, said = ask(lab, camille, room, "!depense 12,50 € café")
    assert any("12,50" in s for s in said), said
    _, said = ask(lab, camille, room, f"@coordo-{lab.tag} expense 8 € tea")
    assert any("8.00" in s or "€8" in s for s in said), said
    _, said = ask(lab, camille, room, "coordo: lab help")
    assert any("expense" in s for s in said), said
    assert expenses(lab.engine) == 2
    # A line that is not a command for Coordo gets no answer and writes nothing.
    camille.say(room, "!inconnu bonjour")
    _, said = ask(lab, camille, room, "!labo aide")
    assert any("depense" in s for s in said), said
    with Session(lab.engine) as session:
        workspace = session.exec(select(Workspace)).one()
    assert (workspace.platform, workspace.external_id) == ("matrix", "coordo.test")


def test_a_private_reply_goes_to_a_direct_room_with_a_note_in_the_thread(lab: Lab) -> None:
    connector = lab.connector()
    camille = lab.person("camille")
    lucas = lab.person("lucas")
    room = room_with_coordo(lab, camille, lucas)
    _, said = ask(lab, camille, room, "!labo aide")
    assert said == ["🔒 Je vous ai répondu en message direct."]
    direct = camille.accept_invite_from(lab.bot.user_id)
    assert direct == connector.state.direct[camille.user_id]
    bodies = [
        e["content"]["body"] for e in camille.messages(direct) if e["type"] == "m.room.message"
    ]
    assert any("!depense" in b or "depense" in b for b in bodies), bodies
    # Lucas, in the same room, saw only the note.
    seen = [e for r, e in lucas.events() if r == room and e.get("sender") == lab.bot.user_id]
    assert all("aide" not in e["content"].get("body", "") for e in seen)


def test_a_partner_sees_no_figures(lab: Lab) -> None:
    pat_name = f"@pat-{lab.tag}:coordo.test"
    _, camille, room = start_lab(lab, partners=[pat_name])
    pat = lab.person("pat")
    assert pat.user_id == pat_name
    camille.invite(room, pat.user_id)
    pat.join(room)
    ask(lab, camille, room, "!depense 1200 € traiteur")
    _, said = ask(lab, pat, room, "!depense budget")
    direct = pat.accept_invite_from(lab.bot.user_id)
    private = [e["content"]["body"] for e in pat.messages(direct) if e["type"] == "m.room.message"]
    everything = " ".join(said + private)
    assert "1 200" not in everything.replace("\u202f", " ").replace("\u00a0", " ")
    assert "45 000" not in everything.replace("\u202f", " ").replace("\u00a0", " ")
    assert private, "the partner got an answer"
    # And the partner cannot log an expense.
    ask(lab, pat, room, "!depense 5 € cafe")
    assert expenses(lab.engine) == 1


def test_a_numbered_answer_and_a_reaction_work_as_buttons(lab: Lab) -> None:
    connector, camille, room = start_lab(lab)
    command, said = ask(lab, camille, room, "!depense 30 € papeterie")
    assert expenses(lab.engine) == 1
    assert any("1. Annuler" in s for s in said), said
    # Answering 1 in the thread is a click on "Annuler".
    root = command
    camille.send(
        room,
        {
            "msgtype": "m.text",
            "body": "1",
            "m.relates_to": {"rel_type": "m.thread", "event_id": root},
        },
    )
    deadline = time.monotonic() + 20
    while expenses(lab.engine) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert expenses(lab.engine) == 0
    # A reminder with "done" and "postpone" comes with Coordo's own reactions; a person's ✅
    # on it is a click on "done".
    chat = MatrixChat(connector)
    reply = Reply(
        text="Jalon demain",
        visibility=Visibility.CHANNEL,
        buttons=[
            Button("Fait", "milestone.done", "999999"),
            Button("Reporter", "milestone.postpone", "999999"),
        ],
    )
    event_id = chat.post(room, to_matrix(reply))
    reactions = camille.wait_for(
        lambda r, e: e.get("type") == "m.reaction" and e["content"]["m.relates_to"]["key"] == "⏭",
        sender=lab.bot.user_id,
    )
    keys = {
        e["content"]["m.relates_to"]["key"] for _, e in reactions if e.get("type") == "m.reaction"
    }
    assert keys == {"✅", "⏭"}
    camille.react(room, event_id, "✅")
    # The milestone does not exist: Coordo says so in the message's thread.
    camille.wait_for(
        lambda r, e: e.get("type") == "m.room.message" and in_thread(e, event_id),
        sender=lab.bot.user_id,
    )


class PostsThenDies:
    """The outbox's port that dies right after the homeserver took a message, before the
    sender could write that it was sent: what a crash at the worst moment does."""

    def __init__(self, port: ChatPort) -> None:
        self.port = port
        self.platform = port.platform
        self.capabilities = port.capabilities

    def post(self, channel_id: str, message: PlatformMessage) -> str:
        self.port.post(channel_id, message)
        raise KeyboardInterrupt

    def direct_message(self, user_id: str, message: PlatformMessage) -> str:
        return self.port.direct_message(user_id, message)

    def upload_file(
        self, channel_id: str, filename: str, content: bytes, title: str, comment: str | None = None
    ) -> None:
        self.port.upload_file(channel_id, filename, content, title, comment)


def queue_reminder(
    engine: Engine, room: str, text: str, key: str, files: list[File] | None = None
) -> None:
    with Session(engine) as session:
        workspace = session.exec(select(Workspace).where(Workspace.platform == "matrix")).one()
        outbox.enqueue(
            session,
            key=key,
            workspace_id=workspace.id,
            kind="reminder",
            target_kind="channel",
            target_id=room,
            reply=Reply(text=text, visibility=Visibility.CHANNEL, files=files or []),
            not_before=datetime.now(UTC) - timedelta(minutes=1),
            quiet_hours=False,
        )
        session.commit()


def test_a_reminder_is_sent_once_across_a_restart(lab: Lab) -> None:
    connector, camille, room = start_lab(lab)
    queue_reminder(lab.engine, room, "Rappel : COPIL jeudi", "test:copil")
    sender = Sender(
        lab.engine,
        {"matrix": PostsThenDies(MatrixChat(connector))},
        renderers={"matrix": to_matrix},
        pacing={},
        concurrency=1,
    )
    with contextlib.suppress(KeyboardInterrupt):
        sender.run_once()
    connector.stop()
    lab.connectors.remove(connector)
    # A new process, the same data folder, after the dead sender's lease ran out.
    restarted = lab.connector()
    later = datetime.now(UTC) + timedelta(minutes=10)
    again = Sender(
        lab.engine,
        {"matrix": MatrixChat(restarted)},
        renderers={"matrix": to_matrix},
        pacing={},
        concurrency=1,
        clock=lambda: later,
    )
    report = again.run_once()
    assert report.sent == 1
    with Session(lab.engine) as session:
        row = session.exec(select(OutboxMessage).where(OutboxMessage.key == "test:copil")).one()
    assert row.sent_at is not None
    reminders = [
        e for e in camille.messages(room) if e["content"].get("body") == "Rappel : COPIL jeudi"
    ]
    assert [e["event_id"] for e in reminders] == [row.platform_message_id]


def test_a_rate_limit_is_waited_out_and_nothing_is_lost_or_doubled(lab: Lab) -> None:
    connector, camille, room = start_lab(lab)
    lab.server.limit_messages(lab.bot.user_id, per_second=1, burst_count=2)
    for number in range(6):
        queue_reminder(lab.engine, room, f"Rappel {number}", f"test:limit:{number}")
    sender = Sender(
        lab.engine,
        {"matrix": MatrixChat(connector)},
        renderers={"matrix": to_matrix},
        pacing={},
        concurrency=1,
    )
    report = sender.run_until_idle()
    assert report.sent == 6
    assert report.rate_limited >= 1, "the homeserver's limit was met and waited out"
    bodies = [
        e["content"].get("body") for e in camille.messages(room) if e["type"] == "m.room.message"
    ]
    assert [b for b in bodies if b and b.startswith("Rappel ")] == [f"Rappel {n}" for n in range(6)]


def test_two_reminders_that_say_the_same_thing_are_two_messages(lab: Lab) -> None:
    """The transaction id comes from the outbox key, not the text: the same words queued
    twice under two keys (two milestones with one title) arrive twice."""
    connector, camille, room = start_lab(lab)
    queue_reminder(lab.engine, room, "Rappel : jalon demain", "test:same:1")
    queue_reminder(lab.engine, room, "Rappel : jalon demain", "test:same:2")
    sender = Sender(
        lab.engine,
        {"matrix": MatrixChat(connector)},
        renderers={"matrix": to_matrix},
        pacing={},
        concurrency=1,
    )
    report = sender.run_until_idle()
    assert report.sent == 2
    same = [
        e["event_id"]
        for e in camille.messages(room)
        if e["content"].get("body") == "Rappel : jalon demain"
    ]
    assert len(set(same)) == 2


def test_old_events_are_not_handled_again_after_a_restart(lab: Lab) -> None:
    connector, camille, room = start_lab(lab)
    ask(lab, camille, room, "!depense 4 € timbres")
    connector.stop()
    lab.connectors.remove(connector)
    lab.connector()
    _, said = ask(lab, camille, room, "!depense liste")
    assert expenses(lab.engine) == 1
    assert said


def test_an_event_handed_over_again_writes_once_and_is_answered_once(lab: Lab) -> None:
    """A crash between handling a sync's events and writing its token hands them over
    again: the event id is the request key, and the reply's transaction id is the same."""
    connector, camille, room = start_lab(lab)
    before = connector.state.next_batch
    command, said = ask(lab, camille, room, "!depense 4 € timbres")
    assert said
    connector.stop()
    lab.connectors.remove(connector)
    state = lab.folder / "matrix-data" / "coordo-state.json"
    stored = json.loads(state.read_text())
    stored["next_batch"] = before
    state.write_text(json.dumps(stored))
    lab.connector()
    ask(lab, camille, room, "!depense liste")
    assert expenses(lab.engine) == 1
    answers = [
        e
        for e in camille.messages(room)
        if e.get("sender") == lab.bot.user_id
        and e["type"] == "m.room.message"
        and in_thread(e, command)
    ]
    assert len(answers) == 1, answers


def test_an_export_arrives_as_a_file_in_the_thread(lab: Lab) -> None:
    _, camille, room = start_lab(lab)
    ask(lab, camille, room, "!depense 42 € location de salle")
    command = camille.say(room, "!depense export")
    seen = camille.wait_for(
        lambda r, e: in_thread(e, command) and e["content"].get("msgtype") == "m.file",
        sender=lab.bot.user_id,
        timeout=60,
    )
    file_event = seen[-1][1]["content"]
    assert file_event["filename"].endswith(".xlsx")
    server_name, media_id = file_event["url"].removeprefix("mxc://").split("/", 1)
    download = camille.http.get(
        f"{lab.server.url}/_matrix/client/v1/media/download/{server_name}/{media_id}"
    )
    assert download.status_code == 200
    assert download.content[:2] == b"PK"  # an .xlsx is a zip
    assert len(download.content) == file_event["info"]["size"]


def test_a_digest_from_the_outbox_brings_its_chart_as_an_image(lab: Lab) -> None:
    connector, camille, room = start_lab(lab)
    chart = File("budget.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64, "Budget", "image/png")
    queue_reminder(lab.engine, room, "Point de la semaine", "test:digest", files=[chart])
    sender = Sender(
        lab.engine,
        {"matrix": MatrixChat(connector)},
        renderers={"matrix": to_matrix},
        pacing={},
        concurrency=1,
    )
    assert sender.run_until_idle().sent == 1
    events = [e for e in camille.messages(room) if e.get("sender") == lab.bot.user_id]
    bodies = [e["content"].get("body") for e in events]
    assert "Point de la semaine" in bodies
    (image,) = [e["content"] for e in events if e["content"].get("msgtype") == "m.image"]
    assert image["filename"] == "budget.png"
    assert image["info"] == {"mimetype": "image/png", "size": 72}
