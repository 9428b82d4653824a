"""The finance department's ledger: VAT and the spending chain of each expense, suppliers,
funders and allocations, the account class of budget lines, and the one computation every
ledger view and report reads its figures from (``ledger_rows`` → ``Totals``).

Amounts counted against the budget are HT when the experiment recovers its VAT and the
HT is known, TTC otherwise; every view says which. An expense without a ledger entry (one
logged before the ledger, or seeded) is what the migration made of the old ones: paid on
its day by its author, VAT unknown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from commands.args import closest, fold
from commands.core import Context
from commands.errors import NotFound, PermissionDenied, UserError
from commands.services import expenses as budget
from commands.services import ledger_sql
from commands.services import vat as vat_rules
from commands.services.audit import snapshot
from models import (
    Allocation,
    BudgetLine,
    Expense,
    Experiment,
    ExperimentFinance,
    Funder,
    LedgerEntry,
    LineNature,
    Person,
    Role,
    Supplier,
    pk,
)

STEPS = ("planned", "committed", "done", "ordered", "paid")
REALISED = frozenset({"done", "ordered", "paid"})
COMMITTED_UNPAID = frozenset(ledger_sql.COMMITTED_UNPAID)
REF_LIMIT = 64
WHOLE = 10_000  # a share of 100 %, in hundredths of a percent
FUNDER_KINDS = ("state", "region", "department", "municipality", "europe", "other")

# The CERFA 15059's groups of charges (chart of accounts classes) and the usual lines'.
ACCOUNTS = ("60", "61", "62", "63", "64", "65", "66", "67", "68", "86")
USUAL_ACCOUNTS = {
    "restauration": "60",
    "catering": "60",
    "repas": "60",
    "fournitures": "60",
    "supplies": "60",
    "materiel": "60",
    "logistique": "61",
    "logistics": "61",
    "location": "61",
    "etudes": "61",
    "studies": "61",
    "evaluation": "61",
    "communication": "62",
    "animation": "62",
    "facilitation": "62",
    "deplacements": "62",
    "travel": "62",
    "indemnites": "65",
    "allowances": "65",
    "personnel": "64",
    "salaires": "64",
    "staff": "64",
    "impots": "63",
    "taxes": "63",
    "benevolat": "86",
    "volunteering": "86",
}


# -- the experiment's settings --------------------------------------------------------


def finance_of(ctx: Context, experiment: Experiment) -> ExperimentFinance | None:
    return ctx.session.exec(
        select(ExperimentFinance).where(ExperimentFinance.experiment_id == experiment.id)
    ).first()


def vat_recoverable(ctx: Context, experiment: Experiment) -> bool:
    finance = finance_of(ctx, experiment)
    return finance is not None and finance.vat_recoverable


def set_vat_recoverable(ctx: Context, experiment: Experiment, recoverable: bool) -> None:
    ctx.require(experiment, Role.COORDINATOR)
    finance = finance_of(ctx, experiment)
    if finance is None:
        finance = ExperimentFinance(experiment_id=pk(experiment), vat_recoverable=recoverable)
        ctx.record("create", finance, experiment_id=experiment.id)
        return
    if finance.vat_recoverable == recoverable:
        raise UserError("ledger.vat_setting_unchanged", recoverable=recoverable)
    before = snapshot(finance)
    finance.vat_recoverable = recoverable
    ctx.record("update", finance, before, experiment_id=experiment.id)


def counted(ttc: int, ht: int | None, recoverable: bool) -> int:
    """The amount counted against the budget."""
    return ht if recoverable and ht is not None else ttc


# -- who -------------------------------------------------------------------------------


def require_ledger_view(ctx: Context, experiment: Experiment) -> None:
    """As the budget: members and coordinators, partners only if the experiment opts in."""
    budget.require_budget_view(ctx, experiment)


def require_report(ctx: Context, experiment: Experiment, funder: Funder) -> None:
    """A funder's report: whoever sees the ledger, and the funder's own partner (for
    this grant only)."""
    if funder.partner_id is not None and funder.partner_id == ctx.person_id:
        return
    if ctx.role_in(experiment) is None:
        raise PermissionDenied("core.no_role", experiment=experiment.name)
    if not ctx.can_see_budget(experiment):
        raise PermissionDenied("ledger.report_hidden", experiment=experiment.name)


# -- dates ------------------------------------------------------------------------------


def day_of(ctx: Context, experiment: Experiment, text: str | None) -> date:
    """A day something happened: today by default, never in the future."""
    return budget.spent_on(ctx, experiment, text)


# -- ledger entries ---------------------------------------------------------------------


def entry_of(ctx: Context, expense: Expense) -> LedgerEntry | None:
    return ctx.session.exec(select(LedgerEntry).where(LedgerEntry.expense_id == expense.id)).first()


def entry_or_default(ctx: Context, expense: Expense) -> tuple[LedgerEntry, bool]:
    """The expense's entry, or the one the migration gives an old expense (not yet
    added); the flag says whether it exists."""
    entry = entry_of(ctx, expense)
    if entry is not None:
        return entry, True
    return (
        LedgerEntry(
            id=pk(expense),
            expense_id=pk(expense),
            status="paid",
            paid_on=expense.spent_on,
            paid_by=expense.author_id,
        ),
        False,
    )


@dataclass
class LedgerInput:
    """What a person may type about an expense's ledger side (all optional)."""

    rate: str | None = None
    ht: str | None = None
    supplier: str | None = None
    invoice: str | None = None
    invoice_date: str | None = None
    received: str | None = None

    @property
    def empty(self) -> bool:
        return all(v is None for v in vars(self).values())


