"""The outbox's ``ChatPort`` on Matrix: every call goes through the connector's client (its
pacing, its encryption). A message's transaction id is derived from its room and its outbox
key (the content when it has none), so the same outbox message sent again after a crash is
the same event for the homeserver (which keeps transaction ids for a while and answers with
the first event), and two messages that say the same thing are still two.

It edits in place (``MessageEditor``: a date poll's counts) with ``m.replace`` events."""

from __future__ import annotations

import json

from bot.kit.port import ChatPort, PlatformMessage
from bot.matrix import render
from bot.matrix.connector import CAPABILITIES, MatrixConnector
from commands.reply import File


class MatrixChat(ChatPort):
    platform = "matrix"
    capabilities = CAPABILITIES

    def __init__(self, connector: MatrixConnector) -> None:
        self.connector = connector

    def _content(self, message: PlatformMessage) -> dict[str, object]:
        if message.content is not None:
            return message.content
        return render.content_of_text(message.text)

    def post(self, channel_id: str, message: PlatformMessage) -> str:
        content = self._content(message)
        if message.key is not None:
            key = "outbox-key:" + message.key
        else:
            key = "outbox:" + json.dumps(content, sort_keys=True, ensure_ascii=False)
        return self.connector.call(self.connector._post(channel_id, content, key, None, live=False))

    def edit(self, channel_id: str, message_id: str, message: PlatformMessage) -> None:
        """Replace the message's content in place (``m.replace``); the transaction id is
        the outbox key's, so an edit retried after a crash is one event."""
        content = self._content(message)
        key = message.key or json.dumps(content, sort_keys=True, ensure_ascii=False)
        self.connector.call(self.connector.edit(channel_id, message_id, content, key))

    def direct_message(self, user_id: str, message: PlatformMessage) -> str:
        return self.post(self.open_direct_channel(user_id), message)

    def open_direct_channel(self, user_id: str) -> str:
        return self.connector.call(self.connector.direct_room(user_id))

    def upload_file(
        self,
        channel_id: str,
        filename: str,
        content: bytes,
        title: str,
        comment: str | None = None,
    ) -> None:
        file = File(filename, content, title, _mime(filename))
        key = f"outbox-file:{filename}:{len(content)}:{hash_of(content)}"
        self.connector.call(self.connector._file(channel_id, file, key, None, live=False))


def hash_of(content: bytes) -> str:
    import hashlib

    return hashlib.sha256(content).hexdigest()


def _mime(filename: str) -> str:
    import mimetypes

    return mimetypes.guess_type(filename)[0] or "application/octet-stream"
