"""The console: the same commands, database and scheduler as in chat, in a terminal.

Lines starting with ``/`` are commands; ``:user NAME`` and ``:channel NAME`` switch who is
typing and where; ``:now ISO-DATETIME`` moves a fixed clock; ``#`` starts a comment.
Interactive with line editing and history on a terminal, line by line from a pipe.

What Coordo sends on its own (reminders, digests) goes through ``ConsoleChat``, the
console's platform, which prints it: after each line the scan and the sender run at the
console's time (``notifications``), so with a fixed clock ``:now`` shows what would have
gone out by then. On a terminal with the real clock a background scheduler also runs
them every half minute, printing under the console's lock.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session

from bot.kit.port import Capabilities, PlatformMessage
from bot.text import reply_to_text
from commands.core import Router, apology, ensure_person, ensure_workspace
from commands.invocation import ChannelInfo, Invocation, UserRef, WorkspaceRef
from models import Platform

log = logging.getLogger(__name__)

CONSOLE_WORKSPACE = "console"
HISTORY_FILE = Path.home() / ".coordo_history"
CONSOLE_TIMEZONE = ZoneInfo("Europe/Paris")


class ConsoleChat:
    """The console's ``ChatPort``: what Coordo sends is kept as lines to print.

    A channel is its name (``bondy``) and a person their handle (``marie``), as the
    console's workspace knows them; files are written to ``files_dir``."""

    platform = "console"
    capabilities = Capabilities()

    def __init__(self, files_dir: Path) -> None:
        self.files_dir = files_dir
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._count = 0

    def _say(self, line: str) -> str:
        with self._lock:
            self._count += 1
            self._lines.append(line)
            return f"console-{self._count}"

    def post(self, channel_id: str, message: PlatformMessage) -> str:
        return self._say(f"📣 Coordo → ~{channel_id}\n{message.text}")

    def direct_message(self, user_id: str, message: PlatformMessage) -> str:
        return self._say(f"📨 Coordo → @{user_id}\n{message.text}")

    def edit(self, channel_id: str, message_id: str, message: PlatformMessage) -> None:
        self._say(f"✏️ Coordo → ~{channel_id} ({message_id})\n{message.text}")

    def open_direct_channel(self, user_id: str) -> str:
        return f"@{user_id}"

    def upload_file(
        self,
        channel_id: str,
        filename: str,
        content: bytes,
        title: str,
        comment: str | None = None,
    ) -> None:
        self.files_dir.mkdir(parents=True, exist_ok=True)
        path = self.files_dir / filename
        path.write_bytes(content)
        where = channel_id if channel_id.startswith("@") else f"~{channel_id}"
        self._say(f"📎 Coordo → {where} : {title} → {path}")

    def drain(self) -> list[str]:
        """What was sent since the last call, in order."""
        with self._lock:
            lines, self._lines = self._lines, []
        return lines


class Console:
    """One console session: who types, where, and the clock."""

    def __init__(
        self,
        engine: Engine,
        router: Router,
        *,
        user: str = "camille",
        channel: str = "labo",
        now: datetime | None = None,
        clock: Callable[[], datetime] | None = None,
        files_dir: Path | None = None,
        notifications: Callable[[], list[str]] | None = None,
    ) -> None:
        self.engine = engine
        self.router = router
        self.user = user
        self.channel = channel
        self.fixed_now = now
        self.clock = clock or (lambda: datetime.now(UTC))
        self.files_dir = files_dir or Path("exports")
        # Runs the scan and the sender at the console's time; returns what was sent.
        self.notifications = notifications
        # Held while a line is handled, and by a background scheduler while it prints.
        self.lock = threading.RLock()

    def now(self) -> datetime:
        return self.fixed_now or self.clock()

    def handle(self, line: str) -> str:
        """What the console prints for one line typed, then what Coordo sent meanwhile."""
        with self.lock:
            output = self._handle(line)
            if self.notifications is None or not line.strip() or line.strip().startswith("#"):
                return output
            sent = self.notifications()
        return "\n\n".join(part for part in (output, *sent) if part)

    def pending_notifications(self) -> str:
        """What Coordo sends at the console's time, when no line is typed."""
        if self.notifications is None:
            return ""
        with self.lock:
            return "\n\n".join(self.notifications())

    def _handle(self, line: str) -> str:
        line = line.strip()
        if not line or line.startswith("#"):
            return ""
        if line.startswith(":"):
            return self._meta(line)
        if not line.startswith("/"):
            return "Tapez une commande (par exemple `/labo aide`), ou :user NOM, :channel NOM."
        command, _, text = line[1:].partition(" ")
        invocation = self.invocation(command, text)
        try:
            reply = self.router.dispatch(self.engine, invocation)
        except Exception:
            log.exception("command failed: %s", line)
            reply = apology(invocation.locale)
        return reply_to_text(reply, self.files_dir)

    def invocation(self, command: str, text: str) -> Invocation:
        # Who is a guest and which channel is shared, the database remembers (in chat the
        # platform says so).
        return Invocation(
            workspace=WorkspaceRef(Platform.CONSOLE, CONSOLE_WORKSPACE, "Console"),
            channel=ChannelInfo(self.channel, self.channel),
            user=UserRef(self.user, self.user, self.user),
            command=command,
            text=text,
            now=self.now(),
        )

    def _join(self) -> None:
        """The user now typing joins the workspace, as signing in to a chat would."""
        invocation = self.invocation("labo", "")
        with Session(self.engine) as session:
            ensure_person(session, ensure_workspace(session, invocation), invocation)
            session.commit()

    def _meta(self, line: str) -> str:
        word, _, value = line[1:].partition(" ")
        value = value.strip().lstrip("@~#")
        if word == "user" and value:
            self.user = value
            self._join()
            return f"(vous êtes @{value})"
        if word == "channel" and value:
            self.channel = value
            return f"(canal ~{value})"
        if word == "now" and value:
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                return ":now 2026-11-24T10:00 (heure de Paris) ou 2026-11-24T10:00+01:00"
            self.fixed_now = moment if moment.tzinfo else moment.replace(tzinfo=CONSOLE_TIMEZONE)
            return f"(horloge : {self.fixed_now.isoformat()})"
        return ":user NOM · :channel NOM · :now 2026-11-24T10:00+01:00"

    def prompt(self) -> str:
        return f"@{self.user} ~{self.channel} > "

    def run(self, lines: Iterable[str], out: TextIO) -> None:
        for line in lines:
            output = self.handle(line)
            if output:
                out.write(output + "\n\n")
                out.flush()


def interactive_lines(console: Console) -> Iterable[str]:
    """Lines from a terminal with editing and history (readline)."""
    import readline

    with contextlib.suppress(OSError):
        readline.read_history_file(HISTORY_FILE)
    try:
        while True:
            try:
                yield input(console.prompt())
            except EOFError:
                sys.stdout.write("\n")
                return
            except KeyboardInterrupt:
                sys.stdout.write("\n")
                continue
    finally:
        try:
            readline.write_history_file(HISTORY_FILE)
        except OSError:
            log.warning("could not save the console history to %s", HISTORY_FILE)
