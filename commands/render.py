"""Rendering: Jinja2 templates in French and English, with Babel formatting of money,
dates and numbers in the reader's locale and timezone.

Templates live in ``commands/templates/<family>/<name>.<locale>.md.j2``; short strings in
the catalogs (``commands/catalogs``). Undefined variables fail loudly (StrictUndefined).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_currency, format_decimal, format_percent
from jinja2 import Environment, PackageLoader, StrictUndefined, pass_context
from jinja2.runtime import Context

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
def _message(ctx: Context, key: str, **params: Any) -> str:
    return message(key, _ctx_locale(ctx), **params)


def bar(fraction: float, width: int = 10) -> str:
    """A text gauge: ``0.62`` → ``"██████░░░░"``; over 100% the gauge is full."""
    filled = max(0, min(width, round(fraction * width)))
    return "█" * filled + "░" * (width - filled)


def mention(person: Any) -> str:
    """A person as a mention in neutral markdown (adapters translate it)."""
    return f"<@{person.external_id}|{person.handle}>"


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("commands", "templates"),
        undefined=StrictUndefined,
        autoescape=False,  # the output is chat markdown, not HTML
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
    )
    env.globals["message"] = _message
    env.globals["de"] = de
    return env


_VOWELS = frozenset("aeiouyàâäéèêëîïôöùûüÿæœ")


def de(name: object) -> str:
    """The French preposition before ``name``, elided before a vowel: ``{{ de(e.name) }}{{
    e.name }}`` reads "de Budget participatif" or "d'Essai du quartier". (An initial h may
    be mute or not: "de" is kept, which reads right for the aspirated ones.)"""
    text = str(name).lstrip("*_ ")
    return "d'" if text[:1].lower() in _VOWELS else "de "


@cache
def _message_template(key: str, locale: str) -> Any:
    source = raw_message(key, locale)
    return environment().from_string(set_french(source) if locale == "fr" else source)


def message(key: str, locale: str, **params: Any) -> str:
    """A catalog message rendered in ``locale``."""
    loc = normalise_locale(locale)
    return str(_message_template(key, loc).render(locale=loc, **params)).strip()


def render(name: str, locale: str, tz: str = "Europe/Paris", **context: Any) -> str:
    """Render ``<family>/<name>`` (given as ``"family/name"``) in ``locale``."""
    loc = normalise_locale(locale)
    template = environment().get_template(f"{name}.{loc}.md.j2")
    return template.render(locale=loc, tz=tz, **context).strip()


def utc(value: datetime) -> datetime:
    return value.astimezone(UTC)
