"""The neutral reply as plain text, for the console and for logs."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from commands import usertext
from commands.reply import Reply

# Zero-width space: invisible, and enough to keep ``@channel``, ``<!here>`` or a
# delimiter from being read as one.
ZWSP = "\u200b"
# What a person typed inside inline code shows a backtick as this lookalike (a backtick
# there would close the code, and nothing escapes inside code).
BACKTICK_LOOKALIKE = "\u02cb"

_MENTION = re.compile(r"<@[^|>]+\|([^>]+)>")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)]+)\)")
_BOLD = re.compile(r"\*\*(.+?)\*\*")


def _as_typed(span: str, in_code: bool) -> str:
    return span


def markdown_to_text(text: str, user_text: Callable[[str, bool], str] = _as_typed) -> str:
    """Neutral markdown as plain text: Coordo's own markup is dropped, what a person
    typed is shown as typed (``user_text`` may adapt it to where it goes)."""
    skeleton, spans = usertext.protect(text)
    skeleton = _MENTION.sub(r"@\1", skeleton)
    skeleton = _LINK.sub(
        lambda m: m.group(1) if m.group(1) == m.group(2) else f"{m.group(1)} ({m.group(2)})",
        skeleton,
    )
    skeleton = _BOLD.sub(r"\1", skeleton)
    return usertext.restore(skeleton, spans, user_text)


def reply_to_text(reply: Reply, files_dir: Path | None = None) -> str:
    """Text of a reply. Files are written to ``files_dir`` and named in the text."""
    parts = [markdown_to_text(reply.text)]
    for section in reply.sections:
        if section.title:
            parts.append(markdown_to_text(section.title))
        if section.text:
            parts.append(markdown_to_text(section.text))
        for field in section.fields:
            parts.append(f"  {markdown_to_text(field.label)} : {markdown_to_text(field.value)}")
    if reply.buttons:
        parts.append("  ".join(f"[{usertext.strip(b.label)}]" for b in reply.buttons))
    for file in reply.files:
        if files_dir is not None:
            files_dir.mkdir(parents=True, exist_ok=True)
            path = files_dir / file.filename
            path.write_bytes(file.content)
            parts.append(f"📎 {usertext.strip(file.title)} → {path}")
        else:
            parts.append(
                f"📎 {usertext.strip(file.title)} ({file.filename}, {len(file.content)} o)"
            )
    return "\n".join(p for p in parts if p)
