"""Pytest fixtures for the fake chat platforms, loaded from ``tests/conftest.py``.

Each test gets its own servers on fresh ports; they stop when the test ends.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest

from tests.fakes import slack_rules
from tests.fakes._server import ManualClock
from tests.fakes.mattermost_api import FakeMattermost
from tests.fakes.slack_api import FakeSlack


@pytest.fixture
def manual_clock() -> ManualClock:
    """A clock for the fakes' rate limits and expiries that moves only with ``advance()``."""
    return ManualClock()


@pytest.fixture
def fake_slack(manual_clock: ManualClock) -> Iterator[FakeSlack]:
    """A fake Slack for one test; a payload it refused as invalid (``invalid_blocks``,
    ``invalid_arguments``) fails the test, unless it set ``expect_refusals``."""
    with FakeSlack(clock=manual_clock) as slack:
        yield slack
    if slack.refused and not slack.expect_refusals:
        pytest.fail("the fake Slack refused what was sent:\n" + "\n".join(slack.refused))


@pytest.fixture
def fake_mattermost(manual_clock: ManualClock) -> Iterator[FakeMattermost]:
    with FakeMattermost(clock=manual_clock) as mattermost:
        yield mattermost


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """How many Slack payloads the fake validated in this process (``-n 0`` shows them
    all; under xdist each worker appends its figures to ``$COORDO_SLACK_TALLY``)."""
    tally = slack_rules.TALLY.summary()
    if tally["messages"] or tally["views"]:
        terminalreporter.write_line(
            "Slack payloads validated by the fake: {messages} messages, {views} views, "
            "{shapes} distinct shapes, {refused} refused".format(**tally)
        )


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = os.environ.get("COORDO_SLACK_TALLY")
    tally = slack_rules.TALLY.summary()
    if path and (tally["messages"] or tally["views"]):
        shapes = sorted(slack_rules.TALLY.shapes)
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps({**tally, "shape_ids": shapes}) + "\n")
