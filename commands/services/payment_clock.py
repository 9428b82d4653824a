"""The payment clock: the legal delay to pay an invoice is 30 days from its receipt. The
scan tells the coordinators when an invoice received 20 days ago, then 30, is not paid,
through the outbox (a unique key per invoice, mark and person: never twice). A ping still
queued when the invoice gets paid, deleted or its receipt date corrected is dropped at
send time (``skip_reason``).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from commands.messages import normalise_locale
from commands.render import render
from commands.reply import Reply
from commands.services import due, outbox
from models import Expense, Experiment, LedgerEntry

MARKS = (30, 20)  # days after receipt; the latest reached is the one sent
LEGAL_DELAY = 30


def queue_invoice_pings(
    session: Session, now: datetime, experiments: dict[int | None, Experiment] | None = None
) -> int:
    """Queue the current ping of every unpaid invoice received 20 days ago or more.

    Without ``experiments``, only the experiments of the invoices found are loaded."""
    if experiments is not None and not experiments:
        return 0
    horizon = now.date() + timedelta(days=1) - timedelta(days=min(MARKS))
    rows = session.exec(
        outbox.select_columns(
            LedgerEntry.expense_id,
            LedgerEntry.invoice_received_on,
            LedgerEntry.invoice_number,
            Expense.experiment_id,
            Expense.amount_cents,
            Expense.description,
            Expense.supplier,
        )
        .join(Expense, col(Expense.id) == LedgerEntry.expense_id)
        .where(
            col(LedgerEntry.invoice_received_on).is_not(None),
            col(LedgerEntry.invoice_received_on) <= horizon,
            LedgerEntry.status != "paid",
            col(Expense.deleted_at).is_(None),
        )
    ).all()
    if experiments is None:
        experiments = due.active_experiments(session, {row[3] for row in rows})
    candidates = []
    for expense_id, received, number, experiment_id, cents, description, supplier in rows:
        experiment = experiments.get(experiment_id)
        if experiment is None or received is None:
            continue
        today = now.astimezone(ZoneInfo(experiment.timezone)).date()
        days = (today - received).days
        mark = next((m for m in MARKS if days >= m), None)
        if mark is None:
            continue
        candidates.append(
            (expense_id, received, number, experiment, cents, description, supplier, mark, days)
        )
    if not candidates:
        return 0
    queued = 0
    for (
        expense_id,
        received,
        number,
        experiment,
        cents,
        description,
        supplier,
        mark,
        days,
    ) in candidates:
        people = outbox.coordinators(session, experiment.workspace_id, experiment)
        keys = {
            p.id: f"invoice:{expense_id}:{received.isoformat()}:{mark}d:p{p.id}" for p in people
        }
        known = outbox.queued_keys(session, list(keys.values()))
        for person in people:
            key = keys[person.id]
            if key in known:
                continue
            locale = normalise_locale(person.locale or experiment.locale)
            text = render(
                "ledger/invoice_ping",
                locale,
                experiment.timezone,
                e=experiment,
                expense_id=expense_id,
                number=number,
                supplier=supplier,
                cents=cents,
                description=description,
                received=received,
                days=days,
                mark=mark,
                due=received + timedelta(days=LEGAL_DELAY),
            )
            queued += outbox.enqueue(
                session,
                key=key,
                workspace_id=experiment.workspace_id,
                kind="invoice",
                target_kind="person",
                target_id=str(person.id),
                reply=Reply(text=text),
                not_before=_moment(experiment, received + timedelta(days=mark)),
                experiment=experiment,
                ref={"invoice": expense_id, "received": received.isoformat()},
            )
    return queued


def _moment(experiment: Experiment, day: date) -> datetime:
    return datetime.combine(day, experiment.working_hours_start, ZoneInfo(experiment.timezone))


def skip_reason(session: Session, ref: dict[str, object]) -> str | None:
    """Why an invoice ping should not go after all."""
    expense_id = ref.get("invoice")
    if not isinstance(expense_id, int):
        return None
    entry = session.exec(select(LedgerEntry).where(LedgerEntry.expense_id == expense_id)).first()
    expense = session.get(Expense, expense_id)
    if entry is None or expense is None or expense.deleted_at is not None:
        return "expense deleted"
    if entry.status == "paid":
        return "invoice paid"
    received = entry.invoice_received_on
    if received is None or received.isoformat() != ref.get("received"):
        return "invoice receipt changed"
    return None
