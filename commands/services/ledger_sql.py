"""The ledger's sums as SQL expressions, for queries that gather many experiments at once
(the lab digest): the same rules as ``ledger.counted`` and ``ledger.COMMITTED_UNPAID``,
which a test holds equal to the ledger's own view."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, case, func
from sqlmodel import col

from models import Expense, ExperimentFinance, LedgerEntry

COMMITTED_UNPAID = ("committed", "done", "ordered")


def counted() -> Any:
    """An expense's amount counted against the budget: HT when its experiment recovers
    VAT and the HT is known, TTC otherwise (the query joins ``ledger_entry`` and
    ``experiment_finance``)."""
    return case(
        (
            and_(
                col(ExperimentFinance.vat_recoverable).is_(True),
                col(LedgerEntry.ht_cents).is_not(None),
            ),
            LedgerEntry.ht_cents,
        ),
        else_=Expense.amount_cents,
    )


def committed_unpaid() -> Any:
    """The sum of what is committed and not paid yet."""
    return func.sum(case((col(LedgerEntry.status).in_(COMMITTED_UNPAID), counted()), else_=0))
