"""Budgets and expenses: the lines of an experiment's budget, the expenses logged on them,
the state of the budget, and the alerts when a line or the total crosses 80% and 100%.

Who may do what: members log expenses and correct their own; coordinators correct any and
shape the budget lines; partners neither log nor see amounts unless the experiment opts in
(``partners_see_budget``); nobody sees an experiment they have no role in (the context
resolves experiments that way already, and an expense is only ever looked up inside one).

Amounts are integer cents. The budget view aggregates in SQL: its number of queries does
not grow with the number of expenses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from commands.args import as_id, closest, fold
from commands.core import Context
from commands.dates import parse_when
from commands.errors import NotFound, PermissionDenied, UserError
from commands.messages import normalise_locale
from commands.money import Amount
from commands.render import render
from commands.reply import Reply, Visibility
from commands.services import audit, ledger_sql, outbox
from commands.services.audit import snapshot
from commands.services.budget import (
    BudgetState,
    Gauge,
    PlannedLine,
    Spent,
    compute,
    spent_one,
)
from models import (
    AuditEvent,
    BudgetLine,
    ChannelBinding,
    Expense,
    Experiment,
    ExperimentFinance,
    LedgerEntry,
    Membership,
    OutboxMessage,
    Person,
    Role,
    pk,
)

DESCRIPTION_LIMIT = 500
SUPPLIER_LIMIT = 200
RECEIPT_LIMIT = 2000
LABEL_LIMIT = 200
THRESHOLDS = (80, 100)
LINE_KEY = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")

# The same budget line in the words of either language, so `line:catering` finds the line
# a French team called "restauration". Folded (lower case, no accents).
SYNONYMS: tuple[frozenset[str], ...] = (
    frozenset({"restauration", "catering", "repas", "meals", "food", "traiteur"}),
    frozenset({"logistique", "logistics"}),
    frozenset({"animation", "facilitation"}),
    frozenset({"etudes", "etude", "studies", "study"}),
    frozenset({"communication", "comms", "com"}),
    frozenset({"indemnites", "indemnite", "allowances", "compensation"}),
    frozenset({"evaluation", "evaluations", "assessment"}),
)


# -- who ------------------------------------------------------------------------------


def require_budget_view(ctx: Context, experiment: Experiment) -> Role:
    """Members and coordinators see the budget; partners only if the experiment opts in."""
    role = ctx.role_in(experiment)
    if role is None:
        raise PermissionDenied("core.no_role", experiment=experiment.name)
    if not ctx.can_see_budget(experiment):
        raise PermissionDenied("expenses.budget_hidden", experiment=experiment.name)
    return role


def require_may_change(ctx: Context, experiment: Experiment, expense: Expense) -> None:
    """Coordinators correct any expense; members their own."""
    role = ctx.require(experiment, Role.COORDINATOR, Role.MEMBER)
    if role != Role.COORDINATOR and expense.author_id != ctx.person_id:
        raise PermissionDenied(
            "expenses.not_yours",
            id=expense.id,
            author=audit.person_name(ctx.session, expense.author_id),
        )


def team_visibility(ctx: Context, experiment: Experiment) -> Visibility:
    """Where news of a changed expense may go: the channel when it is the experiment's own
    and everyone in it may see amounts; otherwise only to the person who typed."""
    binding = ctx.channel_binding
    if binding is None or binding.experiment_id != experiment.id:
        return Visibility.EPHEMERAL
    shared = binding.is_shared or ctx.invocation.channel.is_shared
    if shared and not experiment.partners_see_budget:
        return Visibility.EPHEMERAL
    return Visibility.CHANNEL


# -- budget lines ---------------------------------------------------------------------


def budget_lines(ctx: Context, experiment: Experiment) -> list[BudgetLine]:
    return list(
        ctx.session.exec(
            select(BudgetLine)
            .where(BudgetLine.experiment_id == experiment.id, col(BudgetLine.deleted_at).is_(None))
            .order_by(col(BudgetLine.position), col(BudgetLine.id))
        )
    )


def _synonyms(word: str) -> frozenset[str]:
    for group in SYNONYMS:
        if word in group:
            return group
    return frozenset({word})


def match_line(lines: list[BudgetLine], text: str) -> BudgetLine | None:
    """The line ``text`` names: its key, its label, a word of either language meaning the
    same (``catering`` for ``restauration``), accents and case aside, or the unique line
    whose key or label starts with it (three letters at least)."""
    wanted = fold(text.strip().strip("\"'"))
    if not wanted:
        return None
    for line in lines:
        if wanted in (fold(line.key), fold(line.label)):
            return line
    same = _synonyms(wanted)
    for line in lines:
        if fold(line.key) in same or fold(line.label) in same:
            return line
    if len(wanted) >= 3:
        starting = [
            line
            for line in lines
            if fold(line.key).startswith(wanted) or fold(line.label).startswith(wanted)
        ]
        if len(starting) == 1:
            return starting[0]
    return None


def find_line(ctx: Context, experiment: Experiment, text: str) -> BudgetLine:
    lines = budget_lines(ctx, experiment)
    line = match_line(lines, text)
    if line is not None:
        return line
    names: dict[str, str] = {}
    for candidate in lines:
        names[candidate.key] = candidate.key
        names[candidate.label] = candidate.key
        for word in _synonyms(fold(candidate.key)):
            names[word] = candidate.key
    near = closest(text, list(names))
    raise NotFound(
        "expenses.unknown_line",
        text=text,
        suggestion=names[near] if near else None,
        keys=[candidate.key for candidate in lines],
    )


def add_line(
    ctx: Context, experiment: Experiment, key: str, label: str, planned_cents: int
) -> BudgetLine:
    ctx.require(experiment, Role.COORDINATOR)
    key = fold(key.strip())
    if not LINE_KEY.fullmatch(key):
        raise UserError("expenses.bad_line_key", name=key)
    label = _checked_label(label or key.capitalize())
    existing = ctx.session.exec(
        select(BudgetLine).where(BudgetLine.experiment_id == experiment.id, BudgetLine.key == key)
    ).first()
    if existing is not None and existing.deleted_at is None:
        raise UserError("expenses.line_exists", name=key, label=existing.label)
    same = match_line(budget_lines(ctx, experiment), label)
    if same is not None:
        raise UserError("expenses.line_exists", name=same.key, label=same.label)
    if existing is not None:
        # A line removed before comes back under the same key (the key is unique).
        before = snapshot(existing)
        existing.deleted_at = None
        existing.label = label
        existing.planned_cents = planned_cents
        ctx.record("update", existing, before, experiment_id=experiment.id)
        return existing
    position = ctx.session.exec(
        select(func.coalesce(func.max(BudgetLine.position), -1)).where(
            BudgetLine.experiment_id == experiment.id
        )
    ).one()
    line = BudgetLine(
        experiment_id=pk(experiment),
        key=key,
        label=label,
        planned_cents=planned_cents,
        position=position + 1,
        created_at=ctx.now,
    )
    ctx.record("create", line, experiment_id=experiment.id)
    return line


def set_planned(
    ctx: Context, experiment: Experiment, line: BudgetLine, planned_cents: int
) -> tuple[int, int]:
    """Change a line's planned amount; returns (before, after)."""
    ctx.require(experiment, Role.COORDINATOR)
    if planned_cents == line.planned_cents:
        raise UserError("expenses.line_unchanged", label=line.label)
    before = snapshot(line)
    old = line.planned_cents
    line.planned_cents = planned_cents
    ctx.record("update", line, before, experiment_id=experiment.id)
    return old, planned_cents


