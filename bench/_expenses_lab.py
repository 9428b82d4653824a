"""The demo lab with many expenses, for the budget and export benchmarks.

A SQLite file in a temporary folder by default; with ``--db postgresql://…`` a fresh
schema that is dropped afterwards. Expenses are inserted in bulk (the benchmarks time
what people wait for, not the seeding).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, insert, text
from sqlmodel import Session, select

from commands.demo import seed_demo
from models import BudgetLine, Expense, Experiment, Person
from models.db import make_engine, migrate, normalise_url

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))
SUPPLIERS = [
    "Ville de Bondy",
    "Imprimerie du Canal",
    "Traiteur Les Saveurs",
    "Coop Débats Publics",
    "Studio Ourcq",
    "",
]
WHAT = [
    "Location de salle",
    "Affiches et flyers",
    "Buffet de l'atelier",
    "Animation d'un atelier de quartier",
    "Urnes et isoloirs",
    "Café et viennoiseries",
    "Impression des bulletins",
    "Frais de déplacement",
]


@contextmanager
def database(url: str | None, folder: Path) -> Iterator[str]:
    """A URL to an empty database: a SQLite file in ``folder``, or a new PostgreSQL schema."""
    if url is None or url.startswith("sqlite"):
        yield url or f"sqlite:///{folder / 'bench.db'}"
        return
    base = normalise_url(url)
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def seed(url: str, expenses: int, slug: str = "bondy-bp") -> Engine:
    """The demo lab, migrated, plus ``expenses`` expenses on experiment ``slug``."""
    engine = make_engine(url)
    migrate(engine)
    rng = random.Random(42)
    with Session(engine) as session:
        seed_demo(session, NOW)
        experiment = session.exec(select(Experiment).where(Experiment.slug == slug)).one()
        lines = session.exec(
            select(BudgetLine.id).where(BudgetLine.experiment_id == experiment.id)
        ).all()
        authors = session.exec(
            select(Person.id).where(Person.handle.in_(["camille", "marie", "karim"]))  # type: ignore[attr-defined]
        ).all()
        assert experiment.starts_on is not None
        days = (NOW.date() - experiment.starts_on).days
        rows = []
        for n in range(expenses):
            rows.append(
                {
                    "experiment_id": experiment.id,
                    "budget_line_id": lines[n % len(lines)] if n % 50 else None,
                    "amount_cents": rng.randint(500, 50_000),
                    "currency": "EUR",
                    "description": f"{rng.choice(WHAT)} n°{n}",
                    "spent_on": experiment.starts_on + timedelta(days=rng.randint(0, days)),
                    "supplier": rng.choice(SUPPLIERS),
                    "receipt_url": f"https://drive.example.org/justificatifs/{n}.pdf"
                    if n % 3
                    else "",
                    "author_id": rng.choice(authors),
                    "created_at": datetime(2026, 11, 1, tzinfo=UTC) + timedelta(seconds=n),
                }
            )
            if len(rows) == 5_000:
                session.execute(insert(Expense), rows)
                rows = []
        if rows:
            session.execute(insert(Expense), rows)
        session.commit()
    return engine