def apply_input(
    ctx: Context,
    experiment: Experiment,
    expense: Expense,
    entry: LedgerEntry,
    typed: LedgerInput,
) -> None:
    """Check and set VAT, supplier and invoice on ``entry`` (not recorded here)."""
    from commands.money import parse_amount

    if typed.rate is not None or typed.ht is not None:
        rate = vat_rules.parse_rate(typed.rate) if typed.rate is not None else None
        ht = parse_amount(typed.ht).cents if typed.ht is not None else None
        split = vat_rules.split(expense.amount_cents, rate, ht)
        entry.ht_cents, entry.vat_cents, entry.vat_rate = (
            split.ht_cents,
            split.vat_cents,
            split.rate,
        )
    if typed.supplier is not None:
        supplier = match_supplier(ctx, typed.supplier)
        entry.supplier_id = supplier.id if supplier is not None else None
    if typed.invoice is not None:
        number = " ".join(typed.invoice.split())
        if not number or len(number) > REF_LIMIT:
            raise UserError("ledger.bad_invoice_number", text=number[:80], limit=REF_LIMIT)
        entry.invoice_number = number
    if typed.invoice_date is not None:
        entry.invoice_date = day_of(ctx, experiment, typed.invoice_date)
    if typed.received is not None:
        entry.invoice_received_on = day_of(ctx, experiment, typed.received)
    elif entry.invoice_number and entry.invoice_received_on is None and entry.status != "paid":
        # Received by the day it is recorded at the latest; the reply says so.
        entry.invoice_received_on = entry.invoice_date or budget.today_in(experiment, ctx.now)
    if (
        entry.invoice_date
        and entry.invoice_received_on
        and entry.invoice_received_on < entry.invoice_date
    ):
        raise UserError(
            "ledger.received_before_invoice",
            received=entry.invoice_received_on,
            invoice=entry.invoice_date,
        )
    if entry.invoice_date and entry.paid_on and entry.paid_on < entry.invoice_date:
        raise UserError(
            "ledger.paid_before_invoice", paid=entry.paid_on, invoice=entry.invoice_date
        )
    if entry.invoice_number:
        check_invoice_unique(ctx, experiment, expense, entry)


def attach(
    ctx: Context,
    experiment: Experiment,
    expense: Expense,
    typed: LedgerInput,
    *,
    status: str = "paid",
) -> LedgerEntry:
    """The ledger entry of an expense just logged: paid on its day by its author (as an
    expense has always been), or planned."""
    entry = LedgerEntry(id=pk(expense), expense_id=pk(expense), status=status)
    if status == "paid":
        entry.paid_on, entry.paid_by = expense.spent_on, expense.author_id
    else:
        entry.planned_on, entry.planned_by = expense.spent_on, expense.author_id
    apply_input(ctx, experiment, expense, entry, typed)
    ctx.record("create", entry, experiment_id=experiment.id)
    return entry