def rename_line(ctx: Context, experiment: Experiment, line: BudgetLine, label: str) -> str:
    ctx.require(experiment, Role.COORDINATOR)
    label = _checked_label(label)
    if label == line.label:
        raise UserError("expenses.line_unchanged", label=line.label)
    other = match_line([x for x in budget_lines(ctx, experiment) if x.id != line.id], label)
    if other is not None:
        raise UserError("expenses.line_exists", name=other.key, label=other.label)
    before = snapshot(line)
    old = line.label
    line.label = label
    ctx.record("update", line, before, experiment_id=experiment.id)
    return old


def remove_line(ctx: Context, experiment: Experiment, line: BudgetLine) -> None:
    """Soft-delete a line that no live expense uses (move them first)."""
    ctx.require(experiment, Role.COORDINATOR)
    used = ctx.session.exec(
        select(func.count()).where(
            Expense.budget_line_id == line.id, col(Expense.deleted_at).is_(None)
        )
    ).one()
    if used:
        raise UserError("expenses.line_in_use", label=line.label, count=used, name=line.key)
    before = snapshot(line)
    line.deleted_at = ctx.now
    ctx.record("delete", line, before, experiment_id=experiment.id)


def _checked_label(label: str) -> str:
    label = clean_text(label)
    if not label:
        raise UserError("expenses.missing_label")
    if len(label) > LABEL_LIMIT:
        raise UserError("expenses.too_long", field="label", length=len(label), limit=LABEL_LIMIT)
    return label


