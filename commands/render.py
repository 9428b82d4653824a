"""Rendering: Jinja2 templates in French and English, with Babel formatting of money,
dates and numbers in the reader's locale and timezone.

Templates live in ``commands/templates/<family>/<name>.<locale>.md.j2``; short strings in
the catalogs (``commands/catalogs``). Undefined variables fail loudly (StrictUndefined).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_currency, format_decimal, format_percent
from jinja2 import Environment, PackageLoader, StrictUndefined, Undefined, pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from commands import usertext
from commands.messages import normalise_locale, raw_message
from commands.typography import FrenchTypography, set_french

_BABEL_LOCALES = {"fr": "fr_FR", "en": "en_GB"}
_PATTERNS = {
    "fr": {
        "date_long": "EEEE d MMMM y",
        "datetime_long": "EEEE d MMMM y 'à' HH:mm",
        "date_medium": "d MMM y",
        "date_short": "dd/MM/y",
        "day_month": "EEE d MMM",
    },
    "en": {
        "date_long": "EEEE d MMMM y",
        "datetime_long": "EEEE d MMMM y 'at' HH:mm",
        "date_medium": "d MMM y",
        "date_short": "dd/MM/y",
        "day_month": "EEE d MMM",
    },
}


@cache
def babel_locale(locale: str) -> Locale:
    """The Babel locale for one of ours, parsed once (parsing is costly on every call)."""
    return Locale.parse(_BABEL_LOCALES[normalise_locale(locale)])


def money(cents: int, currency: str = "EUR", locale: str = "fr") -> str:
    """``125050`` → ``"1 250,50 €"`` (fr) or ``"€1,250.50"`` (en)."""
    return format_currency(Decimal(cents) / 100, currency, locale=babel_locale(locale))


def local(value: datetime, tz: str) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    return value.astimezone(ZoneInfo(tz))


def pattern(locale: str, name: str, day: int) -> str:
    """The Babel pattern ``name`` for a date on ``day`` of its month: French writes the
    first of the month as an ordinal ("mardi 1er décembre", "1er déc.")."""
    loc = normalise_locale(locale)
    found = _PATTERNS[loc][name]
    if loc == "fr" and day == 1:
        return found.replace("d M", "d'er' M")
    return found


def date_words(value: date | datetime, locale: str = "fr", tz: str = "Europe/Paris") -> str:
    """``"vendredi 27 novembre 2026"``; a datetime is shown with its time of day,
    ``"vendredi 27 novembre 2026 à 14:00"``, in the timezone ``tz``."""
    loc = normalise_locale(locale)
    if isinstance(value, datetime):
        value = local(value, tz)
        return format_datetime(
            value, pattern(loc, "datetime_long", value.day), locale=babel_locale(loc)
        )
    return format_date(value, pattern(loc, "date_long", value.day), locale=babel_locale(loc))


def _ctx_locale(ctx: Context) -> str:
    return str(ctx.get("locale", "fr"))


def _ctx_tz(ctx: Context) -> str:
    return str(ctx.get("tz", "Europe/Paris"))


@pass_context
def _money(ctx: Context, cents: int | None, currency: str = "EUR") -> str:
    return money(cents or 0, currency, _ctx_locale(ctx))


@pass_context
def _date_long(ctx: Context, value: date | datetime) -> str:
    return date_words(value, _ctx_locale(ctx), _ctx_tz(ctx))


@pass_context
def _date_fmt(ctx: Context, value: date | datetime, name: str = "date_medium") -> str:
    loc = normalise_locale(_ctx_locale(ctx))
    if isinstance(value, datetime):
        value = local(value, _ctx_tz(ctx))
    return format_date(value, pattern(loc, name, value.day), locale=babel_locale(loc))


@pass_context
def _time(ctx: Context, value: datetime) -> str:
    return format_time(local(value, _ctx_tz(ctx)), "HH:mm", locale=babel_locale(_ctx_locale(ctx)))


@pass_context
def _percent(ctx: Context, fraction: float) -> str:
    # French sets a narrow no-break space before %, where Babel puts a wide one.
    return format_percent(fraction, locale=babel_locale(_ctx_locale(ctx))).replace(
        "\u00a0%", "\u202f%"
    )


@pass_context
def _number(ctx: Context, value: float | int, digits: int = 0) -> str:
    fmt = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, fmt, locale=babel_locale(_ctx_locale(ctx)))


@pass_context
def _message(ctx: Context, key: str, **params: Any) -> Markup:
    # A catalog message is Coordo's own markup; the values it prints are marked inside it.
    return Markup(message(key, _ctx_locale(ctx), **params))


def bar(fraction: float, width: int = 10) -> str:
    """A text gauge: ``0.62`` → ``"██████░░░░"``; over 100% the gauge is full."""
    filled = max(0, min(width, round(fraction * width)))
    return "█" * filled + "░" * (width - filled)


_NOT_IN_MENTION = re.compile(f"[<>|\\s{usertext.START}{usertext.END}]")
# A link Coordo may make of a stored address: http(s), none of the characters that could
# close the link, start a mention or format text around it.
SAFE_URL = re.compile(r"https?://[A-Za-z0-9\-._~:/?#=&%+,;]+")


def mention(person: Any) -> Markup:
    """A person as a mention in neutral markdown (adapters translate it): a mention
    Coordo means to make, so trusted markup, not user text."""
    external_id = _NOT_IN_MENTION.sub("", str(person.external_id))
    handle = _NOT_IN_MENTION.sub("", str(person.handle))
    return Markup(f"<@{external_id}|{handle}>")


def strong(value: Any) -> Markup:
    """A value in bold: Coordo's markup around it, the value still user text."""
    return Markup(f"**{_finalize(value)}**")


