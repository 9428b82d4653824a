"""What Coordo has to say on its own: the outbox, notification preferences, and the
receipts that make a retried platform request write once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import created_at_field, json_field, optional_time_field
from models.types import UTCDateTime


class OutboxMessage(SQLModel, table=True):
    """One notification. ``key`` is unique (``milestone:42:due-1d``), so a repeated scan,
    a restart or a second worker never queues the same message twice. A row is sent only
    after ``not_before`` (quiet hours), marked sent only once the platform accepted it,
    retried from ``next_attempt_at``, and dead-lettered after the last attempt."""

    __tablename__ = "outbox_message"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    experiment_id: int | None = Field(default=None, foreign_key="experiment.id", index=True)
    kind: str = Field(max_length=32)
    target_kind: str = Field(max_length=16)  # "channel" or "person"
    target_id: str = Field(max_length=255)
    payload: dict[str, Any] = json_field()
    not_before: datetime = Field(sa_type=UTCDateTime, index=True)
    expires_at: datetime | None = optional_time_field()
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = optional_time_field(index=True)
    claimed_at: datetime | None = optional_time_field()
    claimed_by: str | None = Field(default=None, max_length=100)
    sent_at: datetime | None = optional_time_field(index=True)
    dead_at: datetime | None = optional_time_field()
    dropped_at: datetime | None = optional_time_field()
    last_error: str = Field(default="", max_length=2000)
    platform_message_id: str | None = Field(default=None, max_length=255)
    created_at: datetime = created_at_field()
    # Written (and committed) before each call to the platform, cleared when its outcome
    # is known: set on a row not sent means the platform may have it already, so the
    # sender looks it up in the channel's history before sending again.
    sending_since: datetime | None = optional_time_field()


class NotificationPreference(SQLModel, table=True):
    """A person's choice for one experiment: direct messages or not, muted until when."""

    __tablename__ = "notification_preference"
    __table_args__ = (UniqueConstraint("person_id", "experiment_id"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    experiment_id: int = Field(foreign_key="experiment.id", index=True)
    direct_messages: bool = Field(default=True)
    muted_until: datetime | None = optional_time_field()


class RequestReceipt(SQLModel, table=True):
    """A platform request already handled (a retried delivery, a double click)."""

    __tablename__ = "request_receipt"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)