def update_entry(
    ctx: Context, experiment: Experiment, expense: Expense, typed: LedgerInput
) -> LedgerEntry:
    """``/depense facture 12 tva:20 fournisseur:… facture:F-12``: the ledger side of an
    expense, corrected."""
    budget.require_may_change(ctx, experiment, expense)
    if typed.empty:
        raise UserError("ledger.invoice_usage")
    entry, exists = entry_or_default(ctx, expense)
    before = snapshot(entry) if exists else None
    apply_input(ctx, experiment, expense, entry, typed)
    entry.updated_at = ctx.now
    if before is not None and all(
        before.get(k) == v for k, v in snapshot(entry).items() if k != "updated_at"
    ):
        raise UserError("ledger.nothing_to_change", id=expense.id)
    ctx.record("update" if exists else "create", entry, before, experiment_id=experiment.id)
    return entry


def amount_changed(ctx: Context, experiment: Experiment, expense: Expense) -> LedgerEntry | None:
    """An expense's amount corrected: its HT and VAT follow (at the same rate), or become
    unknown when no rate was known, so that HT + VAT = TTC still holds."""
    entry = entry_of(ctx, expense)
    if entry is None or entry.ht_cents is None:
        return None
    if entry.ht_cents + (entry.vat_cents or 0) == expense.amount_cents:
        return None
    before = snapshot(entry)
    if entry.vat_rate is not None:
        split = vat_rules.from_ttc(expense.amount_cents, entry.vat_rate)
        entry.ht_cents, entry.vat_cents = split.ht_cents, split.vat_cents
    else:
        entry.ht_cents = entry.vat_cents = None
    entry.updated_at = ctx.now
    ctx.record("update", entry, before, experiment_id=experiment.id)
    return entry


def check_invoice_unique(
    ctx: Context, experiment: Experiment, expense: Expense, entry: LedgerEntry
) -> None:
    """One invoice number per supplier: the same number from the same supplier (known,
    or named alike) on another live expense of the lab is refused."""
    query = (
        select(Expense.id, Expense.supplier, LedgerEntry.supplier_id)
        .join(LedgerEntry, col(LedgerEntry.expense_id) == Expense.id)
        .join(Experiment, col(Experiment.id) == Expense.experiment_id)
        .where(
            Experiment.workspace_id == experiment.workspace_id,
            col(Expense.deleted_at).is_(None),
            func.upper(LedgerEntry.invoice_number) == entry.invoice_number.upper(),
            Expense.id != expense.id,
        )
    )
    mine = fold(expense.supplier.strip())
    for other_id, other_supplier, other_supplier_id in ctx.session.exec(query):
        same = (entry.supplier_id is not None and other_supplier_id == entry.supplier_id) or (
            entry.supplier_id is None
            and other_supplier_id is None
            and fold(other_supplier.strip()) == mine
        )
        if same:
            raise UserError(
                "ledger.duplicate_invoice",
                number=entry.invoice_number,
                supplier=expense.supplier or "—",
                other=other_id,
            )


# -- the chain --------------------------------------------------------------------------


STEP_FIELDS = {
    "planned": ("planned_on", "planned_by"),
    "committed": ("committed_on", "committed_by"),
    "done": ("done_on", "done_by"),
    "ordered": ("ordered_on", "ordered_by"),
    "paid": ("paid_on", "paid_by"),
}


@dataclass(frozen=True)
class StepTaken:
    expense: Expense
    entry: LedgerEntry
    step: str
    day: date
    skipped: list[str]


def advance(
    ctx: Context,
    experiment: Experiment,
    expense: Expense,
    step: str,
    *,
    when: str | None = None,
    ref: str | None = None,
    force: bool = False,
) -> StepTaken:
    """Set one step of the chain. Each step needs the one before; skipping needs a
    coordinator's word (``forcer``). A step's day is not before the previous step's, a
    payment not before its invoice."""
    budget.require_may_change(ctx, experiment, expense)
    entry, exists = entry_or_default(ctx, expense)
    current = STEPS.index(entry.status)
    target = STEPS.index(step)
    if target <= current:
        raise UserError("ledger.step_already", id=expense.id, step=entry.status, wanted=step)
    skipped = list(STEPS[current + 1 : target])
    if skipped:
        if not force:
            raise UserError(
                "ledger.step_out_of_order",
                id=expense.id,
                step=step,
                current=entry.status,
                missing=skipped[0],
            )
        if ctx.role_in(experiment) != Role.COORDINATOR:
            raise PermissionDenied("ledger.force_coordinators", step=step)
    day = day_of(ctx, experiment, when)
    previous = next(
        (
            (s, getattr(entry, STEP_FIELDS[s][0]))
            for s in reversed(STEPS[:target])
            if getattr(entry, STEP_FIELDS[s][0]) is not None
        ),
        None,
    )
    if previous is not None and day < previous[1]:
        raise UserError(
            "ledger.step_before_previous",
            step=step,
            day=day,
            previous=previous[0],
            previous_day=previous[1],
        )
    if step == "paid" and entry.invoice_date is not None and day < entry.invoice_date:
        raise UserError("ledger.paid_before_invoice", paid=day, invoice=entry.invoice_date)
    if ref is not None:
        ref = " ".join(ref.split())
        if not ref or len(ref) > REF_LIMIT:
            raise UserError("ledger.bad_reference", text=ref[:80], limit=REF_LIMIT)
    if step == "committed" and not ref:
        raise UserError("ledger.commitment_needs_number", id=expense.id)
    before = snapshot(entry) if exists else None
    day_field, by_field = STEP_FIELDS[step]
    setattr(entry, day_field, day)
    setattr(entry, by_field, ctx.person_id)
    entry.status = step
    entry.forced = entry.forced or bool(skipped)
    if step == "committed" and ref:
        entry.commitment_ref = ref
    if step == "ordered" and ref:
        entry.order_ref = ref
    entry.updated_at = ctx.now
    ctx.record("update" if exists else "create", entry, before, experiment_id=experiment.id)
    return StepTaken(expense, entry, step, day, skipped)


