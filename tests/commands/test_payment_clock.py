"""The payment clock: an unpaid invoice pings the coordinators at 20 and at 30 days after
its receipt, through the outbox, once each; a payment stops what is still queued."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.console import Console
from commands.services import outbox
from commands.services.scan import scan
from models import OutboxMessage
from tests.chat import normalise
from tests.conftest import NOW, PARIS


def invoice_rows(engine: Engine) -> list[OutboxMessage]:
    with Session(engine) as s:
        return list(
            s.exec(
                select(OutboxMessage)
                .where(OutboxMessage.kind == "invoice")
                .order_by(col(OutboxMessage.id))
            )
        )


def tick(engine: Engine, now: datetime) -> int:
    with Session(engine) as s:
        report = scan(s, now)
        s.commit()
        return report.invoice_pings


def test_pings_at_20_and_30_days_once_each(console: Console, demo_engine: Engine) -> None:
    console.handle("/depense prevoir 800 € impression poste:communication date:02/11")
    console.handle("/depense engager 15 bc:BC-1 le 02/11")
    reply = console.handle('/depense facture 15 numero:F-77 fournisseur:"Imprimerie" reçue:04/11')
    assert "reçue le 04/11/2026" in reply
    received = datetime(2026, 11, 4, 10, 0, tzinfo=PARIS)
    assert tick(demo_engine, received + timedelta(days=19)) == 0
    # Day 20 (Tuesday 24 November): each coordinator of the experiment, once.
    day20 = received + timedelta(days=20)
    first = tick(demo_engine, day20)
    assert first >= 1
    assert tick(demo_engine, day20 + timedelta(hours=1)) == 0
    rows = invoice_rows(demo_engine)
    assert all(":20d:" in r.key for r in rows)
    assert "il y a 20 jours" in normalise(rows[0].payload["text"])
    assert "F-77" in normalise(rows[0].payload["text"])
    # Day 30 (Friday 4 December).
    day30 = received + timedelta(days=30)
    assert tick(demo_engine, day30) == first
    assert tick(demo_engine, day30 + timedelta(days=3)) == 0
    late = [r for r in invoice_rows(demo_engine) if ":30d:" in r.key]
    assert "dépassé" in late[0].payload["text"]
    with Session(demo_engine) as s:
        claimed = outbox._claimed(s.get(OutboxMessage, late[0].id))
        assert outbox.skip_reason(s, claimed, day30) is None
    # Paid: what is still queued is dropped at send time, and nothing more is queued.
    console.fixed_now = NOW + timedelta(days=10)
    console.handle("/depense service fait 15")
    console.handle("/depense mandater 15 mandat:M-1")
    assert "payé" in console.handle("/depense payer 15")
    with Session(demo_engine) as s:
        claimed = outbox._claimed(s.get(OutboxMessage, late[0].id))
        assert outbox.skip_reason(s, claimed, day30) == "invoice paid"
    assert tick(demo_engine, received + timedelta(days=45)) == 0


def test_a_late_catch_up_sends_only_the_current_mark(console: Console, demo_engine: Engine) -> None:
    console.handle("/depense prevoir 800 € impression poste:communication date:02/11")
    console.handle("/depense engager 15 bc:BC-1 le 02/11")
    console.handle("/depense facture 15 numero:F-78 reçue:02/11")
    received = datetime(2026, 11, 2, 10, 0, tzinfo=PARIS)
    assert tick(demo_engine, received + timedelta(days=33)) >= 1
    assert all(":30d:" in r.key for r in invoice_rows(demo_engine))
