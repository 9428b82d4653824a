"""An undo applies once whatever the race: two people (or two clicks) undoing one batch at
the same instant, on real concurrent connections, revert it once; the other is told it
is undone already. An undo is itself undone by its batch, and the log then says what
holds."""

from __future__ import annotations

import threading
from dataclasses import replace

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.console import Console
from commands.reply import Reply
from models import AuditEvent, Expense
from tests.chat import normalise

TRIES = 8


def log_expense(console: Console, text: str) -> tuple[int, str]:
    """Log an expense; its id and the batch its undo button carries."""
    command, _, rest = text.lstrip("/").partition(" ")
    reply = console.router.dispatch(console.engine, console.invocation(command, rest))
    button = next(b for b in reply.buttons if b.action == "undo")
    with Session(console.engine) as session:
        expense_id = session.exec(
            select(Expense.id).where(Expense.amount_cents > 0).order_by(col(Expense.id).desc())
        ).first()
    assert expense_id is not None
    return expense_id, button.value


def undo_at_once(console: Console, batch: str, people: int = 2) -> list[str]:
    """``people`` threads click the same undo button at the same instant."""
    start = threading.Barrier(people)
    replies: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def click(n: int) -> None:
        invocation = replace(console.invocation("", ""), request_key=f"click-{batch}-{n}")
        start.wait()
        try:
            reply: Reply = console.router.act(console.engine, invocation, "undo", batch)
        except BaseException as error:  # a failure must fail the test, not vanish
            with lock:
                errors.append(error)
            return
        with lock:
            replies.append(normalise(reply.text))

    threads = [threading.Thread(target=click, args=(n,)) for n in range(people)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return replies


def undo_events(engine: Engine, batch: str) -> list[AuditEvent]:
    with Session(engine) as session:
        originals = session.exec(select(AuditEvent.id).where(AuditEvent.batch == batch)).all()
        return list(session.exec(select(AuditEvent).where(col(AuditEvent.undo_of).in_(originals))))


def test_two_simultaneous_undos_of_one_batch_apply_once(
    console: Console, demo_engine: Engine
) -> None:
    for n in range(TRIES):
        expense_id, batch = log_expense(console, f"/depense {n + 1} € café {n} poste:restauration")
        replies = undo_at_once(console, batch)
        assert sorted(("Annulé :" in normalise(r)) for r in replies) == [False, True], replies
        assert any("C'est déjà annulé" in r for r in replies), replies
        with Session(demo_engine) as session:
            originals = session.exec(select(AuditEvent).where(AuditEvent.batch == batch)).all()
            expense = session.get(Expense, expense_id)
        assert expense is not None
        assert expense.deleted_at is not None
        # One undo event per original event, never two.
        assert len(undo_events(demo_engine, batch)) == len(originals)
        assert len({e.batch for e in undo_events(demo_engine, batch)}) == 1


def test_undoing_an_undo_puts_the_change_back_and_the_log_says_so(
    console: Console, demo_engine: Engine
) -> None:
    expense_id, batch = log_expense(console, "/depense 12 € café poste:restauration")
    (first,) = undo_at_once(console, batch, people=1)
    assert "Annulé : @camille avait noté la dépense « café »" in normalise(first)
    (undo_batch,) = {e.batch for e in undo_events(demo_engine, batch)}

    # Undone by its batch number (two at once: still once).
    replies = undo_at_once(console, undo_batch)
    assert sorted(("Annulé :" in normalise(r)) for r in replies) == [False, True], replies
    with Session(demo_engine) as session:
        expense = session.get(Expense, expense_id)
        assert expense is not None
        assert expense.deleted_at is None
        originals = session.exec(select(AuditEvent).where(AuditEvent.batch == batch)).all()
        undos = session.exec(select(AuditEvent).where(AuditEvent.batch == undo_batch)).all()
        assert all(e.undone_at is None for e in originals)  # in effect again
        assert all(e.undone_at is not None for e in undos)  # the undo is undone
        assert len(undo_events(demo_engine, undo_batch)) == len(undos)

    # The expense's creation is the person's last change again: undo takes it away.
    reply = console.handle("/depense annuler")
    assert "Annulé : @camille avait noté la dépense « café »" in normalise(reply)
    with Session(demo_engine) as session:
        expense = session.get(Expense, expense_id)
        assert expense is not None
        assert expense.deleted_at is not None
    assert "C'est déjà annulé" in console.handle(f"/labo annuler {undo_batch}")
