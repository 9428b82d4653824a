"""The contract suite's ``platform``: each case runs once per platform, through its wire."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.contract.harness import MatrixPlatform, MattermostPlatform, Platform, SlackPlatform

PLATFORMS = ["slack", "mattermost", "matrix"]


@pytest.fixture(params=PLATFORMS)
def platform(
    request: pytest.FixtureRequest, database_url: str, engine: Engine, tmp_path: Path
) -> Iterator[Platform]:
    made: Platform
    if request.param == "slack":
        made = SlackPlatform(engine, request.getfixturevalue("fake_slack"))
    elif request.param == "mattermost":
        made = MattermostPlatform(database_url, engine, request.getfixturevalue("fake_mattermost"))
    else:
        made = MatrixPlatform(request.getfixturevalue("homeserver"), engine, tmp_path)
    yield made
    made.close()