def set_back(ctx: Context, experiment: Experiment, expense: Expense, step: str) -> LedgerEntry:
    """A coordinator says where an expense really stands (an old expense marked paid by
    the migration that is only committed): the later steps are cleared."""
    ctx.require(experiment, Role.COORDINATOR)
    entry, exists = entry_or_default(ctx, expense)
    target = STEPS.index(step)
    if STEPS.index(entry.status) <= target:
        raise UserError("ledger.step_not_back", id=expense.id, step=entry.status, wanted=step)
    before = snapshot(entry) if exists else None
    for later in STEPS[target + 1 :]:
        day_field, by_field = STEP_FIELDS[later]
        setattr(entry, day_field, None)
        setattr(entry, by_field, None)
    if step == "planned" and entry.planned_on is None:
        entry.planned_on, entry.planned_by = expense.spent_on, expense.author_id
    entry.status = step
    entry.updated_at = ctx.now
    ctx.record("update" if exists else "create", entry, before, experiment_id=experiment.id)
    return entry


# -- suppliers --------------------------------------------------------------------------


def check_siret(text: str) -> str:
    # Imported when a SIRET is checked: start-up does not pay for it.
    from stdnum import exceptions as stdnum_errors
    from stdnum.fr import siret as stdnum_siret

    try:
        return str(stdnum_siret.validate(text))
    except stdnum_errors.ValidationError:
        raise UserError("ledger.bad_siret", text=text[:40]) from None


def suppliers(ctx: Context) -> list[Supplier]:
    return list(
        ctx.session.exec(
            select(Supplier)
            .where(Supplier.workspace_id == ctx.workspace_id, col(Supplier.deleted_at).is_(None))
            .order_by(col(Supplier.name))
        )
    )


_DIGITS = re.compile(r"[\d\s.]{9,}")


def match_supplier(ctx: Context, text: str) -> Supplier | None:
    """The known supplier ``text`` names (its SIRET, its name, or the one name starting
    with it); None when it names none (a supplier typed as free text, as before). A
    SIRET that fails its check is refused."""
    text = " ".join(text.split())
    if not text:
        return None
    known = suppliers(ctx)
    if _DIGITS.fullmatch(text):
        siret = check_siret(text)
        return next((s for s in known if s.siret == siret), None)
    wanted = fold(text)
    exact = [s for s in known if fold(s.name) == wanted]
    if exact:
        return exact[0]
    starting = [s for s in known if fold(s.name).startswith(wanted)] if len(wanted) >= 3 else []
    return starting[0] if len(starting) == 1 else None


def add_supplier(ctx: Context, name: str, siret_text: str | None) -> Supplier:
    name = " ".join(name.split())
    if not name:
        raise UserError("ledger.supplier_usage")
    if len(name) > budget.SUPPLIER_LIMIT:
        raise UserError(
            "expenses.too_long", field="supplier", length=len(name), limit=budget.SUPPLIER_LIMIT
        )
    siret = check_siret(siret_text) if siret_text else None
    for other in suppliers(ctx):
        if fold(other.name) == fold(name) or (siret is not None and other.siret == siret):
            raise UserError("ledger.supplier_exists", name=other.name, siret=other.siret or "")
    if siret is not None:
        # A removed supplier with this SIRET comes back (the SIRET is unique in the lab).
        removed = ctx.session.exec(
            select(Supplier).where(
                Supplier.workspace_id == ctx.workspace_id, Supplier.siret == siret
            )
        ).first()
        if removed is not None:
            before = snapshot(removed)
            removed.deleted_at = None
            removed.name = name
            ctx.record("update", removed, before)
            return removed
    supplier = Supplier(workspace_id=ctx.workspace_id, name=name, siret=siret, created_at=ctx.now)
    ctx.record("create", supplier)
    return supplier


