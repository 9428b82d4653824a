"""The ledger's side of ``/depense`` (``/expense``): VAT, the spending chain, suppliers,
funders, account classes, and the funders' reports.

    /depense 1 200 € traiteur poste:restauration tva:10 fournisseur:"Traiteur Dupont" facture:F-123
    /depense prevoir 3 000 € étude de terrain poste:etudes
    /depense engager 12 bc:BC-2026-041
    /depense service fait 12 le 10/12
    /depense mandater 12 mandat:M-877
    /depense payer 12 le 15/01
    /depense engagements
    /depense financeur ajouter region "Région Île-de-France" 20000 du 01/01/2026 au 31/12/2026
    /depense rapport region 2026
    /depense etat feder
"""

from __future__ import annotations

import re
from collections.abc import Callable

from commands.args import Args, fold, mention_from_text
from commands.core import Context, Subcommand, find_person, words
from commands.errors import UserError
from commands.lab import parse_flag
from commands.money import split_amount
from commands.reply import File, Reply
from commands.services import expenses as budget
from commands.services import ledger as service
from models import Expense, Experiment, Funder, LedgerEntry, Person, Role

# Options the ledger adds to logging an expense.
LOG_OPTIONS = {
    "tva": "rate",
    "vat": "rate",
    "ht": "ht",
    "facture": "invoice",
    "invoice": "invoice",
    "facture_du": "invoice_date",
    "invoice_date": "invoice_date",
    "recue": "received",
    "reçue": "received",
    "received": "received",
}
INVOICE_OPTIONS = {
    **LOG_OPTIONS,
    "fournisseur": "supplier",
    "supplier": "supplier",
    "numero": "invoice",
    "numéro": "invoice",
    "number": "invoice",
    "du": "invoice_date",
}
STEP_OPTIONS = {
    "bc": "ref",
    "ej": "ref",
    "po": "ref",
    "engagement": "ref",
    "mandat": "ref",
    "order": "ref",
    "date": "date",
}
FUNDER_OPTIONS = {
    "type": "kind",
    "kind": "kind",
    "partenaire": "partner",
    "partner": "partner",
    "poste": "line",
    "line": "line",
    "ligne": "line",
    "depense": "expense",
    "dépense": "expense",
    "expense": "expense",
}
STEP_WORDS = {
    "prevu": "planned",
    "planned": "planned",
    "engage": "committed",
    "committed": "committed",
    "service fait": "done",
    "service": "done",
    "done": "done",
    "mandate": "ordered",
    "ordered": "ordered",
    "paye": "paid",
    "paid": "paid",
}
FORCE_WORDS = {"forcer", "force"}
DATE_LEADS = {"le", "on", "du"}
KIND_WORDS = {
    "etat": "state",
    "state": "state",
    "region": "region",
    "departement": "department",
    "department": "department",
    "commune": "municipality",
    "municipality": "municipality",
    "europe": "europe",
    "feder": "europe",
    "fse": "europe",
    "autre": "other",
    "other": "other",
}
_URL = re.compile(r"<?https?://", re.IGNORECASE)


# -- logging an expense -----------------------------------------------------------------


def typed_input(args: Args) -> service.LedgerInput:
    """The ledger options of a logged expense. ``facture:https://…`` is the receipt's
    address, as before; any other ``facture:`` is the invoice number."""
    invoice = args.option("invoice")
    if invoice is not None and _URL.match(invoice):
        args.options["receipt"] = args.options.pop("invoice")
        invoice = None
    return service.LedgerInput(
        rate=args.option("rate"),
        ht=args.option("ht"),
        supplier=args.option("supplier"),
        invoice=invoice,
        invoice_date=args.option("invoice_date"),
        received=args.option("received"),
    )


