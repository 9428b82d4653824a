"""Next-due moments: ``next_due_at`` on milestones and meetings, indexed, so the scan
reads only what can be due now (``models.due``); and an index on the experiments' digest
settings, so that finding the digests due does not read every experiment. Backfill:
every open milestone and every scheduled meeting is due at once (the first scan works
out its real moment); the rest, never.

Revision ID: 0022
Revises: 0021
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RECOMPUTE = datetime(1970, 1, 1, tzinfo=UTC)


def upgrade() -> None:
    for table in ("milestone", "meeting"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("next_due_at", models.types.UTCDateTime(timezone=True), nullable=True)
            )
            batch_op.create_index(batch_op.f(f"ix_{table}_next_due_at"), ["next_due_at"])
    op.create_index(
        "ix_experiment_digest", "experiment", ["timezone", "digest_weekday", "digest_time"]
    )
    milestone = sa.table(
        "milestone",
        sa.column("next_due_at", models.types.UTCDateTime(timezone=True)),
        sa.column("status", sa.String()),
        sa.column("deleted_at", models.types.UTCDateTime(timezone=True)),
    )
    op.execute(
        milestone.update()
        .where(milestone.c.status == "open", milestone.c.deleted_at.is_(None))
        .values(next_due_at=RECOMPUTE)
    )
    meeting = sa.table(
        "meeting",
        sa.column("next_due_at", models.types.UTCDateTime(timezone=True)),
        sa.column("status", sa.String()),
        sa.column("deleted_at", models.types.UTCDateTime(timezone=True)),
    )
    op.execute(
        meeting.update()
        .where(meeting.c.status == "scheduled", meeting.c.deleted_at.is_(None))
        .values(next_due_at=RECOMPUTE)
    )


def downgrade() -> None:
    op.drop_index("ix_experiment_digest", table_name="experiment")
    # Not in batch mode: on SQLite that would copy tables other tables' rows refer to;
    # SQLite drops a column itself (3.35 and later) once its index is gone.
    for table in ("meeting", "milestone"):
        op.drop_index(op.f(f"ix_{table}_next_due_at"), table_name=table)
        op.drop_column(table, "next_due_at")