# -- the budget's state ---------------------------------------------------------------


def today_in(experiment: Experiment, now: datetime) -> date:
    return now.astimezone(ZoneInfo(experiment.timezone)).date()


@dataclass
class Spending:
    """What ``budget_state`` is computed from: the lines, what is counted per line (None:
    no line), the first day anything was spent, and whether it is counted HT."""

    lines: list[BudgetLine]
    by_line: dict[int | None, Spent]
    first_day: date | None
    counts_ht: bool = False

    def plus(self, line_id: int | None, cents: int, day: date) -> Spending:
        """The spending once one more expense is logged, paid, VAT unknown (so counted
        TTC)."""
        one = spent_one("paid", cents, vat_unknown=self.counts_ht)
        first = day if self.first_day is None else min(self.first_day, day)
        by_line = {**self.by_line, line_id: self.by_line.get(line_id, Spent()).plus(one)}
        return Spending(self.lines, by_line, first, self.counts_ht)


def budget_state(ctx: Context, experiment: Experiment) -> BudgetState:
    """Planned, committed, paid, remaining and projection per line and in total: the lines,
    and ``ledger_sql.spending`` (one aggregate of the expenses grouped by line)."""
    return state_of(ctx, experiment, spending(ctx, experiment))


def spending(
    ctx: Context, experiment: Experiment, period: tuple[date, date] | None = None
) -> Spending:
    lines = budget_lines(ctx, experiment)
    found = ledger_sql.spending(ctx.session, [experiment.id], period)[pk(experiment)]
    return Spending(lines, found.by_line, found.first_day, found.counts_ht)


def state_of(ctx: Context, experiment: Experiment, spent_so_far: Spending) -> BudgetState:
    return compute(
        envelope_cents=experiment.budget_envelope_cents,
        lines=list(spent_so_far.lines),
        by_line=spent_so_far.by_line,
        first_day=spent_so_far.first_day,
        starts_on=experiment.starts_on,
        ends_on=experiment.ends_on,
        today=today_in(experiment, ctx.now),
        counts_ht=spent_so_far.counts_ht,
    )


# -- threshold alerts -----------------------------------------------------------------


@dataclass(frozen=True)
class Crossing:
    """A line (or the total, ``line`` None) went past ``threshold`` percent of its plan."""

    line: PlannedLine | None
    threshold: int
    gauge: Gauge