def ledger_side(
    ctx: Context, experiment: Experiment, typed: service.LedgerInput, status: str
) -> Callable[[Expense], object] | None:
    """What writes the ledger entry of an expense being logged. An expense logged as
    before (paid, nothing said of VAT or invoice) needs none: without an entry an expense
    is paid on its day by its author."""
    if status == "paid" and typed.empty:
        return None

    def write(expense: Expense) -> object:
        return service.attach(ctx, experiment, expense, typed, status=status)

    return write


def after_log(
    ctx: Context,
    experiment: Experiment,
    changed: budget.Changed,
    typed: service.LedgerInput,
    reply: Reply,
    *,
    status: str = "paid",
) -> Reply:
    """A line about the ledger entry of an expense just logged, in the reply."""
    if status == "paid" and typed.empty:
        return reply
    entry = service.entry_of(ctx, changed.expense)
    assert entry is not None  # written by ``ledger_side``
    note = ctx.render(
        "ledger/logged_note",
        experiment,
        e=experiment,
        x=changed.expense,
        entry=entry,
        recoverable=service.vat_recoverable(ctx, experiment),
    )
    reply.text = f"{reply.text}\n{note}".strip()
    return reply


def plan(ctx: Context, args: Args) -> Reply:
    """``prevoir <montant> <description> [poste:…]``: an expense planned, not spent."""
    from commands import expenses

    if not args.words:
        raise UserError("ledger.plan_usage")
    return expenses.log(ctx, args, status="planned")


# -- the chain --------------------------------------------------------------------------


def _step_args(args: Args) -> tuple[str, str | None, bool]:
    """The expense's number, the day (``le 15/01``, ``date:…``) and ``forcer``."""
    words_ = list(args.words)
    if words_ and fold(words_[0]) == "fait":
        del words_[0]
    if not words_:
        raise UserError("ledger.step_usage")
    number, rest = words_[0], words_[1:]
    force = False
    if rest and fold(rest[-1]) in FORCE_WORDS:
        force = True
        rest = rest[:-1]
    if rest and fold(rest[0]) in DATE_LEADS:
        rest = rest[1:]
    when = " ".join(rest) or args.option("date")
    return number, when, force


def _step(step: str):  # type: ignore[no-untyped-def]
    def handler(ctx: Context, args: Args) -> Reply:
        number, when, force = _step_args(args)
        experiment = ctx.experiment(args)
        ctx.require(experiment, Role.COORDINATOR, Role.MEMBER)
        expense = budget.get_expense(ctx, experiment, number)
        taken = service.advance(
            ctx, experiment, expense, step, when=when, ref=args.option("ref"), force=force
        )
        return ctx.reply(
            "ledger/step",
            experiment,
            e=experiment,
            t=taken,
            author=ctx.person,
            visibility=budget.team_visibility(ctx, experiment),
            changed=True,
            undo=True,
        )

    return handler


def status(ctx: Context, args: Args) -> Reply:
    """``statut 12 engagé``: a coordinator says where an expense really stands."""
    if len(args.words) < 2:
        raise UserError("ledger.status_usage")
    experiment = ctx.experiment(args)
    expense = budget.get_expense(ctx, experiment, args.words[0])
    step = STEP_WORDS.get(fold(" ".join(args.words[1:])))
    if step is None:
        raise UserError("ledger.status_usage")
    entry = service.set_back(ctx, experiment, expense, step)
    return ctx.reply(
        "ledger/status", experiment, e=experiment, x=expense, entry=entry, changed=True, undo=True
    )


def invoice(ctx: Context, args: Args) -> Reply:
    """``facture 12 tva:20 fournisseur:… numero:F-12 du:02/12 reçue:03/12``."""
    if not args.words:
        raise UserError("ledger.invoice_usage")
    experiment = ctx.experiment(args)
    ctx.require(experiment, Role.COORDINATOR, Role.MEMBER)
    expense = budget.get_expense(ctx, experiment, args.words[0])
    typed = typed_input(args)
    if args.option("receipt"):
        raise UserError("ledger.invoice_usage")
    entry = service.update_entry(ctx, experiment, expense, typed)
    return ctx.reply(
        "ledger/invoice",
        experiment,
        e=experiment,
        x=expense,
        entry=entry,
        supplier=_supplier_name(ctx, entry, expense.supplier),
        recoverable=service.vat_recoverable(ctx, experiment),
        changed=True,
        undo=True,
    )


