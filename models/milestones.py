"""The plan: milestones with their owners, progress and slippage."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import created_at_field, next_due_field, optional_time_field


class Milestone(SQLModel, table=True):
    """``original_due_on`` keeps the first deadline so slippage stays visible after a
    reschedule. ``due_at`` is set when a time of day was given. An action decided in a
    meeting is a milestone linked to that meeting."""

    id: int | None = Field(default=None, primary_key=True)
    experiment_id: int = Field(foreign_key="experiment.id", index=True)
    title: str = Field(max_length=300)
    due_on: date = Field(index=True)
    due_at: datetime | None = optional_time_field()
    original_due_on: date
    status: str = Field(default="open", max_length=16, index=True)
    progress: int = Field(default=0)
    done_at: datetime | None = optional_time_field()
    meeting_id: int | None = Field(default=None, foreign_key="meeting.id", index=True)
    created_by_id: int | None = Field(default=None, foreign_key="person.id")
    # Set when an owner acknowledges a ping; pings stop until the deadline changes.
    acknowledged_at: datetime | None = optional_time_field()
    created_at: datetime = created_at_field()
    updated_at: datetime | None = optional_time_field()
    deleted_at: datetime | None = optional_time_field()
    # When the scan looks at it next (``models.due``); None: never.
    next_due_at: datetime | None = next_due_field(
        {"status": "open", "deleted_at": None, "acknowledged_at": None}
    )


class MilestoneOwner(SQLModel, table=True):
    """One owner of a milestone. A reassignment sets ``removed_at`` instead of deleting the
    row, so it can be undone; read the current owners with ``removed_at IS NULL``."""

    __tablename__ = "milestone_owner"
    __table_args__ = (UniqueConstraint("milestone_id", "person_id"),)

    id: int | None = Field(default=None, primary_key=True)
    milestone_id: int = Field(foreign_key="milestone.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    removed_at: datetime | None = optional_time_field()