def crossings(before: BudgetState, after: BudgetState) -> list[Crossing]:
    """Each line (and the total) that went past a threshold, once, at the highest one
    passed: an expense that takes a line from 70 % to 413 % crossed 100 %, not 80 % too."""
    found: list[Crossing] = []
    pairs: list[tuple[Gauge | None, Gauge]] = [
        (before.gauge_of(g.line.id if g.line else None), g) for g in after.lines
    ]
    pairs.append((before.total, after.total))
    for old, new in pairs:
        planned = new.planned_cents
        if planned <= 0:
            continue
        was = old.spent_cents if old is not None and old.planned_cents == planned else 0
        passed = [t for t in THRESHOLDS if was * 100 < t * planned <= new.spent_cents * 100]
        if passed:
            found.append(Crossing(new.line, max(passed), new))
    return found


def _what(crossing: Crossing) -> str:
    return f"line:{crossing.line.id}" if crossing.line is not None else "total"


def told_before(ctx: Context, experiment: Experiment) -> dict[str, int]:
    """The highest threshold already told, per line (``line:12``) and for the total.

    An alert's key names what it told: ``budget:3:line:12:100+total:80``, with
    ``:person:<id>`` for a coordinator's copy."""
    prefix = f"budget:{pk(experiment)}:"
    keys = ctx.session.exec(
        select(OutboxMessage.key).where(col(OutboxMessage.key).startswith(prefix))
    ).all()
    told: dict[str, int] = {}
    for key in keys:
        body = re.sub(r":person:\d+$", "", key.removeprefix(prefix))
        for part in body.split("+"):
            what, _, threshold = part.rpartition(":")
            if threshold.isdigit():
                told[what] = max(told.get(what, 0), int(threshold))
    return told


def alert(
    ctx: Context, experiment: Experiment, found: list[Crossing], *, counts_ht: bool = False
) -> list[Crossing]:
    """Queue one message to the team's channel and one to each coordinator for what these
    crossings tell that was not told before (a line that dips under a threshold and
    crosses it again is not told again; nor is 80 % once 100 % was). Returns the
    crossings told now."""
    if not found:
        return []
    told = told_before(ctx, experiment)
    new = [c for c in found if told.get(_what(c), 0) < c.threshold]
    if not new:
        return []
    session = ctx.session
    channel = session.exec(
        select(ChannelBinding)
        .where(ChannelBinding.experiment_id == experiment.id, ChannelBinding.is_shared == False)  # noqa: E712
        .order_by(col(ChannelBinding.id))
    ).first()
    key = f"budget:{pk(experiment)}:" + "+".join(f"{_what(c)}:{c.threshold}" for c in new)
    params: dict[str, Any] = {"e": experiment, "crossings": new, "counts_ht": counts_ht}
    queued = False
    if channel is not None:
        text = render("expense/alert", experiment.locale, experiment.timezone, **params)
        queued |= outbox.enqueue(
            session,
            key=key,
            workspace_id=ctx.workspace_id,
            kind="budget_alert",
            target_kind="channel",
            target_id=channel.channel_id,
            reply=Reply(text=text, visibility=Visibility.CHANNEL),
            not_before=ctx.now,
            experiment=experiment,
        )
    for person in coordinators(ctx, experiment):
        locale = normalise_locale(person.locale or experiment.locale)
        text = render("expense/alert", locale, person.timezone or experiment.timezone, **params)
        queued |= outbox.enqueue(
            session,
            key=f"{key}:person:{pk(person)}",
            workspace_id=ctx.workspace_id,
            kind="budget_alert",
            target_kind="person",
            target_id=str(pk(person)),
            reply=Reply(text=text, visibility=Visibility.EPHEMERAL),
            not_before=ctx.now,
            experiment=experiment,
        )
    return new if queued else []


def coordinators(ctx: Context, experiment: Experiment) -> list[Person]:
    """Who coordinates the experiment: its coordinators and the lab's. (Whoever turned
    direct messages off or muted the experiment is skipped by the sender, which asks at
    sending time.)"""
    session = ctx.session
    members = session.exec(
        select(Person)
        .join(Membership, col(Membership.person_id) == Person.id)
        .where(
            Membership.experiment_id == experiment.id,
            Membership.role == Role.COORDINATOR,
            col(Membership.removed_at).is_(None),
        )
    ).all()
    lab = session.exec(
        select(Person).where(
            Person.workspace_id == experiment.workspace_id, Person.lab_role == Role.COORDINATOR
        )
    ).all()
    people = {pk(p): p for p in [*members, *lab]}
    return [people[k] for k in sorted(people)]


