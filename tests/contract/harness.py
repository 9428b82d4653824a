"""One harness per platform, so the contract suite runs the same cases on each through its
real wire: Slack (the Bolt app under uvicorn, requests signed as Slack signs them, the strict
fake Slack Web API), Mattermost (the web app under uvicorn, the strict fake Mattermost
server) and Matrix (the connector on the session's Synapse).

The people are ``camille`` (French; she opens the lab and coordinates it), ``marie``
(English) and ``pat``; ``make_partner`` makes one of them a partner (a Slack guest, a
Mattermost guest account, a Matrix user the settings mark), before their first command.
Everyone is in one channel (a room on Matrix) with Coordo.

What a person sees is every text Coordo showed them: the acknowledgement of their command,
later answers (Slack's and Mattermost's response URLs, Matrix threads), the answers to
their clicks, the channel's messages and their direct conversation with Coordo. ``command``
and ``click`` return what was new, waiting for it.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import httpx
from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.kit import choices
from bot.kit.runner import Runner
from bot.matrix.connector import STATE_FILE
from bot.settings import Settings
from bot.slack.app import build_slack_app
from bot.web import create_app
from commands.args import Args
from commands.core import Context, Family, Router, Subcommand, words
from commands.registry import build_router
from commands.reply import Reply, Visibility
from tests.bot.matrix.conftest import Lab as MatrixLab
from tests.bot.slack_wire import SIGNING_SECRET, SlackSender, click, running
from tests.chat import normalise
from tests.fakes import mattermost_rules
from tests.fakes.mattermost_api import FakeMattermost, MattermostUser
from tests.fakes.slack_api import FakeSlack
from tests.live import serve
from tests.synapse import Client, Homeserver

PEOPLE = ("camille", "marie", "pat")
LOCALES = {"camille": "fr", "marie": "en", "pat": "fr"}
# How long a harness waits for Coordo's answer before the case fails.
PATIENCE = 20.0
DONE_LATE = "Enfin prêt"


class Platform(Protocol):
    """What the contract cases need of a platform: typing, clicking, seeing."""

    name: str
    engine: Engine

    def command(self, person: str, line: str, *, expect: str | None = None) -> list[str]:
        """``person`` types ``line`` (``/depense 12 € café``); the new texts they see, once
        one came (one holding ``expect`` when given)."""
        ...

    def send(self, person: str, line: str) -> None:
        """Type ``line`` without waiting for any answer (past the acknowledgement)."""
        ...

    def deliver_again(self, person: str) -> None:
        """The platform delivers ``person``'s last command again: Slack retries it, a
        Mattermost server sends the same trigger again, a Matrix sync hands the same
        event over again (a restart from an older sync token)."""
        ...

    def click(
        self, person: str, choice: str, *, on: str = "", expect: str | None = None
    ) -> list[str]:
        """``person`` picks ``choice`` (a button's label) on the latest message that offered
        it to them (and that says ``on``); the new texts they see."""
        ...

    def double_click(self, person: str, choice: str, *, on: str = "") -> None:
        """``person`` picks ``choice`` twice in a row, as fast as a double click."""
        ...

    def pause(self, seconds: float) -> None:
        """Time passes between a person's clicks (as the platform tells the time of one)."""
        ...

    def seen(self, person: str) -> list[str]:
        """Every text Coordo showed ``person`` so far."""
        ...

    def wait_seen(self, person: str, expect: str, timeout: float = PATIENCE) -> list[str]:
        """Until ``person`` has seen a text holding ``expect``; every text seen."""
        ...

    def files_seen(self, person: str) -> list[tuple[str, bytes]]:
        """The files (name, content) Coordo showed ``person``."""
        ...

    def make_partner(self, person: str) -> None: ...

    def slow_core(self) -> AbstractContextManager[Callable[[], None]]:
        """``/essai lent`` (``/trial slow``) waits, longer than the ack budget, for the
        function this yields to be called."""
        ...

    def close(self) -> None: ...


# -- the test family, on every platform ----------------------------------------------------------


def contract_router(gate: threading.Event) -> Router:
    """Coordo's router plus ``/essai`` (``/trial``): a command slower than the ack budget
    (it waits for ``gate``) and one that breaks."""
    router = build_router()

    def slow(ctx: Context, args: Args) -> Reply:
        assert gate.wait(PATIENCE), "the test never let the slow command finish"
        return Reply(text=f"**{DONE_LATE}**", visibility=Visibility.CHANNEL)

    def crash(ctx: Context, args: Args) -> Reply:
        raise RuntimeError("a bug in the core")

    router.add(
        Family(
            name="essai",
            words={"essai": "fr", "trial": "en"},
            subcommands=(
                Subcommand("slow", words(["lent"], ["slow"]), slow),
                Subcommand("crash", words(["panne"], ["crash"]), crash),
            ),
        )
    )
    return router


def both(first: Callable[[], None], second: Callable[[], None]) -> None:
    """Two requests at once, as a double click sends them (the second leaves before the
    first is answered); the second starts a moment after the first."""
    errors: list[BaseException] = []

    def run(call: Callable[[], None]) -> None:
        try:
            call()
        except BaseException as error:  # reported in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(c,)) for c in (first, second)]
    threads[0].start()
    time.sleep(0.01)
    threads[1].start()
    for thread in threads:
        thread.join(PATIENCE)
    if errors:
        raise errors[0]


def new_texts(before: list[str], after: list[str]) -> list[str]:
    return list((Counter(after) - Counter(before)).elements())


class _Seeing(ABC):
    """``command``, ``click`` and the waits, over a platform's ``seen``."""

    @abstractmethod
    def seen(self, person: str) -> list[str]:
        """Each platform's own."""

    def wait_new(
        self, person: str, before: list[str], expect: str | None, timeout: float = PATIENCE
    ) -> list[str]:
        deadline = time.monotonic() + timeout
        while True:
            new = new_texts(before, self.seen(person))
            if new and (expect is None or any(expect in t for t in new)):
                time.sleep(0.3)  # what comes along (a later page, a note) is included
                return new_texts(before, self.seen(person))
            if time.monotonic() > deadline:
                raise AssertionError(f"{person} saw nothing new ({expect!r}) within {timeout} s")
            time.sleep(0.05)

    def wait_seen(self, person: str, expect: str, timeout: float = PATIENCE) -> list[str]:
        deadline = time.monotonic() + timeout
        while True:
            texts = self.seen(person)
            if any(expect in t for t in texts):
                return texts
            if time.monotonic() > deadline:
                raise AssertionError(f"{person} never saw {expect!r}; saw {texts!r}")
            time.sleep(0.05)

    @abstractmethod
    def send(self, person: str, line: str) -> None:
        """Each platform's own."""

    def command(self, person: str, line: str, *, expect: str | None = None) -> list[str]:
        before = self.seen(person)
        self.send(person, line)
        return self.wait_new(person, before, expect)

    @abstractmethod
    def press(self, person: str, choice: str, on: str) -> None:
        """Each platform's own."""

    def click(
        self, person: str, choice: str, *, on: str = "", expect: str | None = None
    ) -> list[str]:
        before = self.seen(person)
        self.press(person, choice, on)
        return self.wait_new(person, before, expect)


def _slack_texts(data: dict[str, Any]) -> str:
    """A Slack message's words: its text and its blocks' (not its buttons' labels)."""
    parts = [str(data.get("text") or "")]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "actions":
                return
            if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
                parts.append(node["text"])
                return
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(data.get("blocks") or [])
    return normalise("\n".join(p for p in parts if p))


@contextmanager
def past_the_budget(runner: Runner, gate: threading.Event) -> Iterator[Callable[[], None]]:
    """The runner's ack budget made shorter than ``/essai lent``'s wait, until ``gate``
    lets the slow command finish."""
    budget = runner.ack_budget
    runner.ack_budget = 0.2
    try:
        yield gate.set
    finally:
        gate.set()
        runner.ack_budget = budget


# -- Slack ------------------------------------------------------------------------------------------


class SlackPlatform(_Seeing):
    name = "slack"
    CHANNEL = "C0BONDY"

    def __init__(self, engine: Engine, fake: FakeSlack) -> None:
        self.engine = engine
        self.fake = fake
        self.ids = {p: f"U0{p.upper()}" for p in PEOPLE}
        for person, user_id in self.ids.items():
            fake.add_user(
                user_id, name=person, locale={"fr": "fr-FR", "en": "en-GB"}[LOCALES[person]]
            )
        fake.add_channel(self.CHANNEL, "bondy", members=tuple(self.ids.values()))
        settings = Settings(
            _env_file=None,
            slack_bot_token=fake.token,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=fake.api_url,
            scheduler=False,
        )
        self.gate = threading.Event()
        client = WebClient(token=fake.token, base_url=fake.api_url)
        self.app = build_slack_app(settings, engine, contract_router(self.gate), client)
        self._stack = ExitStack()
        url = self._stack.enter_context(
            running(create_app(settings, engine=engine, slack=self.app))
        )
        self.slack = SlackSender(url, fake)
        self.acks: dict[str, list[dict[str, Any]]] = {p: [] for p in PEOPLE}
        self.urls: dict[str, list[str]] = {p: [] for p in PEOPLE}
        self.last: dict[str, dict[str, str]] = {}
        # The time of clicks (Slack's ``action_ts``) moves only with ``pause``.
        self.start = time.time()
        self.offset = 0.0

    def close(self) -> None:
        self.gate.set()
        self.slack.close()
        self._stack.close()

    def _post(self, person: str, fields: dict[str, str], **kwargs: Any) -> None:
        answer = self.slack.form(fields, **kwargs)
        assert answer.status_code == 200, answer.text
        if answer.content:
            self.acks[person].append(answer.json())

    def send(self, person: str, line: str) -> None:
        url = self.fake.new_response_url()
        self.urls[person].append(url)
        fields = self.slack.command_fields(
            line, user=self.ids[person], user_name=person, response_url=url
        )
        self.last[person] = fields
        self._post(person, fields)

    def deliver_again(self, person: str) -> None:
        self._post(person, self.last[person], headers={"X-Slack-Retry-Num": "1"})

    def _offers(self, person: str) -> list[dict[str, Any]]:
        """The messages Coordo showed ``person``, oldest first (those with buttons count)."""
        replies = [p for url in self.urls[person] for p in self.fake.responses_to(url)]
        return [*self.acks[person], *replies]

    def _button(self, person: str, choice: str, on: str) -> tuple[dict[str, Any], str]:
        offers = self._offers(person)
        for number in range(len(offers) - 1, -1, -1):
            if on not in _slack_texts(offers[number]):
                continue
            for block in offers[number].get("blocks") or []:
                for element in block.get("elements", []) if block["type"] == "actions" else []:
                    if element.get("text", {}).get("text") == choice:
                        # The message's place: the same message keeps the same ts.
                        return element, f"1764000000.{number + 1:06d}"
        raise AssertionError(f"{person} was offered no {choice!r}")

    def _click(self, person: str, choice: str, on: str, at: float) -> None:
        button, ts = self._button(person, choice, on)
        url = self.fake.new_response_url()
        self.urls[person].append(url)
        payload = click(
            button["action_id"],
            button["value"],
            user=self.ids[person],
            message_ts=ts,
            action_ts=at,
            response_url=url,
        )
        answer = self.slack.interaction(payload)
        assert answer.status_code == 200, answer.text

    def press(self, person: str, choice: str, on: str) -> None:
        self._click(person, choice, on, self.start + self.offset)

    def double_click(self, person: str, choice: str, *, on: str = "") -> None:
        at = self.start + self.offset
        both(
            lambda: self._click(person, choice, on, at),
            lambda: self._click(person, choice, on, at + 0.3),
        )

    def pause(self, seconds: float) -> None:
        self.offset += seconds

    def seen(self, person: str) -> list[str]:
        user = self.ids[person]
        texts = [_slack_texts(body) for body in self._offers(person)]
        for channel in (self.CHANNEL, self.fake.dm_channel_for(user)):
            texts += [
                _slack_texts({"text": m.text, "blocks": m.blocks})
                for m in self.fake.messages_in(channel)
            ]
        texts += [
            _slack_texts({"text": m.text, "blocks": m.blocks})
            for m in self.fake.ephemeral
            if m.user == user
        ]
        return texts

    def files_seen(self, person: str) -> list[tuple[str, bytes]]:
        where = {self.CHANNEL, self.fake.dm_channel_for(self.ids[person])}
        return [
            (f.filename, f.content or b"")
            for f in list(self.fake.files.values())
            if f.completed and where & set(f.channels)
        ]

    def make_partner(self, person: str) -> None:
        self.fake.users[self.ids[person]].is_restricted = True

    def slow_core(self) -> AbstractContextManager[Callable[[], None]]:
        return past_the_budget(self.app.adapter.runner, self.gate)


# -- Mattermost -------------------------------------------------------------------------------------

PUBLIC_URL = "https://coordo.example.org"
MATTERMOST_WORDS = ("labo", "depense", "expense", "copil", "essai", "trial")


class MattermostPlatform(_Seeing):
    name = "mattermost"

    def __init__(self, database_url: str, engine: Engine, fake: FakeMattermost) -> None:
        self.engine = engine
        self.mm = fake
        # Mattermost makes one token per slash command.
        self.tokens = {w: f"{w}-command-token-{n:04d}" for n, w in enumerate(MATTERMOST_WORDS)}
        settings = Settings(
            _env_file=None,
            database_url=database_url,
            public_url=PUBLIC_URL,
            mattermost_url=fake.url,
            mattermost_bot_token=fake.token,
            mattermost_command_tokens=[f"{w}:{t}" for w, t in self.tokens.items()],
            scheduler=False,
        )
        self.gate = threading.Event()
        self.app = create_app(settings, contract_router(self.gate), engine=engine)
        self._stack = ExitStack()
        url = self._stack.enter_context(serve(self.app))
        self.http = self._stack.enter_context(httpx.Client(base_url=url, timeout=30))
        self.users: dict[str, MattermostUser] = {
            p: fake.add_user(username=p, locale=LOCALES[p]) for p in PEOPLE
        }
        self.channel = fake.add_channel(name="bondy")
        self.answers: dict[str, list[str]] = {p: [] for p in PEOPLE}
        self.offers: dict[str, list[dict[str, Any]]] = {p: [] for p in PEOPLE}
        self.urls: dict[str, list[str]] = {p: [] for p in PEOPLE}
        self.last: dict[str, dict[str, Any]] = {}
        # The adapter's clock (the time of clicks) moves only with ``pause``.
        self.start = datetime.now(UTC)
        self.offset = timedelta(0)
        self.app.state.mattermost.clock = lambda: self.start + self.offset

    def close(self) -> None:
        self.gate.set()
        self._stack.close()

    def _post(self, person: str, fields: dict[str, Any]) -> None:
        answer = self.http.post(
            "/mattermost/command",
            data=fields,
            headers={"Authorization": f"Token {fields['token']}", "Accept": "application/json"},
        )
        assert answer.status_code == 200, answer.text
        mattermost_rules.parse_command_response(answer.headers["content-type"], answer.content)
        self._keep(person, answer.json())

    def _keep(self, person: str, body: dict[str, Any]) -> None:
        if body.get("text"):
            self.answers[person].append(normalise(body["text"]))
        if body.get("attachments"):
            self.offers[person].append(body)

    def send(self, person: str, line: str) -> None:
        command, _, text = line.lstrip("/").partition(" ")
        user = self.users[person]
        url = self.mm.new_response_url()
        self.urls[person].append(url)
        fields = {
            "channel_id": self.channel.id,
            "channel_name": self.channel.name,
            "command": f"/{command}",
            "response_url": url,
            "root_id": "",
            "team_domain": "labo",
            "team_id": self.mm.team_id,
            "text": text,
            "token": self.tokens[command],
            "trigger_id": self.mm.new_trigger_id(user.id),
            "user_id": user.id,
            "user_name": user.username,
        }
        self.last[person] = fields
        self._post(person, fields)

    def deliver_again(self, person: str) -> None:
        self._post(person, self.last[person])

    def _action(self, person: str, choice: str, on: str) -> tuple[dict[str, Any], str]:
        offers = self.offers[person]
        for number in range(len(offers) - 1, -1, -1):
            if on not in normalise(offers[number].get("text", "")):
                continue
            for attachment in offers[number]["attachments"]:
                for action in attachment.get("actions", []):
                    if action["name"] == choice:
                        return action, f"post{number:022d}"
        raise AssertionError(f"{person} was offered no {choice!r}")

    def press(self, person: str, choice: str, on: str) -> None:
        action, post_id = self._action(person, choice, on)
        user = self.users[person]
        payload = {
            "user_id": user.id,
            "user_name": user.username,
            "channel_id": self.channel.id,
            "channel_name": self.channel.name,
            "team_id": self.mm.team_id,
            "team_domain": "labo",
            "post_id": post_id,
            "trigger_id": self.mm.new_trigger_id(user.id),
            "type": "button",
            "data_source": "",
            "context": action["integration"]["context"],
        }
        answer = self.http.post("/mattermost/actions", json=payload)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert mattermost_rules.action_response_problems(body) == []
        if body.get("ephemeral_text"):
            self.answers[person].append(normalise(body["ephemeral_text"]))
        if body.get("update"):
            self.answers[person].append(normalise(body["update"].get("message", "")))

    def double_click(self, person: str, choice: str, *, on: str = "") -> None:
        # Two clicks, each with its own trigger id (the server makes one per click).
        both(lambda: self.press(person, choice, on), lambda: self.press(person, choice, on))

    def pause(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)

    def _direct(self, person: str) -> str:
        return self.mm.direct_channel_id(self.mm.bot_user_id, self.users[person].id)

    def seen(self, person: str) -> list[str]:
        texts = list(self.answers[person])
        texts += [
            normalise(r.get("text", ""))
            for url in self.urls[person]
            for r in self.mm.responses_to(url)
        ]
        for channel in (self.channel.id, self._direct(person)):
            texts += [normalise(p["message"]) for p in self.mm.posts_in(channel)]
        return texts

    def files_seen(self, person: str) -> list[tuple[str, bytes]]:
        where = {self.channel.id, self._direct(person)}
        return [
            (f.name, f.content)
            for f in list(self.mm.files.values())
            if f.post_id and f.channel_id in where
        ]

    def make_partner(self, person: str) -> None:
        self.users[person].roles = "system_guest system_user"

    def slow_core(self) -> AbstractContextManager[Callable[[], None]]:
        return past_the_budget(self.app.state.mattermost.runner, self.gate)


# -- Matrix -----------------------------------------------------------------------------------------

CHOICE_LINE = re.compile(r"^(\d+)\. (?:(\S+) )?(.+)$", re.MULTILINE)
REACTIONS = {choices.DONE, choices.POSTPONE, choices.YES, choices.NO, choices.MAYBE}


class MatrixPlatform(_Seeing):
    name = "matrix"

    def __init__(self, server: Homeserver, engine: Engine, folder: Path) -> None:
        self.engine = engine
        self.gate = threading.Event()
        self.lab = MatrixLab(server, engine, folder)
        self.connector = self.lab.connector(router=contract_router(self.gate))
        self.people: dict[str, Client] = {p: self.lab.person(p) for p in PEOPLE}
        camille = self.people["camille"]
        others = [c for p, c in self.people.items() if p != "camille"]
        self.room = camille.create_room(invite=[self.lab.bot.user_id, *(c.user_id for c in others)])
        for other in others:
            other.join(self.room)
        camille.wait_for(
            lambda r, e: (
                r == self.room
                and e.get("type") == "m.room.member"
                and e.get("state_key") == self.lab.bot.user_id
                and e["content"].get("membership") == "join"
            )
        )
        self.direct: dict[str, list[str]] = {p: [] for p in PEOPLE}
        # The sync token before each person's last command, to hand it over again.
        self.before: dict[str, str | None] = {}
        self.reactions: dict[tuple[str, str, str], str] = {}

    def close(self) -> None:
        self.gate.set()
        self.lab.close()

    def send(self, person: str, line: str) -> None:
        self.before[person] = self.connector.state.next_batch
        self.people[person].say(self.room, "!" + line.lstrip("/"))

    def deliver_again(self, person: str) -> None:
        """A crash after the events were handled, before the sync token was written: the
        next start syncs from the older token and is handed the same events."""
        self.connector.stop()
        self.lab.connectors.remove(self.connector)
        state = self.lab.folder / "matrix-data" / STATE_FILE
        stored = json.loads(state.read_text())
        stored["next_batch"] = self.before[person]
        state.write_text(json.dumps(stored))
        self.connector = self.lab.connector(router=contract_router(self.gate))
        # Handed over again and answered again (the homeserver keeps one reply: the
        # transaction id comes from the event).
        deadline = time.monotonic() + PATIENCE
        while self.connector.handled < 1:
            assert time.monotonic() < deadline, "the event was not handed over again"
            time.sleep(0.05)

    def _rooms(self, person: str) -> list[str]:
        client = self.people[person]
        client.sync(0)
        for room_id, room in list(client.invited.items()):
            events = room.get("invite_state", {}).get("events", [])
            if any(e.get("sender") == self.lab.bot.user_id for e in events):
                client.invited.pop(room_id)
                client.join(room_id)
                self.direct[person].append(room_id)
        return [self.room, *self.direct[person]]

    def _events(self, person: str) -> list[tuple[str, dict[str, Any]]]:
        client = self.people[person]
        return [
            (room, e)
            for room in self._rooms(person)
            for e in client.messages(room)
            if e.get("sender") == self.lab.bot.user_id and e.get("type") == "m.room.message"
        ]

    def seen(self, person: str) -> list[str]:
        return [normalise(str(e["content"].get("body", ""))) for _, e in self._events(person)]

    def _choice(
        self, person: str, choice: str, on: str
    ) -> tuple[str, dict[str, Any], str, str | None]:
        for room, event in reversed(self._events(person)):
            if on not in normalise(str(event["content"].get("body", ""))):
                continue
            for number, emoji, label in CHOICE_LINE.findall(event["content"].get("body", "")):
                if emoji not in REACTIONS:
                    label = f"{emoji} {label}".strip()
                    emoji = ""
                if label == choice:
                    return room, event, number, emoji or None
        raise AssertionError(f"{person} was offered no {choice!r}")

    def _react(self, person: str, room: str, event_id: str, emoji: str) -> None:
        client = self.people[person]
        earlier = self.reactions.pop((person, event_id, emoji), None)
        if earlier is not None:  # as a client does: its reaction taken back, then given again
            client.call("PUT", f"/rooms/{room}/redact/{earlier}/{uuid.uuid4().hex}", json={})
        self.reactions[(person, event_id, emoji)] = client.react(room, event_id, emoji)

    def press(self, person: str, choice: str, on: str) -> None:
        room, event, number, emoji = self._choice(person, choice, on)
        if emoji is not None:
            self._react(person, room, event["event_id"], emoji)
            return
        relates = event["content"].get("m.relates_to") or {}
        root = relates.get("event_id") if relates.get("rel_type") == "m.thread" else None
        self.people[person].send(
            room,
            {
                "msgtype": "m.text",
                "body": number,
                "m.relates_to": {
                    "rel_type": "m.thread",
                    "event_id": root or event["event_id"],
                    "is_falling_back": True,
                    "m.in_reply_to": {"event_id": event["event_id"]},
                },
            },
        )

    def double_click(self, person: str, choice: str, *, on: str = "") -> None:
        """The same reaction twice: the homeserver keeps one (``M_DUPLICATE_ANNOTATION``)."""
        room, event, _, emoji = self._choice(person, choice, on)
        assert emoji is not None, f"{choice!r} has no reaction to click twice"
        client = self.people[person]
        self._react(person, room, event["event_id"], emoji)
        relates = {"rel_type": "m.annotation", "event_id": event["event_id"], "key": emoji}
        again = client.http.put(
            f"/rooms/{room}/send/m.reaction/{uuid.uuid4().hex}", json={"m.relates_to": relates}
        )
        refused = again.status_code == 400 and "M_DUPLICATE_ANNOTATION" in again.text
        assert again.status_code == 200 or refused, again.text

    def pause(self, seconds: float) -> None:
        """Each reaction or answer is an event of its own: the time between them is moot."""

    def files_seen(self, person: str) -> list[tuple[str, bytes]]:
        client = self.people[person]
        found = []
        for _, event in self._events(person):
            content = event["content"]
            if content.get("msgtype") not in ("m.file", "m.image"):
                continue
            server_name, media_id = content["url"].removeprefix("mxc://").split("/", 1)
            download = client.http.get(
                f"{client.server.url}/_matrix/client/v1/media/download/{server_name}/{media_id}"
            )
            assert download.status_code == 200, download.text
            found.append((str(content["filename"]), download.content))
        return found

    def make_partner(self, person: str) -> None:
        self.connector.config.partners.append(self.people[person].user_id)

    @contextmanager
    def slow_core(self) -> Iterator[Callable[[], None]]:
        # No acknowledgement on Matrix: every answer is a message, whenever it is ready.
        try:
            yield self.gate.set
        finally:
            self.gate.set()
