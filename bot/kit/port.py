"""The narrow port through which Coordo speaks to a chat platform on its own initiative.

The outbox sender, the digests and the reminders only ever see a ``ChatPort``: they hand
it a message already rendered for the platform (Block Kit for Slack, Markdown plus
attachments for Mattermost) and get back the platform's id for the message, or one of
three typed errors that tell the caller what to do next:

- ``RateLimited``: try again after ``retry_after`` seconds (the platform said so);
- ``TransientError``: the platform or the network failed; retry later, with backoff;
- ``PermanentError``: retrying will not help (unknown channel, bad token, message
  refused); record the failure and move on.

The port does not retry. Backoff, Retry-After and the memory of attempts across restarts
belong to the outbox, whose rows survive a restart where a client's loop would not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal, Protocol, runtime_checkable

PlatformName = Literal["slack", "mattermost"]


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a platform can show, declared by its port, so that what all platforms share
    (``bot.kit.delivery``, the outbox sender) asks instead of guessing:

    - ``ephemeral``: a message only one person in a channel sees (Slack, Mattermost);
      without it a private reply goes to a direct conversation, with a note in the thread;
    - ``files``: files (exports, charts) can be posted;
    - ``threads``: replies can go in the thread of the command;
    - ``buttons``: native buttons; without them, reactions or numbered replies;
    - ``forms``: native forms (modals, dialogs); without them, a usage message.
    """

    ephemeral: bool = True
    files: bool = True
    threads: bool = False
    buttons: bool = True
    forms: bool = True


@dataclass(frozen=True, slots=True)
class PlatformMessage:
    """A message rendered for one platform, ready to send.

    ``text`` is always set: the Markdown body on Mattermost, the notification and
    accessibility fallback on Slack when ``blocks`` are given. ``blocks`` is read by the
    Slack client only, ``attachments`` by the Mattermost client only.
    """

    text: str
    blocks: list[dict[str, Any]] | None = None
    attachments: list[dict[str, Any]] | None = None
    # The whole event content, for a platform whose message is one JSON object (Matrix).
    content: dict[str, Any] | None = None
    # The outbox key the message is sent under: the client tags the message with it
    # (Slack ``metadata``, Mattermost ``props``), so ``SentLookup.find_sent`` finds it.
    key: str | None = None


@dataclass(frozen=True, slots=True)
class PlatformUser:
    """What Coordo needs to know about a person on the platform to give them a role.

    ``is_guest`` is a Slack guest (``is_restricted`` / ``is_ultra_restricted``) or a
    Mattermost guest (``system_guest`` role); ``is_external`` is a Slack Connect user
    from another organisation. Either makes the person a partner by default.
    """

    id: str
    name: str
    is_guest: bool
    is_external: bool = False
    is_bot: bool = False
    team_id: str | None = None
    timezone: str | None = None
    locale: str | None = None
    # The name people see, when the platform has one besides ``name`` (Slack's profile).
    display_name: str = ""


@dataclass(frozen=True, slots=True)
class PlatformChannel:
    id: str
    name: str
    is_shared: bool = False
    is_direct: bool = False
    is_private: bool = False


class ChatError(Exception):
    """A platform call failed. ``code`` is the platform's own error word when it gave one."""

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class RateLimited(ChatError):
    """The platform refused the call for now; it may be sent again after ``retry_after`` s."""

    def __init__(
        self,
        retry_after: float,
        message: str = "rate limited",
        *,
        code: str | None = "ratelimited",
        status: int | None = 429,
    ) -> None:
        super().__init__(f"{message} (retry after {retry_after:g} s)", code=code, status=status)
        self.retry_after = retry_after


def parse_retry_after(value: str | None, *, default: float, now: datetime | None = None) -> float:
    """Seconds to wait from a ``Retry-After`` header: a number of seconds or an HTTP date.

    ``now`` is needed only for the date form (no platform Coordo speaks to sends it, but
    proxies in front of a Mattermost server may). A missing or unreadable value gives
    ``default``; the result is never negative.
    """
    if value is None or not value.strip():
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if now is None:
        return default
    return max(0.0, (when - now).total_seconds())


class TransientError(ChatError):
    """A server error (5xx) or a network failure: the same call may succeed later."""


class PermanentError(ChatError):
    """The platform refused the call for a reason a retry will not change."""


class TokenRevoked(PermanentError):
    """The token is no longer good (the app was uninstalled, or its token revoked): the
    workspace may install the app again, and its messages wait for that."""


