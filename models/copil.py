"""The ends of a steering committee's cycle: personal calendar addresses, who was there,
and date polls. (The meetings themselves are in ``models.meetings``.)"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import created_at_field, optional_time_field
from models.types import UTCDateTime


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


class DatePoll(SQLModel, table=True):
    """A date poll: "when can everyone come?" before a meeting exists. ``status`` is open
    or closed; closing it makes ``meeting_id`` (the chosen slot's meeting)."""

    __tablename__ = "date_poll"

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    experiment_id: int | None = Field(default=None, foreign_key="experiment.id", index=True)
    kind: str = Field(default="copil", max_length=32)
    title: str = Field(default="", max_length=300)
    timezone: str = Field(default="Europe/Paris", max_length=64)
    organizer_id: int | None = Field(default=None, foreign_key="person.id")
    channel_id: str | None = Field(default=None, max_length=64)
    status: str = Field(default="open", max_length=16)
    chosen_slot_id: int | None = Field(default=None)
    meeting_id: int | None = Field(default=None, foreign_key="meeting.id")
    # Bumped on every answer: the key of the queued edit of the poll's message.
    version: int = Field(default=0)
    created_at: datetime = created_at_field()
    closed_at: datetime | None = optional_time_field()
    deleted_at: datetime | None = optional_time_field()


class PollSlot(SQLModel, table=True):
    """One date proposed by a poll (UTC start and end)."""

    __tablename__ = "poll_slot"

    id: int | None = Field(default=None, primary_key=True)
    poll_id: int = Field(foreign_key="date_poll.id", index=True)
    position: int = Field(default=0)
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    deleted_at: datetime | None = optional_time_field()


class PollInvitee(SQLModel, table=True):
    """Someone asked to answer a poll (anyone who answers is added)."""

    __tablename__ = "poll_invitee"
    __table_args__ = (UniqueConstraint("poll_id", "person_id"),)

    id: int | None = Field(default=None, primary_key=True)
    poll_id: int = Field(foreign_key="date_poll.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    created_at: datetime = created_at_field()
    deleted_at: datetime | None = optional_time_field()


class PollAnswer(SQLModel, table=True):
    """One person's answer for one slot: yes, maybe (if need be) or no."""

    __tablename__ = "poll_answer"
    __table_args__ = (UniqueConstraint("slot_id", "person_id"),)

    id: int | None = Field(default=None, primary_key=True)
    slot_id: int = Field(foreign_key="poll_slot.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    answer: str = Field(max_length=16)
    answered_at: datetime | None = optional_time_field()
    deleted_at: datetime | None = optional_time_field()
