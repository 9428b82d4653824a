"""The database: one engine per process from ``DATABASE_URL``, one session per unit of work,
and the Alembic migrations that build the schema."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, create_engine

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

DEFAULT_DATABASE_URL = "sqlite:///coordo.db"


def normalise_url(url: str) -> str:
    """Accept the URLs PaaS providers hand out (``postgres://…``) and pick psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``. SQLite gets WAL, foreign keys and a busy timeout, so a web
    process and a worker can share the file; an in-memory SQLite database is shared by
    every session of the engine."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        memory = parsed.database in (None, "", ":memory:")
        connect_args = {"check_same_thread": False, "timeout": 30}
        if memory:
            kwargs.setdefault("poolclass", StaticPool)
        elif not (parsed.database or "").startswith("file:"):  # a URI (``mode=ro``) is as given
            Path(parsed.database or "").expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas(memory))
        # pysqlite's own transaction handling defers BEGIN; emit it ourselves so a
        # command's reads and writes are one transaction.
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN"))
        return engine
    # No ping before each use (a round trip for every command): a connection the server
    # dropped fails its first statement, the pool then replaces every connection as old,
    # and the command runs again (``commands.core.Router``); connections are renewed
    # every half hour besides.
    kwargs.setdefault("pool_recycle", 1800)
    # As many connections kept open as a web process runs commands at once (its worker
    # threads), so a busy minute does not open and close connections (a server process
    # each on PostgreSQL) for every request beyond the pool.
    kwargs.setdefault("pool_size", 20)
    kwargs.setdefault("pool_use_lifo", True)
    return create_engine(url, **kwargs)


def _sqlite_pragmas(memory: bool) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return on_connect


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One unit of work: commits when the block ends normally, rolls back otherwise."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


# The newest migration. Start-up compares the database's version with it and only loads
# Alembic (a tenth of a second) when there is something to apply; a test keeps it equal to
# the head of ``models/migrations``.
HEAD_REVISION = "0026"


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(resources.files("models").joinpath("migrations")))
    config.attributes["engine"] = engine
    return config


def current_revision(engine: Engine) -> str | None:
    """The schema's migration, or None for a database Coordo has never seen."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (the newest by default)."""
    if revision == "head" and current_revision(engine) == HEAD_REVISION:
        return
    from alembic import command

    log.info("applying migrations up to %s", revision)
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(engine), revision)
