"""The one computation of an experiment's budget, from figures already gathered: the view
(``/depense budget``), the alerts, the digest and its chart, the CSV and the XLSX all
read their figures from a ``BudgetState`` made here, so they cannot disagree.

The envelope is what the experiment may spend (``budget_envelope_cents``; without one, the
sum of its lines). The lines share it out; what they leave is the unallocated part ("non
réparti"), negative when the lines plan more than the envelope. An expense on no line (or
on a line removed since) is spent from the envelope, on the unallocated part: so the lines
and the unallocated part add up to the envelope, in every column.

What is counted against the budget is HT when the experiment recovers its VAT and the
HT is known, TTC otherwise (an old expense, VAT unknown, counts TTC and the views say how
many do). It is split by where each expense stands in the spending chain: planned
(``prévu``, not yet spent), committed and not paid (committed, service done, ordered),
paid. "Spent" is committed plus paid; what remains is the plan less that.

A projection is given only once the pace means something (``MIN_DAYS`` days and
``MIN_EXPENSES`` expenses, and a tenth of the period gone), while the period runs:
a straight line from what was spent since the start, carried to the end date.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Protocol

MIN_DAYS = 28
MIN_EXPENSES = 5
MIN_SHARE_OF_PERIOD = 0.10


@dataclass(frozen=True)
class Spent:
    """What is counted against one line (or the total) by step of the chain, in cents."""

    foreseen: int = 0  # at the "planned" step (prévu): not spent yet
    committed: int = 0  # committed, service done or ordered: not paid yet
    paid: int = 0
    count: int = 0  # live expenses, whatever their step
    realised: int = 0  # service done, ordered or paid (the actual charges of a report)
    vat_unknown: int = 0  # expenses counted TTC though the VAT is recoverable

    @property
    def spent(self) -> int:
        return self.committed + self.paid

    def plus(self, other: Spent) -> Spent:
        return Spent(
            self.foreseen + other.foreseen,
            self.committed + other.committed,
            self.paid + other.paid,
            self.count + other.count,
            self.realised + other.realised,
            self.vat_unknown + other.vat_unknown,
        )


def spent_one(status: str, cents: int, *, vat_unknown: bool = False) -> Spent:
    """One expense at ``status`` counted ``cents``."""
    return Spent(
        foreseen=cents if status == "planned" else 0,
        committed=cents if status in ("committed", "done", "ordered") else 0,
        paid=cents if status == "paid" else 0,
        count=1,
        realised=cents if status in ("done", "ordered", "paid") else 0,
        vat_unknown=int(vat_unknown),
    )


def total_of(parts: Iterable[Spent]) -> Spent:
    found = Spent()
    for part in parts:
        found = found.plus(part)
    return found


class PlannedLine(Protocol):
    @property
    def id(self) -> int | None: ...
    @property
    def label(self) -> str: ...
    @property
    def planned_cents(self) -> int: ...


@dataclass(frozen=True)
class Gauge:
    """Planned and spent on one line (``line`` None: the total, or the unallocated part
    with the expenses on no line), and what the current pace leads to by the end."""

    line: PlannedLine | None
    planned_cents: int
    spent: Spent = Spent()
    projected_cents: int | None = None

    @property
    def spent_cents(self) -> int:
        """Committed and paid: what the plan is spent by."""
        return self.spent.spent

    @property
    def count(self) -> int:
        return self.spent.count

    @property
    def foreseen_cents(self) -> int:
        return self.spent.foreseen

    @property
    def committed_cents(self) -> int:
        return self.spent.committed

    @property
    def paid_cents(self) -> int:
        return self.spent.paid

    @property
    def realised_cents(self) -> int:
        return self.spent.realised

    @property
    def remaining_cents(self) -> int:
        return self.planned_cents - self.spent_cents

    @property
    def fraction(self) -> float | None:
        return self.spent_cents / self.planned_cents if self.planned_cents > 0 else None

    @property
    def projected_fraction(self) -> float | None:
        if self.projected_cents is None or self.planned_cents <= 0:
            return None
        return self.projected_cents / self.planned_cents

    @property
    def label(self) -> str:
        return self.line.label if self.line is not None else ""


@dataclass(frozen=True)
class Projection:
    """Whether a projection may be given, and on what it rests.

    ``status``: ``ok`` (a projection), ``too_early`` (too few days or expenses),
    ``ended`` (the end date is past), ``no_dates`` (no end date to project to)."""

    status: str
    since: date | None
    ends_on: date | None
    days_elapsed: int
    days_left: int | None
    count: int
    min_days: int

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def min_expenses(self) -> int:
        return MIN_EXPENSES


@dataclass(frozen=True)
class BudgetState:
    envelope_cents: int
    has_envelope: bool
    today: date
    lines: list[Gauge]
    unallocated: Gauge | None
    total: Gauge
    lines_planned_cents: int
    projection: Projection
    # Counted HT (the experiment recovers its VAT) or TTC; ``total.spent.vat_unknown``
    # expenses are counted TTC all the same.
    counts_ht: bool = False

    @property
    def vat_unknown(self) -> int:
        """Expenses counted TTC though the experiment counts HT (their VAT is unknown)."""
        return self.total.spent.vat_unknown if self.counts_ht else 0

    @property
    def since(self) -> date | None:
        return self.projection.since

    @property
    def days_elapsed(self) -> int:
        return self.projection.days_elapsed

    @property
    def days_left(self) -> int | None:
        return self.projection.days_left

    @property
    def unallocated_planned_cents(self) -> int:
        return self.envelope_cents - self.lines_planned_cents

    @property
    def per_month_cents(self) -> int | None:
        """The pace, only where a projection is meaningful."""
        if self.projection.status not in ("ok", "ended") or self.days_elapsed <= 0:
            return None
        return round(self.total.spent_cents * 30 / self.days_elapsed)

    @property
    def rows(self) -> list[Gauge]:
        """The lines, then the unallocated part when there is one: they add up to the total."""
        return [*self.lines, *([self.unallocated] if self.unallocated is not None else [])]

    def gauge_of(self, line_id: int | None) -> Gauge | None:
        if line_id is None:
            return self.unallocated
        return next((g for g in self.lines if g.line is not None and g.line.id == line_id), None)


def envelope_of(envelope_cents: int | None, lines_planned_cents: int) -> int:
    """The envelope; without one, the lines' sum (0 is an envelope of 0, not none)."""
    return envelope_cents if envelope_cents is not None else lines_planned_cents


