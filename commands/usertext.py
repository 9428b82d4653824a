"""Text a person typed, marked as such inside the neutral markdown of a reply.

Templates and catalog messages mix Coordo's own markup (bold, links, mentions it means to
make) with what people typed (titles, descriptions, agenda items, names). The renderer
(``commands.render``) wraps every value a template prints between two private-use
characters; each platform's renderer then escapes what lies between them for its own
syntax and drops the marks. So no template can forget to escape, and no stored text can
mention anyone, hide a link or format itself.

The marks are private-use characters, which nobody types; any a person did type are
removed when their text is marked, so a span always closes where it should.
"""

from __future__ import annotations

import re
from collections.abc import Callable

START = "\ue000"
END = "\ue001"

_MARKS = re.compile(f"[{START}{END}]")
_SPAN = re.compile(f"{START}(.*?){END}", re.DOTALL)


class Trusted(str):
    """Markup Coordo wrote (a rendered template or catalog message, its user text marked
    inside): given to another template or message, it is printed as it is, not marked
    again. It stays a plain ``str`` otherwise (``+`` and f-strings give a ``str``)."""

    __slots__ = ()

    def __html__(self) -> str:
        return str(self)


def mark(text: str) -> str:
    """``text`` as user text (any marks it carried are dropped first)."""
    text = _MARKS.sub("", text)
    return f"{START}{text}{END}" if text else ""


def split(text: str) -> list[tuple[bool, str]]:
    """``text`` in chunks ``(is_user, chunk)``, in order, marks removed; empty chunks are
    left out. A mark without its pair is dropped."""
    chunks: list[tuple[bool, str]] = []
    position = 0
    for m in _SPAN.finditer(text):
        if m.start() > position:
            chunks.append((False, _MARKS.sub("", text[position : m.start()])))
        if m.group(1):
            chunks.append((True, m.group(1)))
        position = m.end()
    if position < len(text):
        chunks.append((False, _MARKS.sub("", text[position:])))
    return [(user, chunk) for user, chunk in chunks if chunk]


def strip(text: str) -> str:
    """``text`` with its marks removed: what a file, a log or a form field shows."""
    return _MARKS.sub("", text)


def is_marked(text: str) -> bool:
    return bool(_MARKS.search(text))


def trusted(text: str) -> str:
    """The trusted parts only, each user span replaced by a space: for looking up the
    mentions and links Coordo itself wrote."""
    return "".join(chunk if not user else " " for user, chunk in split(text))


_PLACEHOLDER = re.compile(f"{START}(\\d+){END}")


def protect(text: str) -> tuple[str, list[str]]:
    """``text`` with each user span replaced by a numbered placeholder (the marks around
    a number), and the spans: a platform's renderer rewrites the markup of the skeleton
    with its regular expressions, which then never see what a person typed."""
    spans: list[str] = []
    parts: list[str] = []
    for user, chunk in split(text):
        if user:
            parts.append(f"{START}{len(spans)}{END}")
            spans.append(chunk)
        else:
            parts.append(chunk)
    return "".join(parts), spans


def restore(skeleton: str, spans: list[str], escape: Callable[[str, bool], str]) -> str:
    """The skeleton with each placeholder replaced by ``escape(span, in_code)``, where
    ``in_code`` says the span sits inside inline code or a code block (an odd number of
    backticks of Coordo's own before it)."""
    out: list[str] = []
    position = 0
    ticks = 0
    for m in _PLACEHOLDER.finditer(skeleton):
        before = skeleton[position : m.start()]
        ticks += before.count("`")
        out.append(before)
        out.append(escape(spans[int(m.group(1))], ticks % 2 == 1))
        position = m.end()
    out.append(skeleton[position:])
    return "".join(out)


__all__ = [
    "END",
    "START",
    "Trusted",
    "is_marked",
    "mark",
    "protect",
    "restore",
    "split",
    "strip",
    "trusted",
]
