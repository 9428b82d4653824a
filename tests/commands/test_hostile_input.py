"""Input that once ended in an apology or a wrong action gets a clear answer and writes
nothing: years past any sane period, NUL and other control characters, numbers past any
id, a newline or a tab after the subcommand word; a read-only SQLite database answers
reads and refuses writes in words."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, SQLModel, col, select

from bot.console import Console
from commands.args import clean_text, split_first_word
from commands.demo import seed_demo
from commands.registry import build_router
from models import Decision, Milestone
from models.db import make_engine
from tests.chat import normalise
from tests.conftest import NOW
from tests.dbstate import changed_tables, fingerprint

APOLOGY = "quelque chose s'est mal passé"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/depense liste mois:9999-12-31", "L'année 9999 est hors de portée"),
        ("/depense liste mois:9999", "L'année 9999 est hors de portée"),
        ("/depense liste mois:10000-01", "Je ne comprends pas la période « 10000-01 »"),
        ("/depense liste mois:10000", "Je ne comprends pas la période « 10000 »"),
        ("/expense list month:9999-12", "The year 9999 is out of range"),
        ("/depense liste mois:2026-01..9999-12", "L'année 9999 est hors de portée"),
        ("/depense voir 2147483648", "`2147483648` ne peut pas être un numéro"),
        ("/expense show 99999999999", "`99999999999` cannot be a number"),
        ("/depense supprimer 2147483647", "Aucune dépense n°2147483647"),
        ("/copil decision 1 \x00", "Écrivez la décision après le numéro"),
        ("/copil odj 1 retirer 2147483648", "`2147483648` ne peut pas être un numéro"),
        ("/jalon supprimer\n2147483648", "Dites quel jalon"),
    ],
)
def test_hostile_input_gets_a_clear_answer_and_writes_nothing(
    console: Console, demo_engine: Engine, line: str, expected: str
) -> None:
    before = fingerprint(demo_engine)
    reply = normalise(console.handle(line))
    assert expected in reply, reply
    assert APOLOGY not in reply
    assert changed_tables(before, fingerprint(demo_engine)) == []


def test_control_characters_are_cleaned_from_what_is_kept(
    console: Console, demo_engine: Engine
) -> None:
    reply = console.handle("/copil decision 1 Enveloppe\x00 fixée\x07 à 45 000 €\x1b")
    assert APOLOGY not in reply
    with Session(demo_engine) as session:
        decision = session.exec(select(Decision).order_by(col(Decision.id).desc())).first()
    assert decision is not None
    assert decision.text == "Enveloppe fixée à 45 000 €"
    # A NUL in a title (PostgreSQL refuses it in text): cleaned, the milestone made.
    reply = normalise(console.handle("/jalon Rendu\x00 du\x1b dossier demain"))
    assert "Jalon n°" in reply, reply
    with Session(demo_engine) as session:
        milestone = session.exec(select(Milestone).order_by(col(Milestone.id).desc())).first()
    assert milestone is not None
    assert milestone.title == "Rendu du dossier"


def test_a_text_longer_than_its_field_is_refused_in_words(
    console: Console, demo_engine: Engine
) -> None:
    before = fingerprint(demo_engine)
    reply = normalise(console.handle("/labo reglages territoire:" + "x" * 300))
    assert APOLOGY not in reply
    if demo_engine.dialect.name == "postgresql":  # SQLite keeps a text of any length
        assert "trop long" in reply, reply
        assert changed_tables(before, fingerprint(demo_engine)) == []


@pytest.mark.parametrize("separator", ["\n", "\t", "\r\n", "\u00a0", "\u2003"])
def test_any_whitespace_ends_the_subcommand_word(
    console: Console, demo_engine: Engine, separator: str
) -> None:
    with Session(demo_engine) as session:
        open_before = session.exec(
            select(Milestone.id).where(col(Milestone.deleted_at).is_(None))
        ).all()
    reply = normalise(console.handle(f"/jalon supprimer{separator}3"))
    assert "Jalon n°3" in reply
    assert "supprimé" in reply
    with Session(demo_engine) as session:
        titles = session.exec(select(Milestone.title)).all()
        open_after = session.exec(
            select(Milestone.id).where(col(Milestone.deleted_at).is_(None))
        ).all()
    assert not any("supprimer" in t for t in titles)  # no milestone made of the words
    assert set(open_before) - set(open_after) == {3}


def test_words_and_cleaning() -> None:
    assert split_first_word("supprimer\n3 demain") == ("supprimer", "3 demain")
    assert split_first_word("  \t ") == ("", "")
    assert clean_text("a\x00b\x7fc\td\ne\ud800") == "ab" + "c\td\ne"
    assert clean_text("Café 👩‍💻") == "Café 👩‍💻"  # a joiner is not a control character


def test_a_read_only_database_answers_reads_and_refuses_writes(tmp_path: Path) -> None:
    path = tmp_path / "coordo.db"
    writable = make_engine(f"sqlite:///{path}")
    SQLModel.metadata.create_all(writable)
    with Session(writable) as session:
        seed_demo(session, NOW)
        session.commit()
    before = fingerprint(writable)
    writable.dispose()
    read_only = make_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    console = Console(read_only, build_router(), user="camille", channel="bondy", now=NOW)
    assert "Jalons de Budget participatif de Bondy" in console.handle("/jalon liste")
    assert "Dépenses de Budget participatif de Bondy" in normalise(console.handle("/depense liste"))
    for write in ("/jalon Nouveau jalon demain", "/depense 12 € café", "/labo role @lucas membre"):
        reply = console.handle(write)
        assert "lecture seule" in reply, reply
    read_only.dispose()
    assert fingerprint(make_engine(f"sqlite:///{path}")) == before
