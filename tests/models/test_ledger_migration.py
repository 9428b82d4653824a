"""Migration 0020 from the previous head, with rows: old expenses become paid on their day
by their author with VAT unknown, the usual budget lines get their account class, and the
schema is the one the models describe."""

from __future__ import annotations

from datetime import UTC, date, datetime

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import Session, SQLModel, select

from models import LedgerEntry, LineNature
from models.db import downgrade, make_engine, migrate


def test_upgrade_from_0005_carries_the_expenses_and_lines(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate(engine, "0005")
    now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC).replace(tzinfo=None)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO workspace (id, platform, external_id, name, locale, timezone, created_at) "
                "VALUES (1, 'slack', 'T1', 'Labo', 'fr', 'Europe/Paris', :now)"
            ),
            {"now": now},
        )
        conn.execute(
            text(
                "INSERT INTO person (id, workspace_id, external_id, handle, display_name, is_guest, created_at) "
                "VALUES (1, 1, 'U1', 'marie', 'Marie', FALSE, :now)"
            ),
            {"now": now},
        )
        conn.execute(
            text(
                "INSERT INTO experiment (id, workspace_id, slug, name, territory, timezone, locale, currency, "
                "partners_see_budget, expense_limit_cents, working_days, working_hours_start, "
                "working_hours_end, reminder_lead_days, digest_weekday, digest_time, created_at) "
                "VALUES (1, 1, 'bondy', 'Bondy', '', 'Europe/Paris', 'fr', 'EUR', FALSE, 5000000, "
                "'1,2,3,4,5', '09:00:00', '18:00:00', '7,1,0', 1, '09:00:00', :now)"
            ),
            {"now": now},
        )
        for line_id, key in ((1, "logistique"), (2, "communication"), (3, "divers")):
            conn.execute(
                text(
                    "INSERT INTO budget_line (id, experiment_id, key, label, planned_cents, position, created_at) "
                    "VALUES (:id, 1, :key, :key, 100000, :id, :now)"
                ),
                {"id": line_id, "key": key, "now": now},
            )
        for expense_id, line_id, cents, day in (
            (1, 1, 125050, "2026-11-02"),
            (2, None, 4200, "2026-11-20"),
        ):
            conn.execute(
                text(
                    "INSERT INTO expense (id, experiment_id, budget_line_id, amount_cents, currency, description, "
                    "spent_on, supplier, receipt_url, author_id, created_at) "
                    "VALUES (:id, 1, :line, :cents, 'EUR', 'x', :day, '', '', 1, :now)"
                ),
                {"id": expense_id, "line": line_id, "cents": cents, "day": day, "now": now},
            )
    migrate(engine, "0020")
    with Session(engine) as session:
        entries = session.exec(select(LedgerEntry).order_by(LedgerEntry.expense_id)).all()
        assert [
            (e.id, e.expense_id, e.status, e.paid_on, e.paid_by, e.ht_cents, e.vat_cents)
            for e in entries
        ] == [
            (1, 1, "paid", date(2026, 11, 2), 1, None, None),
            (2, 2, "paid", date(2026, 11, 20), 1, None, None),
        ]
        natures = {n.budget_line_id: n.account for n in session.exec(select(LineNature))}
        assert natures == {1: "61", 2: "62"}
    migrate(engine, "head")
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), SQLModel.metadata) == []
    downgrade(engine, "0005")
    assert "ledger_entry" not in inspect(engine).get_table_names()
    assert "expense" in inspect(engine).get_table_names()
    engine.dispose()
