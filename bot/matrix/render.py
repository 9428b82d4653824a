"""The neutral ``Reply`` as a Matrix ``m.room.message`` content.

``body`` is plain text; ``formatted_body`` is HTML (``org.matrix.custom.html``). Text is
escaped once, here, before the neutral markdown is turned into tags, so what a person typed
never becomes markup; mentions ``<@@marie:lab.fr|marie>`` become links to the person
(``https://matrix.to/#/…``) and are listed in ``m.mentions``, which is what notifies.

Buttons have no Matrix equivalent: they become numbered choices (and reactions, for the
common answers, ``bot.kit.choices``), and travel in the content under ``BUTTONS_KEY`` so
that the connector knows what a reaction or a number on this message means.
"""

from __future__ import annotations

import html
import re
from typing import Any

from bot.kit import choices
from bot.kit.port import PlatformMessage
from bot.text import markdown_to_text
from commands import usertext
from commands.render import message
from commands.reply import Button, Reply

BUTTONS_KEY = "org.coordo.buttons"

_MENTION = re.compile(r"&lt;@([^|&]+)\|([^&]+)&gt;")
_MENTION_IDS = re.compile(r"<@([^|>]+)\|[^>]+>")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ITALIC = re.compile(r"(?<![\w*])_(.+?)_(?!\w)")
_CODE = re.compile(r"`([^`]+)`")
_LINK = re.compile(r"\[([^\]]+)\]\(((?:https?|mailto):[^)\s]+)\)")


# After ``@`` in what a person typed: a word joiner keeps ``@room`` from notifying the
# whole room (Matrix's push rule looks for it in the body) and shows nothing.
WORD_JOINER = "\u2060"


def _html_user_text(span: str, in_code: bool) -> str:
    return html.escape(span, quote=True).replace("@", "@" + WORD_JOINER)


def _body_user_text(span: str, in_code: bool) -> str:
    return span.replace("@", "@" + WORD_JOINER)


def to_html(text: str) -> str:
    """Neutral markdown as Matrix HTML: what a person typed is escaped and never becomes
    a tag, a link or a mention."""
    skeleton, spans = usertext.protect(text)
    return usertext.restore(_to_html(skeleton), spans, _html_user_text).replace("\n", "<br>")


def body_text(text: str) -> str:
    """Neutral markdown as a Matrix ``body``: plain text, what a person typed as typed
    (but ``@room`` in it notifies nobody)."""
    text = text.replace("@" + usertext.START, "@" + WORD_JOINER + usertext.START)
    return markdown_to_text(text, _body_user_text)


def _to_html(text: str) -> str:
    escaped = html.escape(text, quote=True)
    codes: list[str] = []

    def keep_code(match: re.Match[str]) -> str:
        codes.append(f"<code>{match.group(1)}</code>")
        return f"\x00{len(codes) - 1}\x00"

    escaped = _CODE.sub(keep_code, escaped)
    escaped = _MENTION.sub(
        lambda m: f'<a href="https://matrix.to/#/{m.group(1)}">{m.group(2)}</a>', escaped
    )
    escaped = _LINK.sub(lambda m: f'<a href="{m.group(2)}">{m.group(1)}</a>', escaped)
    escaped = _BOLD.sub(r"<strong>\1</strong>", escaped)
    escaped = _ITALIC.sub(r"<em>\1</em>", escaped)
    return re.sub(r"\x00(\d+)\x00", lambda m: codes[int(m.group(1))], escaped)


def _parts(reply: Reply, locale: str) -> list[str]:
    parts = [reply.text] if reply.text else []
    for section in reply.sections:
        lines = []
        if section.title:
            lines.append(f"**{section.title}**")
        if section.text:
            lines.append(section.text)
        lines.extend(f"{f.label} : {f.value}" for f in section.fields)
        parts.append("\n".join(lines))
    if reply.buttons:
        parts.append(
            "\n".join([message("kit.choose", locale), *choices.choice_lines(reply.buttons)])
        )
    return parts


def content(reply: Reply, locale: str = "fr") -> dict[str, Any]:
    parts = _parts(reply, locale)
    neutral = "\n\n".join(parts)
    body: dict[str, Any] = {
        "msgtype": "m.text" if reply.text or not reply.buttons else "m.notice",
        "body": body_text(neutral),
        "format": "org.matrix.custom.html",
        "formatted_body": "<br><br>".join(to_html(p) for p in parts),
        # Only the mentions Coordo wrote: never one found in what a person typed.
        "m.mentions": {"user_ids": sorted(set(_MENTION_IDS.findall(usertext.trusted(neutral))))},
    }
    if reply.buttons:
        body[BUTTONS_KEY] = [[usertext.strip(b.label), b.action, b.value] for b in reply.buttons]
    return body


def buttons_of(content: dict[str, Any]) -> list[Button]:
    return [Button(str(b[0]), str(b[1]), str(b[2])) for b in content.get(BUTTONS_KEY) or []]


def to_matrix(reply: Reply, workspace: str = "") -> PlatformMessage:
    """The outbox's renderer: files are sent apart, as media."""
    bare = Reply(text=reply.text, sections=reply.sections, buttons=reply.buttons)
    body = content(bare)
    return PlatformMessage(text=body["body"], content=body)


def content_of_text(text: str) -> dict[str, Any]:
    return {"msgtype": "m.text", "body": text}
