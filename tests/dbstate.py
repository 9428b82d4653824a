"""What a database holds, as one value to compare before and after a command: every
table's rows, in key order (so a refused command that changed a single field shows)."""

from __future__ import annotations

import hashlib

from sqlalchemy import Engine, select
from sqlmodel import SQLModel

import models  # noqa: F401  (registers the tables)


def fingerprint(engine: Engine) -> dict[str, str]:
    """Table name → a digest of its rows."""
    digests: dict[str, str] = {}
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            digest = hashlib.sha256()
            for row in conn.execute(select(table).order_by(*order)):
                digest.update(repr(tuple(row)).encode())
            digests[table.name] = digest.hexdigest()
    return digests


def changed_tables(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(name for name in after if before.get(name) != after[name])
