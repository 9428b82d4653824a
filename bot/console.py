"""The console: the same commands, database and scheduler as in chat, in a terminal.

Lines starting with ``/`` are commands; ``:user NAME`` and ``:channel NAME`` switch who is
typing and where; ``:now ISO-DATETIME`` moves a fixed clock; ``#`` starts a comment.
Interactive with line editing and history on a terminal, line by line from a pipe.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from sqlalchemy import Engine
from sqlmodel import Session

from bot.text import reply_to_text
from commands.core import Router, apology, ensure_person, ensure_workspace
from commands.invocation import ChannelInfo, Invocation, UserRef, WorkspaceRef
from models import Platform

log = logging.getLogger(__name__)

CONSOLE_WORKSPACE = "console"
HISTORY_FILE = Path.home() / ".coordo_history"


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
    ) -> None:
        self.engine = engine
        self.router = router
        self.user = user
        self.channel = channel
        self.fixed_now = now
        self.clock = clock or (lambda: datetime.now(UTC))
        self.files_dir = files_dir or Path("exports")

    def now(self) -> datetime:
        return self.fixed_now or self.clock()

    def handle(self, line: str) -> str:
        """What the console prints for one line typed."""
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
            moment = datetime.fromisoformat(value)
            self.fixed_now = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
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
