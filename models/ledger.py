"""The finance department's ledger, beside the budget: VAT and the spending chain of each
expense, the lab's suppliers, an experiment's funders and what is allocated to them, and
the account class of each budget line.

Kept in tables of their own (one row per expense in ``ledger_entry``), so an expense
logged as before is still one ``expense`` row: the amount paid, VAT included (TTC).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import created_at_field, optional_time_field


class ExperimentFinance(SQLModel, table=True):
    """What the ledger needs to know of an experiment: whether it recovers its VAT (the
    budget then counts amounts before VAT)."""

    __tablename__ = "experiment_finance"

    id: int | None = Field(default=None, primary_key=True)
    experiment_id: int = Field(foreign_key="experiment.id", unique=True)
    vat_recoverable: bool = Field(default=False)


class Supplier(SQLModel, table=True):
    """A supplier the lab buys from, with its SIRET (14 digits, checked) when known."""

    __table_args__ = (UniqueConstraint("workspace_id", "siret"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    name: str = Field(max_length=200)
    siret: str | None = Field(default=None, max_length=14)
    created_at: datetime = created_at_field()
    deleted_at: datetime | None = optional_time_field()


class LedgerEntry(SQLModel, table=True):
    """One expense as the finance department follows it.

    VAT: ``ht_cents + vat_cents`` is the expense's amount (TTC) when the VAT is known;
    both None when it is not (expenses logged before the ledger). ``vat_rate`` is in
    hundredths of a percent (2000 = 20 %).

    The chain: planned → committed (with the purchase order or legal-commitment number)
    → service done → ordered for payment (with the payment order number) → paid; each
    step with its day and who set it. ``forced`` says a coordinator let a step skip the
    ones before it."""

    __tablename__ = "ledger_entry"

    # ``id`` is the expense's own number (set by Coordo, never drawn from a sequence), so
    # the audit log and undo name an entry as people know it.

    id: int | None = Field(default=None, primary_key=True)
    expense_id: int = Field(foreign_key="expense.id", unique=True)
    ht_cents: int | None = None
    vat_cents: int | None = None
    vat_rate: int | None = None
    status: str = Field(default="paid", max_length=16, index=True)
    planned_on: date | None = None
    planned_by: int | None = Field(default=None, foreign_key="person.id")
    committed_on: date | None = None
    committed_by: int | None = Field(default=None, foreign_key="person.id")
    commitment_ref: str = Field(default="", max_length=64)
    done_on: date | None = None
    done_by: int | None = Field(default=None, foreign_key="person.id")
    ordered_on: date | None = None
    ordered_by: int | None = Field(default=None, foreign_key="person.id")
    order_ref: str = Field(default="", max_length=64)
    paid_on: date | None = None
    paid_by: int | None = Field(default=None, foreign_key="person.id")
    forced: bool = Field(default=False)
    supplier_id: int | None = Field(default=None, foreign_key="supplier.id", index=True)
    invoice_number: str = Field(default="", max_length=64)
    invoice_date: date | None = None
    invoice_received_on: date | None = Field(default=None, index=True)
    updated_at: datetime | None = optional_time_field()


class Funder(SQLModel, table=True):
    """Who funds an experiment (the State, a département, a region, a European fund):
    the amount granted and the period of the grant. ``partner_id``: the funder's own
    person in the chat, who may see this grant's report and nothing else of the ledger."""

    __table_args__ = (UniqueConstraint("experiment_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    experiment_id: int = Field(foreign_key="experiment.id", index=True)
    key: str = Field(max_length=64)
    name: str = Field(max_length=200)
    kind: str = Field(default="other", max_length=16)
    granted_cents: int = Field(default=0)
    starts_on: date | None = None
    ends_on: date | None = None
    partner_id: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime = created_at_field()
    deleted_at: datetime | None = optional_time_field()


class Allocation(SQLModel, table=True):
    """A share (hundredths of a percent) of a budget line, or of one expense, charged to
    a funder. Without any, an expense is shared among the funders pro rata of their
    grants."""

    id: int | None = Field(default=None, primary_key=True)
    funder_id: int = Field(foreign_key="funder.id", index=True)
    budget_line_id: int | None = Field(default=None, foreign_key="budget_line.id", index=True)
    expense_id: int | None = Field(default=None, foreign_key="expense.id", index=True)
    share: int
    created_at: datetime = created_at_field()
    removed_at: datetime | None = optional_time_field()


class LineNature(SQLModel, table=True):
    """A budget line's account class as the CERFA 15059 and the chart of accounts group
    charges ("60", "61", "62", "63", "64", "65", "66", "67", "68", "86")."""

    __tablename__ = "line_nature"

    id: int | None = Field(default=None, primary_key=True)
    budget_line_id: int = Field(foreign_key="budget_line.id", unique=True)
    account: str = Field(max_length=8)
