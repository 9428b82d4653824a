"""Coordo's outbound Slack client: the ``ChatPort`` over ``slack_sdk.WebClient``.

Retries. By default this client does not retry rate limits or server errors: it raises
``RateLimited(retry_after)`` / ``TransientError`` at once and lets the caller decide.
The outbox sender is the caller that matters, and it owns backoff: it stores the next
attempt time in the outbox row, so a Retry-After of 30 s or a Slack outage survives a
restart and does not hold a worker thread asleep. slack_sdk's own default handler (one
retry of a failed connection after a short sleep) is removed too: its client opens a
connection per call, so there is no stale keep-alive for it to paper over.

``interactive_retries=True`` keeps that default and appends slack_sdk's
``RateLimitErrorRetryHandler`` and ``ServerErrorRetryHandler`` (one retry each, sleeping
for Retry-After or a short backoff) for callers that have a person waiting and no queue
behind them, such as the console.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.error import HTTPError, URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.webhook import WebhookClient

from bot.kit.port import (
    Capabilities,
    ChatError,
    ChatPort,
    PermanentError,
    PlatformChannel,
    PlatformMessage,
    PlatformUser,
    RateLimited,
    TokenRevoked,
    TransientError,
    parse_retry_after,
)

logger = logging.getLogger(__name__)

SLACK_API_URL = "https://slack.com/api/"

# ``ok: false`` errors that say "Slack had a problem", not "your call was wrong".
TRANSIENT_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
# What Slack answers for a token that is no longer good (uninstalled, revoked).
TOKEN_GONE = frozenset({"invalid_auth", "token_revoked", "account_inactive", "not_authed"})

# ``ok: false`` errors that say "too many calls, wait": a 429 says ``ratelimited``; some
# methods (``chat.postMessage``) also answer ``rate_limited`` with HTTP 200 and no
# Retry-After.
RATE_LIMIT_ERRORS = frozenset({"ratelimited", "rate_limited"})
# The wait when a rate limit comes without Retry-After: an HTTP 200 ``rate_limited`` is
# the app's posting limit over a minute, not a per-second one.
DEFAULT_RATE_LIMIT_WAIT = 30.0

Clock = Callable[[], datetime]

# The metadata event type of the messages the outbox sends (``event_payload.key``).
OUTBOX_EVENT = "coordo_outbox"
HISTORY_MARGIN = timedelta(minutes=10)
HISTORY_PAGE_SIZE = 200
HISTORY_PAGES = 10


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SlackChat(ChatPort):
    """Send to one Slack workspace with a bot token (``xoxb-…``)."""

    platform = "slack"
    capabilities = Capabilities()

    def __init__(
        self,
        token: str,
        *,
        base_url: str = SLACK_API_URL,
        timeout: int = 30,
        interactive_retries: bool = False,
        clock: Clock = _utc_now,
    ) -> None:
        self.client = WebClient(token=token, base_url=base_url, timeout=timeout)
        if not interactive_retries:
            self.client.retry_handlers.clear()
        else:
            self.client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
            self.client.retry_handlers.append(ServerErrorRetryHandler(max_retry_count=1))
        self._clock = clock
        self._dm_channels: dict[str, str] = {}
        self._team_id: str | None = None
        self._bot_user_id: str | None = None
        self._lock = threading.Lock()

    # -- ChatPort ------------------------------------------------------------------------

    def post(self, channel_id: str, message: PlatformMessage) -> str:
        """Post ``message`` (blocks, with ``text`` as fallback); return its ``ts``. A
        message with an outbox key carries it in its ``metadata``."""
        extra: dict[str, Any] = {}
        if message.key:
            extra["metadata"] = {"event_type": OUTBOX_EVENT, "event_payload": {"key": message.key}}
        with self._errors("chat.postMessage"):
            response = self.client.chat_postMessage(
                channel=channel_id, text=message.text, blocks=message.blocks, **extra
            )
        return str(response["ts"])

    def edit(self, channel_id: str, message_id: str, message: PlatformMessage) -> None:
        """``chat.update`` of a message Coordo posted (its ``ts``)."""
        with self._errors("chat.update"):
            self.client.chat_update(
                channel=channel_id, ts=message_id, text=message.text, blocks=message.blocks
            )

    def find_sent(
        self, destination_id: str, key: str, since: datetime, *, direct: bool
    ) -> str | None:
        """The ``ts`` of the message tagged ``key`` in the channel's history since
        ``since`` (less ``HISTORY_MARGIN`` for clocks that disagree), read newest first
        with ``conversations.history`` and its metadata; None when it is not there. A
        history longer than ``HISTORY_PAGES`` pages leaves the doubt (``TransientError``)."""
        channel = self.open_direct_channel(destination_id) if direct else destination_id
        oldest = f"{(since - HISTORY_MARGIN).timestamp():.6f}"
        cursor: str | None = None
        for _ in range(HISTORY_PAGES):
            with self._errors("conversations.history"):
                response = self.client.conversations_history(
                    channel=channel,
                    oldest=oldest,
                    include_all_metadata=True,
                    limit=HISTORY_PAGE_SIZE,
                    cursor=cursor,
                )
            for found in response.get("messages") or []:
                metadata = found.get("metadata") or {}
                payload = metadata.get("event_payload") or {}
                if metadata.get("event_type") == OUTBOX_EVENT and payload.get("key") == key:
                    return str(found["ts"])
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not response.get("has_more") or cursor is None:
                return None
        raise TransientError(
            f"Slack conversations.history: {key} not found in {HISTORY_PAGES} pages"
        )

    def direct_message(self, user_id: str, message: PlatformMessage) -> str:
        """Post in the bot's conversation with ``user_id``; return the message ``ts``.

        The conversation id (``D…``) is looked up once per user with
        ``conversations.open`` and kept; ``open_direct_channel`` gives it to callers
        that need it, e.g. to update the message later.
        """
        return self.post(self.open_direct_channel(user_id), message)

    def upload_file(
        self,
        channel_id: str,
        filename: str,
        content: bytes,
        title: str,
        comment: str | None = None,
    ) -> None:
        """Share a file through Slack's external upload flow (``files_upload_v2``)."""
        with self._errors("files_upload_v2"):
            self.client.files_upload_v2(
                channel=channel_id,
                filename=filename,
                content=content,
                title=title,
                initial_comment=comment,
            )

    def upload_tagged_file(
        self, channel_id: str, filename: str, content: bytes, title: str, *, key: str
    ) -> str:
        """Share a file; return its id. A Slack file share carries no metadata, so ``key``
        is not sent: ``find_file`` knows the share by its name and title."""
        with self._errors("files_upload_v2"):
            response = self.client.files_upload_v2(
                channel=channel_id, filename=filename, content=content, title=title
            )
        shared = response.get("files") or []
        return str(shared[0]["id"]) if shared else ""

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
        """The id of the bot's share of ``filename`` titled ``title`` in the channel's
        history after message ``after`` (a ``ts``: the row's files come after its
        message) and since ``since`` less ``HISTORY_MARGIN``, oldest first, leaving out
        ``known``; None when it is not there."""
        oldest = (since - HISTORY_MARGIN).timestamp()
        with suppress(ValueError):
            oldest = max(oldest, float(after))
        bot = self.bot_user_id()
        cursor: str | None = None
        found: list[tuple[float, str]] = []
        for _ in range(HISTORY_PAGES):
            with self._errors("conversations.history"):
                response = self.client.conversations_history(
                    channel=channel_id,
                    oldest=f"{oldest:.6f}",
                    limit=HISTORY_PAGE_SIZE,
                    cursor=cursor,
                )
            for message in response.get("messages") or []:
                for shared in message.get("files") or []:
                    if (
                        shared.get("name") == filename
                        and (shared.get("title") or filename) == title
                        and (shared.get("user") or message.get("user")) == bot
                        and str(shared.get("id")) not in known
                    ):
                        found.append((float(message["ts"]), str(shared["id"])))
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not response.get("has_more") or cursor is None:
                return min(found)[1] if found else None
        raise TransientError(
            f"Slack conversations.history: {key} not found in {HISTORY_PAGES} pages"
        )

    # -- more than the port ---------------------------------------------------------------

    def bot_user_id(self) -> str:
        """The bot's own user id (``auth.test``), looked up once."""
        if self._bot_user_id is None:
            with self._errors("auth.test"):
                response = self.client.auth_test()
            self._bot_user_id = str(response["user_id"])
            self._team_id = self._team_id or str(response["team_id"])
        return self._bot_user_id

    def open_direct_channel(self, user_id: str) -> str:
        with self._lock:
            cached = self._dm_channels.get(user_id)
        if cached is not None:
            return cached
        with self._errors("conversations.open"):
            response = self.client.conversations_open(users=[user_id])
        channel_id = str(response["channel"]["id"])
        with self._lock:
            self._dm_channels[user_id] = channel_id
        return channel_id

    def team_id(self) -> str:
        """The workspace of the bot token (``auth.test``), looked up once."""
        if self._team_id is None:
            with self._errors("auth.test"):
                response = self.client.auth_test()
            self._team_id = str(response["team_id"])
        return self._team_id

    def get_user(self, user_id: str) -> PlatformUser:
        """Who ``user_id`` is: a guest or a Slack Connect user from another organisation
        both come out as partners (``is_guest`` / ``is_external``)."""
        with self._errors("users.info"):
            response = self.client.users_info(user=user_id)
        user: dict[str, Any] = response["user"]
        team_id = user.get("team_id")
        return PlatformUser(
            id=str(user["id"]),
            name=str(user.get("real_name") or user.get("name") or user["id"]),
            is_guest=bool(user.get("is_restricted") or user.get("is_ultra_restricted")),
            is_external=bool(user.get("is_stranger"))
            or (team_id is not None and team_id != self.team_id()),
            is_bot=bool(user.get("is_bot")),
            team_id=team_id,
            timezone=user.get("tz"),
        )

    def get_channel(self, channel_id: str) -> PlatformChannel:
        with self._errors("conversations.info"):
            response = self.client.conversations_info(channel=channel_id)
        channel: dict[str, Any] = response["channel"]
        return PlatformChannel(
            id=str(channel["id"]),
            name=str(channel.get("name") or channel["id"]),
            is_shared=bool(channel.get("is_ext_shared")),
            is_direct=bool(channel.get("is_im")),
            is_private=bool(channel.get("is_private")),
        )

    def post_to_response_url(self, url: str, payload: dict[str, Any]) -> None:
        post_to_response_url(url, payload, clock=self._clock)

    # -- errors --------------------------------------------------------------------------

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except SlackApiError as e:
            raise _from_api_error(e, what, self._clock()) from e
        except HTTPError as e:  # the upload URL answers outside the Web API
            raise _from_status(e.code, dict(e.headers.items()), what, self._clock()) from e
        except (URLError, OSError) as e:
            raise TransientError(f"Slack {what}: {e}") from e
        except SlackClientError as e:
            raise PermanentError(f"Slack {what}: {e}") from e


