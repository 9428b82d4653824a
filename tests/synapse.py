"""A real Matrix homeserver for the tests and benchmarks: Synapse, from the package registry,
on SQLite, 127.0.0.1 and a free port, with low bcrypt rounds and registration by shared
secret. ``Homeserver.start`` fails loudly (``HomeserverFailed``, with Synapse's log) when it
does not answer in time: a test that needs it never skips.

Rate limits are relaxed for the tests; ``limit_messages`` sets one user's own limit through
the admin API, for the one test (and the benchmark) of pacing.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.processes import free_port

SHARED_SECRET = "coordo-tests-shared-secret"
RELAXED = {"per_second": 10000, "burst_count": 10000}


class HomeserverFailed(RuntimeError):
    """Synapse did not start, or refused a set-up call."""


@dataclass
class Account:
    user_id: str
    access_token: str
    device_id: str
    password: str


@dataclass
class Homeserver:
    folder: Path
    server_name: str = "coordo.test"
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    started_in: float = 0.0
    admin: Account | None = None
    _log: Any = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- life --------------------------------------------------------------------------

    def write_config(self) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        config_path = self.folder / "homeserver.yaml"
        log_config = self.folder / "log.yaml"
        log_config.write_text(
            yaml.safe_dump(
                {
                    "version": 1,
                    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(message)s"}},
                    "handlers": {
                        "file": {
                            "class": "logging.FileHandler",
                            "formatter": "plain",
                            "filename": str(self.folder / "synapse.log"),
                        }
                    },
                    "root": {"level": "WARNING", "handlers": ["file"]},
                    "disable_existing_loggers": False,
                }
            )
        )
        config = {
            "server_name": self.server_name,
            "pid_file": str(self.folder / "synapse.pid"),
            "public_baseurl": f"http://127.0.0.1:{self.port}/",
            "listeners": [
                {
                    "port": self.port,
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "database": {"name": "sqlite3", "args": {"database": str(self.folder / "hs.db")}},
            "log_config": str(log_config),
            "media_store_path": str(self.folder / "media"),
            "signing_key_path": str(self.folder / "signing.key"),
            "registration_shared_secret": SHARED_SECRET,
            "macaroon_secret_key": uuid.uuid4().hex,
            "form_secret": uuid.uuid4().hex,
            "report_stats": False,
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "bcrypt_rounds": 4,
            "enable_registration": False,
            "url_preview_enabled": False,
            "presence": {"enabled": False},
            "rc_message": RELAXED,
            "rc_registration": RELAXED,
            "rc_login": {"address": RELAXED, "account": RELAXED, "failed_attempts": RELAXED},
            "rc_joins": {"local": RELAXED, "remote": RELAXED},
            "rc_joins_per_room": RELAXED,
            "rc_invites": {"per_room": RELAXED, "per_user": RELAXED, "per_issuer": RELAXED},
            "rc_admin_redaction": RELAXED,
            "rc_media_create": RELAXED,
            "rc_delayed_event_mgmt": RELAXED,
            "rc_3pid_validation": RELAXED,
            "rc_room_creation": RELAXED,
            "rc_key_requests": RELAXED,
            "rc_profile": RELAXED,
            "rc_third_party_invite": RELAXED,
            "federation_rr_transactions_per_room_per_second": 10000,
        }
        config_path.write_text(yaml.safe_dump(config))
        return config_path

    def start(self, timeout: float = 90.0) -> None:
        config_path = self.write_config()
        began = time.monotonic()
        self._log = (self.folder / "stdout.log").open("wb")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "synapse.app.homeserver",
                "-c",
                str(config_path),
                "--generate-keys",
            ],
            check=True,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "synapse.app.homeserver", "-c", str(config_path)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = began + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise HomeserverFailed(
                    f"Synapse exited ({self.process.returncode}):\n{self.logs()}"
                )
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    self.started_in = time.monotonic() - began
                    self.admin = self.register("coordo-admin", admin=True)
                    return
            except httpx.TransportError:
                pass  # not listening yet
            time.sleep(0.1)
        self.stop()
        raise HomeserverFailed(f"Synapse did not answer within {timeout:g} s:\n{self.logs()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self._log is not None:
            self._log.close()

    def logs(self) -> str:
        parts = []
        for name in ("stdout.log", "synapse.log"):
            path = self.folder / name
            if path.exists():
                parts.append(path.read_text(errors="replace")[-4000:])
        return "\n".join(parts)

    # -- accounts ----------------------------------------------------------------------

    def register(self, localpart: str, *, admin: bool = False, password: str = "") -> Account:
        """A new account, through the shared-secret registration of the admin API."""
        password = password or uuid.uuid4().hex
        endpoint = f"{self.url}/_synapse/admin/v1/register"
        nonce = httpx.get(endpoint, timeout=10).json()["nonce"]
        mac = hmac.new(SHARED_SECRET.encode(), digestmod=hashlib.sha1)
        mac.update(b"\x00".join(p.encode() for p in (nonce, localpart, password)))
        mac.update(b"\x00admin" if admin else b"\x00notadmin")
        digest = mac.hexdigest()
        answer = httpx.post(
            endpoint,
            json={
                "nonce": nonce,
                "username": localpart,
                "password": password,
                "admin": admin,
                "mac": digest,
            },
            timeout=30,
        )
        if answer.status_code != 200:
            raise HomeserverFailed(f"register {localpart}: {answer.status_code} {answer.text}")
        body = answer.json()
        return Account(body["user_id"], body["access_token"], body["device_id"], password)

    def limit_messages(self, user_id: str, per_second: float, burst_count: int) -> None:
        """A message rate limit for one user (the admin API's override)."""
        assert self.admin is not None
        answer = httpx.post(
            f"{self.url}/_synapse/admin/v1/users/{user_id}/override_ratelimit",
            headers={"Authorization": f"Bearer {self.admin.access_token}"},
            json={"messages_per_second": per_second, "burst_count": burst_count},
            timeout=10,
        )
        if answer.status_code != 200:
            raise HomeserverFailed(f"override_ratelimit: {answer.status_code} {answer.text}")


@pytest.fixture(scope="session")
def homeserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Homeserver]:
    """One Synapse for the test session (loaded as a plugin by ``tests/conftest.py``)."""
    server = Homeserver(tmp_path_factory.mktemp("synapse"))
    server.start()
    yield server
    server.stop()


