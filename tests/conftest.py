"""Every test builds its own database: a SQLite file always, and a fresh PostgreSQL schema
when ``TEST_DATABASE_URL`` is set (CI sets it; an unreachable server fails, never skips)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, SQLModel

import models  # noqa: F401  (registers the tables)
from bot.console import Console
from commands.demo import seed_demo
from commands.registry import build_router
from models.db import make_engine, normalise_url

# fake_slack, fake_mattermost, manual_clock; homeserver (the session's Synapse, for the
# Matrix tests and the contract suite); pytester runs a test of the fixtures themselves
pytest_plugins = ["tests.fakes.fixtures", "tests.synapse", "pytester"]

PARIS = ZoneInfo("Europe/Paris")
# Tuesday 24 November 2026, 10:00 in Paris: the base time of the conversation tests.
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=PARIS)

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database of each backend under test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'coordo.db'}"
        return
    base = normalise_url(os.environ["TEST_DATABASE_URL"])
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    yield f"{base}{separator}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on a database holding Coordo's schema and nothing else."""
    engine = make_engine(database_url)
    SQLModel.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def demo_engine(engine: Engine) -> Engine:
    """The demo lab, seeded at ``NOW``."""
    with Session(engine) as session:
        seed_demo(session, NOW)
        session.commit()
    return engine


@pytest.fixture
def console(demo_engine: Engine, tmp_path: Path) -> Console:
    """A console on the demo lab: camille, coordinator, in ~bondy, at ``NOW``."""
    return Console(
        demo_engine,
        build_router(),
        user="camille",
        channel="bondy",
        now=NOW,
        files_dir=tmp_path / "exports",
    )


@pytest.fixture
def empty_console(engine: Engine, tmp_path: Path) -> Console:
    return Console(
        engine,
        build_router(),
        user="camille",
        channel="labo",
        now=NOW,
        files_dir=tmp_path / "exports",
    )
