"""The migrations build exactly the schema the models describe, and carry rows along."""

from datetime import UTC, date, datetime

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlmodel import Session, SQLModel, select

from models import Expense, Experiment, Milestone, OutboxMessage, Person, Workspace
from models.db import (
    HEAD_REVISION,
    alembic_config,
    current_revision,
    downgrade,
    make_engine,
    migrate,
)


def revisions(engine) -> list[str]:  # type: ignore[no-untyped-def]
    script = ScriptDirectory.from_config(alembic_config(engine))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def test_upgrade_from_the_first_migration_to_the_last_with_rows(database_url: str) -> None:
    engine = make_engine(database_url)
    chain = revisions(engine)
    assert chain[0] == "0001"
    assert len(chain) >= 5
    migrate(engine, chain[0])
    now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO workspace (platform, external_id, name, locale, timezone, created_at) "
                "VALUES ('slack', 'T1', 'Labo', 'fr', 'Europe/Paris', :now)"
            ),
            {"now": now.replace(tzinfo=None)},
        )
    # Every later migration runs over a database that already holds a workspace.
    for revision in chain[1:]:
        migrate(engine, revision)
    with Session(engine) as session:
        workspace = session.exec(select(Workspace)).one()
        assert (workspace.external_id, workspace.created_at) == ("T1", now)
        person = Person(workspace_id=workspace.id, external_id="U1", handle="marie")  # type: ignore[arg-type]
        session.add(person)
        session.flush()
        experiment = Experiment(workspace_id=workspace.id, slug="bondy-bp", name="Bondy")  # type: ignore[arg-type]
        session.add(experiment)
        session.flush()
        session.add(
            Expense(
                experiment_id=experiment.id,
                amount_cents=125050,
                description="Salle",  # type: ignore[arg-type]
                spent_on=date(2026, 11, 23),
                author_id=person.id,
            )
        )  # type: ignore[arg-type]
        session.add(
            Milestone(
                experiment_id=experiment.id,
                title="Vote",
                due_on=date(2026, 12, 1),  # type: ignore[arg-type]
                original_due_on=date(2026, 12, 1),
            )
        )
        session.add(
            OutboxMessage(
                key="k",
                workspace_id=workspace.id,
                kind="test",
                target_kind="channel",  # type: ignore[arg-type]
                target_id="C1",
                not_before=now,
            )
        )
        session.commit()
        assert session.exec(select(Expense)).one().amount_cents == 125050
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), SQLModel.metadata) == []
    engine.dispose()


def test_downgrade_to_nothing_and_back(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate(engine)
    downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate(engine)
    assert "expense" in inspect(engine).get_table_names()
    engine.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_the_head_revision_known_at_start_up_is_the_newest_migration(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    assert revisions(engine)[-1] == HEAD_REVISION
    assert current_revision(engine) is None
    migrate(engine)
    assert current_revision(engine) == HEAD_REVISION
    migrate(engine)  # at head already: nothing to do
    assert current_revision(engine) == HEAD_REVISION


def test_matrix_ids_of_255_characters_are_kept_whole(database_url: str) -> None:
    # A Matrix user id, room id or event id may be 255 bytes long (the specification's
    # limit); PostgreSQL refused anything over 64 before migration 0024.
    engine = make_engine(database_url)
    migrate(engine, "0020")
    migrate(engine)
    server = ":" + "agents.collectivite.tchap.gouv.fr"
    user_id = "@" + "a" * (255 - 1 - len(server)) + server
    room_id = "!" + "r" * (255 - 1 - len(server)) + server
    event_id = "$" + "e" * 254
    with Session(engine) as session:
        workspace = Workspace(platform="matrix", external_id="x" * 255)
        session.add(workspace)
        session.flush()
        session.add(Person(workspace_id=workspace.id, external_id=user_id, handle=user_id[1:]))  # type: ignore[arg-type]
        session.add(
            OutboxMessage(
                key="k",
                workspace_id=workspace.id,  # type: ignore[arg-type]
                kind="test",
                target_kind="channel",
                target_id=room_id,
                not_before=datetime(2026, 12, 2, tzinfo=UTC),
                platform_message_id=event_id,
            )
        )
        session.commit()
    with Session(engine) as session:
        assert session.exec(select(Person.external_id)).one() == user_id
        message = session.exec(select(OutboxMessage)).one()
        assert (message.target_id, message.platform_message_id) == (room_id, event_id)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), SQLModel.metadata) == []
    engine.dispose()