def post_to_response_url(
    url: str, payload: dict[str, Any], *, timeout: int = 10, clock: Clock = _utc_now
) -> None:
    """Send a late answer to a slash command or an interaction (``response_url``).

    Slack accepts 5 uses within 30 minutes; past that it refuses, which comes out as a
    ``PermanentError``.
    """
    try:
        response = WebhookClient(url, timeout=timeout).send_dict(payload)
    except (URLError, OSError) as e:
        raise TransientError(f"Slack response_url: {e}") from e
    if response.status_code != 200:
        raise _from_status(
            response.status_code, response.headers, "response_url", clock(), response.body
        )


def _header(headers: dict[str, Any], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return str(value[0] if isinstance(value, list) else value)
    return None


def _from_status(
    status: int, headers: dict[str, Any], what: str, now: datetime, body: str = ""
) -> ChatError:
    if status == 429:
        retry_after = parse_retry_after(_header(headers, "Retry-After"), default=1.0, now=now)
        return RateLimited(retry_after, f"Slack {what}")
    if status >= 500:
        return TransientError(f"Slack {what}: HTTP {status}", status=status)
    return PermanentError(f"Slack {what}: HTTP {status} {body[:200]}", status=status)


def _from_api_error(e: SlackApiError, what: str, now: datetime) -> ChatError:
    response = e.response
    status = response.status_code
    data = response.data if isinstance(response.data, dict) else {}
    error = str(data.get("error") or "")
    if status == 429 or error in RATE_LIMIT_ERRORS:
        retry_after = parse_retry_after(
            _header(response.headers, "Retry-After"),
            default=1.0 if status == 429 else DEFAULT_RATE_LIMIT_WAIT,
            now=now,
        )
        return RateLimited(retry_after, f"Slack {what}", code=error or "ratelimited", status=status)
    if status >= 500:
        return TransientError(f"Slack {what}: HTTP {status}", code=error or None, status=status)
    if error in TRANSIENT_ERRORS:
        return TransientError(f"Slack {what}: {error}", code=error, status=status)
    if error in TOKEN_GONE:
        return TokenRevoked(f"Slack {what}: {error}", code=error, status=status)
    return PermanentError(
        f"Slack {what}: {error or f'HTTP {status}'}", code=error or None, status=status
    )
