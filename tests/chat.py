"""Conversation tests that read like the chat.

    converse(console, '''
        > /labo voir
        Budget participatif de Bondy
        > /labo role @lucas membre
        @lucas : membre
    ''')

A line starting with ``>`` is what the user types; the lines under it must each appear in
the reply, in order. ``:user`` and ``:channel`` lines switch who types and where.
"""

from __future__ import annotations

import textwrap

from bot.console import Console
from commands import usertext


def normalise(text: str) -> str:
    """Babel's non-breaking spaces as plain spaces, so expectations can be typed; a
    reply's text read without the marks around what people typed (``commands.usertext``)."""
    return usertext.strip(text).replace("\u202f", " ").replace("\u00a0", " ")


def converse(console: Console, script: str) -> list[str]:
    """Play ``script`` and check every reply; returns the replies."""
    replies: list[str] = []
    steps: list[tuple[str, list[str]]] = []
    for raw in textwrap.dedent(script).strip().splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith(">") or line.startswith(":"):
            steps.append((line.lstrip("> ").strip() if line.startswith(">") else line, []))
        else:
            assert steps, f"expected reply line before any command: {line!r}"
            steps[-1][1].append(line)
    for command, expected in steps:
        reply = normalise(console.handle(command))
        replies.append(reply)
        position = 0
        for want in expected:
            found = reply.find(normalise(want), position)
            assert found >= 0, f"after {command!r}, expected {want!r} in:\n{reply}"
            position = found + len(want)
    return replies
