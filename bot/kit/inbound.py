"""An inbound command, as any platform delivers it, to the core's ``Invocation``; and the
reading of commands typed as text (``!depense 12,50 € café``, ``@coordo labo aide``) on
platforms without slash commands."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from bot.kit.port import PlatformChannel, PlatformUser
from commands.args import fold
from commands.invocation import ChannelInfo, Invocation, UserRef, WorkspaceRef
from models import Role


@dataclass(frozen=True)
class InboundCommand:
    platform: str
    workspace_id: str
    workspace_name: str
    channel: PlatformChannel
    user: PlatformUser
    command: str
    text: str
    now: datetime
    request_key: str | None = None
    mentioned_ids: Mapping[str, str] = field(default_factory=dict)

    def invocation(self) -> Invocation:
        """Guests and people of another organisation come as partners (the database may
        know better: a coordinator can give them another role)."""
        user = self.user
        partner = user.is_guest or user.is_external
        return Invocation(
            workspace=WorkspaceRef(self.platform, self.workspace_id, self.workspace_name),
            channel=ChannelInfo(self.channel.id, self.channel.name, self.channel.is_shared),
            user=UserRef(user.id, user.name, user.display_name or user.name, is_guest=partner),
            command=self.command,
            text=self.text,
            now=self.now,
            locale=user.locale,
            timezone=user.timezone,
            role=Role.PARTNER if partner else None,
            request_key=self.request_key,
            mentioned_ids=dict(self.mentioned_ids),
        )


def read_command(
    text: str, *, words: Collection[str], names: Collection[str], prefix: str = "!"
) -> tuple[str, str] | None:
    """``(command, rest)`` of a line typed to Coordo, or None when it is not one.

    ``!word …`` is a command when ``word`` is one of Coordo's (``words``, folded); a line
    addressed to Coordo by one of its ``names`` (``@coordo depense …``, ``coordo: labo
    aide``) always is, so that a misspelt word gets a suggestion."""
    line = text.strip()
    if line.startswith(prefix):
        word, _, rest = line[len(prefix) :].partition(" ")
        if word and fold(word) in words:
            return word, rest.strip()
        return None
    for name in sorted(names, key=len, reverse=True):
        match = re.match(rf"@?{re.escape(name)}(?:[:,]\s*|\s+|$)", line, re.IGNORECASE)
        if match:
            remainder = line[match.end() :].lstrip(prefix + "/")
            word, _, rest = remainder.partition(" ")
            if word:
                return word, rest.strip()
    return None