# -- expenses -------------------------------------------------------------------------


@dataclass(frozen=True)
class Changed:
    """An expense logged or corrected, the budget after, and the thresholds crossed."""

    expense: Expense
    line: BudgetLine | None
    state: BudgetState
    crossed: list[Crossing] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)
    twin: Expense | None = None

    @property
    def gauge(self) -> Gauge:
        gauge = self.state.gauge_of(self.line.id if self.line else None)
        if gauge is None:  # no line, and nothing spent or planned outside the lines
            return Gauge(None, self.state.unallocated_planned_cents)
        return gauge


def check_amount(experiment: Experiment, amount: Amount, typed: str) -> int:
    if amount.currency is not None and amount.currency != experiment.currency:
        raise UserError(
            "expenses.wrong_currency",
            text=typed,
            currency=amount.currency,
            expected=experiment.currency,
        )
    if amount.cents > experiment.expense_limit_cents:
        raise UserError(
            "expenses.over_limit",
            text=typed,
            cents=amount.cents,
            limit=experiment.expense_limit_cents,
            currency=experiment.currency,
        )
    return amount.cents


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def clean_text(text: str) -> str:
    """One line of text as people mean it: spaces collapsed, no control character (a
    pasted ``\\x02`` would otherwise travel into every file and message)."""
    return " ".join(_CONTROL.sub(" ", text).split())


def check_description(text: str) -> str:
    text = clean_text(text)
    if not text:
        raise UserError("expenses.missing_description")
    if len(text) > DESCRIPTION_LIMIT:
        raise UserError(
            "expenses.too_long", field="description", length=len(text), limit=DESCRIPTION_LIMIT
        )
    return text


def check_supplier(text: str) -> str:
    text = clean_text(text)
    if len(text) > SUPPLIER_LIMIT:
        raise UserError(
            "expenses.too_long", field="supplier", length=len(text), limit=SUPPLIER_LIMIT
        )
    return text


_SLACK_LINK = re.compile(r"<([^>|]+)(?:\|[^>]*)?>")


def check_receipt(text: str) -> str:
    """An http(s) address (Slack sends links as ``<https://…>`` or ``<https://…|label>``)."""
    text = text.strip()
    if m := _SLACK_LINK.fullmatch(text):
        text = m.group(1)
    if not text:
        return ""
    if len(text) > RECEIPT_LIMIT:
        raise UserError("expenses.too_long", field="receipt", length=len(text), limit=RECEIPT_LIMIT)
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or " " in text:
        raise UserError("expenses.bad_receipt", text=text[:100])
    return text


def spent_on(ctx: Context, experiment: Experiment, text: str | None) -> date:
    """The day an expense was made: today by default, never in the future."""
    today = today_in(experiment, ctx.now)
    if not text or not text.strip():
        return today
    when = parse_when(text, now=ctx.now, lang=ctx.locale, tz=experiment.timezone, mode="done")
    day = when.date()
    if day > today:
        raise UserError("expenses.future_date", text=text, day=day)
    start, end = experiment.starts_on, experiment.ends_on
    if (start is not None and day < start) or (end is not None and day > end):
        raise UserError(
            "expenses.outside_period",
            text=text,
            day=day,
            start=start,
            end=end,
            experiment=experiment.name,
        )
    return day


