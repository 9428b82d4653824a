"""An encrypted room: Camille's client encrypts (matrix-nio with its e2e extra, like any
Matrix client), Coordo decrypts the command and answers encrypted in the thread."""

from __future__ import annotations

import asyncio
from pathlib import Path

import nio
from nio.store import SqliteMemoryStore

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
        config=nio.AsyncClientConfig(
            encryption_enabled=True, store_sync_tokens=False, store=SqliteMemoryStore
        ),
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
    answers = asyncio.run(converse(lab.server, person, lab.bot.user_id, tmp_path / "camille"))
    assert any("depense" in a for a in answers), answers