class Client:
    """A person's plain client over the client-server API, for conversation tests."""

    def __init__(self, server: Homeserver, account: Account) -> None:
        self.server = server
        self.account = account
        self.http = httpx.Client(
            base_url=f"{server.url}/_matrix/client/v3",
            headers={"Authorization": f"Bearer {account.access_token}"},
            timeout=30,
        )
        self.since: str | None = None
        # Rooms this person was invited to, seen by a sync and not joined yet.
        self.invited: dict[str, dict[str, Any]] = {}

    @property
    def user_id(self) -> str:
        return self.account.user_id

    def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        answer = self.http.request(method, path, **kwargs)
        if answer.status_code != 200:
            raise HomeserverFailed(f"{method} {path}: {answer.status_code} {answer.text}")
        result: dict[str, Any] = answer.json()
        return result

    def create_room(self, *, invite: list[str] = (), direct: bool = False, **extra: Any) -> str:  # type: ignore[assignment]
        body = {"invite": list(invite), "is_direct": direct, "preset": "private_chat", **extra}
        return str(self.call("POST", "/createRoom", json=body)["room_id"])

    def join(self, room_id: str) -> None:
        self.call("POST", f"/join/{room_id}", json={})

    def invite(self, room_id: str, user_id: str) -> None:
        self.call("POST", f"/rooms/{room_id}/invite", json={"user_id": user_id})

    def send(
        self, room_id: str, content: dict[str, Any], event_type: str = "m.room.message"
    ) -> str:
        txn = uuid.uuid4().hex
        return str(
            self.call("PUT", f"/rooms/{room_id}/send/{event_type}/{txn}", json=content)["event_id"]
        )

    def say(self, room_id: str, text: str) -> str:
        return self.send(room_id, {"msgtype": "m.text", "body": text})

    def react(self, room_id: str, event_id: str, key: str) -> str:
        return self.send(
            room_id,
            {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}},
            "m.reaction",
        )

    def sync(self, timeout_ms: int = 0) -> dict[str, Any]:
        params: dict[str, Any] = {"timeout": timeout_ms}
        if self.since:
            params["since"] = self.since
        body = self.call("GET", "/sync", params=params, timeout=timeout_ms / 1000 + 30)
        self.since = body["next_batch"]
        self.invited.update(body.get("rooms", {}).get("invite", {}))
        return body

    def events(self, timeout_ms: int = 0) -> list[tuple[str, dict[str, Any]]]:
        """New timeline events of joined rooms since the last call, as (room, event)."""
        body = self.sync(timeout_ms)
        found = []
        for room_id, room in body.get("rooms", {}).get("join", {}).items():
            for event in room.get("timeline", {}).get("events", []):
                found.append((room_id, event))
        return found

    def invites(self) -> list[str]:
        self.sync(0)
        return list(self.invited)

    def accept_invite_from(self, inviter: str, timeout: float = 20.0) -> str:
        """Wait for an invitation from ``inviter``, join its room, and return the room."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for room_id, room in list(self.invited.items()):
                events = room.get("invite_state", {}).get("events", [])
                if any(e.get("sender") == inviter for e in events):
                    self.invited.pop(room_id)
                    self.join(room_id)
                    return room_id
            self.sync(1000)
        raise AssertionError(f"no invitation from {inviter} within {timeout:g} s")

    def messages(self, room_id: str, limit: int = 100) -> list[dict[str, Any]]:
        """The room's latest events, oldest first."""
        body = self.call("GET", f"/rooms/{room_id}/messages", params={"dir": "b", "limit": limit})
        return list(reversed(body.get("chunk", [])))

    def wait_for(
        self, predicate: Any, timeout: float = 20.0, *, sender: str | None = None
    ) -> list[tuple[str, dict[str, Any]]]:
        """Sync until an event satisfies ``predicate(room_id, event)``; every event seen."""
        seen: list[tuple[str, dict[str, Any]]] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for room_id, event in self.events(timeout_ms=1000):
                if sender is not None and event.get("sender") != sender:
                    continue
                seen.append((room_id, event))
                if predicate(room_id, event):
                    return seen
        raise AssertionError(f"no matching event within {timeout:g} s; saw {seen!r}")

    def close(self) -> None:
        self.http.close()