# -- funders and allocations ------------------------------------------------------------


def funders(ctx: Context, experiment: Experiment) -> list[Funder]:
    return list(
        ctx.session.exec(
            select(Funder)
            .where(Funder.experiment_id == experiment.id, col(Funder.deleted_at).is_(None))
            .order_by(col(Funder.id))
        )
    )


def funder_period(funder: Funder) -> tuple[date, date] | None:
    """The grant's period, open ends closed on what any expense may have."""
    if funder.starts_on is None and funder.ends_on is None:
        return None
    return (funder.starts_on or date.min, funder.ends_on or date.max)


def funder_of_partner(
    ctx: Context, text: str, slug: str | None
) -> tuple[Experiment, Funder] | None:
    """The grant a funder's partner names (by its key or name), in an experiment they may
    have no role in: theirs only."""
    query = (
        select(Funder, Experiment)
        .join(Experiment, col(Experiment.id) == Funder.experiment_id)
        .where(
            Funder.partner_id == ctx.person_id,
            col(Funder.deleted_at).is_(None),
            Experiment.workspace_id == ctx.workspace_id,
            col(Experiment.archived_at).is_(None),
        )
    )
    wanted = fold(text.strip())
    found = [
        (e, f)
        for f, e in ctx.session.exec(query)
        if wanted in (fold(f.key), fold(f.name)) and (not slug or e.slug == slug.strip())
    ]
    return found[0] if len(found) == 1 else None


def find_funder(ctx: Context, experiment: Experiment, text: str) -> Funder:
    known = funders(ctx, experiment)
    wanted = fold(text.strip())
    for funder in known:
        if wanted in (fold(funder.key), fold(funder.name)):
            return funder
    starting = [f for f in known if fold(f.name).startswith(wanted) or f.key.startswith(wanted)]
    if len(wanted) >= 3 and len(starting) == 1:
        return starting[0]
    raise NotFound(
        "ledger.unknown_funder",
        text=text[:80],
        experiment=experiment.name,
        keys=[f.key for f in known],
        suggestion=closest(wanted, [f.key for f in known]),
    )


def add_funder(
    ctx: Context,
    experiment: Experiment,
    *,
    key: str,
    name: str,
    granted_cents: int,
    period: tuple[date, date] | None,
    kind: str,
    partner: Person | None,
) -> Funder:
    ctx.require(experiment, Role.COORDINATOR)
    key = fold(key.strip())
    if not budget.LINE_KEY.fullmatch(key):
        raise UserError("ledger.bad_funder_key", name=key[:80])
    name = " ".join(name.split()) or key.capitalize()
    if len(name) > budget.LABEL_LIMIT:
        raise UserError(
            "expenses.too_long", field="label", length=len(name), limit=budget.LABEL_LIMIT
        )
    if kind not in FUNDER_KINDS:
        raise UserError("ledger.bad_funder_kind", kind=kind, kinds=list(FUNDER_KINDS))
    if granted_cents <= 0:
        raise UserError("ledger.funder_usage")
    existing = ctx.session.exec(
        select(Funder).where(Funder.experiment_id == experiment.id, Funder.key == key)
    ).first()
    if existing is not None and existing.deleted_at is None:
        raise UserError("ledger.funder_exists", funder=key, name=existing.name)
    values: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "granted_cents": granted_cents,
        "starts_on": period[0] if period else None,
        "ends_on": period[1] if period else None,
        "partner_id": partner.id if partner else None,
    }
    if existing is not None:
        before = snapshot(existing)
        for k, v in values.items():
            setattr(existing, k, v)
        existing.deleted_at = None
        ctx.record("update", existing, before, experiment_id=experiment.id)
        return existing
    funder = Funder(experiment_id=pk(experiment), key=key, created_at=ctx.now, **values)
    ctx.record("create", funder, experiment_id=experiment.id)
    return funder


