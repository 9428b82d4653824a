"""Message catalogs: short user-facing strings, one TOML file per command family.

Each ``commands/catalogs/<family>.toml`` has a ``[fr]`` and an ``[en]`` table mapping a key
to a Jinja2 string. ``"expenses.bad_amount"`` is key ``bad_amount`` of ``expenses.toml``.
Longer replies are Jinja2 templates under ``commands/templates``.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources

SUPPORTED_LOCALES = ("fr", "en")
DEFAULT_LOCALE = "fr"


def normalise_locale(locale: str | None) -> str:
    """``"fr_FR"``, ``"en-GB"``, ``None`` → one of the supported locales."""
    if not locale:
        return DEFAULT_LOCALE
    short = locale.replace("-", "_").split("_")[0].lower()
    return short if short in SUPPORTED_LOCALES else DEFAULT_LOCALE


@cache
def catalog(family: str) -> dict[str, dict[str, str]]:
    text = resources.files("commands").joinpath("catalogs", f"{family}.toml").read_text("utf-8")
    data = tomllib.loads(text)
    missing = [loc for loc in SUPPORTED_LOCALES if loc not in data]
    if missing:
        raise LookupError(f"catalog {family!r} lacks locales {missing}")
    for loc in SUPPORTED_LOCALES:
        extra = set(data[loc]) ^ set(data[DEFAULT_LOCALE])
        if extra:
            raise LookupError(f"catalog {family!r}: keys not in both locales: {sorted(extra)}")
    return data


def raw_message(key: str, locale: str) -> str:
    family, _, name = key.partition(".")
    table = catalog(family)[normalise_locale(locale)]
    try:
        return table[name]
    except KeyError:
        raise LookupError(f"no message {key!r}") from None


def message_keys(family: str) -> set[str]:
    return set(catalog(family)[DEFAULT_LOCALE])


def known_families() -> list[str]:
    folder = resources.files("commands").joinpath("catalogs")
    return sorted(
        p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
    )


__all__ = [
    "DEFAULT_LOCALE",
    "SUPPORTED_LOCALES",
    "catalog",
    "known_families",
    "message_keys",
    "normalise_locale",
    "raw_message",
]
