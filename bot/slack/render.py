"""Coordo's neutral ``Reply`` rendered for Slack (``to_slack``, ``to_slack_pages``,
``modal_view``, ``home_view``): Block Kit.

Neutral markdown (``commands.reply``) becomes Slack mrkdwn: ``**b**`` → ``*b*``,
``[label](url)`` → ``<url|label>``, mentions ``<@U…|handle>`` → ``<@U…>``, channel
references ``~bondy`` → ``#bondy``; ``&``, ``<`` and ``>`` are escaped everywhere else, so
text a person typed can never turn into a mention of ``@channel`` or a link. Slack's
limits are kept here, in one place: 50 blocks in a message (100 in a modal or a Home
tab), 3,000 characters in a section's text, 10 fields in a section, 2,000 in a field, 150
in a header, 75 in a button's text, 25 elements in an actions block. A long reply is
split into pages of at most 50 blocks; past the last page allowed, a line says how much
was left out.
"""

from __future__ import annotations

import re
from typing import Any

from bot.kit.port import PlatformMessage
from bot.text import BACKTICK_LOOKALIKE, ZWSP, markdown_to_text
from commands import usertext
from commands.render import message
from commands.reply import Button, Form, FormField, Reply, Section

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER = 150
MAX_BUTTON_TEXT = 75
MAX_ACTIONS = 25
MAX_VIEW_TITLE = 24
MAX_LABEL = 2000
MAX_PLACEHOLDER = 150
MAX_OPTIONS = 100
MAX_OPTION_TEXT = 75
MAX_FALLBACK_TEXT = 3000
ACTIONS_BLOCK_ID = "coordo_actions"
# Button action ids must be unique in a message; ``<action>#<n>`` keeps them so.
ACTION_SEPARATOR = "#"

