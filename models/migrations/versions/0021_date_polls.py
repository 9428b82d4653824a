"""Date polls, and agenda items marked dealt with (so the others are carried over)

Revision ID: 0021
Revises: 0020
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _time(name: str, nullable: bool) -> "sa.Column[Any]":
    return sa.Column(name, models.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "date_poll",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("experiment_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("organizer_id", sa.Integer(), nullable=True),
        sa.Column("channel_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("chosen_slot_id", sa.Integer(), nullable=True),
        sa.Column("meeting_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        _time("created_at", False),
        _time("closed_at", True),
        _time("deleted_at", True),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspace.id"], name=op.f("fk_date_poll_workspace_id_workspace")
        ),
        sa.ForeignKeyConstraint(
            ["experiment_id"], ["experiment.id"], name=op.f("fk_date_poll_experiment_id_experiment")
        ),
        sa.ForeignKeyConstraint(
            ["organizer_id"], ["person.id"], name=op.f("fk_date_poll_organizer_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meeting.id"], name=op.f("fk_date_poll_meeting_id_meeting")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_date_poll")),
    )
    with op.batch_alter_table("date_poll", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_date_poll_workspace_id"), ["workspace_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_date_poll_experiment_id"), ["experiment_id"], unique=False
        )
    op.create_table(
        "poll_slot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        _time("starts_at", False),
        _time("ends_at", False),
        _time("deleted_at", True),
        sa.ForeignKeyConstraint(
            ["poll_id"], ["date_poll.id"], name=op.f("fk_poll_slot_poll_id_date_poll")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_poll_slot")),
    )
    with op.batch_alter_table("poll_slot", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_poll_slot_poll_id"), ["poll_id"], unique=False)
    op.create_table(
        "poll_invitee",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        _time("created_at", False),
        _time("deleted_at", True),
        sa.ForeignKeyConstraint(
            ["poll_id"], ["date_poll.id"], name=op.f("fk_poll_invitee_poll_id_date_poll")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_poll_invitee_person_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_poll_invitee")),
        sa.UniqueConstraint("poll_id", "person_id", name=op.f("uq_poll_invitee_poll_id_person_id")),
    )
    with op.batch_alter_table("poll_invitee", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_poll_invitee_poll_id"), ["poll_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_poll_invitee_person_id"), ["person_id"], unique=False)
    op.create_table(
        "poll_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slot_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("answer", sa.String(length=16), nullable=False),
        _time("answered_at", True),
        _time("deleted_at", True),
        sa.ForeignKeyConstraint(
            ["slot_id"], ["poll_slot.id"], name=op.f("fk_poll_answer_slot_id_poll_slot")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_poll_answer_person_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_poll_answer")),
        sa.UniqueConstraint("slot_id", "person_id", name=op.f("uq_poll_answer_slot_id_person_id")),
    )
    with op.batch_alter_table("poll_answer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_poll_answer_slot_id"), ["slot_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_poll_answer_person_id"), ["person_id"], unique=False)
    with op.batch_alter_table("agenda_item", schema=None) as batch_op:
        batch_op.add_column(_time("dealt_at", True))
        # What the carry-over looks up: whether an item has a copy already.
        batch_op.create_index(
            batch_op.f("ix_agenda_item_carried_from_id"), ["carried_from_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("agenda_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agenda_item_carried_from_id"))
        batch_op.drop_column("dealt_at")
    op.drop_table("poll_answer")
    op.drop_table("poll_invitee")
    op.drop_table("poll_slot")
    op.drop_table("date_poll")
