"""What an adapter hands the core: who typed which command, where, and when."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from models import Role


@dataclass(frozen=True)
class WorkspaceRef:
    """A chat workspace as the platform names it (Slack team id, Mattermost team id)."""

    platform: str
    external_id: str
    name: str = ""


@dataclass(frozen=True)
class ChannelInfo:
    external_id: str
    name: str = ""
    # A channel shared with another organisation (Slack Connect) or holding guests.
    is_shared: bool = False


@dataclass(frozen=True)
class UserRef:
    """The person typing. ``is_guest``: a platform guest or a user of another organisation,
    who is a partner wherever they have no other role."""

    external_id: str
    handle: str
    display_name: str = ""
    is_guest: bool = False


@dataclass(frozen=True)
class Invocation:
    """One command as typed, free of any platform detail. ``command`` is the command word
    without its slash (``depense``, ``expense``…). ``locale`` and ``timezone`` are the
    platform's hints about the user; ``role`` a hint too (partner for guests), the
    database decides. ``request_key`` makes a retried delivery write once."""

    workspace: WorkspaceRef
    channel: ChannelInfo
    user: UserRef
    command: str
    text: str
    now: datetime
    locale: str | None = None
    timezone: str | None = None
    role: Role | None = None
    request_key: str | None = None
    # Known handles of people named in the text, from the platform (Mattermost sends
    # user_mentions); maps handle → platform user id.
    mentioned_ids: dict[str, str] = field(default_factory=dict)
