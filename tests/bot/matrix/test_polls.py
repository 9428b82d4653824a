"""A date poll and an invitation on a real Synapse: the poll's message is edited in place
(``m.replace``) as answers come, and native polls (MSC3381, as Element sends them) answer
like the reactions and the numbered replies."""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.kit.port import PlatformMessage
from bot.matrix.connector import MatrixConnector
from bot.matrix.port import MatrixChat
from bot.matrix.render import POLL_END, POLL_START, to_matrix
from bot.sender import Sender
from models import AuditEvent, Invitation, OutboxMessage, PollAnswer
from tests.bot.matrix.conftest import Lab
from tests.bot.matrix.test_connector import ask, in_thread, start_lab
from tests.synapse import Client

RESPONSE = "org.matrix.msc3381.poll.response"


def sender_for(connector: MatrixConnector, engine: Engine) -> Sender:
    return Sender(
        engine,
        {"matrix": MatrixChat(connector)},
        renderers={"matrix": to_matrix},
        pacing={},
        concurrency=1,
    )


def edits_of(lab: Lab, person: Client, room: str, event_id: str) -> list[dict[str, Any]]:
    answer = person.http.get(
        f"{lab.server.url}/_matrix/client/v1/rooms/{room}/relations/{event_id}/m.replace"
    )
    assert answer.status_code == 200, answer.text
    return list(answer.json()["chunk"])


def shown(lab: Lab, person: Client, room: str, event_id: str) -> str:
    """The message's body as a client shows it: its latest edit's new content."""
    edits = sorted(edits_of(lab, person, room, event_id), key=lambda e: e["origin_server_ts"])
    if edits:
        return str(edits[-1]["content"]["m.new_content"]["body"])
    original = person.call("GET", f"/rooms/{room}/event/{event_id}")
    return str(original["content"]["body"])


def polls_in(person: Client, room: str) -> list[dict[str, Any]]:
    return [e for e in person.messages(room) if e["type"] == POLL_START]


def answer_poll(
    person: Client, room: str, poll_id: str, choice: str, *, stable: bool = False
) -> str:
    """What Element sends when the person clicks an answer of a native poll."""
    content: dict[str, Any] = {"m.relates_to": {"rel_type": "m.reference", "event_id": poll_id}}
    if stable:
        content["m.selections"] = [choice]
        return person.send(room, content, "m.poll.response")
    content[RESPONSE] = {"answers": [choice]}
    return person.send(room, content, RESPONSE)


def wait(condition: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError("the condition did not hold in time")


def answers(engine: Engine) -> dict[int, str]:
    with Session(engine) as session:
        rows = session.exec(select(PollAnswer).where(PollAnswer.deleted_at == None)).all()  # noqa: E711
    return {row.slot_id: row.answer for row in rows}


def poll_message(lab: Lab, connector: MatrixConnector, camille: Client, room: str) -> str:
    """Camille proposes two dates; the outbox posts the poll's message in the room."""
    _, said = ask(
        lab, camille, room, '!copil sondage "COPIL de janvier" 12/01/2027 14h, 14/01/2027 10h'
    )
    assert said, said
    assert sender_for(connector, lab.engine).run_until_idle().sent >= 1
    with Session(lab.engine) as session:
        row = session.exec(select(OutboxMessage).where(OutboxMessage.key == "poll:1:message")).one()
    assert row.platform_message_id
    return row.platform_message_id


def test_an_answer_edits_the_poll_message_in_place_once(lab: Lab) -> None:
    connector, camille, room = start_lab(lab)
    message_id = poll_message(lab, connector, camille, room)
    assert "✅ 0 oui" in shown(lab, camille, room, message_id)
    ask(lab, camille, room, "!copil sondage repondre 1 oui non")
    report = sender_for(connector, lab.engine).run_until_idle()
    assert report.sent == 1
    body = shown(lab, camille, room, message_id)
    first, second = [line for line in body.splitlines() if line[:3] in ("1. ", "2. ")][:2]
    assert "✅ 1 oui" in first, body
    assert "❌ 0 non" in first, body
    assert "❌ 1 non" in second, body
    (edit,) = edits_of(lab, camille, room, message_id)
    assert edit["content"]["body"].startswith("* ")
    assert edit["content"]["m.mentions"] == {}
    # The same edit sent again (a retry after a crash) is the same event.
    with Session(lab.engine) as session:
        row = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "poll.edit")).one()
    chat = MatrixChat(connector)
    again = PlatformMessage(text="", content=edit["content"]["m.new_content"], key=row.key)
    chat.edit(room, message_id, again)
    assert [e["event_id"] for e in edits_of(lab, camille, room, message_id)] == [edit["event_id"]]


