"""A command whose transaction rolled back for a reason that running it again cures runs
again, whole, instead of failing: on SQLite, a snapshot gone stale (another process wrote
between its read and its write); on either database, a pooled connection found dead, or a
unique key taken meanwhile (once: a conflict that stays is a bug, not a race)."""

from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, select

from commands.args import Args
from commands.core import Context, Family, Handler, Router, Subcommand
from commands.invocation import ChannelInfo, Invocation, UserRef, WorkspaceRef
from commands.reply import Reply
from models import Experiment, Workspace
from models.db import make_engine, normalise_url
from tests.conftest import NOW


def router_with(go: Handler) -> Router:
    """``/test go`` runs ``go``; ``/test hello`` only meets the workspace and the person."""
    router = Router()
    subcommands = (
        Subcommand("go", {"go": ""}, go),
        Subcommand("hello", {"hello": ""}, lambda ctx, args: Reply(text="hello")),
    )
    router.add(Family("test", {"test": ""}, subcommands))
    return router


def go(request_key: str | None = None) -> Invocation:
    return Invocation(
        workspace=WorkspaceRef("console", "w"),
        channel=ChannelInfo("c"),
        user=UserRef("u", "u"),
        command="test",
        text="go",
        now=NOW,
        request_key=request_key,
    )


def test_a_command_overtaken_by_another_write_runs_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    engine = make_engine(url)
    SQLModel.metadata.create_all(engine)
    other = make_engine(url)  # another process's connection
    runs: list[int] = []

    def rename(ctx: Context, args: Args) -> Reply:
        runs.append(1)
        names = ctx.session.exec(select(Experiment.name)).all()  # read: snapshot taken
        if len(runs) == 1:
            with other.begin() as conn:  # someone else writes and commits meanwhile
                conn.execute(text("UPDATE workspace SET name = 'renamed elsewhere'"))
        ctx.session.add(Experiment(workspace_id=ctx.workspace_id, slug=f"e{len(names)}", name="E"))
        ctx.session.flush()  # the write: refused on the stale snapshot the first time
        return Reply(text="ok")

    router = router_with(rename)
    invocation = go()
    # Meet the workspace and the person first, so the command below starts by reading.
    assert router.dispatch(engine, replace(invocation, text="hello")).text == "hello"

    assert router.dispatch(engine, invocation).text == "ok"
    assert len(runs) == 2
    with Session(engine) as session:
        assert session.exec(select(Experiment.slug)).all() == ["e0"]
        assert session.exec(select(Workspace.name)).one() == "renamed elsewhere"


def test_a_command_on_a_connection_the_server_dropped_runs_again(
    engine: Engine, database_url: str
) -> None:
    runs: list[int] = []

    def create(ctx: Context, args: Args) -> Reply:
        runs.append(1)
        ctx.session.add(Experiment(workspace_id=ctx.workspace_id, slug="e", name="E"))
        return Reply(text="created")

    router = router_with(create)
    invocation = go(request_key="test:go:1")
    assert router.dispatch(engine, replace(invocation, text="hello")).text == "hello"
    # The one pooled connection dies while it waits in the pool: the server ends its
    # session (PostgreSQL), or the file's handle is closed under it (SQLite).
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            backend = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        raw = conn.connection.dbapi_connection
    if engine.dialect.name == "postgresql":
        admin = make_engine(normalise_url(database_url))
        with admin.begin() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        admin.dispose()
    else:
        assert raw is not None
        raw.close()

    assert router.dispatch(engine, invocation).text == "created"
    assert len(runs) == 1  # the dead connection failed the first statement, before the handler
    with Session(engine) as session:
        assert session.exec(select(Experiment.slug)).all() == ["e"]


def test_a_command_that_met_a_unique_key_taken_meanwhile_runs_again_once(engine: Engine) -> None:
    """As when two first requests of a new workspace arrive at once: the loser inserts the
    workspace the winner has just committed, its whole transaction rolls back, and run
    again it finds the row. A conflict that stays is raised after the second run."""
    runs: list[int] = []

    def create(ctx: Context, args: Args) -> Reply:
        runs.append(1)
        if len(runs) == 1:  # what the winner wrote first, met by the loser's insert
            ctx.session.add(Workspace(platform="console", external_id="w", name="w"))
            ctx.session.flush()
        ctx.session.add(Experiment(workspace_id=ctx.workspace_id, slug="e", name="E"))
        return Reply(text="created")

    assert router_with(create).dispatch(engine, go(request_key="test:go:1")).text == "created"
    assert len(runs) == 2
    with Session(engine) as session:
        assert session.exec(select(Experiment.slug)).all() == ["e"]
        assert session.exec(select(Workspace.external_id)).all() == ["w"]

    runs.clear()

    def always(ctx: Context, args: Args) -> Reply:
        runs.append(1)
        ctx.session.add(Workspace(platform="console", external_id="w", name="w"))
        ctx.session.flush()
        return Reply(text="never")

    with pytest.raises(IntegrityError):
        router_with(always).dispatch(engine, go(request_key="test:go:2"))
    assert len(runs) == 2
