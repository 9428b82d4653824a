"""The weekly digest's next moment: ``experiment.digest_next_at``, indexed, so the scan
reads only the experiments whose digest can be due now (``models.due``); it replaces the
index on the digest settings. And an index on the end of the sittings of series (partial:
one-off meetings are not in it), which the scan's carry-over of agenda items reads (the
sittings ended in the last days). Backfill: every active experiment is due at once (the first
scan works out its real moment); an archived one, never.

Revision ID: 0025
Revises: 0024
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RECOMPUTE = datetime(1970, 1, 1, tzinfo=UTC)


def upgrade() -> None:
    op.drop_index("ix_experiment_digest", table_name="experiment")
    with op.batch_alter_table("experiment", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("digest_next_at", models.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_experiment_digest_next_at"), ["digest_next_at"])
    op.create_index(
        "ix_meeting_sitting_ends_at",
        "meeting",
        ["ends_at"],
        sqlite_where=sa.text("series_id IS NOT NULL"),
        postgresql_where=sa.text("series_id IS NOT NULL"),
    )
    experiment = sa.table(
        "experiment",
        sa.column("digest_next_at", models.types.UTCDateTime(timezone=True)),
        sa.column("archived_at", models.types.UTCDateTime(timezone=True)),
    )
    op.execute(
        experiment.update()
        .where(experiment.c.archived_at.is_(None))
        .values(digest_next_at=RECOMPUTE)
    )


def downgrade() -> None:
    op.drop_index("ix_meeting_sitting_ends_at", table_name="meeting")
    # Not in batch mode: on SQLite that would copy a table other tables' rows refer to;
    # SQLite drops a column itself (3.35 and later) once its index is gone.
    op.drop_index(op.f("ix_experiment_digest_next_at"), table_name="experiment")
    op.drop_column("experiment", "digest_next_at")
    op.create_index(
        "ix_experiment_digest", "experiment", ["timezone", "digest_weekday", "digest_time"]
    )
