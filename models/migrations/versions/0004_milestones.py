"""Milestones and their owners

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "milestone",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("due_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("original_due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("done_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("meeting_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("acknowledged_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["person.id"], name=op.f("fk_milestone_created_by_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["experiment_id"], ["experiment.id"], name=op.f("fk_milestone_experiment_id_experiment")
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meeting.id"], name=op.f("fk_milestone_meeting_id_meeting")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_milestone")),
    )
    with op.batch_alter_table("milestone", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_milestone_due_on"), ["due_on"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_milestone_experiment_id"), ["experiment_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_milestone_meeting_id"), ["meeting_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_milestone_status"), ["status"], unique=False)
    op.create_table(
        "milestone_owner",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("milestone_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("removed_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["milestone_id"],
            ["milestone.id"],
            name=op.f("fk_milestone_owner_milestone_id_milestone"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_milestone_owner_person_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_milestone_owner")),
        sa.UniqueConstraint(
            "milestone_id", "person_id", name=op.f("uq_milestone_owner_milestone_id_person_id")
        ),
    )
    with op.batch_alter_table("milestone_owner", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_milestone_owner_milestone_id"), ["milestone_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_milestone_owner_person_id"), ["person_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("milestone_owner", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_milestone_owner_person_id"))
        batch_op.drop_index(batch_op.f("ix_milestone_owner_milestone_id"))

    op.drop_table("milestone_owner")
    with op.batch_alter_table("milestone", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_milestone_status"))
        batch_op.drop_index(batch_op.f("ix_milestone_meeting_id"))
        batch_op.drop_index(batch_op.f("ix_milestone_experiment_id"))
        batch_op.drop_index(batch_op.f("ix_milestone_due_on"))

    op.drop_table("milestone")