def log_expense(
    ctx: Context,
    experiment: Experiment,
    *,
    amount: Amount,
    amount_text: str,
    description: str,
    line_text: str | None = None,
    when: str | None = None,
    supplier: str = "",
    receipt: str = "",
    ledger_side: Callable[[Expense], object] | None = None,
) -> Changed:
    """Log an expense; ``ledger_side`` writes its ledger entry (VAT, step, invoice) before
    the budget after it is worked out, so the alerts count it as the budget does."""
    ctx.require(experiment, Role.COORDINATOR, Role.MEMBER)
    cents = check_amount(experiment, amount, amount_text)
    description = check_description(description)
    supplier = check_supplier(supplier)
    receipt = check_receipt(receipt)
    line = find_line(ctx, experiment, line_text) if line_text else None
    day = spent_on(ctx, experiment, when)
    so_far = spending(ctx, experiment)
    expense = Expense(
        experiment_id=pk(experiment),
        budget_line_id=line.id if line else None,
        amount_cents=cents,
        currency=experiment.currency,
        description=description,
        spent_on=day,
        supplier=supplier,
        receipt_url=receipt,
        author_id=ctx.person_id,
        created_at=ctx.now,
    )
    twin = look_alike(ctx, experiment, cents, description, supplier, day)
    ctx.record("create", expense, experiment_id=experiment.id)
    before = state_of(ctx, experiment, so_far)
    if ledger_side is not None:
        ledger_side(expense)
        after = budget_state(ctx, experiment)
    else:
        # Paid, VAT unknown: the state after follows from the one before.
        after = state_of(ctx, experiment, so_far.plus(expense.budget_line_id, cents, day))
    told = alert(ctx, experiment, crossings(before, after), counts_ht=after.counts_ht)
    return Changed(expense, line, after, told, twin=twin)


DUPLICATE_DAYS = 3


def look_alike(
    ctx: Context, experiment: Experiment, cents: int, description: str, supplier: str, day: date
) -> Expense | None:
    """A live expense this one may repeat: the same amount and description the same day,
    or the same supplier and amount within ``DUPLICATE_DAYS`` days. (Logged all the same:
    two coffees may cost the same; the reply says so, with the undo button.)"""
    rows = ctx.session.exec(
        select(Expense)
        .where(
            Expense.experiment_id == experiment.id,
            col(Expense.deleted_at).is_(None),
            Expense.amount_cents == cents,
            col(Expense.spent_on).between(
                day - timedelta(days=DUPLICATE_DAYS), day + timedelta(days=DUPLICATE_DAYS)
            ),
        )
        .order_by(col(Expense.id).desc())
        .limit(50)
    ).all()
    wanted = fold(description)
    for row in rows:
        if row.spent_on == day and fold(row.description) == wanted:
            return row
    if supplier:
        for row in rows:
            if row.supplier and fold(row.supplier) == fold(supplier):
                return row
    return None


def parse_expense_id(text: str) -> int:
    """``12``, ``#12``, ``n°12``, ``no12``."""
    cleaned = text.strip().lower().removeprefix("n°").removeprefix("no").lstrip("#")
    if not cleaned.isascii() or not cleaned.isdigit() or len(cleaned) > 12:
        raise UserError("expenses.bad_id", text=text[:40])
    return as_id(int(cleaned), text)


def get_expense(
    ctx: Context, experiment: Experiment, id_text: str, *, deleted: bool = False
) -> Expense:
    """An expense of this experiment; any other (or a deleted one) is not found."""
    expense_id = parse_expense_id(id_text)
    expense = ctx.session.get(Expense, expense_id)
    if (
        expense is None
        or expense.experiment_id != experiment.id
        or (expense.deleted_at is not None and not deleted)
    ):
        raise NotFound("expenses.unknown_expense", id=expense_id, experiment=experiment.name)
    return expense


def line_of(ctx: Context, expense: Expense) -> BudgetLine | None:
    if expense.budget_line_id is None:
        return None
    return ctx.session.get(BudgetLine, expense.budget_line_id)


