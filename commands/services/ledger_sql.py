"""The ledger's sums in SQL: ``spending``, the one aggregate every budget figure is made
from (for one experiment or hundreds at once), and ``counted``, the rule of what the
budget counts of an expense, the same as ``ledger.counted`` (a test holds the budget's
figures equal to the ledger's rows, to the cent)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import and_, case, func
from sqlalchemy import select as sa_select
from sqlalchemy.orm import Session
from sqlmodel import col

from commands.services.budget import Spent
from models import Expense, ExperimentFinance, LedgerEntry

COMMITTED_UNPAID = ("committed", "done", "ordered")
REALISED = ("done", "ordered", "paid")


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


def _recovers() -> Any:
    return col(ExperimentFinance.vat_recoverable).is_(True)


@dataclass
class ExperimentSpending:
    """What is counted per line (None: no line) of one experiment, the first day anything
    was spent, and whether it is counted HT."""

    by_line: dict[int | None, Spent] = field(default_factory=dict)
    first_day: date | None = None
    counts_ht: bool = False


def spending(
    session: Session,
    experiment_ids: Iterable[int | None],
    period: tuple[date, date] | None = None,
) -> dict[int, ExperimentSpending]:
    """The one aggregate every budget figure is made from (``budget.compute`` turns it
    into a ``BudgetState``): per experiment and line, what is counted against the budget
    at each step of the chain; an expense without a ledger entry is paid. Two queries
    (the aggregate, and which experiments recover their VAT), every experiment asked for
    in the answer."""
    ids = list(experiment_ids)
    status = func.coalesce(LedgerEntry.status, "paid")
    amount = counted()

    def at(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, amount), else_=0)), 0)

    query = (
        sa_select(
            col(Expense.experiment_id),
            col(Expense.budget_line_id),
            at(status == "planned"),
            at(status.in_(COMMITTED_UNPAID)),
            at(status == "paid"),
            func.count(),
            at(status.in_(REALISED)),
            func.coalesce(
                func.sum(
                    case((and_(_recovers(), col(LedgerEntry.ht_cents).is_(None)), 1), else_=0)
                ),
                0,
            ),
            func.min(Expense.spent_on),
        )
        .outerjoin(LedgerEntry, col(LedgerEntry.expense_id) == Expense.id)
        .outerjoin(ExperimentFinance, col(ExperimentFinance.experiment_id) == Expense.experiment_id)
        .where(col(Expense.experiment_id).in_(ids), col(Expense.deleted_at).is_(None))
        .group_by(col(Expense.experiment_id), col(Expense.budget_line_id))
    )
    if period is not None:
        query = query.where(col(Expense.spent_on).between(period[0], period[1]))
    found: dict[int, ExperimentSpending] = {i: ExperimentSpending() for i in ids if i is not None}
    for (experiment_id,) in session.execute(
        sa_select(col(ExperimentFinance.experiment_id)).where(
            col(ExperimentFinance.experiment_id).in_(ids), _recovers()
        )
    ):
        found[experiment_id].counts_ht = True
    for (
        experiment_id,
        line_id,
        foreseen,
        committed,
        paid,
        n,
        realised,
        unknown,
        first,
    ) in session.execute(query):
        mine = found[experiment_id]
        mine.by_line[line_id] = Spent(
            int(foreseen), int(committed), int(paid), int(n), int(realised), int(unknown)
        )
        if first is not None and (mine.first_day is None or first < mine.first_day):
            mine.first_day = first
    return found