def em(value: Any) -> Markup:
    """A value in italics: Coordo's markup around it, the value still user text."""
    return Markup(f"_{_finalize(value)}_")


def url(value: Any) -> Markup:
    """A stored web address as a link target or a bare link; one that is not a plain
    http(s) address is shown as typed, as user text."""
    text = str(value).strip()
    if SAFE_URL.fullmatch(text):
        return Markup(text)
    return Markup(usertext.mark(text))


def link(value: Any, label: str) -> Markup:
    """``[label](address)`` for a stored web address; one that is not a plain http(s)
    address is not made a link: ``label (address)``, the address as typed."""
    text = str(value).strip()
    shown = _finalize(label)
    if SAFE_URL.fullmatch(text):
        return Markup(f"[{shown}]({text})")
    return Markup(f"{shown} ({usertext.mark(text)})")


def _finalize(value: Any) -> Markup:
    """Every value a template prints is user text unless it is trusted markup (a catalog
    message, a macro's output, a mention): see ``commands.usertext``."""
    if isinstance(value, Markup):
        return value
    if hasattr(value, "__html__"):  # usertext.Trusted: a message rendered before
        return Markup(value.__html__())
    return Markup(usertext.mark(str(value)))


@cache
def environment() -> Environment:
    return build_environment()


def build_environment(undefined: type[Undefined] = StrictUndefined) -> Environment:
    """The one environment's settings; tests build one whose missing values are hostile
    text (``tests/platforms/test_escaping.py``)."""
    env = Environment(
        loader=PackageLoader("commands", "templates"),
        undefined=undefined,
        # The output is chat markdown, not HTML: autoescaping only tells trusted markup
        # (``Markup``) from values, which ``_finalize`` marks as user text.
        autoescape=True,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        extensions=[FrenchTypography],
    )
    env.filters.update(
        money=_money,
        date_long=_date_long,
        date_fmt=_date_fmt,
        time=_time,
        percent=_percent,
        number=_number,
        bar=bar,
        mention=mention,
        url=url,
        link=link,
        strong=strong,
        em=em,
    )
    env.globals["message"] = _message
    env.globals["de"] = de
    return env


_VOWELS = frozenset("aeiouyàâäéèêëîïôöùûüÿæœ")


def de(name: object) -> Markup:
    """The French preposition before ``name``, elided before a vowel: ``{{ de(e.name) }}{{
    e.name }}`` reads "de Budget participatif" or "d'Essai du quartier". (An initial h may
    be mute or not: "de" is kept, which reads right for the aspirated ones.) Coordo's own
    word, so trusted markup: not escaped as what people typed is."""
    text = usertext.strip(str(name)).lstrip("*_ ")
    return Markup("d'" if text[:1].lower() in _VOWELS else "de ")


@cache
def _message_template(key: str, locale: str) -> Any:
    source = raw_message(key, locale)
    return environment().from_string(set_french(source) if locale == "fr" else source)


def message(key: str, locale: str, **params: Any) -> str:
    """A catalog message rendered in ``locale``, for a chat message: the values it
    prints are marked as user text (``commands.usertext``)."""
    loc = normalise_locale(locale)
    return usertext.Trusted(str(_message_template(key, loc).render(locale=loc, **params)).strip())


def render(name: str, locale: str, tz: str = "Europe/Paris", **context: Any) -> str:
    """Render ``<family>/<name>`` (given as ``"family/name"``) in ``locale``, for a chat
    message: the values it prints are marked as user text."""
    loc = normalise_locale(locale)
    template = environment().get_template(f"{name}.{loc}.md.j2")
    return usertext.Trusted(str(template.render(locale=loc, tz=tz, **context)).strip())


def plain_message(key: str, locale: str, **params: Any) -> str:
    """A catalog message for a file (a spreadsheet, a document, a calendar): no marks."""
    return usertext.strip(message(key, locale, **params))


def plain_render(name: str, locale: str, tz: str = "Europe/Paris", **context: Any) -> str:
    """A template rendered for a file or a log: no marks."""
    return usertext.strip(render(name, locale, tz, **context))


def utc(value: datetime) -> datetime:
    return value.astimezone(UTC)