def projection_of(
    starts_on: date | None, ends_on: date | None, first_day: date | None, today: date, count: int
) -> Projection:
    since = starts_on or first_day
    days_elapsed = (today - since).days + 1 if since is not None and since <= today else 0
    days_left = max(0, (ends_on - today).days) if ends_on is not None and since else None
    period_days = (ends_on - since).days + 1 if ends_on is not None and since is not None else 0
    min_days = max(MIN_DAYS, round(period_days * MIN_SHARE_OF_PERIOD))
    if ends_on is None or since is None:
        status = "no_dates"
    elif today > ends_on:
        status = "ended"
    elif days_elapsed < min_days or count < MIN_EXPENSES:
        status = "too_early"
    else:
        status = "ok"
    return Projection(status, since, ends_on, days_elapsed, days_left, count, min_days)


def compute(
    *,
    envelope_cents: int | None,
    lines: list[PlannedLine],
    by_line: dict[int | None, Spent],
    first_day: date | None,
    starts_on: date | None,
    ends_on: date | None,
    today: date,
    counts_ht: bool = False,
) -> BudgetState:
    """The budget from the lines, what is counted per line (None: no line) and the first
    day anything was spent."""
    count = sum(v.count for v in by_line.values())
    projection = projection_of(starts_on, ends_on, first_day, today, count)

    def project(spent: int, n: int) -> int | None:
        if not projection.ok or n < MIN_EXPENSES:
            return None
        assert projection.days_left is not None
        return spent + round(spent * projection.days_left / projection.days_elapsed)

    known = {line.id for line in lines}
    gauges = []
    for line in lines:
        spent = by_line.get(line.id, Spent())
        gauges.append(Gauge(line, line.planned_cents, spent, project(spent.spent, spent.count)))
    lines_planned = sum(line.planned_cents for line in lines)
    envelope = envelope_of(envelope_cents, lines_planned)
    loose = total_of(v for k, v in by_line.items() if k not in known)
    unallocated = None
    if envelope != lines_planned or loose.count:
        unallocated = Gauge(None, envelope - lines_planned, loose, project(loose.spent, 0))
    everything = total_of(by_line.values())
    total = Gauge(None, envelope, everything, project(everything.spent, count))
    return BudgetState(
        envelope_cents=envelope,
        has_envelope=envelope_cents is not None,
        today=today,
        lines=gauges,
        unallocated=unallocated,
        total=total,
        lines_planned_cents=lines_planned,
        projection=projection,
        counts_ht=counts_ht,
    )
