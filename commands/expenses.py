"""``/depense`` (``/dépense``, ``/expense``): log an expense in five seconds, correct it,
watch the budget, and export it for the finance department.

    /depense 1 250,50 € location de salle poste:logistique
    /expense 42 EUR coffee for the workshop line:catering
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from commands import ledger
from commands.args import Args, closest, fold, mention_from_text, tokenize
from commands.core import Context, Family, Router, Subcommand, find_person, words
from commands.dates import parse_when
from commands.errors import UserError
from commands.lab import undo_batch
from commands.money import Amount, parse_amount, split_amount
from commands.render import message, plain_message, plain_render
from commands.reply import File, Form, FormField, Reply
from commands.services import audit
from commands.services import expenses as service
from models import Experiment, Person, Role

LOG_OPTIONS = {
    "poste": "line",
    "ligne": "line",
    "line": "line",
    "date": "date",
    "le": "date",
    "on": "date",
    "fournisseur": "supplier",
    "supplier": "supplier",
    "justificatif": "receipt",
    "facture": "receipt",
    "receipt": "receipt",
}
EDIT_OPTIONS = {
    **LOG_OPTIONS,
    "montant": "amount",
    "amount": "amount",
    "description": "description",
    "libelle": "description",
    "libellé": "description",
}
# The ledger's options when logging (``tva:``, ``ht:``, ``facture:``…; see commands.ledger).
LOG_OPTIONS = {**LOG_OPTIONS, **ledger.LOG_OPTIONS}
LIST_OPTIONS = {
    "poste": "line",
    "line": "line",
    "mois": "period",
    "month": "period",
    "periode": "period",
    "période": "period",
    "period": "period",
    "par": "author",
    "by": "author",
    "auteur": "author",
    "author": "author",
}
LINE_ACTIONS = {
    "ajouter": "add",
    "add": "add",
    "creer": "add",
    "new": "add",
    "modifier": "set",
    "changer": "set",
    "set": "set",
    "change": "set",
    "renommer": "rename",
    "rename": "rename",
    "supprimer": "remove",
    "retirer": "remove",
    "remove": "remove",
    "delete": "remove",
}
FORMATS = {"csv": "csv", "xlsx": "xlsx", "excel": "xlsx", "xls": "xlsx"}


# -- periods --------------------------------------------------------------------------

MONTHS = {
    **{
        name: n
        for n, names in enumerate(
            [
                ("janvier", "janv", "january", "jan"),
                ("fevrier", "fevr", "fev", "february", "feb"),
                ("mars", "march", "mar"),
                ("avril", "avr", "april", "apr"),
                ("mai", "may"),
                ("juin", "june", "jun"),
                ("juillet", "juil", "july", "jul"),
                ("aout", "august", "aug"),
                ("septembre", "sept", "september", "sep"),
                ("octobre", "oct", "october"),
                ("novembre", "nov", "november"),
                ("decembre", "dec", "december"),
            ],
            start=1,
        )
        for name in names
    }
}
_YEAR_MONTH = re.compile(r"(\d{4})-(\d{1,2})")
_MONTH_YEAR = re.compile(r"(\d{1,2})/(\d{4})")
_DAY = re.compile(r"(\d{1,2})/(\d{1,2})(?:/(\d{4}))?")
_RANGE = re.compile(r"\s*(?:\.\.|→|\s-\s|\sa\s|\sau\s|\sto\s|\suntil\s|\sjusqu'au\s)\s*")
_LEAD = re.compile(r"^(?:(?:du|de|from|en|in)\s+|d')")


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    @property
    def bounds(self) -> tuple[date, date]:
        return self.start, self.end

    @property
    def is_month(self) -> bool:
        return (self.start, self.end) == service.month_bounds(self.start.year, self.start.month)

    @property
    def slug(self) -> str:
        if self.is_month:
            return f"{self.start:%Y-%m}"
        return f"{self.start:%Y%m%d}-{self.end:%Y%m%d}"


def parse_period(text: str, today: date) -> Period | None:
    """A month (``novembre``, ``november 2026``, ``2026-11``, ``11/2026``, ``ce mois``,
    ``mois dernier``), a year (``2026``), a day, or a range of them
    (``septembre..novembre``, ``du 01/09/2026 au 15/11/2026``, ``2026-09 to 2026-11``).
    A month without a year is the last one that has begun. None: no period (everything)."""
    folded = " ".join(fold(text).replace("’", "'").split())
    if not folded or folded in ("tout", "toutes", "all", "tous"):
        return None
    parts = _RANGE.split(_LEAD.sub("", folded), maxsplit=1)
    if len(parts) == 2:
        end = _one_period(parts[1], today, text)
        start = _one_period(parts[0], min(today, end.end), text)
        if start.start > end.end:
            raise UserError("expenses.bad_period", text=text)
        return _sane(Period(start.start, end.end))
    return _sane(_one_period(parts[0], today, text))


# The years a period may reach: far enough from the calendar's ends that a period's
# neighbours (the month after, the year before) can be worked out.
FIRST_YEAR, LAST_YEAR = 1900, 2200


def _year(typed: str) -> int:
    year = int(typed)
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise UserError("core.bad_year", year=year, first=FIRST_YEAR, last=LAST_YEAR)
    return year


def _sane(period: Period) -> Period:
    for year in (period.start.year, period.end.year):
        _year(str(year))
    return period


def _one_period(part: str, today: date, typed: str) -> Period:
    part = _LEAD.sub("", part.strip())
    try:
        if part in ("ce mois", "ce mois-ci", "this month", "mois en cours"):
            return Period(*service.month_bounds(today.year, today.month))
        if part in ("mois dernier", "le mois dernier", "last month", "mois precedent"):
            year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
            return Period(*service.month_bounds(year, month))
        if part.isdigit() and len(part) == 4:
            year = _year(part)
            return Period(date(year, 1, 1), date(year, 12, 31))
        if m := _YEAR_MONTH.fullmatch(part):
            return Period(*service.month_bounds(_year(m.group(1)), int(m.group(2))))
        if m := _MONTH_YEAR.fullmatch(part):
            return Period(*service.month_bounds(_year(m.group(2)), int(m.group(1))))
        if m := _DAY.fullmatch(part):
            day, month = int(m.group(1)), int(m.group(2))
            year = int(m.group(3)) if m.group(3) else today.year
            found = date(year, month, day)
            if not m.group(3) and found > today:
                found = date(year - 1, month, day)
            return Period(found, found)
        if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", part):
            found = date.fromisoformat(
                "-".join(f"{int(x):02d}" if i else x for i, x in enumerate(part.split("-")))
            )
            return Period(found, found)
        words_ = part.split()
        if words_ and words_[0] in MONTHS and len(words_) <= 2:
            month = MONTHS[words_[0]]
            if len(words_) == 2:
                if not (words_[1].isdigit() and len(words_[1]) == 4):
                    raise ValueError(part)
                year = int(words_[1])
            else:
                year = today.year if month <= today.month else today.year - 1
            return Period(*service.month_bounds(year, month))
    except ValueError:
        pass
    raise UserError("expenses.bad_period", text=typed)


# -- handlers -------------------------------------------------------------------------


def _maybe_a_subcommand(word: str) -> None:
    """``/depense budjet``: a word near a subcommand is one mistyped, not an amount."""
    if any(c.isdigit() for c in word):
        return
    spellings = [w for sub in family().subcommands for w in sub.words]
    suggestion = closest(word, spellings)
    if suggestion is not None:
        raise UserError(
            "core.unknown_subcommand",
            command="expense",
            word=word,
            suggestion=suggestion,
            family="expense",
        )


def _amount_and_rest(text: str) -> tuple[str, str]:
    """The amount as typed and the rest, for messages that quote it."""
    amount, rest = split_amount(text)
    del amount
    typed = text[: len(text) - len(rest)].strip() if rest else text.strip()
    return typed, rest


# The longest value each part of a command may have; the text itself holds the amount
# and the description.
_LIMITS = {
    "text": service.DESCRIPTION_LIMIT + 40,
    "description": service.DESCRIPTION_LIMIT,
    "receipt": service.RECEIPT_LIMIT,
    "supplier": service.SUPPLIER_LIMIT,
}


def _check_lengths(args: Args) -> None:
    """A text far longer than any expense (a paste gone wrong) is refused before anything
    quotes it back."""
    for name, value in [("text", args.text), *args.options.items()]:
        limit = _LIMITS.get(name, service.LABEL_LIMIT)
        if len(value) > limit:
            raise UserError("expenses.too_long", field=name, length=len(value), limit=limit)


_OPTION_START = re.compile(r"([^\W\d_][\w\-]*):")


_YEAR = re.compile(r"\d{4}")
_AMOUNT_PART = re.compile(r"\d{3}(?:[.,]\d{1,2})?|[€$£]|eur|euros?|usd|gbp|chf", re.IGNORECASE)


def _continue_option(
    ctx: Context,
    args: Args,
    name: str,
    spellings: dict[str, str],
    part: Callable[[str], bool],
    reads: Callable[[str], object],
) -> None:
    """An option's value stops at a space; take along the words right after it when they
    continue it (``date:lundi dernier``, ``montant:1 250,50 €``): each must look like a
    part (``part``) and the longer value must still read (``reads`` raises otherwise)."""
    value = args.option(name)
    if not value:
        return
    tokens = [token for token, _ in tokenize(ctx.invocation.text)]
    at = next(
        (
            i
            for i, token in enumerate(tokens)
            if (m := _OPTION_START.match(token)) and spellings.get(fold(m.group(1))) == name
        ),
        None,
    )
    if at is None:
        return
    following: list[str] = []
    for token in tokens[at + 1 : at + 4]:
        if not part(token):
            break
        following.append(token)
    for n in range(len(following), 0, -1):
        run = following[:n]
        starts = [i for i in range(len(args.words)) if args.words[i : i + n] == run]
        if len(starts) != 1:
            continue
        candidate = " ".join([value, *run])
        try:
            reads(candidate)
        except UserError:
            continue
        args.options[name] = candidate
        del args.words[starts[0] : starts[0] + n]
        return


def _spoken_date(
    ctx: Context, experiment: Experiment, args: Args, spellings: dict[str, str]
) -> None:
    """``date:lundi dernier``, ``date:12 novembre 2026``."""

    def reads(text: str) -> object:
        return parse_when(text, now=ctx.now, lang=ctx.locale, tz=experiment.timezone, mode="any")

    _continue_option(
        ctx,
        args,
        "date",
        spellings,
        lambda token: token.isalpha() or bool(_YEAR.fullmatch(token)),
        reads,
    )


def _spoken_amount(ctx: Context, args: Args) -> None:
    """``montant:1 250,50 €``, ``montant:42 EUR``."""
    _continue_option(
        ctx, args, "amount", EDIT_OPTIONS, lambda t: bool(_AMOUNT_PART.fullmatch(t)), parse_amount
    )


_OPERATOR = re.compile(r"^(?P<op>[x×*+/÷])\s*(?=[€$£]?\s?\d)", re.IGNORECASE)
_CURRENCY_AMOUNT = re.compile(
    r"(?<![\w.,])(?:[€$£]\s?\d[\d.,]*|\d[\d.,]*(?:[\s\u00a0\u202f]\d{3})*\s?(?:[€$£]|(?:eur|euros?|usd|gbp|chf)\b))",
    re.IGNORECASE,
)


def _typed(cents: int, locale: str, symbol: str) -> str:
    units, rest = divmod(cents, 100)
    if not rest:
        return f"{units} {symbol}"
    return f"{units}{',' if locale == 'fr' else '.'}{rest:02d} {symbol}"


def _no_second_amount(
    ctx: Context, experiment: Experiment, amount: Amount, amount_text: str, rest: str
) -> None:
    """``3 x 12 € pizzas``, ``pizzas à 12 €``: the text after the amount holds an operator
    and a number, or another amount. Asked back, nothing written: a wrong figure is worse
    than a question."""
    typed = f"{amount_text} {rest}".strip()
    if m := _OPERATOR.match(rest):
        op = m.group("op").lower()
        try:
            right, after = split_amount(rest[m.end() :])
        except UserError:
            right, after = None, ""
        currency = (right and right.currency) or amount.currency or experiment.currency
        symbol = "€" if currency == "EUR" else currency
        if right is not None and op in ("x", "×", "*", "+"):
            if op == "+":
                result = amount.cents + right.cents
            elif amount.cents % 100 == 0:
                result = amount.cents // 100 * right.cents
            else:
                result = amount.cents * right.cents // 100
            if result > 0:
                raise UserError(
                    "expenses.arithmetic",
                    text=typed,
                    left=amount_text,
                    op="×" if op in ("x", "*") else op,
                    right=rest[m.end() : len(rest) - len(after)].strip(),
                    result=result,
                    currency=currency,
                    typed=_typed(result, ctx.locale, symbol),
                    rest=after or "…",
                )
        raise UserError(
            "expenses.two_amounts",
            text=typed,
            first=amount_text,
            second=rest[m.end() :].split()[0] if rest[m.end() :].split() else "",
            rest=after or "…",
        )
    if m := _CURRENCY_AMOUNT.search(rest):
        others = (rest[: m.start()] + rest[m.end() :]).strip()
        raise UserError(
            "expenses.two_amounts",
            text=typed,
            first=amount_text,
            second=m.group(0).strip(),
            rest=" ".join(others.split()) or "…",
        )


def log(ctx: Context, args: Args, status: str = "paid") -> Reply:
    """``/depense <amount> <description> [poste:…] [date:…] [fournisseur:…] [justificatif:…]``
    (and the ledger's ``tva:``, ``ht:``, ``facture:``…)"""
    typed = ledger.typed_input(args)
    _check_lengths(args)
    if not args.words:
        raise UserError("expenses.usage")
    experiment = ctx.experiment(args)
    ctx.require(experiment, Role.COORDINATOR, Role.MEMBER)
    _spoken_date(ctx, experiment, args, LOG_OPTIONS)
    try:
        amount, description = split_amount(args.text)
    except UserError:
        _maybe_a_subcommand(args.words[0])
        raise
    amount_text, _ = _amount_and_rest(args.text)
    _no_second_amount(ctx, experiment, amount, amount_text, description)
    changed = service.log_expense(
        ctx,
        experiment,
        amount=amount,
        amount_text=amount_text,
        description=description,
        line_text=args.option("line"),
        when=args.option("date"),
        supplier=args.option("supplier") or "",
        receipt=args.option("receipt") or "",
        ledger_side=ledger.ledger_side(ctx, experiment, typed, status),
    )
    reply = ctx.reply(
        "expense/logged",
        experiment,
        e=experiment,
        c=changed,
        author=ctx.person,
        visibility=service.team_visibility(ctx, experiment),
        changed=True,
        undo=True,
    )
    return ledger.after_log(ctx, experiment, changed, typed, reply, status=status)


def edit(ctx: Context, args: Args) -> Reply:
    """``modifier <n°> [montant:…] [poste:…] [date:…] [fournisseur:…] [justificatif:…]
    [description:"…"]``"""
    _check_lengths(args)
    if not args.words:
        raise UserError("expenses.edit_usage")
    experiment = ctx.experiment(args)
    ctx.require(experiment, Role.COORDINATOR, Role.MEMBER)
    expense = service.get_expense(ctx, experiment, args.words[0])
    _spoken_date(ctx, experiment, args, EDIT_OPTIONS)
    _spoken_amount(ctx, args)
    if len(args.words) > 1:
        raise UserError("expenses.edit_stray", id=expense.id, words=" ".join(args.words[1:]))
    if not args.options.keys() - {"experiment"}:
        raise UserError("expenses.edit_usage")
    amount_text = args.option("amount")
    changed = service.edit_expense(
        ctx,
        experiment,
        expense,
        amount=parse_amount(amount_text) if amount_text is not None else None,
        amount_text=amount_text or "",
        description=args.option("description"),
        line_text=args.option("line"),
        when=args.option("date"),
        supplier=args.option("supplier"),
        receipt=args.option("receipt"),
        amount_side=lambda corrected: ledger.service.amount_changed(ctx, experiment, corrected),
    )
    return _change_reply(ctx, "expense/edited", experiment, changed)


def _change_reply(ctx: Context, template: str, experiment: Experiment, changed: object) -> Reply:
    """A change to an expense, told to the team where everyone may see amounts."""
    return ctx.reply(
        template,
        experiment,
        e=experiment,
        c=changed,
        visibility=service.team_visibility(ctx, experiment),
        changed=True,
        undo=True,
    )


def delete(ctx: Context, args: Args) -> Reply:
    if not args.words:
        raise UserError("expenses.delete_usage")
    experiment = ctx.experiment(args)
    ctx.require(experiment, Role.COORDINATOR, Role.MEMBER)
    expense = service.get_expense(ctx, experiment, args.words[0])
    changed = service.delete_expense(ctx, experiment, expense)
    return _change_reply(ctx, "expense/deleted", experiment, changed)


def show(ctx: Context, args: Args) -> Reply:
    if not args.words:
        raise UserError("expenses.show_usage")
    experiment = ctx.experiment(args)
    service.require_budget_view(ctx, experiment)
    expense = service.get_expense(ctx, experiment, args.words[0], deleted=True)
    return ctx.reply(
        "expense/show",
        experiment,
        e=experiment,
        x=expense,
        line=service.line_of(ctx, expense),
        author=audit.person_name(ctx.session, expense.author_id),
    )


def history(ctx: Context, args: Args) -> Reply:
    if not args.words:
        raise UserError("expenses.history_usage")
    experiment = ctx.experiment(args)
    service.require_budget_view(ctx, experiment)
    expense = service.get_expense(ctx, experiment, args.words[0], deleted=True)
    return ctx.reply(
        "expense/history",
        experiment,
        e=experiment,
        x=expense,
        entries=service.expense_history(ctx, experiment, expense),
    )


def list_(ctx: Context, args: Args) -> Reply:
    experiment = ctx.experiment(args)
    service.require_budget_view(ctx, experiment)
    line_text = args.option("line")
    line = service.find_line(ctx, experiment, line_text) if line_text else None
    today = service.today_in(experiment, ctx.now)
    period_text = args.option("period")
    if period_text is None and args.words:
        period_text = " ".join(args.words)
    period = parse_period(period_text, today) if period_text else None
    author = _author(ctx, args)
    listing = service.list_expenses(
        ctx, experiment, line=line, period=period.bounds if period else None, author=author
    )
    return ctx.reply(
        "expense/list",
        experiment,
        e=experiment,
        listing=listing,
        line=line,
        period=period,
        author=author,
    )


def _author(ctx: Context, args: Args) -> Person | None:
    text = args.option("author")
    if text is not None:
        mention = mention_from_text(text) or mention_from_text("@" + text.lstrip("@"))
        if mention is None:
            raise UserError("expenses.list_usage")
        return find_person(ctx, mention.name, mention.user_id)
    if args.mentions:
        mention = args.mentions[0]
        return find_person(ctx, mention.name, mention.user_id)
    return None


def budget(ctx: Context, args: Args) -> Reply:
    experiment = ctx.experiment(args)
    service.require_budget_view(ctx, experiment)
    return ctx.reply(
        "expense/budget", experiment, e=experiment, s=service.budget_state(ctx, experiment)
    )


def lines(ctx: Context, args: Args) -> Reply:
    experiment = ctx.experiment(args)
    service.require_budget_view(ctx, experiment)
    return ctx.reply(
        "expense/lines",
        experiment,
        e=experiment,
        lines=service.budget_lines(ctx, experiment),
        coordinator=ctx.role_in(experiment) == Role.COORDINATOR,
    )


def line(ctx: Context, args: Args) -> Reply:
    """``poste ajouter|modifier|renommer|supprimer <poste> …`` (coordinators)."""
    if not args.words:
        return lines(ctx, args)
    action = LINE_ACTIONS.get(fold(args.words[0]))
    if action is None or len(args.words) < 2:
        raise UserError("expenses.line_usage")
    experiment = ctx.experiment(args)
    ctx.require(experiment, Role.COORDINATOR)
    name, rest = args.words[1], args.words[2:]
    if action == "add":
        label_words = [w for w in rest if not _looks_like_amount(w)]
        amount_words = [w for w in rest if _looks_like_amount(w)]
        planned = parse_amount(" ".join(amount_words)).cents if amount_words else 0
        added = service.add_line(ctx, experiment, name, " ".join(label_words), planned)
        return ctx.reply(
            "expense/line_added", experiment, e=experiment, line=added, changed=True, undo=True
        )
    target = service.find_line(ctx, experiment, name)
    if action == "set":
        if not rest:
            raise UserError("expenses.line_usage")
        old, new = service.set_planned(ctx, experiment, target, parse_amount(" ".join(rest)).cents)
        return ctx.reply(
            "expense/line_set",
            experiment,
            e=experiment,
            line=target,
            old=old,
            new=new,
            changed=True,
            undo=True,
        )
    if action == "rename":
        if not rest:
            raise UserError("expenses.line_usage")
        old_label = service.rename_line(ctx, experiment, target, " ".join(rest))
        return ctx.reply(
            "expense/line_renamed",
            experiment,
            e=experiment,
            line=target,
            old=old_label,
            changed=True,
            undo=True,
        )
    service.remove_line(ctx, experiment, target)
    return ctx.reply(
        "expense/line_removed", experiment, e=experiment, line=target, changed=True, undo=True
    )


_AMOUNTISH = re.compile(r"[€$£]?\d[\d\s.,]*[€$£]?|€|eur|euros?", re.IGNORECASE)


def _looks_like_amount(word: str) -> bool:
    return bool(_AMOUNTISH.fullmatch(word))


def export(ctx: Context, args: Args) -> Reply:
    """``export [csv|xlsx] [période]``: a file for the finance department."""
    experiment = ctx.experiment(args)
    ctx.require(experiment, Role.COORDINATOR, Role.MEMBER)
    words_ = list(args.words)
    kind = "xlsx"
    for i, word in enumerate(words_):
        if fold(word) in FORMATS:
            kind = FORMATS[fold(word)]
            del words_[i]
            break
    today = service.today_in(experiment, ctx.now)
    period = parse_period(" ".join(words_), today) if words_ else None
    bounds = period.bounds if period else None
    count = service.export_count(ctx, experiment, bounds)
    period_words = ctx.render("expense/period", experiment, period=period)
    # The file follows the finance department's convention: the experiment's language.
    locale = experiment.locale
    file_period = plain_render("expense/period", locale, experiment.timezone, period=period)
    # openpyxl costs a tenth of a second to import: only exports pay for it.
    from commands.services import exports

    state = service.budget_state(ctx, experiment)
    basis = message("ledger.basis", locale, ht=state.counts_ht, unknown=state.vat_unknown)
    spec = exports.ExportSpec(
        locale=locale,
        currency=experiment.currency,
        title=experiment.name,
        period=file_period,
        heading=plain_message(
            "expenses.export_heading",
            locale,
            title=experiment.name,
            period=file_period,
            day=today.strftime("%d/%m/%Y") if locale == "fr" else today.isoformat(),
        )
        + " — "
        + basis,
        counts_ht=state.counts_ht,
    )
    rows = service.export_rows(ctx, experiment, bounds)
    if kind == "csv":
        content = exports.expenses_csv(rows, spec)
        mime = "text/csv"
    else:
        in_period = service.period_spending(ctx, experiment, bounds) if bounds else None
        label = message("expenses.unassigned", locale)
        summary = exports.summary_rows(state, in_period, label)
        total = exports.total_row(summary, state, message("expenses.col_total", locale))
        content = exports.expenses_xlsx(rows, summary, total, spec)
        mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    stem = message("expenses.file_stem", locale)
    filename = f"{stem}-{experiment.slug}-{period.slug if period else 'all'}.{kind}"
    title = ctx.render("expense/export_title", experiment, e=experiment, period_words=period_words)
    reply = ctx.reply(
        "expense/exported",
        experiment,
        e=experiment,
        count=count,
        period_words=period_words,
        kind=kind,
    )
    reply.files.append(File(filename=filename, content=content, title=title, mime_type=mime))
    return reply


def undo(ctx: Context, args: Args) -> Reply:
    experiment = ctx.experiment(args)
    batch = audit.last_batch(ctx.session, ctx.workspace_id, ctx.person_id, experiment.id)
    return undo_batch(ctx, batch)


def help_(ctx: Context, args: Args) -> Reply:
    return ctx.reply("help/_expense")


def empty(ctx: Context, args: Args) -> Reply:
    """No text: a form where the platform has them, the usage everywhere."""
    reply = ctx.reply("help/_expense")
    try:
        experiment = ctx.experiment(args)
    except UserError:
        return reply
    if ctx.role_in(experiment) not in (Role.COORDINATOR, Role.MEMBER):
        return reply
    reply.form = expense_form(ctx, experiment)
    return reply


def expense_form(ctx: Context, experiment: Experiment) -> Form:
    def label(key: str) -> str:
        return ctx.message(f"expenses.form_{key}")

    options = tuple((line.key, line.label) for line in service.budget_lines(ctx, experiment))
    return Form(
        callback="expense.log",
        title=label("title"),
        submit_label=label("submit"),
        state=experiment.slug,
        fields=(
            FormField("amount", label("amount"), placeholder="1 250,50 €"),
            FormField("description", label("description")),
            FormField("line", label("line"), kind="select", required=False, options=options),
            FormField("date", label("date"), kind="date", required=False),
            FormField("supplier", label("supplier"), required=False),
            FormField("receipt", label("receipt"), required=False, placeholder="https://"),
            # The ledger's side, as ``tva:``, ``ht:`` and ``facture:`` when typed.
            FormField("rate", label("rate"), kind="select", required=False, options=VAT_OPTIONS),
            FormField("ht", label("ht"), required=False, placeholder="1 000,00"),
            FormField("invoice", label("invoice"), required=False, placeholder="F-2026-042"),
        ),
    )


# The French VAT rates, as typed after ``tva:``.
VAT_OPTIONS = (("20", "20 %"), ("10", "10 %"), ("5,5", "5,5 %"), ("2,1", "2,1 %"), ("0", "0 %"))


# The form field at fault for each kind of error (the catalog, or the whole key).
FORM_FIELDS = {
    "money": "amount",
    "dates": "date",
    "expenses.usage": "amount",
    "expenses.wrong_currency": "amount",
    "expenses.over_limit": "amount",
    "expenses.future_date": "date",
    "expenses.outside_period": "date",
    "expenses.arithmetic": "amount",
    "expenses.two_amounts": "amount",
    "expenses.unknown_line": "line",
    "expenses.bad_receipt": "receipt",
    "expenses.missing_description": "description",
    "ledger.bad_vat_rate": "rate",
    "ledger.ht_above_ttc": "ht",
    "ledger.vat_mismatch": "ht",
    "ledger.bad_siret": "supplier",
    "ledger.bad_invoice_number": "invoice",
    "ledger.duplicate_invoice": "invoice",
}


def submit_form(ctx: Context, values: dict[str, str]) -> Reply:
    """The form's values, logged as if typed; the form's state names its experiment."""
    args = Args(words=[], options={})
    if experiment := values.get("experiment") or ctx.form_state:
        args.options["experiment"] = experiment
    amount = (values.get("amount") or "").strip()
    description = (values.get("description") or "").strip()
    args.words = [w for w in f"{amount} {description}".split() if w]
    for name in ("line", "date", "supplier", "receipt", "rate", "ht", "invoice"):
        if values.get(name):
            args.options[name] = values[name]
    try:
        return log(ctx, args)
    except UserError as error:
        fallback = FORM_FIELDS.get(error.key) or FORM_FIELDS.get(error.key.partition(".")[0])
        if fallback and not error.params.get("field"):
            error.params["field"] = fallback
        raise


def family() -> Family:
    return Family(
        name="expense",
        words={"depense": "fr", "dépense": "fr", "expense": "en"},
        subcommands=(
            Subcommand("help", words(["aide"], ["help"], ["?"]), help_),
            Subcommand("list", words(["liste"], ["list"]), list_, LIST_OPTIONS),
            Subcommand("show", words(["voir"], ["show"]), show),
            Subcommand("history", words(["historique"], ["history"]), history),
            Subcommand(
                "edit",
                words(["modifier", "corriger"], ["edit", "change"]),
                edit,
                EDIT_OPTIONS,
            ),
            Subcommand("delete", words(["supprimer"], ["delete", "remove"]), delete),
            Subcommand("undo", words(["annuler"], ["undo"]), undo),
            Subcommand("budget", words([], [], ["budget"]), budget),
            Subcommand("lines", words(["postes"], ["lines"]), lines),
            Subcommand("line", words(["poste"], ["line"]), line),
            Subcommand("export", words(["exporter"], [], ["export"]), export),
            *ledger.subcommands(LOG_OPTIONS),
        ),
        default=Subcommand("log", {}, log, LOG_OPTIONS),
        empty=Subcommand("form", {}, empty),
    )


def register(router: Router) -> None:
    router.add_form("expense.log", submit_form)
    router.add(family())
