"""Talking to Coordo's Slack endpoint as Slack does: the web app under a real uvicorn
server on 127.0.0.1 port 0, and requests signed exactly as Slack signs them."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

import httpx
import uvicorn
from starlette.applications import Starlette

from tests.fakes.slack_api import FakeSlack

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TEAM = "T0LAB"


@contextmanager
def running(app: Starlette) -> Iterator[str]:
    """Serve ``app`` on a free port until the block ends; yields its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def sign(body: bytes, timestamp: str, secret: str = SIGNING_SECRET) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class SlackSender:
    """What Slack's servers send to the app, signed."""

    def __init__(self, base_url: str, fake: FakeSlack) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=10)
        self.fake = fake
        self._ids = itertools.count(1)

    def close(self) -> None:
        self.http.close()

    def post(
        self,
        body: bytes,
        content_type: str,
        *,
        timestamp: str | None = None,
        secret: str = SIGNING_SECRET,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        timestamp = timestamp if timestamp is not None else str(int(time.time()))
        all_headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature
            if signature is not None
            else sign(body, timestamp, secret),
            **(headers or {}),
        }
        return self.http.post("/slack/events", content=body, headers=all_headers)

    def form(self, fields: dict[str, str], **kwargs: Any) -> httpx.Response:
        return self.post(urlencode(fields).encode(), "application/x-www-form-urlencoded", **kwargs)

    def command_fields(
        self,
        line: str,
        *,
        user: str = "U0CAMILLE",
        user_name: str = "camille",
        channel: str = "C0BONDY",
        channel_name: str = "bondy",
        team: str = TEAM,
        trigger_id: str | None = None,
        response_url: str | None = None,
    ) -> dict[str, str]:
        command, _, text = line.partition(" ")
        return {
            "token": "legacy-verification-token",
            "team_id": team,
            "team_domain": "coordo-lab",
            "channel_id": channel,
            "channel_name": channel_name,
            "user_id": user,
            "user_name": user_name,
            "command": command,
            "text": text,
            "api_app_id": "A0COORDO",
            "is_enterprise_install": "false",
            "response_url": response_url or self.fake.new_response_url(),
            "trigger_id": trigger_id or self.fake.new_trigger_id(),
        }

    def command(self, line: str, **kwargs: Any) -> httpx.Response:
        return self.form(self.command_fields(line, **kwargs))

    def interaction(self, payload: dict[str, Any], **kwargs: Any) -> httpx.Response:
        return self.form({"payload": json.dumps(payload)}, **kwargs)

    def event(self, payload: dict[str, Any], **kwargs: Any) -> httpx.Response:
        return self.post(json.dumps(payload).encode(), "application/json", **kwargs)


def click(
    action_id: str,
    value: str,
    *,
    user: str = "U0CAMILLE",
    team: str = TEAM,
    channel: str = "C0BONDY",
    message_ts: str = "1764000000.000100",
    action_ts: float | None = None,
    response_url: str,
    trigger_id: str | None = None,
) -> dict[str, Any]:
    """A ``block_actions`` payload for a click on a button of a message."""
    return {
        "type": "block_actions",
        "team": {"id": team, "domain": "coordo-lab"},
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team},
        "api_app_id": "A0COORDO",
        "token": "legacy-verification-token",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "trigger_id": trigger_id or f"{int(time.time())}.1.click",
        "channel": {"id": channel, "name": channel.lower()},
        "message": {"type": "message", "ts": message_ts, "text": "…"},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "coordo_actions_0",
                "text": {"type": "plain_text", "text": "…"},
                "value": value,
                "action_ts": f"{action_ts if action_ts is not None else time.time():.6f}",
            }
        ],
    }


def view_submission(
    view: dict[str, Any],
    values: dict[str, dict[str, Any]],
    *,
    view_id: str,
    user: str = "U0CAMILLE",
    team: str = TEAM,
) -> dict[str, Any]:
    """A ``view_submission`` payload for the modal ``view`` (as given to views.open)."""
    return {
        "type": "view_submission",
        "team": {"id": team, "domain": "coordo-lab"},
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team},
        "api_app_id": "A0COORDO",
        "token": "legacy-verification-token",
        "trigger_id": f"{int(time.time())}.2.submit",
        "view": {
            **view,
            "id": view_id,
            "team_id": team,
            "app_id": "A0COORDO",
            "hash": "1764000000.abc",
            "state": {"values": {name: {name: value} for name, value in values.items()}},
        },
        "response_urls": [],
    }


def home_opened(user: str, *, event_id: str, team: str = TEAM) -> dict[str, Any]:
    return {
        "token": "legacy-verification-token",
        "team_id": team,
        "api_app_id": "A0COORDO",
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [{"team_id": team, "user_id": "U0COORDO", "is_bot": True}],
        "event": {
            "type": "app_home_opened",
            "user": user,
            "channel": "D0HOME",
            "tab": "home",
            "event_ts": f"{time.time():.6f}",
        },
    }
