"""French typography, set once where the words are written.

French puts a narrow no-break space (U+202F) before ``; : ! ? %`` and ``»``, after ``«``,
and a no-break space (U+00A0) between a number and its unit. Rather than hand-typing
invisible characters in every template and catalog, the French templates' and messages'
own words are set when they are compiled: only the literal text, never what an expression
prints (what a person typed stays as typed; amounts come formatted by Babel already).
"""

from __future__ import annotations

import re

from jinja2.ext import Extension

NARROW = "\u202f"
NO_BREAK = "\u00a0"

# A Jinja tag, expression or comment: left alone.
_TAG = re.compile(r"({{.*?}}|{%.*?%}|{#.*?#})", re.DOTALL)
# Inline code (a command to type) is left alone too.
_CODE = re.compile(r"(`[^`\n]*`)")
_BEFORE = re.compile(r"[ \u00a0]+([;:!?%»])")
_AFTER = re.compile(r"«[ \u00a0]+")
# A number (or an expression printing one) and its unit.
_UNITS = r"(?:jours?|j|h|min|semaines?|mois|ans?|€|caractères|heures?)(?!\w)"
_NUMBER_UNIT = re.compile(r"(\d) (?=" + _UNITS + ")")
_PRINTED_UNIT = re.compile(r"^ (?=" + _UNITS + ")")


def _literal(text: str) -> str:
    parts = _CODE.split(text)
    for i in range(0, len(parts), 2):
        part = _BEFORE.sub(NARROW + r"\1", parts[i])
        part = _NUMBER_UNIT.sub(r"\1" + NO_BREAK, part)
        parts[i] = _AFTER.sub("«" + NARROW, part)
    return "".join(parts)


def set_french(source: str) -> str:
    """A French template's or message's source, its own words set in French typography."""
    parts = _TAG.split(source)
    for i in range(0, len(parts), 2):
        if i and parts[i - 1].startswith("{{"):
            # "{{ days }} jours": the number an expression prints, then its unit.
            parts[i] = _PRINTED_UNIT.sub(NO_BREAK, parts[i])
        parts[i] = _literal(parts[i])
    return "".join(parts)


def literal_text(source: str) -> str:
    """The words a template writes itself, for checks: tags and inline code become ``¤``."""
    words = []
    for i, part in enumerate(_TAG.split(source)):
        if i % 2:
            words.append("¤")
            continue
        words.extend(p if j % 2 == 0 else "¤" for j, p in enumerate(_CODE.split(part)))
    return "".join(words)


class FrenchTypography(Extension):
    """Sets the French templates (``*.fr.md.j2``) as they are loaded."""

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        if name and name.endswith(".fr.md.j2"):
            return set_french(source)
        return source
