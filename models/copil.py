"""The ends of a steering committee's cycle: personal calendar addresses, who was there,
and date polls. (The meetings themselves are in ``models.meetings``.)"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import created_at_field, optional_time_field


class CalendarFeed(SQLModel, table=True):
    """One person's secret address of one experiment's calendar. It answers while the
    person is on the team (or coordinates the lab) and the experiment is not archived;
    it is looked up by ``token_hash`` (SHA-256 of ``token``), never by the secret."""

    __tablename__ = "calendar_feed"

    id: int | None = Field(default=None, primary_key=True)
    experiment_id: int = Field(foreign_key="experiment.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    token: str = Field(max_length=64)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = created_at_field()
    removed_at: datetime | None = optional_time_field()


class Attendance(SQLModel, table=True):
    """Who was at a sitting: ``status`` is present, excused or absent. Apart from the
    answers (``Invitation``): who said yes did not always come."""

    __table_args__ = (UniqueConstraint("meeting_id", "person_id"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    status: str = Field(max_length=16)
    created_at: datetime = created_at_field()
    removed_at: datetime | None = optional_time_field()
