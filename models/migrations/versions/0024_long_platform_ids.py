"""Platform ids as long as Matrix allows: user, room and event ids up to 255 characters

Revision ID: 0024
Revises: 0022
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, old length, nullable): Slack and Mattermost ids fit in 64 characters; a
# Matrix user id (``@agent.nom-prenom:agent.collectivite.tchap.gouv.fr``), room id or
# event id may take up to 255 bytes by the Matrix specification.
COLUMNS = [
    ("workspace", "external_id", 64, False),
    ("person", "external_id", 64, False),
    ("person", "handle", 100, False),
    ("channel_binding", "channel_id", 64, False),
    ("meeting", "channel_id", 64, True),
    ("outbox_message", "target_id", 64, False),
    ("outbox_message", "platform_message_id", 100, True),
]
NEW_LENGTH = 255


def _sqlite_retype(to_new: bool) -> None:
    # SQLite keeps no length for VARCHAR, so only the schema's text changes. Batch mode would
    # copy and drop ``person`` and ``workspace``, which rows of other tables point to; the
    # documented in-place edit of the schema text is safe for a change that leaves the
    # stored records as they are.
    bind = op.get_bind()
    version = int(bind.exec_driver_sql("PRAGMA schema_version").scalar_one())
    bind.exec_driver_sql("PRAGMA writable_schema=ON")
    for table, column, old, _nullable in COLUMNS:
        before, after = (old, NEW_LENGTH) if to_new else (NEW_LENGTH, old)
        sql: str = bind.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type='table' AND name=?", (table,)
        ).scalar_one()
        was, now = f"\t{column} VARCHAR({before})", f"\t{column} VARCHAR({after})"
        if was not in sql:
            raise RuntimeError(f"{table}.{column}: unexpected schema {sql!r}")
        bind.exec_driver_sql(
            "UPDATE sqlite_master SET sql=? WHERE type='table' AND name=?",
            (sql.replace(was, now, 1), table),
        )
    bind.exec_driver_sql(f"PRAGMA schema_version={version + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema=OFF")


def _retype(to_new: bool) -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_retype(to_new)
        return
    for table, column, old, nullable in COLUMNS:
        before, after = (old, NEW_LENGTH) if to_new else (NEW_LENGTH, old)
        op.alter_column(
            table,
            column,
            type_=sa.String(after),
            existing_type=sa.String(before),
            existing_nullable=nullable,
        )


def upgrade() -> None:
    _retype(True)


def downgrade() -> None:
    _retype(False)
