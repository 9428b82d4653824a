"""What every table shares: the metadata's naming convention and small column helpers."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlmodel import Field, SQLModel

from models.types import JSONDocument, UTCDateTime

# Stable constraint names, so Alembic migrations can alter them on SQLite (batch mode) and
# PostgreSQL alike.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# A next-due moment that is due at once, whatever the clock (``models.due``).
RECOMPUTE = datetime(1970, 1, 1, tzinfo=UTC)


def next_due_field(live: dict[str, Any]) -> Any:
    """``next_due_at``, indexed (``models.due``). A row inserted without it is due at once
    when its columns hold ``live`` (e.g. ``status`` open and ``deleted_at`` None), never
    otherwise; the ORM's rows get theirs on flush."""

    def initial(context: Any) -> datetime | None:
        values = context.get_current_parameters()
        alive = all(values.get(name, value) == value for name, value in live.items())
        return RECOMPUTE if alive else None

    return Field(
        default=None,
        sa_type=UTCDateTime,
        nullable=True,
        index=True,
        sa_column_kwargs={"default": initial},
    )


def utcnow() -> datetime:
    """Only for column defaults; code that decides anything takes ``now`` as a parameter."""
    return datetime.now(UTC)


def created_at_field() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def optional_time_field(*, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=True, index=index)


def json_field(default_factory: Any = dict) -> Any:
    return Field(default_factory=default_factory, sa_type=JSONDocument, nullable=False)


class Role(StrEnum):
    """A person's role in one experiment."""

    COORDINATOR = "coordinator"
    MEMBER = "member"
    PARTNER = "partner"


class Platform(StrEnum):
    SLACK = "slack"
    MATTERMOST = "mattermost"
    CONSOLE = "console"


def pk(row: Any) -> int:
    """The primary key of a row that has been flushed (typed as ``int``, not ``int | None``)."""
    value = row.id
    if value is None:
        raise ValueError(f"{type(row).__name__} has no id yet: flush it first")
    return int(value)
