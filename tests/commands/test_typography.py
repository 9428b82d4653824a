"""French as it is written, English as it is: the punctuation of every template and
catalog message in both languages, and of what the conversations print."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from bot.console import Console
from commands.messages import catalog, known_families
from commands.typography import literal_text, set_french

TEMPLATES = sorted(
    str(path.relative_to(resources.files("commands") / "templates"))  # type: ignore[operator]
    for path in (resources.files("commands") / "templates").rglob("*.md.j2")  # type: ignore[attr-defined]
)
MESSAGES = [
    (family, locale, key)
    for family in known_families()
    for locale in ("fr", "en")
    for key in catalog(family)[locale]
]
# A plain or wide no-break space where French wants a narrow one, or none in English.
FRENCH_WRONG = re.compile(r"[ \u00a0][;:!?%»]|«[ \u00a0]|[\d¤] (jours?|j|h|min|semaines?|mois|€)\b")
ENGLISH_WRONG = re.compile(r"[ \u00a0\u202f][;:!?]|[«»]")


def source(name: str) -> str:
    return (resources.files("commands") / "templates" / name).read_text("utf-8")


def test_there_are_templates_and_messages_in_both_languages() -> None:
    assert len([t for t in TEMPLATES if t.endswith(".fr.md.j2")]) > 70
    assert len([t for t in TEMPLATES if t.endswith(".en.md.j2")]) > 70
    assert len(MESSAGES) > 400


@pytest.mark.parametrize("name", TEMPLATES)
def test_every_template_is_set_as_its_language_is_written(name: str) -> None:
    if name.endswith(".fr.md.j2"):
        words = literal_text(set_french(source(name)))
        assert not FRENCH_WRONG.search(words), FRENCH_WRONG.findall(words)
    else:
        words = literal_text(source(name))
        assert not ENGLISH_WRONG.search(words), ENGLISH_WRONG.findall(words)


def test_every_catalog_message_is_set_as_its_language_is_written() -> None:
    wrong = []
    for family, locale, key in MESSAGES:
        text = catalog(family)[locale][key]
        words = literal_text(set_french(text) if locale == "fr" else text)
        if (FRENCH_WRONG if locale == "fr" else ENGLISH_WRONG).search(words):
            wrong.append(f"{family}.{key} ({locale}): {text}")
    assert not wrong, "\n".join(wrong)


def test_what_french_replies_print_is_set(console: Console) -> None:
    """Outside inline code and what people typed, no plain space before : ; ! ? %."""
    printed = "\n".join(
        console.handle(line)
        for line in (
            "/labo voir",
            "/labo aide",
            "/jalon liste",
            "/depense budget",
            "/copil liste",
            "/labo equipe",
            "/labo rappels",
            "/labo digest",
            "/jalon fait 1",
            "/depense 12 café",
        )
    )
    outside_code = re.sub(r"`[^`\n]*`", "", printed)
    assert not re.search(r"[ \u00a0][;:!?%]", outside_code), re.findall(
        r".{20}[ \u00a0][;:!?%].{0,10}", outside_code
    )


def test_the_first_of_the_month_is_written_as_french_writes_it() -> None:
    from datetime import UTC, date, datetime

    from commands.render import date_words

    assert date_words(date(2026, 12, 1), "fr") == "mardi 1er décembre 2026"
    assert (
        date_words(datetime(2026, 12, 1, 9, tzinfo=UTC), "fr") == "mardi 1er décembre 2026 à 10:00"
    )
    assert date_words(date(2026, 12, 11), "fr") == "vendredi 11 décembre 2026"
    assert date_words(date(2026, 12, 1), "en") == "Tuesday 1 December 2026"


def test_de_is_elided_before_a_vowel(console) -> None:  # type: ignore[no-untyped-def]
    from commands.render import de

    assert [de(n) + n for n in ("Essai du quartier", "Budget", "Écoles", "« Essai »")] == [
        "d'Essai du quartier",
        "de Budget",
        "d'Écoles",
        "de « Essai »",
    ]
    console.handle('/labo creer essai "Essai du quartier" territoire:Pantin budget:15000')
    reply = console.handle("/depense postes expe:essai")
    assert "Postes budgétaires d'Essai du quartier" in reply, reply