@runtime_checkable
class ChatPort(Protocol):
    """Send messages and files to one chat workspace.

    Implementations raise only ``ChatError`` subclasses for platform and network
    failures; anything else is a bug.
    """

    platform: str
    capabilities: Capabilities

    def post(self, channel_id: str, message: PlatformMessage) -> str:
        """Post in a channel; return the platform's message id."""
        ...

    def direct_message(self, user_id: str, message: PlatformMessage) -> str:
        """Post in the bot's direct conversation with a user; return the message id."""
        ...

    def upload_file(
        self,
        channel_id: str,
        filename: str,
        content: bytes,
        title: str,
        comment: str | None = None,
    ) -> None:
        """Share a file (an export, a chart) in a channel, with an optional comment."""
        ...


@runtime_checkable
class MessageEditor(Protocol):
    """A port that can change a message it posted, in place (a date poll's counts)."""

    def edit(self, channel_id: str, message_id: str, message: PlatformMessage) -> None:
        """Replace the text (and buttons) of message ``message_id`` in ``channel_id``."""
        ...


@runtime_checkable
class SentLookup(Protocol):
    """A port that can tell whether a message tagged with an outbox key is on the platform:
    what the sender asks after an attempt whose outcome it does not know (a timeout, a
    worker killed mid-send, a database lost after the platform accepted)."""

    def find_sent(
        self, destination_id: str, key: str, since: datetime, *, direct: bool
    ) -> str | None:
        """The platform's id of the message tagged ``key`` posted since about ``since`` to
        ``destination_id`` (a channel, or a user when ``direct``), or None when there is
        none. Raises ``ChatError`` when it cannot tell (the doubt remains)."""
        ...


@runtime_checkable
class FileLookup(Protocol):
    """A port that can tell whether a file share the outbox began is on the platform, as
    ``SentLookup`` does for messages: each share is tagged with ``key`` (the row's outbox
    key and the file's place) where the platform keeps tags, and found by it, or else by
    its name and title among the bot's shares after the row's message."""

    def upload_tagged_file(
        self, channel_id: str, filename: str, content: bytes, title: str, *, key: str
    ) -> str:
        """Share a file in a channel, tagged ``key``; return the platform's id of the share."""
        ...

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
        """The id of the share tagged ``key`` (or of file ``filename`` titled ``title``)
        in ``channel_id`` since about ``since`` and after message ``after``, leaving out
        the shares in ``known``; None when there is none. Raises ``ChatError`` when it
        cannot tell."""
        ...


@dataclass(slots=True)
class SentMessage:
    """One message a ``RecordingChat`` accepted."""

    channel_id: str
    message: PlatformMessage
    id: str
    direct_to: str | None = None


@dataclass(slots=True)
class SentFile:
    channel_id: str
    filename: str
    content: bytes
    title: str
    comment: str | None


@dataclass
class RecordingChat:
    """An in-memory ``ChatPort`` that keeps what it was asked to send.

    For tests of the core and of the outbox that do not need the wire: conversations
    can be asserted on ``messages`` and ``files``. ``fail_with`` queues errors the next
    calls raise, in order, whatever the method.
    """

    platform: str = "slack"
    capabilities: Capabilities = field(default_factory=Capabilities)
    messages: list[SentMessage] = field(default_factory=list)
    files: list[SentFile] = field(default_factory=list)
    fail_with: list[ChatError] = field(default_factory=list)

    def _maybe_fail(self) -> None:
        if self.fail_with:
            raise self.fail_with.pop(0)

    def post(self, channel_id: str, message: PlatformMessage) -> str:
        self._maybe_fail()
        message_id = f"m{len(self.messages) + 1}"
        self.messages.append(SentMessage(channel_id, message, message_id))
        return message_id

    def direct_message(self, user_id: str, message: PlatformMessage) -> str:
        self._maybe_fail()
        message_id = f"m{len(self.messages) + 1}"
        self.messages.append(SentMessage(f"dm:{user_id}", message, message_id, direct_to=user_id))
        return message_id

    def upload_file(
        self,
        channel_id: str,
        filename: str,
        content: bytes,
        title: str,
        comment: str | None = None,
    ) -> None:
        self._maybe_fail()
        self.files.append(SentFile(channel_id, filename, content, title, comment))

    def find_sent(
        self, destination_id: str, key: str, since: datetime, *, direct: bool
    ) -> str | None:
        self._maybe_fail()
        channel = f"dm:{destination_id}" if direct else destination_id
        found = [m.id for m in self.messages if m.channel_id == channel and m.message.key == key]
        return found[-1] if found else None
