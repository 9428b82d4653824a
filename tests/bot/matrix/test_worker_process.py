"""The Procfile's worker with Matrix set: it logs in with a password once (the token and
device kept in the data folder), joins the room it is invited to, answers a command, and
after a restart uses the stored token and handles nothing twice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.bot.matrix.test_connector import in_thread
from tests.processes import processes
from tests.synapse import Client, Homeserver


@pytest.mark.slow
def test_the_worker_runs_the_matrix_connector(homeserver: Homeserver, tmp_path: Path) -> None:
    import uuid

    tag = uuid.uuid4().hex[:8]
    bot = homeserver.register(f"coordo-{tag}", password=f"secret-{tag}")
    camille = Client(homeserver, homeserver.register(f"camille-{tag}"))
    data = tmp_path / "matrix-data"
    settings = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'coordo.db'}",
        "MATRIX_HOMESERVER": homeserver.url,
        "MATRIX_USER_ID": bot.user_id,
        "MATRIX_PASSWORD": f"secret-{tag}",
        "MATRIX_DATA_DIR": str(data),
        "MATRIX_PACING": "0",
    }
    try:
        with processes(tmp_path) as procs:
            procs.run("release", settings)
            worker = procs.start("worker", settings)
            room = camille.create_room(invite=[bot.user_id])
            camille.wait_for(
                lambda r, e: (
                    e.get("type") == "m.room.member"
                    and e.get("state_key") == bot.user_id
                    and e["content"].get("membership") == "join"
                ),
                timeout=90,
            )
            command = camille.say(room, "!labo aide")
            camille.wait_for(lambda r, e: in_thread(e, command), sender=bot.user_id, timeout=60)
            assert procs.stop(worker) == 0, procs.output("worker")
            stored = json.loads((data / "coordo-state.json").read_text())
            assert stored["user_id"] == bot.user_id
            assert stored["access_token"] != bot.access_token  # its own login, kept
            assert stored["next_batch"]
            # Restarted without the password: the stored token serves.
            del settings["MATRIX_PASSWORD"]
            procs.start("worker", settings, label="worker-again")
            again = camille.say(room, "!lab help")
            replies = camille.wait_for(
                lambda r, e: in_thread(e, again), sender=bot.user_id, timeout=90
            )
            # The first command was not answered a second time.
            assert not [e for _, e in replies if in_thread(e, command)]
    finally:
        camille.close()
