"""Steering meetings (COPIL, COTECH…): schedule, agenda, invitations, minutes, decisions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from models.base import created_at_field, next_due_field, optional_time_field
from models.types import UTCDateTime


class Meeting(SQLModel, table=True):
    """A meeting, or a recurring series (``rrule`` set). One occurrence of a series moved
    or cancelled alone is its own row with ``series_id`` and ``recurrence_start`` (the start
    it replaces). ``experiment_id`` is None for the lab's own steering committee.
    ``sequence`` grows on every change, as iCalendar requires."""

    __table_args__ = (
        # The scan's carry-over reads the sittings of series that ended in the last days:
        # only sittings are in this index, however many one-off meetings there are.
        Index(
            "ix_meeting_sitting_ends_at",
            "ends_at",
            sqlite_where=text("series_id IS NOT NULL"),
            postgresql_where=text("series_id IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    experiment_id: int | None = Field(default=None, foreign_key="experiment.id", index=True)
    kind: str = Field(default="copil", max_length=32)
    title: str = Field(default="", max_length=300)
    starts_at: datetime = Field(sa_type=UTCDateTime, index=True)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    timezone: str = Field(default="Europe/Paris", max_length=64)
    place: str = Field(default="", max_length=300)
    video_url: str = Field(default="", max_length=2000)
    rrule: str | None = Field(default=None, max_length=500)
    series_id: int | None = Field(default=None, foreign_key="meeting.id", index=True)
    recurrence_start: datetime | None = optional_time_field()
    status: str = Field(default="scheduled", max_length=16)
    minutes: str = Field(default="", sa_type=Text)
    uid: str = Field(max_length=200, unique=True)
    sequence: int = Field(default=0)
    organizer_id: int | None = Field(default=None, foreign_key="person.id")
    channel_id: str | None = Field(default=None, max_length=255)
    created_at: datetime = created_at_field()
    updated_at: datetime | None = optional_time_field()
    deleted_at: datetime | None = optional_time_field()
    # When the scan looks at it next (``models.due``); None: never.
    next_due_at: datetime | None = next_due_field({"status": "scheduled", "deleted_at": None})


class AgendaItem(SQLModel, table=True):
    __tablename__ = "agenda_item"

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    position: int = Field(default=0)
    title: str = Field(max_length=500)
    author_id: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime = created_at_field()
    deleted_at: datetime | None = optional_time_field()
    # The item of an earlier sitting this one carries over (not dealt with there).
    carried_from_id: int | None = Field(default=None, foreign_key="agenda_item.id", index=True)
    # Marked dealt with at its sitting (``/copil odj traite 2``): not carried over.
    dealt_at: datetime | None = optional_time_field()


class Invitation(SQLModel, table=True):
    """``response`` is pending, yes, no or maybe."""

    __table_args__ = (UniqueConstraint("meeting_id", "person_id"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    response: str = Field(default="pending", max_length=16)
    responded_at: datetime | None = optional_time_field()
    created_at: datetime = created_at_field()
    deleted_at: datetime | None = optional_time_field()


class Decision(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    experiment_id: int | None = Field(default=None, foreign_key="experiment.id", index=True)
    text: str = Field(sa_type=Text)
    author_id: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime = created_at_field()
    deleted_at: datetime | None = optional_time_field()