def _supplier_name(ctx: Context, entry: LedgerEntry, typed: str) -> str:
    if entry.supplier_id is None:
        return typed
    from models import Supplier

    supplier = ctx.session.get(Supplier, entry.supplier_id)
    return supplier.name if supplier is not None else typed


def commitments(ctx: Context, args: Args) -> Reply:
    """What is planned, committed and not paid, paid, and what remains: per line and in
    total, with the expenses committed and not paid."""
    experiment = ctx.experiment(args)
    service.require_ledger_view(ctx, experiment)
    rows = service.ledger_rows(ctx, experiment)
    return ctx.reply(
        "ledger/commitments",
        experiment,
        e=experiment,
        s=budget.budget_state(ctx, experiment),
        waiting=service.committed_unpaid(rows),
        today=budget.today_in(experiment, ctx.now),
    )


def vat_setting(ctx: Context, args: Args) -> Reply:
    """``tva recuperable oui|non``."""
    experiment = ctx.experiment(args)
    flag_words = [w for w in args.words if fold(w) not in ("recuperable", "recoverable")]
    if not flag_words:
        ctx.require(experiment, Role.COORDINATOR, Role.MEMBER)
        return ctx.reply(
            "ledger/vat", experiment, e=experiment, r=service.vat_recoverable(ctx, experiment)
        )
    recoverable = parse_flag(flag_words[0])
    service.set_vat_recoverable(ctx, experiment, recoverable)
    return ctx.reply("ledger/vat", experiment, e=experiment, r=recoverable, changed=True, undo=True)


# -- suppliers --------------------------------------------------------------------------


def supplier(ctx: Context, args: Args) -> Reply:
    """``fournisseur ajouter "Traiteur Dupont" siret:732 829 320 00074``; alone, the list."""
    if not args.words:
        return suppliers(ctx, args)
    if fold(args.words[0]) not in ("ajouter", "add", "nouveau", "new"):
        raise UserError("ledger.supplier_usage")
    experiment = ctx.experiment(args)
    ctx.require(experiment, Role.COORDINATOR, Role.MEMBER)
    name = " ".join(args.words[1:])
    added = service.add_supplier(ctx, name, args.option("siret"))
    return ctx.reply("ledger/supplier_added", s=added, changed=True, undo=True)


def suppliers(ctx: Context, args: Args) -> Reply:
    experiment = ctx.experiment(args)
    ctx.require(experiment, Role.COORDINATOR, Role.MEMBER)
    return ctx.reply("ledger/suppliers", items=service.suppliers(ctx))


# -- funders ----------------------------------------------------------------------------


def funder(ctx: Context, args: Args) -> Reply:
    """``financeur ajouter|voir|allouer …``; alone, the list."""
    if not args.words:
        return funders(ctx, args)
    action = fold(args.words[0])
    experiment = ctx.experiment(args)
    if action in ("ajouter", "add", "nouveau", "new"):
        return _add_funder(ctx, args, experiment)
    if action in ("voir", "show", "budget") and len(args.words) > 1:
        found = service.find_funder(ctx, experiment, args.words[1])
        service.require_report(ctx, experiment, found)
        rows = service.ledger_rows(ctx, experiment)
        return ctx.reply(
            "ledger/funder_budget",
            experiment,
            e=experiment,
            f=found,
            s=service.totals(ctx, experiment, rows, funder=found),
            today=budget.today_in(experiment, ctx.now),
        )
    if action in ("allouer", "allocate") and len(args.words) > 2:
        return _allocate(ctx, args, experiment)
    raise UserError("ledger.funder_usage")