_ENTITY = re.compile(
    r"<@(?P<user>[UW][A-Z0-9]+)(?:\|[^>]*)?>"
    r"|<@(?P<other>[^|>\s]+)\|(?P<handle>[^>]+)>"
    r"|<#(?P<channel>[CGD][A-Z0-9]+)(?:\|[^>]*)?>"
    # A link's address is Coordo's, never a user text span (its placeholder's mark).
    r"|\[(?P<label>[^\]\n]+)\]\((?P<url>[^)\s\ue000]+)\)"
)
# ``~bondy`` (a channel as Mattermost and the console write it); not ``~30`` nor a URL.
# A name may be a user text span (its placeholder starts with the mark).
_TILDE_CHANNEL = re.compile(f"(?<![\\w~/])~(?=[^\\W\\d_]|{usertext.START})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME = re.compile(r"\d{2}:\d{2}")
_SLACK_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>|([UW][A-Z0-9]+)")


def escape(text: str) -> str:
    """Slack's three control characters, as its documentation asks."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# Slack has no escape for its formatting characters. A delimiter opens or closes only at
# a word's edge, next to a space or the line's end; with a zero-width space on each side
# it is at neither, whether Slack counts that space as a space or as a letter.
_SLACK_FORMATTING = re.compile(r"([*_~`])")
_LINE_BREAK = re.compile(r"\r\n|[\n\r]")


def slack_user_text(text: str, in_code: bool = False) -> str:
    """What a person typed, for Slack's mrkdwn: shown as typed, never a mention
    (``<!here>``, ``<@U…>``), a link (``<https://…|label>``), a quote or formatting."""
    if in_code:
        # Nothing is formatted inside code, and what is there may be copied to be typed:
        # only the three entities, a backtick that would close the code, and a line break
        # that would end it (the next line could then start a quote or a list).
        return _LINE_BREAK.sub(" ", escape(text).replace("`", BACKTICK_LOOKALIKE))
    text = escape(text).replace("&gt;", ZWSP + "&gt;").replace("@", "@" + ZWSP)
    return _SLACK_FORMATTING.sub(ZWSP + r"\1" + ZWSP, text)


def _inline(text: str) -> str:
    text = escape(text).replace("**", "*")
    return _TILDE_CHANNEL.sub("#", text)


def _url(url: str) -> str:
    return url.replace("&", "&amp;").replace("|", "%7C").replace(">", "%3E").replace("<", "%3C")


def mrkdwn(text: str) -> str:
    """Neutral markdown → Slack mrkdwn (see the module's docstring); what a person typed
    is escaped (``slack_user_text``)."""
    skeleton, spans = usertext.protect(text)
    return usertext.restore(_mrkdwn(skeleton), spans, slack_user_text)


def _mrkdwn(text: str) -> str:
    out: list[str] = []
    position = 0
    for m in _ENTITY.finditer(text):
        out.append(_inline(text[position : m.start()]))
        if m["user"]:
            out.append(f"<@{m['user']}>")
        elif m["other"]:
            # Someone met outside Slack (the console): a name, not a mention.
            out.append(_inline("@" + m["handle"]))
        elif m["channel"]:
            out.append(f"<#{m['channel']}>")
        else:
            out.append(f"<{_url(m['url'])}|{_inline(m['label'])}>")
        position = m.end()
    out.append(_inline(text[position:]))
    return "".join(out)


def plain(text: str, limit: int) -> dict[str, Any]:
    """A ``plain_text`` object (headers, buttons, labels): no markup, within ``limit``."""
    return {"type": "plain_text", "text": _cut(markdown_to_text(text), limit), "emoji": True}


def _cut(text: str, limit: int) -> str:
    text = text.strip() or "…"
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


_OPEN_ENTITY = re.compile(r"&[a-z#0-9]*$")
_CLOSED_ENTITY = re.compile(r"<[^<>]*>")


def split_text(text: str, limit: int = MAX_SECTION_TEXT) -> list[str]:
    """``text`` in pieces of at most ``limit`` characters, cut between paragraphs, else
    between lines, else between words (a single word longer than ``limit`` is cut), and
    never inside ``<url|label>``, a mention or ``&amp;``: Slack would show either half as
    garbage or as a broken link."""
    text = text.strip()
    pieces: list[str] = []
    while len(text) > limit:
        window = _open_entity_cut(text[: limit + 1])
        # A space inside a link's label is no place to cut: search with entities masked.
        searched = _CLOSED_ENTITY.sub(lambda m: "x" * len(m[0]), window)
        cut = -1
        for separator in ("\n\n", "\n", " "):
            cut = searched.rfind(separator)
            if cut > 0:
                break
        if cut <= 0:
            cut = len(window) if 0 < len(window) <= limit else limit
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        pieces.append(text)
    return pieces


def _open_entity_cut(window: str) -> str:
    """``window`` without the entity it ends inside (an unclosed ``<…`` or ``&…``)."""
    opened = window.rfind("<")
    if opened > window.rfind(">"):
        window = window[:opened]
    return _OPEN_ENTITY.sub("", window)


def text_blocks(text: str) -> list[dict[str, Any]]:
    """Neutral markdown as section blocks of at most 3,000 characters each."""
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": piece}}
        for piece in split_text(mrkdwn(text))
    ]


def section_blocks(section: Section) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if section.title:
        blocks.append({"type": "header", "text": plain(section.title, MAX_HEADER)})
    if section.text:
        blocks.extend(text_blocks(section.text))
    fields = [
        {
            "type": "mrkdwn",
            "text": _cut(f"*{mrkdwn(f.label)}*\n{mrkdwn(f.value)}", MAX_FIELD_TEXT),
        }
        for f in section.fields
    ]
    for start in range(0, len(fields), MAX_FIELDS):
        blocks.append({"type": "section", "fields": fields[start : start + MAX_FIELDS]})
    return blocks


def button_element(button: Button, index: int) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": plain(button.label, MAX_BUTTON_TEXT),
        "action_id": f"{button.action}{ACTION_SEPARATOR}{index}",
    }
    if button.value:  # Slack refuses an empty value: a button without one has none
        element["value"] = button.value
    if button.style in ("primary", "danger"):
        element["style"] = button.style
    return element


def action_name(action_id: str) -> str:
    """The neutral action (``milestone.done``) of a clicked button's ``action_id``."""
    return action_id.rpartition(ACTION_SEPARATOR)[0] or action_id


def actions_blocks(buttons: list[Button]) -> list[dict[str, Any]]:
    elements = [button_element(b, i) for i, b in enumerate(buttons)]
    return [
        {
            "type": "actions",
            "block_id": f"{ACTIONS_BLOCK_ID}_{start // MAX_ACTIONS}",
            "elements": elements[start : start + MAX_ACTIONS],
        }
        for start in range(0, len(elements), MAX_ACTIONS)
    ]


def content_blocks(reply: Reply) -> list[dict[str, Any]]:
    """The reply's text and sections as blocks, without its buttons."""
    blocks = text_blocks(reply.text) if reply.text.strip() else []
    for section in reply.sections:
        blocks.extend(section_blocks(section))
    return blocks


def fallback_text(reply: Reply) -> str:
    """The message's ``text``: what notifications and screen readers show."""
    source = reply.text.strip() or next(
        (s.title or s.text for s in reply.sections if s.title or s.text), ""
    )
    return _cut_mrkdwn(mrkdwn(source), MAX_FALLBACK_TEXT)