def parse_share(text: str) -> int:
    """``60%``, ``60 %``, ``33,5%`` → hundredths of a percent."""
    m = re.fullmatch(r"(\d{1,3})(?:[.,](\d{1,2}))?\s*%", text.strip())
    if m is None:
        raise UserError("ledger.allocate_usage")
    share = int(m.group(1)) * 100 + int((m.group(2) or "0").ljust(2, "0"))
    if share > WHOLE:
        raise UserError("ledger.allocation_over", total=share, target="")
    return share


def allocations(ctx: Context, experiment: Experiment) -> list[Allocation]:
    return list(
        ctx.session.exec(
            select(Allocation)
            .join(Funder, col(Funder.id) == Allocation.funder_id)
            .where(
                Funder.experiment_id == experiment.id,
                col(Funder.deleted_at).is_(None),
                col(Allocation.removed_at).is_(None),
            )
            .order_by(col(Allocation.id))
        )
    )


def allocate(
    ctx: Context,
    experiment: Experiment,
    funder: Funder,
    share: int,
    *,
    line: BudgetLine | None = None,
    expense: Expense | None = None,
) -> tuple[Allocation, int]:
    """Charge ``share`` of a line (or of one expense) to ``funder``, in place of what it
    had; the funders' shares of one line or expense add up to 100 % at most. Returns the
    allocation and the total share after."""
    ctx.require(experiment, Role.COORDINATOR)
    if (line is None) == (expense is None):
        raise UserError("ledger.allocate_usage")
    target = "line" if line is not None else "expense"
    target_id = line.id if line is not None else expense.id if expense is not None else None
    current = [
        a
        for a in allocations(ctx, experiment)
        if (a.budget_line_id if target == "line" else a.expense_id) == target_id
    ]
    others = sum(a.share for a in current if a.funder_id != funder.id)
    if others + share > WHOLE:
        raise UserError(
            "ledger.allocation_over",
            total=others + share,
            target=line.label if line is not None else f"n°{target_id}",
        )
    for old in current:
        if old.funder_id == funder.id:
            before = snapshot(old)
            old.removed_at = ctx.now
            ctx.record("delete", old, before, experiment_id=experiment.id)
    allocation = Allocation(
        funder_id=pk(funder),
        budget_line_id=line.id if line is not None else None,
        expense_id=expense.id if expense is not None else None,
        share=share,
        created_at=ctx.now,
    )
    ctx.record("create", allocation, experiment_id=experiment.id)
    return allocation, others + share


# -- account classes --------------------------------------------------------------------


def natures(ctx: Context, experiment: Experiment) -> dict[int, str]:
    """Budget line id → its account class: the one set, else the usual one for its
    name; lines with neither are left out (the report shows them as unclassified)."""
    lines = budget.budget_lines(ctx, experiment)
    set_ = {
        n.budget_line_id: n.account
        for n in ctx.session.exec(
            select(LineNature).where(col(LineNature.budget_line_id).in_([pk(x) for x in lines]))
        )
    }
    found: dict[int, str] = {}
    for line in lines:
        account = set_.get(pk(line)) or usual_account(line)
        if account is not None:
            found[pk(line)] = account
    return found


def usual_account(line: BudgetLine) -> str | None:
    for word in (fold(line.key), fold(line.label)):
        if word in USUAL_ACCOUNTS:
            return USUAL_ACCOUNTS[word]
        for group in budget.SYNONYMS:
            if word in group:
                for synonym in group:
                    if synonym in USUAL_ACCOUNTS:
                        return USUAL_ACCOUNTS[synonym]
    return None


def set_nature(ctx: Context, experiment: Experiment, line: BudgetLine, account: str) -> str | None:
    ctx.require(experiment, Role.COORDINATOR)
    account = account.strip()
    if account not in ACCOUNTS:
        raise UserError("ledger.bad_account", text=account[:20], accounts=list(ACCOUNTS))
    nature = ctx.session.exec(
        select(LineNature).where(LineNature.budget_line_id == line.id)
    ).first()
    if nature is None:
        usual = usual_account(line)
        if usual == account:
            raise UserError("expenses.line_unchanged", label=line.label)
        nature = LineNature(budget_line_id=pk(line), account=account)
        ctx.record("create", nature, experiment_id=experiment.id)
        return usual
    old = nature.account
    if old == account:
        raise UserError("expenses.line_unchanged", label=line.label)
    before = snapshot(nature)
    nature.account = account
    ctx.record("update", nature, before, experiment_id=experiment.id)
    return old


