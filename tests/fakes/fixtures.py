"""Pytest fixtures for the fake chat platforms, loaded from ``tests/conftest.py``.

Each test gets its own servers on fresh ports; they stop when the test ends.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes._server import ManualClock
from tests.fakes.mattermost_api import FakeMattermost
from tests.fakes.slack_api import FakeSlack


@pytest.fixture
def manual_clock() -> ManualClock:
    """A clock for the fakes' rate limits and expiries that moves only with ``advance()``."""
    return ManualClock()


@pytest.fixture
def fake_slack(manual_clock: ManualClock) -> Iterator[FakeSlack]:
    with FakeSlack(clock=manual_clock) as slack:
        yield slack


@pytest.fixture
def fake_mattermost(manual_clock: ManualClock) -> Iterator[FakeMattermost]:
    with FakeMattermost(clock=manual_clock) as mattermost:
        yield mattermost
