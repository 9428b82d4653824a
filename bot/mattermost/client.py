"""Coordo's outbound Mattermost client: the ``ChatPort`` over REST API v4 with ``httpx``.

A bot account's access token authenticates every call (``Authorization: Bearer …``).
Settings (``MATTERMOST_URL``, ``MATTERMOST_BOT_TOKEN``) are read by ``main()`` and passed
in; nothing here reads the environment.

Like the Slack client, it does not retry: a 429 becomes ``RateLimited`` with the wait the
server asked for (``Retry-After``, else ``X-Ratelimit-Reset``, which Mattermost sends as
seconds until its bucket is full), a 5xx or a network failure ``TransientError``, any
other refusal ``PermanentError``; the outbox decides when to try again.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self

import httpx

from bot.kit.port import (
    Capabilities,
    ChatError,
    ChatPort,
    PermanentError,
    PlatformMessage,
    PlatformUser,
    RateLimited,
    TransientError,
    parse_retry_after,
)

logger = logging.getLogger(__name__)

GUEST_ROLE = "system_guest"
# A Unix time in X-Ratelimit-Reset (some proxies send one) is told apart from a delay by size.
_EPOCH_THRESHOLD = 1_000_000_000

Clock = Callable[[], datetime]

# The post prop holding the outbox key of what the outbox sends.
OUTBOX_PROP = "coordo_outbox_key"
HISTORY_MARGIN = timedelta(minutes=10)


def pending_post_id(key: str) -> str:
    """A ``pending_post_id`` for an outbox key: the same for every attempt of one message
    (Mattermost's own clients send ``user_id:millis``; the server only compares them)."""
    return "coordo:" + hashlib.sha256(key.encode()).hexdigest()[:32]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class MattermostChat(ChatPort):
    """Send to one Mattermost server as its Coordo bot account."""

    platform = "mattermost"
    capabilities = Capabilities()

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        clock: Clock = _utc_now,
    ) -> None:
        self.url = url.rstrip("/")
        self._api = httpx.Client(
            base_url=f"{self.url}/api/v4",
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
        )
        # response_url and other hooks need no token: never send it there.
        self._hooks = httpx.Client(timeout=timeout, transport=transport)
        self._clock = clock
        self._bot_user_id: str | None = None
        self._dm_channels: dict[str, str] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self._api.close()
        self._hooks.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- ChatPort ------------------------------------------------------------------------

    def post(self, channel_id: str, message: PlatformMessage) -> str:
        """Create a post (Markdown ``text``, ``attachments`` in its props); return its id.
        A message with an outbox key carries it in its props, and a ``pending_post_id``
        made from it, by which the server drops a repeat within its short window."""
        body: dict[str, Any] = {"channel_id": channel_id, "message": message.text}
        props: dict[str, Any] = {}
        if message.attachments:
            props["attachments"] = message.attachments
        if message.key:
            props[OUTBOX_PROP] = message.key
            body["pending_post_id"] = pending_post_id(message.key)
        if props:
            body["props"] = props
        post = self._call("POST", "/posts", json=body)
        return str(post["id"])

    def edit(self, channel_id: str, message_id: str, message: PlatformMessage) -> None:
        """Patch a post Coordo made: its text and its attachments (buttons), in full."""
        props: dict[str, Any] = {"attachments": message.attachments or []}
        self._call(
            "PUT", f"/posts/{message_id}/patch", json={"message": message.text, "props": props}
        )

    def find_sent(
        self, destination_id: str, key: str, since: datetime, *, direct: bool
    ) -> str | None:
        """The id of the bot's post tagged ``key`` in the channel since ``since`` (less
        ``HISTORY_MARGIN``): ``GET /channels/{id}/posts?since=`` answers every post created
        or changed since then. None when it is not there (or was deleted)."""
        channel = self.open_direct_channel(destination_id) if direct else destination_id
        after = int((since - HISTORY_MARGIN).timestamp() * 1000)
        posts = self._call("GET", f"/channels/{channel}/posts", params={"since": after})
        found = [
            post
            for post in (posts.get("posts") or {}).values()
            if (post.get("props") or {}).get(OUTBOX_PROP) == key
            and not post.get("delete_at")
            and post.get("user_id") == self.bot_user_id()
        ]
        if not found:
            return None
        return str(min(found, key=lambda p: int(p.get("create_at") or 0))["id"])

    def direct_message(self, user_id: str, message: PlatformMessage) -> str:
        return self.post(self.open_direct_channel(user_id), message)

    def upload_file(
        self,
        channel_id: str,
        filename: str,
        content: bytes,
        title: str,
        comment: str | None = None,
    ) -> None:
        """Upload the file, then post it with ``comment`` (Mattermost files have no title
        of their own, so the title is the post's text when there is no comment)."""
        uploaded = self._call(
            "POST",
            "/files",
            data={"channel_id": channel_id},
            files={"files": (filename, content)},
        )
        file_ids = [str(info["id"]) for info in uploaded["file_infos"]]
        self._call(
            "POST",
            "/posts",
            json={"channel_id": channel_id, "message": comment or title, "file_ids": file_ids},
        )

    def upload_tagged_file(
        self, channel_id: str, filename: str, content: bytes, title: str, *, key: str
    ) -> str:
        """Upload the file and post it, the post tagged as the outbox tags its messages
        (``key`` in its props, a ``pending_post_id`` made from it); return the post's id."""
        uploaded = self._call(
            "POST",
            "/files",
            data={"channel_id": channel_id},
            files={"files": (filename, content)},
        )
        file_ids = [str(info["id"]) for info in uploaded["file_infos"]]
        post = self._call(
            "POST",
            "/posts",
            json={
                "channel_id": channel_id,
                "message": title,
                "file_ids": file_ids,
                "props": {OUTBOX_PROP: key},
                "pending_post_id": pending_post_id(key),
            },
        )
        return str(post["id"])

    def find_file(
        self,
        channel_id: str,
        key: str,
        filename: str,
        title: str,
        since: datetime,
        *,
        after: str,
        known: frozenset[str] = frozenset(),
    ) -> str | None:
        """The id of the bot's post tagged ``key`` that carries a file, in the channel
        since ``since`` (less ``HISTORY_MARGIN``); None when there is none."""
        after_ms = int((since - HISTORY_MARGIN).timestamp() * 1000)
        posts = self._call("GET", f"/channels/{channel_id}/posts", params={"since": after_ms})
        found = [
            post
            for post in (posts.get("posts") or {}).values()
            if (post.get("props") or {}).get(OUTBOX_PROP) == key
            and post.get("file_ids")
            and not post.get("delete_at")
            and post.get("user_id") == self.bot_user_id()
            and str(post.get("id")) not in known
        ]
        if not found:
            return None
        return str(min(found, key=lambda p: int(p.get("create_at") or 0))["id"])

    # -- more than the port ---------------------------------------------------------------

    def bot_user_id(self) -> str:
        """The bot account's own id (``GET /users/me``), looked up once."""
        if self._bot_user_id is None:
            me = self._call("GET", "/users/me")
            self._bot_user_id = str(me["id"])
        return self._bot_user_id

    def open_direct_channel(self, user_id: str) -> str:
        """The direct channel between the bot and ``user_id``, created if need be, cached."""
        with self._lock:
            cached = self._dm_channels.get(user_id)
        if cached is not None:
            return cached
        channel = self._call("POST", "/channels/direct", json=[self.bot_user_id(), user_id])
        channel_id = str(channel["id"])
        with self._lock:
            self._dm_channels[user_id] = channel_id
        return channel_id

    def get_user(self, user_id: str) -> PlatformUser:
        """Who ``user_id`` is; a guest account (``system_guest``) is a partner."""
        user = self._call("GET", f"/users/{user_id}")
        roles = str(user.get("roles") or "").split()
        timezone = user.get("timezone") or {}
        use_automatic = str(timezone.get("useAutomaticTimezone")).lower() == "true"
        tz = timezone.get("automaticTimezone" if use_automatic else "manualTimezone") or None
        return PlatformUser(
            id=str(user["id"]),
            name=str(user.get("username") or user["id"]),
            is_guest=GUEST_ROLE in roles,
            is_bot=bool(user.get("is_bot")),
            timezone=tz,
            locale=user.get("locale") or None,
        )

    def open_dialog(self, trigger_id: str, url: str, dialog: dict[str, Any]) -> None:
        """Open an interactive dialog; its submission is POSTed to ``url``."""
        self._call(
            "POST",
            "/actions/dialogs/open",
            json={"trigger_id": trigger_id, "url": url, "dialog": dialog},
        )

    def post_to_response_url(self, url: str, payload: dict[str, Any]) -> None:
        """Send a late answer to a slash command (``response_url``, 5 uses in 30 min)."""
        try:
            response = self._hooks.post(url, json=payload)
        except httpx.TransportError as e:
            raise TransientError(f"Mattermost response_url: {e}") from e
        if response.is_error:
            raise self._error(response, "response_url")

    # -- HTTP ----------------------------------------------------------------------------

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        what = f"{method} {path}"
        try:
            response = self._api.request(method, path, **kwargs)
        except httpx.TransportError as e:
            raise TransientError(f"Mattermost {what}: {e}") from e
        if response.is_error:
            raise self._error(response, what)
        try:
            return response.json()
        except ValueError as e:
            raise TransientError(f"Mattermost {what}: unreadable answer") from e

    def _error(self, response: httpx.Response, what: str) -> ChatError:
        status = response.status_code
        if status == 429:
            return RateLimited(self._retry_after(response), f"Mattermost {what}")
        code: str | None = None
        message = response.text[:200]
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            code = str(body.get("id") or "") or None
            message = str(body.get("message") or message)
        if status >= 500:
            return TransientError(
                f"Mattermost {what}: HTTP {status} {message}", code=code, status=status
            )
        return PermanentError(
            f"Mattermost {what}: HTTP {status} {message}", code=code, status=status
        )

    def _retry_after(self, response: httpx.Response) -> float:
        now = self._clock()
        retry_after = response.headers.get("Retry-After")
        if retry_after is not None:
            return parse_retry_after(retry_after, default=1.0, now=now)
        reset = response.headers.get("X-Ratelimit-Reset")
        try:
            value = float(reset) if reset is not None else None
        except ValueError:
            value = None
        if value is None:
            return 1.0
        if value > _EPOCH_THRESHOLD:
            return max(0.0, value - now.timestamp())
        return max(0.0, value)
