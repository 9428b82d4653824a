"""The runner: a command's future always holds a reply; a bug becomes the apology in the
language of the command's word, a failed look-up a request to try again; nothing is
written."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, func
from sqlmodel import Session, select

from bot.kit.directory import LookupFailed
from bot.kit.runner import Runner, shared_runner
from commands.args import Args
from commands.core import Context, Family, Router, Subcommand
from commands.invocation import ChannelInfo, Invocation, UserRef, WorkspaceRef
from commands.reply import Reply
from models import Person


def broken(ctx: Context, args: Args) -> Reply:
    raise RuntimeError("a bug")


def router() -> Router:
    made = Router()
    made.add(
        Family("broken", {"casse": "fr", "broken": "en"}, (), default=Subcommand("x", {}, broken))
    )
    return made


def invocation(command: str) -> Invocation:
    return Invocation(
        workspace=WorkspaceRef("matrix", "lab.fr"),
        channel=ChannelInfo("!room:lab.fr"),
        user=UserRef("@marie:lab.fr", "marie"),
        command=command,
        text="x",
        now=datetime(2026, 11, 24, 9, tzinfo=UTC),
    )


def test_a_bug_is_an_apology_in_the_users_language(engine: Engine) -> None:
    runner = Runner(engine, router(), ack_budget=10)
    try:
        english = runner.within_budget(runner.dispatch(lambda: invocation("broken"), "en"))
        french = runner.within_budget(runner.dispatch(lambda: invocation("casse"), "fr"))
    finally:
        runner.close()
    assert english is not None
    assert french is not None
    assert english.text.startswith("Sorry")
    assert french.text.startswith("Désolé")
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Person)).one() == 0


def test_a_failed_look_up_asks_to_try_again_and_writes_nothing(engine: Engine) -> None:
    runner = Runner(engine, router())

    def unknown() -> Invocation:
        raise LookupFailed("the platform is down")

    try:
        reply = runner.within_budget(runner.dispatch(unknown, "en"))
    finally:
        runner.close()
    assert reply is not None
    assert reply.text == "I cannot check who you are just now. Try again in a moment."
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Person)).one() == 0


def test_a_process_has_one_runner_for_its_engine_and_router(engine: Engine) -> None:
    commands = router()
    runner = shared_runner(engine, commands)
    other = shared_runner(engine, router())
    try:
        assert shared_runner(engine, commands) is runner  # Slack's, Mattermost's: one pool
        assert other is not runner
    finally:
        runner.close()
        other.close()
    replaced = shared_runner(engine, commands)  # a closed runner is not handed out again
    replaced.close()
    assert replaced is not runner
