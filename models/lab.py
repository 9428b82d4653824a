"""The lab: workspaces, people, experiments, the channels bound to them, and roles."""

from __future__ import annotations

from datetime import date, datetime, time

import sqlalchemy as sa
from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import created_at_field, next_due_field, optional_time_field


class Workspace(SQLModel, table=True):
    """One chat workspace (a Slack team, a Mattermost team, or the console)."""

    __table_args__ = (UniqueConstraint("platform", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    external_id: str = Field(max_length=255)
    name: str = Field(default="", max_length=200)
    locale: str = Field(default="fr", max_length=8)
    timezone: str = Field(default="Europe/Paris", max_length=64)
    created_at: datetime = created_at_field()


class Person(SQLModel, table=True):
    """Someone Coordo has met in a workspace. ``lab_role`` "coordinator" coordinates every
    experiment of the workspace; ``is_guest`` marks a platform guest or an external user of
    a shared channel, who is a partner wherever they have no other role."""

    __table_args__ = (UniqueConstraint("workspace_id", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    external_id: str = Field(max_length=255)
    handle: str = Field(max_length=255, index=True)
    display_name: str = Field(default="", max_length=200)
    locale: str | None = Field(default=None, max_length=8)
    timezone: str | None = Field(default=None, max_length=64)
    lab_role: str | None = Field(default=None, max_length=16)
    is_guest: bool = Field(default=False)
    # Routine reminders gathered into one message at the start of the working day (True),
    # or each sent when due (False); urgent ones always go at once.
    daily_summary: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    created_at: datetime = created_at_field()


class Experiment(SQLModel, table=True):
    """One experiment of the lab, with its own budget, plan, meetings and settings."""

    __table_args__ = (UniqueConstraint("workspace_id", "slug"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    slug: str = Field(max_length=64)
    name: str = Field(max_length=200)
    territory: str = Field(default="", max_length=200)
    starts_on: date | None = None
    ends_on: date | None = None
    timezone: str = Field(default="Europe/Paris", max_length=64)
    locale: str = Field(default="fr", max_length=8)
    currency: str = Field(default="EUR", max_length=3)
    # The envelope agreed with the finance department; when unset the total is the sum of
    # the budget lines.
    budget_envelope_cents: int | None = None
    partners_see_budget: bool = Field(default=False)
    # An expense above this needs a coordinator to raise the limit first (typo guard).
    expense_limit_cents: int = Field(default=5_000_000)
    # Reminders: working days as ISO weekday numbers 1-7, working hours, lead times in days.
    working_days: str = Field(default="1,2,3,4,5", max_length=20)
    working_hours_start: time = Field(default=time(9, 0))
    working_hours_end: time = Field(default=time(18, 0))
    reminder_lead_days: str = Field(default="7,1,0", max_length=40)
    digest_weekday: int = Field(default=1)
    digest_time: time = Field(default=time(9, 0))
    calendar_token: str | None = Field(default=None, max_length=64, unique=True)
    created_at: datetime = created_at_field()
    archived_at: datetime | None = optional_time_field()
    # The weekly digest's next moment (``models.due``): the scan reads only the
    # experiments whose moment has come; None when archived.
    digest_next_at: datetime | None = next_due_field({"archived_at": None})


class ChannelBinding(SQLModel, table=True):
    """A chat channel bound to an experiment, so commands typed there need not name it.
    A shared channel (partners invited) gets the partner view of digests."""

    __tablename__ = "channel_binding"
    __table_args__ = (UniqueConstraint("workspace_id", "channel_id"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    channel_id: str = Field(max_length=255)
    channel_name: str = Field(default="", max_length=200)
    experiment_id: int = Field(foreign_key="experiment.id", index=True)
    is_shared: bool = Field(default=False)
    created_at: datetime = created_at_field()


class Membership(SQLModel, table=True):
    """A person's role in one experiment. Removal is soft."""

    __table_args__ = (UniqueConstraint("experiment_id", "person_id"),)

    id: int | None = Field(default=None, primary_key=True)
    experiment_id: int = Field(foreign_key="experiment.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    role: str = Field(max_length=16)
    created_at: datetime = created_at_field()
    removed_at: datetime | None = optional_time_field()