def test_native_polls_answer_each_date_and_a_changed_answer_counts(lab: Lab) -> None:
    connector, camille, room = start_lab(lab)
    message_id = poll_message(lab, connector, camille, room)
    polls = polls_in(camille, room)
    assert len(polls) == 2, "one poll per date"
    assert all(in_thread(p, message_id) for p in polls)
    first = polls[0]["content"][POLL_START]
    assert first["max_selections"] == 1
    assert [a["id"] for a in first["answers"]] == ["yes", "maybe", "no"]
    assert [a["org.matrix.msc1767.text"] for a in first["answers"]] == ["Oui", "Si besoin", "Non"]
    assert "2027" in first["question"]["org.matrix.msc1767.text"]
    assert polls[0]["content"]["body"].endswith("1. Oui\n2. Si besoin\n3. Non")
    answer_poll(camille, room, polls[0]["event_id"], "yes")
    wait(lambda: sorted(answers(lab.engine).values()) == ["yes"])
    # A changed answer (Element sends a new response) counts as the new one; the stable
    # form of a response is read too.
    answer_poll(camille, room, polls[0]["event_id"], "maybe", stable=True)
    answer_poll(camille, room, polls[1]["event_id"], "no")
    wait(lambda: sorted(answers(lab.engine).values()) == ["maybe", "no"])
    # The numbered replies keep working beside the polls: 4 is "2 · Oui" (a reply to the
    # poll's message, since Coordo's answers in its thread offer choices of their own).
    camille.send(
        room,
        {
            "msgtype": "m.text",
            "body": "4",
            "m.relates_to": {
                "rel_type": "m.thread",
                "event_id": message_id,
                "m.in_reply_to": {"event_id": message_id},
            },
        },
    )
    wait(lambda: sorted(answers(lab.engine).values()) == ["maybe", "yes"])
    # Closing the poll edits its message and ends its native polls.
    ask(lab, camille, room, "!copil sondage clore 1")
    sender_for(connector, lab.engine).run_until_idle()
    ends = [e for e in camille.messages(room) if e["type"] == POLL_END]
    assert sorted(e["content"]["m.relates_to"]["event_id"] for e in ends) == sorted(
        p["event_id"] for p in polls
    )
    assert "🔒" in shown(lab, camille, room, message_id)


def audit_events(engine: Engine) -> int:
    with Session(engine) as session:
        return len(session.exec(select(AuditEvent)).all())


def responses(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return [i.response for i in session.exec(select(Invitation)).all()]


def test_a_poll_response_handed_over_again_writes_once(lab: Lab) -> None:
    """An invitation's native poll (yes, no, maybe) answers the meeting; a response handed
    over again after a crash (the sync token not written) is written once: its event id is
    the request key."""
    connector, camille, room = start_lab(lab)
    command, said = ask(lab, camille, room, "!copil planifier 12/01/2027 14h")
    assert any("Je viens" in s for s in said), said
    wait(lambda: bool(polls_in(camille, room)))
    (poll,) = polls_in(camille, room)
    assert in_thread(poll, command)
    content = poll["content"][POLL_START]
    assert [a["id"] for a in content["answers"]] == ["yes", "no", "maybe"]
    before = connector.state.next_batch
    answer_poll(camille, room, poll["event_id"], "no")
    wait(lambda: responses(lab.engine) == ["no"])
    answer_poll(camille, room, poll["event_id"], "yes")
    wait(lambda: responses(lab.engine) == ["yes"])
    written = audit_events(lab.engine)
    connector.stop()
    lab.connectors.remove(connector)
    state = lab.folder / "matrix-data" / "coordo-state.json"
    stored = json.loads(state.read_text())
    stored["next_batch"] = before
    state.write_text(json.dumps(stored))
    lab.connector()
    # Both responses come again: acted on again, they would write "no", then "yes".
    ask(lab, camille, room, "!copil liste")
    time.sleep(2)
    assert responses(lab.engine) == ["yes"]
    assert audit_events(lab.engine) == written
    # A new response is a new answer.
    answer_poll(camille, room, poll["event_id"], "maybe")
    wait(lambda: responses(lab.engine) == ["maybe"])
