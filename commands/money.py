"""Amounts as people type them, in French and English forms, to integer cents.

``"1 250,50 €"``, ``"1250,5"``, ``"1.250,50"``, ``"1,250.50"``, ``"€42"``, ``"42 EUR"``.
Never a float: the digits go straight to ``Decimal`` and then to cents. A form that can be
read two ways (``"1.250"``: 1 250 or 1,25?) is asked back rather than guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from commands.errors import UserError

CURRENCY_WORDS = {
    "€": "EUR",
    "eur": "EUR",
    "euro": "EUR",
    "euros": "EUR",
    "$": "USD",
    "usd": "USD",
    "£": "GBP",
    "gbp": "GBP",
    "chf": "CHF",
}
_SPACES = " \u00a0\u202f\u2009"
_NUMBER = re.compile(r"[+-]?[0-9][0-9.,'" + _SPACES + r"]*")
_SYMBOL = re.compile(r"^(?P<pre>[€$£])?(?P<body>.*?)(?P<post>[€$£])?$")
# Above this, an amount is a typo, whatever the experiment's own limit says.
HARD_LIMIT_CENTS = 10**12


@dataclass(frozen=True)
class Amount:
    cents: int
    currency: str | None  # None when the text named no currency


def parse_amount(text: str) -> Amount:
    """One amount, the whole text: ``"1 250,50 €"`` → ``Amount(125050, "EUR")``."""
    raw = text.strip()
    if not raw:
        raise UserError("money.missing")
    currency: str | None = None
    words = raw.split()
    if len(words) > 1 and words[-1].casefold() in CURRENCY_WORDS:
        currency = CURRENCY_WORDS[words[-1].casefold()]
        raw = " ".join(words[:-1])
    elif len(words) > 1 and words[0].casefold() in CURRENCY_WORDS:
        currency = CURRENCY_WORDS[words[0].casefold()]
        raw = " ".join(words[1:])
    match = _SYMBOL.match(raw.strip())
    assert match is not None
    symbol = match.group("pre") or match.group("post")
    if symbol:
        if currency is not None and CURRENCY_WORDS[symbol] != currency:
            raise UserError("money.unreadable", text=text)
        currency = CURRENCY_WORDS[symbol]
    body = match.group("body").strip()
    if body.upper().endswith("EUR") and body[:-3].strip():
        currency, body = "EUR", body[:-3].strip()
    if not _NUMBER.fullmatch(body):
        raise UserError("money.unreadable", text=text)
    return Amount(_to_cents(body, text), currency)


def _to_cents(body: str, original: str) -> int:
    if body.startswith("-"):
        raise UserError("money.not_positive", text=original)
    body = body.lstrip("+")
    compact = body.translate({ord(c): " " for c in _SPACES + "'"})
    groups = compact.split(" ")
    number = "".join(groups)
    if len(groups) > 1 and not _valid_groups(groups, number):
        raise UserError("money.unreadable", text=original)
    commas, dots = number.count(","), number.count(".")
    if commas and dots:
        decimal_sep = "," if number.rfind(",") > number.rfind(".") else "."
        thousands_sep = "." if decimal_sep == "," else ","
        if number.count(decimal_sep) > 1:
            raise UserError("money.unreadable", text=original)
        integer, fraction = number.split(decimal_sep)
        if not _valid_thousands(integer, thousands_sep):
            raise UserError("money.unreadable", text=original)
        integer = integer.replace(thousands_sep, "")
    elif commas or dots:
        sep = "," if commas else "."
        parts = number.split(sep)
        if len(parts) > 2:
            if not _valid_thousands(number, sep):
                raise UserError("money.unreadable", text=original)
            integer, fraction = number.replace(sep, ""), ""
        else:
            integer, fraction = parts
            if len(fraction) == 3 and len(groups) == 1:
                raise UserError(
                    "money.ambiguous",
                    text=original,
                    thousands=integer + fraction,
                    decimal=f"{integer},{fraction[:2]}",
                )
            if len(fraction) > 2 or not integer:
                raise UserError("money.unreadable", text=original)
    else:
        integer, fraction = number, ""
    if len(fraction) > 2 or not integer.isdigit() or (fraction and not fraction.isdigit()):
        raise UserError("money.unreadable", text=original)
    try:
        value = Decimal(f"{integer}.{fraction or '0'}")
    except InvalidOperation:
        raise UserError("money.unreadable", text=original) from None
    cents = int(value * 100)
    if cents <= 0:
        raise UserError("money.not_positive", text=original)
    if cents > HARD_LIMIT_CENTS:
        raise UserError("money.absurd", text=original)
    return cents


def _valid_groups(groups: list[str], number: str) -> bool:
    """``"1 250,50"``: groups after the first are three digits (the last may carry decimals)."""
    if not groups[0] or len(groups[0].rstrip(",.")) > 3:
        return False
    for group in groups[1:-1]:
        if not (len(group) == 3 and group.isdigit()):
            return False
    last = re.split(r"[.,]", groups[-1], maxsplit=1)[0]
    return len(last) == 3 and last.isdigit()


def _valid_thousands(integer: str, sep: str) -> bool:
    parts = integer.split(sep)
    if len(parts) == 1:
        return True
    return 1 <= len(parts[0]) <= 3 and all(len(p) == 3 and p.isdigit() for p in parts[1:])


_LEADING = re.compile(
    r"^\s*(?P<amount>(?:[€$£]\s?)?[+-]?[0-9][0-9.,']*(?:[" + _SPACES + r"][0-9]{3}(?:[.,][0-9]+)?)*"
    r"(?:\s?(?:[€$£]|(?:eur|euros?|usd|gbp|chf)\b))?)",
    re.IGNORECASE,
)


def split_amount(text: str) -> tuple[Amount, str]:
    """An amount at the start of ``text`` and the rest:
    ``"1 250,50 € location de salle"`` → ``(Amount(125050, "EUR"), "location de salle")``."""
    match = _LEADING.match(text)
    if match is None or not match.group("amount").strip():
        first = text.split()[0] if text.split() else ""
        raise UserError("money.missing" if not first else "money.unreadable", text=first)
    amount_text = match.group("amount").strip()
    rest = text[match.end() :].strip()
    # A number glued to letters ("12abc") is not an amount.
    if rest and text[match.end() - 1 : match.end()].isdigit() and not text[match.end()].isspace():
        raise UserError("money.unreadable", text=text.split()[0])
    return parse_amount(amount_text), rest