# -- the one computation ----------------------------------------------------------------


class LedgerRow(NamedTuple):
    """One live expense with its ledger side, as plain values (tens of thousands are read
    at once)."""

    id: int
    line_id: int | None
    spent_on: date
    description: str
    supplier_text: str
    ttc: int
    ht: int | None
    vat: int | None
    rate: int | None
    status: str
    committed_on: date | None
    commitment_ref: str
    done_on: date | None
    ordered_on: date | None
    order_ref: str
    paid_on: date | None
    supplier_name: str | None
    siret: str | None
    invoice_number: str
    invoice_date: date | None
    invoice_received_on: date | None


def ledger_rows(
    ctx: Context, experiment: Experiment, period: tuple[date, date] | None = None
) -> list[LedgerRow]:
    e, entry, s = Expense, LedgerEntry, Supplier
    query = (
        sa_select(
            col(e.id),
            col(e.budget_line_id),
            col(e.spent_on),
            col(e.description),
            col(e.supplier),
            col(e.amount_cents),
            col(entry.ht_cents),
            col(entry.vat_cents),
            col(entry.vat_rate),
            func.coalesce(entry.status, "paid"),
            col(entry.committed_on),
            func.coalesce(entry.commitment_ref, ""),
            col(entry.done_on),
            col(entry.ordered_on),
            func.coalesce(entry.order_ref, ""),
            col(entry.paid_on),
            col(s.name),
            col(s.siret),
            func.coalesce(entry.invoice_number, ""),
            col(entry.invoice_date),
            col(entry.invoice_received_on),
        )
        .outerjoin(entry, col(entry.expense_id) == e.id)
        .outerjoin(s, col(s.id) == entry.supplier_id)
        .where(col(e.experiment_id) == experiment.id, col(e.deleted_at).is_(None))
        .order_by(col(e.spent_on), col(e.id))
    )
    if period is not None:
        query = query.where(col(e.spent_on).between(period[0], period[1]))
    rows = []
    for raw in ctx.session.execute(query):
        row = LedgerRow._make(raw)
        # An expense without an entry was paid on its day.
        if row.status == "paid" and row.paid_on is None:
            row = row._replace(paid_on=row.spent_on)
        rows.append(row)
    return rows


@dataclass
class Sums:
    """Amounts counted against the budget, by where they stand in the chain."""

    planned: int = 0
    committed: int = 0  # committed, service done or ordered: not paid yet
    paid: int = 0
    realised: int = 0  # service done, ordered or paid
    count: int = 0

    def add(self, status: str, cents: int) -> None:
        self.count += 1
        if status == "planned":
            self.planned += cents
        elif status == "paid":
            self.paid += cents
        else:
            self.committed += cents
        if status in REALISED:
            self.realised += cents

    def plus(self, other: Sums) -> None:
        self.planned += other.planned
        self.committed += other.committed
        self.paid += other.paid
        self.realised += other.realised
        self.count += other.count


@dataclass
class LineView:
    line: BudgetLine | None
    budget_cents: int
    sums: Sums = field(default_factory=Sums)

    @property
    def remaining(self) -> int:
        return self.budget_cents - self.sums.committed - self.sums.paid

    @property
    def label(self) -> str:
        return self.line.label if self.line is not None else ""


@dataclass
class Totals:
    """The ledger of an experiment (or of one funder's share of it): per line and in
    total, planned, committed and not paid, paid, what remains."""

    experiment: Experiment
    recoverable: bool
    lines: list[LineView]
    unassigned: LineView | None
    total: LineView
    funder: Funder | None = None


