"""Migrations 0022 and 0025 over a lab with rows: open milestones, scheduled meetings and
active experiments' digests become due
at once (the first scan works out their moments), the rest never; down and up again."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import Session, SQLModel, col, select

from commands.demo import seed_demo
from commands.services.scan import scan
from models import RECOMPUTE, Experiment, Meeting, Milestone
from models.db import downgrade, make_engine, migrate
from tests.conftest import NOW


def test_0022_backfills_the_moments_of_what_exists(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate(engine, "head")
    with Session(engine) as session:
        seed_demo(session, NOW)
        session.commit()
    downgrade(engine, "0020")
    assert "next_due_at" not in {c["name"] for c in inspect(engine).get_columns("milestone")}
    with engine.begin() as conn:
        conn.execute(text("UPDATE milestone SET status = 'done' WHERE id = 5"))
        conn.execute(text("UPDATE meeting SET status = 'cancelled' WHERE id = 2"))
    # Up to the head (0024 and 0025 change the tables too): the models' own schema.
    migrate(engine, "head")
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), SQLModel.metadata) == []
    with Session(engine) as session:
        stones = {m.id: m for m in session.exec(select(Milestone))}
        meetings = {m.id: m for m in session.exec(select(Meeting))}
        assert stones[5].next_due_at is None
        assert {m.next_due_at for i, m in stones.items() if m.status == "open"} == {RECOMPUTE}
        assert meetings[2].next_due_at is None
        assert meetings[3].next_due_at == RECOMPUTE
        # 0025: every active experiment's digest is due at once, an archived one never.
        digests = {
            e.archived_at is None: e.digest_next_at for e in session.exec(select(Experiment))
        }
        assert digests[True] == RECOMPUTE
        # The first scan works out every moment: none is left due at once.
        scan(session, NOW)
        session.commit()
        left = session.exec(
            select(Milestone.id).where(col(Milestone.next_due_at) == RECOMPUTE)
        ).all()
        assert left == []
        assert not session.exec(
            select(Experiment.id).where(col(Experiment.digest_next_at) == RECOMPUTE)
        ).all()
        assert meetings[3].id is not None
        session.expire_all()
        moved = session.get(Meeting, meetings[3].id)
        assert moved is not None
        assert moved.next_due_at is not None
        assert moved.next_due_at > NOW
    downgrade(engine, "0020")
    assert "next_due_at" not in {c["name"] for c in inspect(engine).get_columns("meeting")}
    assert "digest_next_at" not in {c["name"] for c in inspect(engine).get_columns("experiment")}
    engine.dispose()