def _add_funder(ctx: Context, args: Args, experiment: Experiment) -> Reply:
    from commands.expenses import parse_period

    ctx.require(experiment, Role.COORDINATOR)
    rest = args.words[1:]
    if not rest:
        raise UserError("ledger.funder_usage")
    key, rest = rest[0], rest[1:]
    amount_at = next((i for i, w in enumerate(rest) if w[:1].isdigit() or w[:1] in "€$"), None)
    if amount_at is None:
        raise UserError("ledger.funder_usage")
    name = " ".join(rest[:amount_at])
    try:
        amount, after = split_amount(" ".join(rest[amount_at:]))
    except UserError:
        raise UserError("ledger.funder_usage") from None
    today = budget.today_in(experiment, ctx.now)
    period = parse_period(after, today) if after.strip() else None
    kind_text = args.option("kind")
    kind = KIND_WORDS.get(fold(kind_text), fold(kind_text)) if kind_text else _kind_of(key, name)
    partner = _partner(ctx, args)
    added = service.add_funder(
        ctx,
        experiment,
        key=key,
        name=name,
        granted_cents=amount.cents,
        period=period.bounds if period else None,
        kind=kind,
        partner=partner,
    )
    return ctx.reply(
        "ledger/funder_added",
        experiment,
        e=experiment,
        f=added,
        partner=partner,
        changed=True,
        undo=True,
    )


def _kind_of(key: str, name: str) -> str:
    for word in (fold(key), *fold(name).split()):
        if word in KIND_WORDS:
            return KIND_WORDS[word]
    return "other"


def _partner(ctx: Context, args: Args) -> Person | None:
    text = args.option("partner")
    if text is None:
        if args.mentions:
            return find_person(ctx, args.mentions[0].name, args.mentions[0].user_id)
        return None
    mention = mention_from_text(text) or mention_from_text("@" + text.lstrip("@"))
    if mention is None:
        raise UserError("ledger.funder_usage")
    return find_person(ctx, mention.name, mention.user_id)


def _allocate(ctx: Context, args: Args, experiment: Experiment) -> Reply:
    found = service.find_funder(ctx, experiment, args.words[1])
    share = service.parse_share(" ".join(args.words[2:]))
    line_text, expense_text = args.option("line"), args.option("expense")
    line = budget.find_line(ctx, experiment, line_text) if line_text else None
    expense = budget.get_expense(ctx, experiment, expense_text) if expense_text else None
    allocation, total = service.allocate(ctx, experiment, found, share, line=line, expense=expense)
    return ctx.reply(
        "ledger/allocated",
        experiment,
        e=experiment,
        f=found,
        a=allocation,
        line=line,
        expense=expense,
        total=total,
        changed=True,
        undo=True,
    )


def funders(ctx: Context, args: Args) -> Reply:
    experiment = ctx.experiment(args)
    service.require_ledger_view(ctx, experiment)
    return ctx.reply(
        "ledger/funders", experiment, e=experiment, items=service.funders(ctx, experiment)
    )


# -- account classes --------------------------------------------------------------------


def nature(ctx: Context, args: Args) -> Reply:
    """``nature <poste> <classe>``; alone, every line's class."""
    experiment = ctx.experiment(args)
    if not args.words:
        service.require_ledger_view(ctx, experiment)
        return ctx.reply(
            "ledger/natures",
            experiment,
            e=experiment,
            lines=budget.budget_lines(ctx, experiment),
            natures=service.natures(ctx, experiment),
        )
    if len(args.words) != 2:
        raise UserError("ledger.nature_usage")
    line = budget.find_line(ctx, experiment, args.words[0])
    old = service.set_nature(ctx, experiment, line, args.words[1])
    return ctx.reply(
        "ledger/nature_set",
        experiment,
        e=experiment,
        line=line,
        old=old,
        new=args.words[1].strip(),
        changed=True,
        undo=True,
    )


