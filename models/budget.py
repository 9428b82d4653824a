"""Budgets: the lines agreed with the finance department, and the expenses logged on them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import created_at_field, optional_time_field


class BudgetLine(SQLModel, table=True):
    """A line of an experiment's budget ("logistique", "communication"…) and its plan."""

    __tablename__ = "budget_line"
    __table_args__ = (UniqueConstraint("experiment_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    experiment_id: int = Field(foreign_key="experiment.id", index=True)
    key: str = Field(max_length=64)
    label: str = Field(max_length=200)
    planned_cents: int = Field(default=0)
    position: int = Field(default=0)
    created_at: datetime = created_at_field()
    deleted_at: datetime | None = optional_time_field()


class Expense(SQLModel, table=True):
    """One expense, in integer cents of the experiment's currency. Deletion is soft."""

    # The budget view sums an experiment's expenses per line from this index alone, without
    # reading the table (a covering index: every column the aggregate needs).
    __table_args__ = (
        Index(
            "ix_expense_budget",
            "experiment_id",
            "budget_line_id",
            "deleted_at",
            "amount_cents",
            "spent_on",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    experiment_id: int = Field(foreign_key="experiment.id", index=True)
    budget_line_id: int | None = Field(default=None, foreign_key="budget_line.id", index=True)
    amount_cents: int
    currency: str = Field(default="EUR", max_length=3)
    description: str = Field(max_length=500)
    spent_on: date = Field(index=True)
    supplier: str = Field(default="", max_length=200)
    receipt_url: str = Field(default="", max_length=2000)
    author_id: int = Field(foreign_key="person.id", index=True)
    created_at: datetime = created_at_field()
    updated_at: datetime | None = optional_time_field()
    deleted_at: datetime | None = optional_time_field()