def distribute(cents: int, weights: list[tuple[int, int]], whole: int) -> dict[int, int]:
    """Split ``cents`` by ``weights`` out of ``whole`` (largest remainder): the parts add
    up, to the cent, to ``cents × Σweights / whole`` rounded half up."""
    if not weights:
        return {}
    total_weight = sum(w for _, w in weights)
    due = (2 * cents * total_weight + whole) // (2 * whole)
    parts = {key: cents * w // whole for key, w in weights}
    left = due - sum(parts.values())
    by_remainder = sorted(weights, key=lambda kw: (-(cents * kw[1] % whole), kw[0]))
    for key, _ in by_remainder[: max(0, left)]:
        parts[key] += 1
    return parts


class Shares:
    """Who funds what: each expense's counted amount split among the funders (its own
    allocations, else its line's, else pro rata of the grants), only to funders whose
    grant period covers the expense's day."""

    def __init__(self, funders_: list[Funder], allocations_: list[Allocation]) -> None:
        self.funders = funders_
        self.by_expense: dict[int, list[tuple[int, int]]] = {}
        self.by_line: dict[int, list[tuple[int, int]]] = {}
        for a in allocations_:
            if a.expense_id is not None:
                self.by_expense.setdefault(a.expense_id, []).append((a.funder_id, a.share))
            elif a.budget_line_id is not None:
                self.by_line.setdefault(a.budget_line_id, []).append((a.funder_id, a.share))
        self._periods = {pk(f): (f.starts_on, f.ends_on) for f in funders_}
        self._grants = [(pk(f), f.granted_cents) for f in funders_]
        self._weights: dict[tuple[tuple[str, int | None], date], tuple[list[tuple[int, int]], int]]
        self._weights = {}

    def covers(self, funder_id: int, day: date) -> bool:
        start, end = self._periods.get(funder_id, (None, None))
        return (start is None or start <= day) and (end is None or day <= end)

    def split(self, row: LedgerRow, cents: int) -> dict[int, int]:
        if row.id in self.by_expense:
            source: tuple[str, int | None] = ("expense", row.id)
        elif row.line_id is not None and row.line_id in self.by_line:
            source = ("line", row.line_id)
        else:
            source = ("pro rata", None)
        # The weights depend on the source and the day only: worked out once for each.
        key = (source, row.spent_on)
        found = self._weights.get(key)
        if found is None:
            found = self._weights[key] = self._weights_of(source, row.spent_on)
        weights, whole = found
        return distribute(cents, weights, whole) if weights else {}

    def _weights_of(
        self, source: tuple[str, int | None], day: date
    ) -> tuple[list[tuple[int, int]], int]:
        kind, key = source
        if kind != "pro rata":
            explicit = (self.by_expense if kind == "expense" else self.by_line)[key or 0]
            return [(f, w) for f, w in explicit if self.covers(f, day)], WHOLE
        grants = [(f, g) for f, g in self._grants if g > 0 and self.covers(f, day)]
        return grants, sum(g for _, g in grants)


def shares_of(ctx: Context, experiment: Experiment) -> Shares:
    return Shares(funders(ctx, experiment), allocations(ctx, experiment))


def totals(
    ctx: Context,
    experiment: Experiment,
    rows: Iterable[LedgerRow],
    *,
    funder: Funder | None = None,
    shares: Shares | None = None,
) -> Totals:
    """Sum ``rows`` per line and status; for ``funder``, its share of each expense."""
    recoverable = vat_recoverable(ctx, experiment)
    lines = budget.budget_lines(ctx, experiment)
    views = {pk(line): LineView(line, line.planned_cents) for line in lines}
    if funder is not None:
        shares = shares or shares_of(ctx, experiment)
        # A funder's budget per line: its share of the line's plan.
        for line_id, view in views.items():
            view.budget_cents = _funder_plan(shares, funder, line_id, view.budget_cents)
    loose = LineView(None, 0)
    for row in rows:
        cents = counted(row.ttc, row.ht, recoverable)
        if funder is not None:
            assert shares is not None
            cents = shares.split(row, cents).get(pk(funder), 0)
            if not cents:
                continue
        found = views.get(row.line_id) if row.line_id is not None else None
        (found or loose).sums.add(row.status, cents)
    total = LineView(
        None,
        sum(v.budget_cents for v in views.values())
        if funder is not None or experiment.budget_envelope_cents is None
        else experiment.budget_envelope_cents,
    )
    for view in [*views.values(), loose]:
        total.sums.plus(view.sums)
    if funder is not None:
        total.budget_cents = funder.granted_cents
    return Totals(
        experiment,
        recoverable,
        list(views.values()),
        loose if loose.sums.count else None,
        total,
        funder,
    )


def _funder_plan(shares: Shares, funder: Funder, line_id: int, planned: int) -> int:
    explicit = shares.by_line.get(line_id)
    if explicit:
        return distribute(planned, explicit, WHOLE).get(pk(funder), 0)
    grants = [(pk(f), f.granted_cents) for f in shares.funders if f.granted_cents > 0]
    if not grants:
        return 0
    return distribute(planned, grants, sum(g for _, g in grants)).get(pk(funder), 0)


def committed_unpaid(rows: Iterable[LedgerRow]) -> list[LedgerRow]:
    return [r for r in rows if r.status in COMMITTED_UNPAID]
