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
from dataclasses import dataclass
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


# -- native polls (MSC3381, in the form Element sends and shows) ---------------------------

POLL_START = "org.matrix.msc3381.poll.start"
POLL_END = "org.matrix.msc3381.poll.end"
# Element sends the unstable names; the stable ones (``m.poll.*``) are read too.
POLL_RESPONSES = ("org.matrix.msc3381.poll.response", "m.poll.response")
POLL_TEXT = "org.matrix.msc1767.text"
POLL_DISCLOSED = "org.matrix.msc3381.poll.disclosed"
# The actions a native poll stands for: one question per meeting (its answers) and one
# per date of a date poll (yes, if need be, no).
POLL_ACTIONS = ("meeting.rsvp", "poll.answer")


@dataclass(frozen=True)
class NativePoll:
    """One question, its answers by id (``yes``, ``no``, ``maybe``) and what each does."""

    question: str
    answers: tuple[tuple[str, Button], ...]

    def content(self) -> dict[str, Any]:
        """The poll start event, with its text fallback for clients without polls."""
        labels = [_answer_label(button) for _, button in self.answers]
        fallback = "\n".join(
            [self.question, *(f"{n}. {label}" for n, label in enumerate(labels, 1))]
        )
        return {
            POLL_START: {
                "question": {POLL_TEXT: self.question, "body": self.question, "msgtype": "m.text"},
                "kind": POLL_DISCLOSED,
                "max_selections": 1,
                "answers": [
                    {"id": answer_id, POLL_TEXT: label}
                    for (answer_id, _), label in zip(self.answers, labels, strict=True)
                ],
            },
            POLL_TEXT: fallback,
            "body": fallback,
        }


def _answer_label(button: Button) -> str:
    # A date poll's button reads "2 · Oui": the poll's question already names the date.
    return button.label.split(" · ", 1)[-1] if button.action == "poll.answer" else button.label


def first_line(body: str) -> str:
    for line in body.splitlines():
        if line.strip():
            return line.strip()[:300]
    return ""


def native_polls(content: dict[str, Any]) -> list[NativePoll]:
    """The native polls a message's buttons stand for: one per meeting answered (yes, no,
    maybe), one per date of a date poll. Each is single-choice, as Element shows polls
    (a click there replaces the person's answer), so a date keeps its three answers."""
    body = str(content.get("body", ""))
    groups: dict[str, list[Button]] = {}
    for button in buttons_of(content):
        if button.action in POLL_ACTIONS and ":" in button.value:
            groups.setdefault(button.value.rsplit(":", 1)[0], []).append(button)
    polls = []
    for subject, group in groups.items():
        if group[0].action == "poll.answer":
            number = subject.rsplit(":", 1)[-1]
            slot = re.search(rf"^\s*{re.escape(number)}\. (.+?)(?: — |$)", body, re.MULTILINE)
            question = slot.group(1).strip() if slot else f"{first_line(body)} · {number}"
        else:
            question = first_line(body)
        answers = tuple((b.value.rsplit(":", 1)[-1], b) for b in group)
        polls.append(NativePoll(question, answers))
    return polls


def poll_selection(content: dict[str, Any]) -> tuple[str, list[str]] | None:
    """``(poll event id, answer ids)`` of a poll response, in the unstable form Element
    sends or the stable one; None when it is not one."""
    relates = content.get("m.relates_to") or {}
    if relates.get("rel_type") != "m.reference" or not relates.get("event_id"):
        return None
    answers: Any = None
    for key in POLL_RESPONSES:
        if isinstance(content.get(key), dict):
            answers = content[key].get("answers")
    if answers is None:
        answers = content.get("m.selections")
    if not isinstance(answers, list):
        return None
    return str(relates["event_id"]), [str(a) for a in answers]


def poll_end(poll_id: str, text: str) -> dict[str, Any]:
    return {
        "m.relates_to": {"rel_type": "m.reference", "event_id": poll_id},
        POLL_END: {},
        POLL_TEXT: text,
        "body": text,
    }


def edit_of(message_id: str, new: dict[str, Any]) -> dict[str, Any]:
    """An ``m.replace`` of ``message_id``: clients show ``m.new_content``; the rest is the
    fallback ("* …") for those that do not. An edit mentions nobody anew (the message's
    mentions notified when it was sent; a vote is no reason to notify them again)."""
    new = {k: v for k, v in new.items() if k != "m.relates_to"}
    edit: dict[str, Any] = {
        "msgtype": new.get("msgtype", "m.text"),
        "body": "* " + str(new.get("body", "")),
        "m.new_content": new,
        "m.mentions": {},
        "m.relates_to": {"rel_type": "m.replace", "event_id": message_id},
    }
    if "formatted_body" in new:
        edit["format"] = new.get("format", "org.matrix.custom.html")
        edit["formatted_body"] = "* " + str(new["formatted_body"])
    return edit
