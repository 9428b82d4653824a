"""An encrypted room: Camille's client encrypts (matrix-nio with its e2e extra, like any
Matrix client), Coordo decrypts the command and answers encrypted in the thread.

Camille's client runs in a process of its own: matrix-nio's encryption store binds its
(module-level) tables to one database at a time, so two clients in one process, in two
threads, would write into each other's stores. Coordo runs one client per process."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import nio

from tests.bot.matrix.conftest import Lab
from tests.synapse import Account, Homeserver

ENCRYPTION = {
    "type": "m.room.encryption",
    "state_key": "",
    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
}


async def converse(server: Homeserver, person: Account, bot: str, store: Path) -> list[str]:
    store.mkdir()
    client = nio.AsyncClient(
        server.url,
        person.user_id,
        store_path=str(store),
        config=nio.AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False),
    )
    client.restore_login(person.user_id, person.device_id, person.access_token)
    try:
        await client.sync(timeout=0, full_state=True)
        if client.should_upload_keys:
            await client.keys_upload()
        created = await client.room_create(invite=[bot], initial_state=[ENCRYPTION])
        assert isinstance(created, nio.RoomCreateResponse), created
        room_id = created.room_id
        for _ in range(60):
            await client.sync(timeout=1000)
            room = client.rooms.get(room_id)
            if room is not None and bot in room.users:
                break
        else:
            raise AssertionError("Coordo did not join the encrypted room")
        # Camille's client learns Coordo's device before it encrypts for the room.
        for _ in range(30):
            if client.should_query_keys:
                await client.keys_query()
            if list(client.device_store.active_user_devices(bot)):
                break
            await client.sync(timeout=500)
        else:
            raise AssertionError("Coordo's device keys never showed")
        sent = await client.room_send(
            room_id,
            "m.room.message",
            {"msgtype": "m.text", "body": "!labo aide"},
            ignore_unverified_devices=True,
        )
        assert isinstance(sent, nio.RoomSendResponse), sent
        answers: list[str] = []
        encrypted_seen = False
        for _ in range(60):
            response = await client.sync(timeout=1000)
            assert isinstance(response, nio.SyncResponse)
            joined = response.rooms.join.get(room_id)
            for event in joined.timeline.events if joined else []:
                if getattr(event, "sender", None) != bot:
                    continue
                if isinstance(event, nio.RoomMessageText):
                    encrypted_seen = encrypted_seen or event.decrypted
                    answers.append(event.body)
                elif isinstance(event, nio.MegolmEvent):
                    answers.append("<undecryptable>")
            if answers:
                break
        assert encrypted_seen, answers
        return answers
    finally:
        await client.close()


def test_an_encrypted_room_gets_encrypted_answers(lab: Lab, tmp_path: Path) -> None:
    lab.connector()
    person = lab.server.register(f"camille-{lab.tag}")
    camille = subprocess.run(
        [
            sys.executable,
            __file__,
            lab.server.url,
            json.dumps(asdict(person)),
            lab.bot.user_id,
            str(tmp_path / "camille"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])},
    )
    assert camille.returncode == 0, camille.stderr[-3000:]
    answers = json.loads(camille.stdout.strip().splitlines()[-1])
    assert any("depense" in a for a in answers), answers


if __name__ == "__main__":
    url, account, bot, store = sys.argv[1:5]
    server = Homeserver(Path(store).parent, port=int(url.rsplit(":", 1)[1]))
    found = asyncio.run(converse(server, Account(**json.loads(account)), bot, Path(store)))
    print(json.dumps(found))