# -- reports ----------------------------------------------------------------------------


def _report_target(ctx: Context, args: Args) -> tuple[Experiment, Funder]:
    """The experiment and the funder a report is for. A funder's own partner, who may
    have no role in the experiment, names it by its funder."""
    if not args.words:
        raise UserError("ledger.report_usage")
    try:
        experiment = ctx.experiment(args)
    except UserError:
        found = service.funder_of_partner(ctx, args.words[0], args.option("experiment"))
        if found is None:
            raise
        experiment, funder_ = found
        return experiment, funder_
    funder_ = service.find_funder(ctx, experiment, args.words[0])
    service.require_report(ctx, experiment, funder_)
    return experiment, funder_


def report(ctx: Context, args: Args) -> Reply:
    """``rapport <financeur> [période]``: the CERFA 15059 financial report, XLSX and PDF."""
    return _report(ctx, args, "report")


def statement(ctx: Context, args: Args) -> Reply:
    """``etat <financeur> [période]``: the statement of expenses, XLSX and PDF."""
    return _report(ctx, args, "statement")


def _report(ctx: Context, args: Args, kind: str) -> Reply:
    from commands.expenses import parse_period
    from commands.services import reports

    experiment, funder_ = _report_target(ctx, args)
    today = budget.today_in(experiment, ctx.now)
    period_text = " ".join(args.words[1:])
    period = parse_period(period_text, today) if period_text else None
    bounds = period.bounds if period else service.funder_period(funder_)
    built = reports.build(ctx, experiment, funder_, bounds, kind)
    reply = ctx.reply(
        f"ledger/{kind}_ready",
        experiment,
        e=experiment,
        f=funder_,
        r=built.summary,
        period=bounds,
    )
    for file in built.files:
        reply.files.append(
            File(
                filename=file.filename, content=file.content, title=file.title, mime_type=file.mime
            )
        )
    return reply


def help_(ctx: Context, args: Args) -> Reply:
    return ctx.reply("ledger/help")


def subcommands(log_options: dict[str, str]) -> tuple[Subcommand, ...]:
    """The ledger's subcommands of ``/depense``, put in its family by ``commands.expenses``
    (``log_options``: those of logging an expense, for ``prevoir``)."""
    return (
        Subcommand("ledger-help", words(["compta", "comptabilite"], ["ledger"]), help_),
        Subcommand("plan", words(["prevoir", "prévoir"], ["plan"]), plan, log_options),
        Subcommand("commit", words(["engager"], ["commit"]), _step("committed"), STEP_OPTIONS),
        Subcommand(
            "done",
            words(["service", "servicefait", "service-fait"], ["delivered"]),
            _step("done"),
            STEP_OPTIONS,
        ),
        Subcommand("order", words(["mandater"], ["order"]), _step("ordered"), STEP_OPTIONS),
        Subcommand("pay", words(["payer"], ["pay"]), _step("paid"), STEP_OPTIONS),
        Subcommand("status", words(["statut"], ["status"]), status),
        Subcommand("invoice", words(["facture"], ["invoice"]), invoice, INVOICE_OPTIONS),
        Subcommand("commitments", words(["engagements"], ["commitments"]), commitments),
        Subcommand("vat", words(["tva"], ["vat"]), vat_setting),
        Subcommand(
            "supplier",
            words(["fournisseur"], ["supplier"]),
            supplier,
            {"siret": "siret"},
        ),
        Subcommand("suppliers", words(["fournisseurs"], ["suppliers"]), suppliers),
        Subcommand("funder", words(["financeur"], ["funder"]), funder, FUNDER_OPTIONS),
        Subcommand("funders", words(["financeurs"], ["funders"]), funders),
        Subcommand("nature", words([], [], ["nature"]), nature),
        Subcommand("report", words(["rapport"], ["report"]), report),
        Subcommand("statement", words(["etat", "état"], ["statement"]), statement),
    )
