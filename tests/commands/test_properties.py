"""Property tests: commands of every family generated from the real grammar, in French
and English (``tests/grammar.py``), on SQLite and PostgreSQL. Whatever is typed: no
internal error, a refused command changes no row, a command that changed rows is in the
audit log. A modest number of examples here; ``make fuzz`` runs many more."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from sqlalchemy import Engine

from commands.registry import build_router
from tests.conftest import NOW
from tests.grammar import Tally, commands, run_one

ROUTER = build_router()
EXAMPLES = int(os.environ.get("COORDO_PROPERTY_EXAMPLES", "25"))


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(command=commands(ROUTER))
def test_any_command_is_answered_and_logged_or_changes_nothing(
    demo_engine: Engine, command: tuple[str, str]
) -> None:
    tally = Tally()
    run_one(ROUTER, demo_engine, command, NOW, tally)
    assert tally.internal_errors == []
    assert tally.refused_but_changed == []
    assert tally.changed_without_audit == []
