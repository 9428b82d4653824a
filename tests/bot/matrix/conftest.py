"""The Matrix tests' lab on the real Synapse (``homeserver``, in ``tests/synapse.py``: started
once per test session, per xdist worker, and shared with the contract suite; never skipped:
if it does not start, every test that needs it fails with its log)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.matrix.connector import MatrixConfig, MatrixConnector
from commands.core import Router
from commands.registry import build_router
from tests.synapse import Account, Client, Homeserver


class Lab:
    """A test's people and Coordo's account on the homeserver, each under a fresh name."""

    def __init__(self, server: Homeserver, engine: Engine, folder: Path) -> None:
        self.server = server
        self.engine = engine
        self.folder = folder
        self.tag = uuid.uuid4().hex[:8]
        self.bot = server.register(f"coordo-{self.tag}")
        self.connectors: list[MatrixConnector] = []
        self.clients: list[Client] = []

    def person(self, name: str) -> Client:
        client = Client(self.server, self.server.register(f"{name}-{self.tag}"))
        self.clients.append(client)
        return client

    def connector(
        self,
        *,
        partners: list[str] | None = None,
        pacing: float = 0.0,
        account: Account | None = None,
        router: Router | None = None,
    ) -> MatrixConnector:
        bot = account or self.bot
        config = MatrixConfig(
            homeserver=self.server.url,
            user_id=bot.user_id,
            access_token=bot.access_token,
            data_dir=self.folder / "matrix-data",
            partners=partners or [],
            pacing=pacing,
        )
        connector = MatrixConnector(
            config, self.engine, router or build_router(), send_outbox=False
        )
        connector.start()
        self.connectors.append(connector)
        return connector

    def close(self) -> None:
        for connector in self.connectors:
            connector.stop()
        for client in self.clients:
            client.close()


@pytest.fixture
def lab(homeserver: Homeserver, engine: Engine, tmp_path: Path) -> Iterator[Lab]:
    made = Lab(homeserver, engine, tmp_path)
    yield made
    made.close()