def edit_expense(
    ctx: Context,
    experiment: Experiment,
    expense: Expense,
    *,
    amount: Amount | None = None,
    amount_text: str = "",
    description: str | None = None,
    line_text: str | None = None,
    when: str | None = None,
    supplier: str | None = None,
    receipt: str | None = None,
    amount_side: Callable[[Expense], object] | None = None,
) -> Changed:
    """Correct an expense; ``amount_side`` brings its ledger entry in line with a new
    amount (HT and VAT) before the budget after it is worked out."""
    require_may_change(ctx, experiment, expense)
    values: dict[str, Any] = {}
    if amount is not None:
        values["amount_cents"] = check_amount(experiment, amount, amount_text)
    if description is not None:
        values["description"] = check_description(description)
    if supplier is not None:
        values["supplier"] = check_supplier(supplier)
    if receipt is not None:
        values["receipt_url"] = check_receipt(receipt)
    if line_text is not None:
        # ``poste:`` left empty takes the expense off its line.
        values["budget_line_id"] = (
            find_line(ctx, experiment, line_text).id if line_text.strip() else None
        )
    if when is not None:
        values["spent_on"] = spent_on(ctx, experiment, when)
    changed = [name for name, value in values.items() if getattr(expense, name) != value]
    if not changed:
        raise UserError("expenses.nothing_to_change", id=expense.id)
    before_state = budget_state(ctx, experiment)
    before = snapshot(expense)
    for name in changed:
        setattr(expense, name, values[name])
    expense.updated_at = ctx.now
    ctx.record("update", expense, before, experiment_id=experiment.id)
    if amount_side is not None and "amount_cents" in changed:
        amount_side(expense)
    after = budget_state(ctx, experiment)
    told = alert(ctx, experiment, crossings(before_state, after), counts_ht=after.counts_ht)
    return Changed(expense, line_of(ctx, expense), after, told, changed)


def delete_expense(ctx: Context, experiment: Experiment, expense: Expense) -> Changed:
    require_may_change(ctx, experiment, expense)
    before = snapshot(expense)
    expense.deleted_at = ctx.now
    ctx.record("delete", expense, before, experiment_id=experiment.id)
    return Changed(expense, line_of(ctx, expense), budget_state(ctx, experiment))


@dataclass(frozen=True)
class Listed:
    expense: Expense
    line: BudgetLine | None
    author: Person


@dataclass(frozen=True)
class Listing:
    rows: list[Listed]
    count: int
    total_cents: int


def list_expenses(
    ctx: Context,
    experiment: Experiment,
    *,
    line: BudgetLine | None = None,
    period: tuple[date, date] | None = None,
    author: Person | None = None,
    limit: int = 20,
) -> Listing:
    """The most recent expenses matching the filters, with their number and sum."""
    conditions: list[Any] = [
        Expense.experiment_id == experiment.id,
        col(Expense.deleted_at).is_(None),
    ]
    if line is not None:
        conditions.append(Expense.budget_line_id == line.id)
    if period is not None:
        conditions.append(col(Expense.spent_on).between(period[0], period[1]))
    if author is not None:
        conditions.append(Expense.author_id == author.id)
    count, total = ctx.session.exec(
        select(func.count(), func.coalesce(func.sum(Expense.amount_cents), 0)).where(*conditions)
    ).one()
    rows = ctx.session.exec(
        select(Expense, BudgetLine, Person)
        .join(Person, col(Person.id) == Expense.author_id)
        .outerjoin(BudgetLine, col(BudgetLine.id) == Expense.budget_line_id)
        .where(*conditions)
        .order_by(col(Expense.spent_on).desc(), col(Expense.id).desc())
        .limit(limit)
    ).all()
    return Listing([Listed(e, b, p) for e, b, p in rows], int(count), int(total))


@dataclass(frozen=True)
class HistoryEntry:
    event: AuditEvent
    actor: str
    changes: list[tuple[str, Any, Any]]


# Fields of an expense as the history shows them, in order.
HISTORY_FIELDS = (
    "amount_cents",
    "budget_line_id",
    "description",
    "spent_on",
    "supplier",
    "receipt_url",
    "deleted_at",
)


