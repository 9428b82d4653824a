"""Where Slack and Mattermost open a form, Coordo on Matrix asks its fields one by one in
the command's thread, on a real Synapse: a wrong answer is asked again, "annuler" stops,
nothing is written before the last answer, and the exchange survives a restart or
expires with a message."""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from models import Milestone
from tests.bot.matrix.conftest import Lab
from tests.bot.matrix.test_connector import ask, in_thread, start_lab
from tests.synapse import Client


def answer(lab: Lab, person: Client, room: str, root: str, text: str) -> str:
    """Answer in the form's thread; Coordo's message replying to the answer."""
    sent = person.send(
        room,
        {
            "msgtype": "m.text",
            "body": text,
            "m.relates_to": {
                "rel_type": "m.thread",
                "event_id": root,
                "is_falling_back": True,
                "m.in_reply_to": {"event_id": root},
            },
        },
    )

    def replies(r: str, e: dict[str, Any]) -> bool:
        relates = e.get("content", {}).get("m.relates_to") or {}
        return in_thread(e, root) and (relates.get("m.in_reply_to") or {}).get("event_id") == sent

    seen = person.wait_for(replies, sender=lab.bot.user_id)
    return str(seen[-1][1]["content"]["body"])


def milestones(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return [m.title for m in session.exec(select(Milestone)).all()]


def test_a_form_is_asked_field_by_field_and_written_after_the_last_answer(lab: Lab) -> None:
    _, camille, room = start_lab(lab)
    root, said = ask(lab, camille, room, "!jalon")
    assert any("Nouveau jalon" in s and "1/3 · Titre" in s for s in said), said
    assert "2/3 · Échéance" in answer(lab, camille, room, root, "Rendu du rapport")
    assert "3/3 · Responsable" in answer(lab, camille, room, root, "n'importe quand")
    # The last answer sends the form; the core refuses the date: it is asked again.
    refused = answer(lab, camille, room, root, "-")
    assert "Cette réponse ne va pas" in refused, refused
    assert "2/3 · Échéance" in refused
    assert milestones(lab.engine) == []
    done = answer(lab, camille, room, root, "15/03/2027")
    assert "Rendu du rapport" in done, done
    assert milestones(lab.engine) == ["Rendu du rapport"]


def test_cancel_stops_and_an_optional_field_must_be_a_choice(lab: Lab) -> None:
    _, camille, room = start_lab(lab)
    root, _ = ask(lab, camille, room, "!jalon")
    assert "Il me faut une réponse" in answer(lab, camille, room, root, "-")
    # A command typed in the thread meanwhile runs as a command; the form waits.
    assert "Aucun jalon" in answer(lab, camille, room, root, "!jalon liste")
    assert "abandonné" in answer(lab, camille, room, root, "annuler")
    # The exchange is over: the thread is quiet again, and nothing was written.
    assert milestones(lab.engine) == []
    assert lab.connectors[0].state.forms == {}


def test_a_form_survives_a_restart_and_expires_with_a_message(lab: Lab) -> None:
    connector, camille, room = start_lab(lab)
    root, _ = ask(lab, camille, room, "!jalon")
    before = connector.state.next_batch
    answer(lab, camille, room, root, "Comité de suivi")
    connector.stop()
    lab.connectors.remove(connector)
    # A crash before the sync token was written: the answer is handed over again, and is
    # not taken a second time (as the next field's answer).
    state = lab.folder / "matrix-data" / "coordo-state.json"
    stored = json.loads(state.read_text())
    stored["next_batch"] = before
    state.write_text(json.dumps(stored))
    restarted = lab.connector()
    assert "3/3 · Responsable" in answer(lab, camille, room, root, "15/03/2027")
    restarted.stop()
    lab.connectors.remove(restarted)
    # Ten minutes pass without an answer (the exchange's deadline is kept in the data
    # folder): at the next start it ends with a message, and the answer is not taken.
    state = lab.folder / "matrix-data" / "coordo-state.json"
    stored = json.loads(state.read_text())
    (kept,) = stored["forms"].values()
    kept["expires_at"] = time.time() - 1
    state.write_text(json.dumps(stored))
    lab.connector()
    camille.send(
        room,
        {
            "msgtype": "m.text",
            "body": "-",
            "m.relates_to": {"rel_type": "m.thread", "event_id": root},
        },
    )
    seen = camille.wait_for(
        lambda r, e: in_thread(e, root) and "expiré" in e["content"].get("body", ""),
        sender=lab.bot.user_id,
    )
    assert "Nouveau jalon" in seen[-1][1]["content"]["body"]
    time.sleep(1)
    assert milestones(lab.engine) == []
