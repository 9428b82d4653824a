"""Coordo's neutral ``Reply`` rendered for Mattermost (``to_mattermost``): Markdown text
plus Slack-style message attachments: each section becomes an attachment with a title, a text and fields; the buttons become one
last attachment whose actions are integration buttons pointing at Coordo's
``/mattermost/actions``. Mentions written ``<@id|handle>`` become ``@handle``.

A Mattermost button carries a ``context`` that the Mattermost server keeps for itself
(clients never see it; an ephemeral post keeps it encrypted in a cookie) and sends back
with the click. Coordo signs that context, so ``/mattermost/actions`` can refuse any
request that does not come from a button Coordo made.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.kit.port import PlatformMessage
from bot.settings import Settings
from bot.text import BACKTICK_LOOKALIKE, ZWSP
from commands import usertext
from commands.reply import Reply

# The longest Mattermost post (server v5.0 and later), in characters.
MATTERMOST_POST_LIMIT = 16_383
# A button's text beyond this is cut: Mattermost shows buttons on one line.
BUTTON_LABEL_LIMIT = 75
# A field value this short sits next to another one (two per row).
SHORT_FIELD = 40

MATTERMOST_ACTIONS_PATH = "/mattermost/actions"
MATTERMOST_DIALOGS_PATH = "/mattermost/dialogs"

_MENTION = re.compile(r"<@[^|>]+\|([^>]+)>")
_CHANNEL = re.compile(r"<#[^|>]+\|([^>]+)>")


# Markdown's active characters, backslash-escaped anywhere in user text (``@`` and ``<``
# are broken apart instead: the server reads mentions and ``<!channel>`` in the raw text).
_MATTERMOST_ACTIVE = re.compile(r"([\\`*_~\[\]()#|!>{}&])")
# What makes a list, a heading underline or a numbered item at the start of a line.
_MATTERMOST_LINE_START = re.compile(r"(^|[\n\r])([ \t]*)(?:([-+=])|(\d+)([.)]))")
_MATTERMOST_INDENT = re.compile(r"(^|[\n\r])([ \t]+)")
NBSP = "\u00a0"
_LINE_BREAK = re.compile(r"(\r\n|[\n\r])")


def mattermost_user_text(text: str, in_code: bool = False) -> str:
    """What a person typed, for Mattermost's markdown: shown as typed, never a mention
    (``@channel``, ``@all``, ``@here``, ``@someone``, ``<!channel>``), a link or
    formatting."""
    text = text.replace("<", "<" + ZWSP).replace("@", "@" + ZWSP)
    if in_code:
        # Inline code shows a line break as a space; a blank line would end it.
        return _LINE_BREAK.sub(" ", text.replace("`", BACKTICK_LOOKALIKE)) or ZWSP
    text = _MATTERMOST_ACTIVE.sub(r"\\\1", text)
    text = _MATTERMOST_LINE_START.sub(_escape_line_start, text)
    # Indentation would make a code block: no-break spaces look the same and do not.
    text = _MATTERMOST_INDENT.sub(lambda m: m.group(1) + NBSP * len(m.group(2)), text)
    # A line a person ends or begins must not let Coordo's next words start a list or a
    # heading: the line break is kept, with an invisible character on each side.
    text = _LINE_BREAK.sub(ZWSP + r"\1" + ZWSP, text)
    # Spaces at either end would keep Coordo's ``**`` around the text from closing.
    if text[:1].isspace():
        text = ZWSP + text
    if text[-1:].isspace():
        text += ZWSP
    return text.replace("<", "\\<")


def _escape_line_start(m: re.Match[str]) -> str:
    if m.group(3):
        return f"{m.group(1)}{m.group(2)}\\{m.group(3)}"
    return f"{m.group(1)}{m.group(2)}{m.group(4)}\\{m.group(5)}"


def mattermost_markdown(text: str) -> str:
    """Neutral Markdown → Mattermost's: mentions ``<@id|marie>`` → ``@marie``, channel
    references ``<#id|bondy>`` → ``~bondy``; the rest (bold, italics, code, links, lists)
    is the same on both. What a person typed is escaped (``mattermost_user_text``)."""
    skeleton, spans = usertext.protect(text)
    skeleton = _MENTION.sub(r"@\1", skeleton)
    skeleton = _CHANNEL.sub(r"~\1", skeleton)
    # A link's address is Coordo's, never what a person typed.
    skeleton = skeleton.replace("](" + usertext.START, "] (" + usertext.START)
    # ``@{{ handle }}`` names someone without calling them: only ``|mention`` notifies.
    skeleton = skeleton.replace("@" + usertext.START, "@" + ZWSP + usertext.START)
    return usertext.restore(skeleton, spans, mattermost_user_text)


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class ButtonClick:
    """What a verified button context says: the action, its value, where the button was."""

    action: str
    value: str
    ephemeral: bool
    team_id: str


@dataclass(frozen=True)
class MattermostSigner:
    """Where Mattermost sends clicks and dialog submissions, and the key that signs the
    button contexts and dialog states Coordo hands out.

    The key is derived from the bot account's token: the web processes and the workers
    share it, it is secret, and buttons and dialogs need the bot account anyway (a
    dialog is opened through the API). Regenerating the token invalidates the buttons of
    older posts, which then answer that they are no longer valid.
    """

    public_url: str
    secret: bytes

    @classmethod
    def from_settings(cls, settings: Settings) -> MattermostSigner | None:
        if not settings.mattermost_bot_token:
            return None
        return cls(settings.public_url.rstrip("/"), derive_key(settings.mattermost_bot_token))

    @property
    def actions_url(self) -> str:
        return self.public_url + MATTERMOST_ACTIONS_PATH

    @property
    def dialogs_url(self) -> str:
        return self.public_url + MATTERMOST_DIALOGS_PATH

    def sign(self, *parts: str) -> str:
        message = "\x1f".join(parts).encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()

    def check(self, signature: object, *parts: str) -> bool:
        return isinstance(signature, str) and hmac.compare_digest(signature, self.sign(*parts))

    def button_context(
        self, action: str, value: str, *, ephemeral: bool, team_id: str = ""
    ) -> dict[str, Any]:
        where = "ephemeral" if ephemeral else "post"
        return {
            "action": action,
            "value": value,
            "where": where,
            "team_id": team_id,
            "sig": self.sign("button", action, value, where, team_id),
        }

    def verify_button(self, context: object) -> ButtonClick | None:
        """The click a context describes, or None when Coordo did not sign it."""
        if not isinstance(context, Mapping):
            return None
        fields = [context.get(k) for k in ("action", "value", "where", "team_id")]
        if not all(isinstance(f, str) for f in fields):
            return None
        action, value, where, team_id = (str(f) for f in fields)
        if not self.check(context.get("sig"), "button", action, value, where, team_id):
            return None
        return ButtonClick(action, value, where == "ephemeral", team_id)


def derive_key(token: str) -> bytes:
    return hashlib.sha256(b"coordo/mattermost/signing\x00" + token.encode()).digest()


def to_mattermost(
    reply: Reply,
    signer: MattermostSigner | None = None,
    *,
    ephemeral: bool = False,
    team_id: str = "",
) -> PlatformMessage:
    """``reply`` as a Mattermost post: Markdown text and attachments.

    Buttons need ``signer`` (without one they are left out: a button Coordo could not
    verify would be refused anyway). ``ephemeral`` says the post will be an ephemeral one
    (a slash command's private answer), which a click cannot edit; ``team_id`` names the
    workspace for clicks made in direct messages, which Mattermost sends without a team.
    """
    attachments: list[dict[str, Any]] = []
    for section in reply.sections:
        attachment: dict[str, Any] = {}
        if section.title:
            attachment["title"] = mattermost_markdown(section.title)
        if section.text:
            attachment["text"] = mattermost_markdown(section.text)
        if section.fields:
            attachment["fields"] = [
                {
                    "title": mattermost_markdown(field.label),
                    "value": mattermost_markdown(field.value),
                    "short": len(usertext.strip(field.value)) <= SHORT_FIELD,
                }
                for field in section.fields
            ]
        if attachment:
            attachments.append(attachment)
    if reply.buttons and signer is not None:
        actions = []
        for number, button in enumerate(reply.buttons):
            action: dict[str, Any] = {
                # Alphanumeric ids: Mattermost looks the clicked action up by this id.
                "id": f"coordo{number}",
                "type": "button",
                "name": _fit(usertext.strip(button.label), BUTTON_LABEL_LIMIT),
                "integration": {
                    "url": signer.actions_url,
                    "context": signer.button_context(
                        button.action, button.value, ephemeral=ephemeral, team_id=team_id
                    ),
                },
            }
            if button.style:
                action["style"] = button.style
            actions.append(action)
        attachments.append({"actions": actions})
    text = _fit(mattermost_markdown(reply.text), MATTERMOST_POST_LIMIT)
    return PlatformMessage(text=text, attachments=attachments or None)
