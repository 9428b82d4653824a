"""Alembic environment: runs against the engine handed over by ``models.db.migrate``, or,
from the ``alembic`` command line, against ``DATABASE_URL``."""

from __future__ import annotations

import os

from alembic import context
from sqlmodel import SQLModel

import models  # noqa: F401  (registers every table on the metadata)
from models.db import DEFAULT_DATABASE_URL, make_engine

target_metadata = SQLModel.metadata
config = context.config

engine = config.attributes.get("engine")
if engine is None:
    engine = make_engine(os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL))

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
