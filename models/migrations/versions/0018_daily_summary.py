"""A person's choice of reminders: one summary a day (the default) or each at once

Revision ID: 0018
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN, which SQLite supports: batch mode would copy and drop ``person``,
    # which rows of other tables point to.
    op.add_column(
        "person",
        sa.Column("daily_summary", sa.Boolean(), nullable=False, server_default=sa.true()),
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite drops a column in place since 3.35; batch mode would drop ``person``.
        op.execute("ALTER TABLE person DROP COLUMN daily_summary")
    else:
        op.drop_column("person", "daily_summary")
