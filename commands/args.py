"""What people type after a command word: words, quoted values, ``key:value`` options,
mentions (``<@U123|marie>`` on Slack, ``@marie`` on Mattermost) and channel references
(``<#C123|bondy>``, ``~bondy``). Pure functions, no database."""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from commands.errors import UserError

QUOTES = {'"': '"', "“": "”", "«": "»", "„": "“"}
_SLACK_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|([^>]*))?>")
_SLACK_CHANNEL = re.compile(r"<#([A-Z0-9]+)(?:\|([^>]*))?>")
_HANDLE = re.compile(r"@([\w][\w.\-]*)")
_TILDE_CHANNEL = re.compile(r"~([\w][\w.\-]*)")
_OPTION = re.compile(r"([^\W\d_][\w\-]*):(.*)", re.DOTALL)


@dataclass(frozen=True)
class Mention:
    """A person named in a command: a platform id when the platform gave one, and a name."""

    user_id: str | None
    name: str


@dataclass(frozen=True)
class ChannelRef:
    channel_id: str | None
    name: str


@dataclass
class Args:
    """``words`` keep the positional text in order (a quoted value is one word);
    ``options`` map canonical option names to their value."""

    words: list[str] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)
    mentions: list[Mention] = field(default_factory=list)
    channels: list[ChannelRef] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(self.words)

    def option(self, name: str) -> str | None:
        return self.options.get(name)


# What a number must be to name a row: ids are 32-bit on PostgreSQL.
MAX_ID = 2**31 - 1
_WORD = re.compile(r"(\S+)\s*(.*)", re.DOTALL)
# Kept of the control characters: tab, newline, carriage return (they are whitespace).
_KEPT_CONTROLS = frozenset("\t\n\r")


def clean_text(text: str) -> str:
    """What people typed without the characters no row can hold: control characters
    (a NUL byte, which PostgreSQL refuses in text) and lone surrogates; tabs and newlines
    stay, as whitespace."""
    if text.isprintable():
        return text
    return "".join(
        c for c in text if c in _KEPT_CONTROLS or unicodedata.category(c) not in ("Cc", "Cs")
    )


def split_first_word(text: str) -> tuple[str, str]:
    """``"supprimer\n3 demain"`` → ``("supprimer", "3 demain")``: any whitespace ends a
    word."""
    m = _WORD.match(text.strip())
    return (m.group(1), m.group(2)) if m else ("", "")


def as_id(value: int, typed: str) -> int:
    """``value`` if it can name a row; a number past any id is refused, not looked up."""
    if not 0 < value <= MAX_ID:
        raise UserError("core.bad_id", text=typed[:40])
    return value


@lru_cache(maxsize=8192)
def fold(text: str) -> str:
    """Lower case without accents: ``"Dépense"`` → ``"depense"``, for matching words."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def tokenize(text: str) -> list[tuple[str, bool]]:
    """Split on whitespace, keeping double-quoted runs together; ``(token, was_quoted)``.
    A quote may open mid-token (``lieu:"Mairie de Bondy"``). Apostrophes are text
    (``l'appel``), never quotes."""
    tokens: list[tuple[str, bool]] = []
    current: list[str] = []
    quoted = False
    i = 0
    while i < len(text):
        char = text[i]
        if char in QUOTES:
            closing = QUOTES[char]
            end = text.find(closing, i + 1)
            if end == -1:
                raise UserError("core.unclosed_quote", text=text)
            current.append(text[i + 1 : end])
            quoted = True
            i = end + 1
            continue
        if char.isspace():
            if current or quoted:
                tokens.append(("".join(current), quoted))
            current, quoted = [], False
        else:
            current.append(char)
        i += 1
    if current or quoted:
        tokens.append(("".join(current), quoted))
    return tokens


def parse_args(text: str, options: Mapping[str, str] | None = None) -> Args:
    """Parse ``text`` for a command whose options are ``options`` (every accepted
    spelling → canonical name, e.g. ``{"poste": "line", "line": "line"}``).

    A ``word:value`` whose word is not an option stays text (``"Note: …"``, ``"14:00"``,
    URLs), unless it is a near miss of one (``post:`` for ``poste:``), which is refused
    with the right spelling rather than silently logged as text."""
    options = options or {}
    folded_options = {fold(k): v for k, v in options.items()}
    args = Args()
    for token, quoted in tokenize(text.strip()):
        if not quoted:
            if m := _SLACK_MENTION.fullmatch(token):
                args.mentions.append(Mention(m.group(1), m.group(2) or m.group(1)))
                continue
            if m := _SLACK_CHANNEL.fullmatch(token):
                args.channels.append(ChannelRef(m.group(1), m.group(2) or m.group(1)))
                continue
            if m := _HANDLE.fullmatch(token.rstrip(",;")):
                args.mentions.append(Mention(None, m.group(1)))
                continue
            if m := _TILDE_CHANNEL.fullmatch(token):
                args.channels.append(ChannelRef(None, m.group(1)))
                continue
        if (m := _OPTION.fullmatch(token)) and not m.group(2).startswith("//"):
            key = fold(m.group(1))
            if key in folded_options:
                name = folded_options[key]
                value = m.group(2).strip()
                if name in args.options:
                    raise UserError("core.duplicate_option", option=m.group(1))
                args.options[name] = value
                continue
            close = difflib.get_close_matches(key, list(folded_options), n=1, cutoff=0.75)
            if close and not quoted:
                raise UserError("core.unknown_option", option=m.group(1), suggestion=close[0])
        args.words.append(token)
    return args


def mention_from_text(value: str) -> Mention | None:
    """``"@karim"``, ``"<@U1|karim>"`` → a Mention; anything else → None."""
    value = value.strip()
    if m := _SLACK_MENTION.fullmatch(value):
        return Mention(m.group(1), m.group(2) or m.group(1))
    if m := _HANDLE.fullmatch(value):
        return Mention(None, m.group(1))
    return None


def closest(word: str, candidates: list[str]) -> str | None:
    """The candidate nearest to ``word`` (accents and case ignored), for "did you mean"."""
    by_fold = {fold(c): c for c in candidates}
    match = difflib.get_close_matches(fold(word), list(by_fold), n=1, cutoff=0.6)
    return by_fold[match[0]] if match else None
