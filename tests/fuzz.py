"""``make fuzz``: many more generated commands than the suite runs, for a bounded time, on
a fresh demo lab; prints how many commands were tried and what went wrong.

    python -m tests.fuzz --seconds 300 sqlite
    python -m tests.fuzz --seconds 300 postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from hypothesis import HealthCheck, given, settings
from sqlalchemy import Engine, text
from sqlmodel import Session, SQLModel

from commands.demo import seed_demo
from commands.registry import build_router
from models.db import make_engine, normalise_url
from tests.conftest import NOW
from tests.grammar import Tally, commands, run_one


@contextmanager
def demo_database(where: str) -> Iterator[Engine]:
    """A fresh demo lab: a SQLite file, or a schema of its own on a PostgreSQL server."""
    if where == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            engine = make_engine(f"sqlite:///{folder}/fuzz.db")
            yield _seeded(engine)
            engine.dispose()
        return
    base = normalise_url(where)
    schema = f"fuzz_{uuid.uuid4().hex[:10]}"
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}")
    try:
        yield _seeded(engine)
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _seeded(engine: Engine) -> Engine:
    SQLModel.metadata.create_all(engine)
    with Session(engine) as session:
        seed_demo(session, NOW)
        session.commit()
    return engine


def fuzz(engine: Engine, seconds: float, max_examples: int) -> Tally:
    router = build_router()
    tally = Tally()
    deadline = time.monotonic() + seconds

    @settings(
        max_examples=ROUND,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(command=commands(router))
    def one(command: tuple[str, str]) -> None:
        if time.monotonic() < deadline and tally.tried < max_examples:
            run_one(router, engine, command, NOW, tally)

    # Rounds of fresh random examples until the time is up (one long run would go on
    # drawing examples past the deadline).
    while time.monotonic() < deadline and tally.tried < max_examples:
        one()
    return tally


ROUND = 100


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("database", help="sqlite, or a PostgreSQL URL")
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--max-examples", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.CRITICAL)
    backend = "sqlite" if args.database == "sqlite" else "postgresql"
    started = time.monotonic()
    with demo_database(args.database) as engine:
        tally = fuzz(engine, args.seconds, args.max_examples)
    elapsed = time.monotonic() - started
    print(
        f"{backend}: {tally.tried} commands tried in {elapsed:.0f} s; "
        f"internal errors: {len(tally.internal_errors)}; "
        f"refused but changed rows: {len(tally.refused_but_changed)}; "
        f"changed rows without an audit event: {len(tally.changed_without_audit)}"
    )
    for line, error in tally.internal_errors[:20]:
        print(f"  internal error: {line!r}: {error}")
    for line, tables in tally.refused_but_changed[:20]:
        print(f"  refused but changed {tables}: {line!r}")
    for line, tables in tally.changed_without_audit[:20]:
        print(f"  changed {tables} without audit: {line!r}")
    return 1 if tally.failures else 0


if __name__ == "__main__":
    sys.exit(main())