def expense_history(ctx: Context, experiment: Experiment, expense: Expense) -> list[HistoryEntry]:
    events = audit.history(ctx.session, "expense", pk(expense))
    line_ids = {
        value
        for event in events
        for doc in (event.before or {}, event.after)
        for key, value in doc.items()
        if key == "budget_line_id" and value is not None
    }
    labels: dict[int, str] = {}
    if line_ids:
        labels = {
            pk(line): line.label
            for line in ctx.session.exec(select(BudgetLine).where(col(BudgetLine.id).in_(line_ids)))
        }
    actors: dict[int | None, str] = {}
    entries = []
    for event in events:
        if event.actor_id not in actors:
            actors[event.actor_id] = audit.person_name(ctx.session, event.actor_id)
        changes = []
        diff = audit.changed_fields(event)
        for name in HISTORY_FIELDS:
            if name not in diff:
                continue
            old, new = diff[name]
            if name == "budget_line_id":
                old, new = labels.get(old, ""), labels.get(new, "")
            elif name == "spent_on":
                old = date.fromisoformat(old) if old else None
                new = date.fromisoformat(new) if new else None
            changes.append((name, old, new))
        entries.append(HistoryEntry(event, actors[event.actor_id], changes))
    return entries


# -- export ---------------------------------------------------------------------------


class ExportRow(NamedTuple):
    """One expense as exported (a tuple: tens of thousands are made in a row)."""

    id: int
    spent_on: date
    line_key: str
    line_label: str
    description: str
    supplier: str
    amount_cents: int
    currency: str
    receipt_url: str
    author: str
    status: str  # the step of the spending chain
    counted_cents: int  # what the budget counts: HT when the VAT is recoverable and known


def export_count(ctx: Context, experiment: Experiment, period: tuple[date, date] | None) -> int:
    query = select(func.count()).where(
        Expense.experiment_id == experiment.id, col(Expense.deleted_at).is_(None)
    )
    if period is not None:
        query = query.where(col(Expense.spent_on).between(period[0], period[1]))
    return int(ctx.session.exec(query).one())


def export_rows(
    ctx: Context, experiment: Experiment, period: tuple[date, date] | None
) -> Iterator[ExportRow]:
    """The expenses to export, oldest first, streamed in chunks rather than loaded whole."""
    query = (
        sa_select(
            col(Expense.id),
            col(Expense.spent_on),
            func.coalesce(BudgetLine.key, ""),
            func.coalesce(BudgetLine.label, ""),
            col(Expense.description),
            col(Expense.supplier),
            col(Expense.amount_cents),
            col(Expense.currency),
            col(Expense.receipt_url),
            col(Person.handle),
            func.coalesce(LedgerEntry.status, "paid"),
            ledger_sql.counted(),
        )
        .join(Person, col(Person.id) == Expense.author_id)
        .outerjoin(BudgetLine, col(BudgetLine.id) == Expense.budget_line_id)
        .outerjoin(LedgerEntry, col(LedgerEntry.expense_id) == Expense.id)
        .outerjoin(ExperimentFinance, col(ExperimentFinance.experiment_id) == Expense.experiment_id)
        .where(col(Expense.experiment_id) == experiment.id, col(Expense.deleted_at).is_(None))
        .order_by(col(Expense.spent_on), col(Expense.id))
        .execution_options(yield_per=2000)
    )
    if period is not None:
        query = query.where(col(Expense.spent_on).between(period[0], period[1]))
    for row in ctx.session.execute(query):
        yield ExportRow._make(row)


def period_spending(
    ctx: Context, experiment: Experiment, period: tuple[date, date]
) -> dict[int | None, Spent]:
    """Per line (None: no line), what is counted in ``period``, as ``budget_state`` counts."""
    return ledger_sql.spending(ctx.session, [experiment.id], period)[pk(experiment)].by_line


def month_bounds(year: int, month: int) -> tuple[date, date]:
    first = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    return first, following - timedelta(days=1)
