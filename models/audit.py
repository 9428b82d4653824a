"""The audit log: every change a person makes, with the row before and after."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from models.base import created_at_field, json_field, optional_time_field
from models.types import JSONDocument


class AuditEvent(SQLModel, table=True):
    """``before`` is None for a creation; ``after`` is None never (a deletion is soft and
    shows the ``deleted_at`` it set). ``undone_at`` marks an event reverted by an undo, whose
    own event points back with ``undo_of``."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    experiment_id: int | None = Field(default=None, foreign_key="experiment.id", index=True)
    actor_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    at: datetime = created_at_field()
    action: str = Field(max_length=32)
    entity: str = Field(max_length=32)
    entity_id: int = Field(index=True)
    before: dict[str, Any] | None = Field(default=None, sa_type=JSONDocument, nullable=True)
    after: dict[str, Any] = json_field()
    # Every event written by one command shares a batch; undo reverts a batch at once.
    batch: str = Field(default="", max_length=36, index=True)
    command: str = Field(default="", max_length=2000)
    undone_at: datetime | None = optional_time_field()
    undo_of: int | None = Field(default=None, foreign_key="audit_event.id")