def _cut_mrkdwn(text: str, limit: int) -> str:
    """``_cut`` for mrkdwn: never inside ``&amp;`` nor inside ``<url|label>``, whose
    halves Slack would show as garbage or as a broken link."""
    text = text.strip()
    if len(text) <= limit:
        return text or "…"
    return _open_entity_cut(text[: limit - 1]).rstrip() + "…"


def paginate(
    reply: Reply, *, locale: str, per_page: int = MAX_MESSAGE_BLOCKS, max_pages: int = 1
) -> list[list[dict[str, Any]]]:
    """The reply's blocks in pages of at most ``per_page``, buttons on the last page; past
    ``max_pages`` the rest is dropped and a last line says how many blocks were left out."""
    content = content_blocks(reply)
    actions = actions_blocks(reply.buttons)
    room = per_page * max_pages - len(actions)
    if len(content) > room:
        kept = content[: room - 1]
        note = message("chat.truncated", locale, count=len(content) - len(kept))
        content = [
            *kept,
            {"type": "context", "elements": [{"type": "mrkdwn", "text": mrkdwn(note)}]},
        ]
    blocks = content + actions
    pages = [blocks[i : i + per_page] for i in range(0, len(blocks), per_page)]
    return pages or [[]]


def to_slack_pages(
    reply: Reply, *, locale: str = "fr", max_pages: int = 6
) -> list[PlatformMessage]:
    """The reply as one or more Slack messages (each within 50 blocks)."""
    text = fallback_text(reply)
    return [
        PlatformMessage(text=text, blocks=page or None)
        for page in paginate(reply, locale=locale, max_pages=max_pages)
    ]


def to_slack(reply: Reply, workspace: str = "", *, locale: str = "fr") -> PlatformMessage:
    """The reply as one Slack message (for the outbox, whose renderers are also given the
    workspace): what does not fit in 50 blocks is left out, and the message says so."""
    return to_slack_pages(reply, locale=locale, max_pages=1)[0]


def home_view(reply: Reply, *, locale: str = "fr") -> dict[str, Any]:
    """A Home tab (``views.publish``) showing the reply, within 100 blocks."""
    blocks = paginate(reply, locale=locale, per_page=MAX_VIEW_BLOCKS, max_pages=1)[0]
    return {"type": "home", "blocks": blocks}


# -- forms -------------------------------------------------------------------------------


def _element(field: FormField) -> dict[str, Any]:
    kind = field.kind
    element: dict[str, Any]
    if kind == "textarea":
        element = {"type": "plain_text_input", "multiline": True}
    elif kind == "number":
        element = {"type": "number_input", "is_decimal_allowed": True}
    elif kind == "date":
        element = {"type": "datepicker"}
        if _DATE.fullmatch(field.initial):
            element["initial_date"] = field.initial
    elif kind == "time":
        element = {"type": "timepicker"}
        if _TIME.fullmatch(field.initial):
            element["initial_time"] = field.initial
    elif kind == "select" and field.options:
        options = [
            {"text": plain(label, MAX_OPTION_TEXT), "value": value}
            for value, label in field.options[:MAX_OPTIONS]
        ]
        element = {"type": "static_select", "options": options}
        chosen = [o for o in options if o["value"] == field.initial]
        if chosen:
            element["initial_option"] = chosen[0]
    elif kind == "user":
        element = {"type": "users_select"}
        if m := _SLACK_USER.fullmatch(field.initial.strip()):
            element["initial_user"] = m.group(1) or m.group(2)
    else:
        element = {"type": "plain_text_input"}
    if element["type"] in ("plain_text_input", "number_input") and field.initial:
        element["initial_value"] = field.initial
    if field.placeholder:
        element["placeholder"] = plain(field.placeholder, MAX_PLACEHOLDER)
    element["action_id"] = field.name
    return element


def modal_view(form: Form, *, locale: str, private_metadata: str = "") -> dict[str, Any]:
    """A modal (``views.open``) for the form; each field is an input block whose
    ``block_id`` and ``action_id`` are the field's name."""
    blocks = [
        {
            "type": "input",
            "block_id": field.name,
            "label": plain(field.label, MAX_LABEL),
            "optional": not field.required,
            "element": _element(field),
        }
        for field in form.fields[:MAX_VIEW_BLOCKS]
    ]
    return {
        "type": "modal",
        "callback_id": form.callback,
        "title": plain(form.title, MAX_VIEW_TITLE),
        "submit": plain(form.submit_label, MAX_VIEW_TITLE),
        "close": plain(message("chat.form_cancel", locale), MAX_VIEW_TITLE),
        "private_metadata": private_metadata,
        "blocks": blocks,
    }
