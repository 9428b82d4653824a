"""Coordo on Matrix (and Tchap): one bot account that syncs, joins the rooms it is invited
to, reads commands typed as text, and answers in the command's thread.

The connector runs matrix-nio's ``AsyncClient`` in a thread of its own, with its own event
loop; the core's commands run in the kit's pool (``bot.kit.runner``). All requests of the
process go through it (``send``, ``react``, ``upload``), paced to one every ``pacing``
seconds (Tchap asks bots for about one a second); a ``M_LIMIT_EXCEEDED`` answer waits its
``retry_after_ms``. Each event is sent with a transaction id derived from what caused it
(the command's event id, or the outbox message's content), so a send repeated after a
crash or a retry is the same event for the homeserver, which returns the first one.

The data folder keeps what must survive a restart: the access token and device (a
password is used once), the sync token (so no event is handled twice; each command's
event id is also its request key), the direct rooms, what each message's choices mean,
and matrix-nio's encryption keys. Encrypted rooms work through matrix-nio's ``e2e`` extra
(vodozemac; no C library).

The connector also delivers the outbox rows of its Matrix workspace, with its own
``Sender`` (``MatrixChat`` is its ``ChatPort``), since it holds the one client that may
encrypt.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import nio
from sqlalchemy import Engine

from bot.kit import choices
from bot.kit.delivery import Where, plan
from bot.kit.inbound import InboundCommand, read_command
from bot.kit.keys import delivery_key
from bot.kit.port import (
    Capabilities,
    ChatError,
    PermanentError,
    PlatformChannel,
    PlatformUser,
    RateLimited,
    TransientError,
)
from bot.kit.runner import Runner
from bot.matrix import forms, render
from bot.settings import Settings
from commands.core import Router
from commands.render import message
from commands.reply import Button, File, Reply

log = logging.getLogger(__name__)

T = TypeVar("T")

CAPABILITIES = Capabilities(ephemeral=False, files=True, threads=True, buttons=False, forms=False)
STATE_FILE = "coordo-state.json"
SYNC_TIMEOUT_MS = 30_000
# How often a message is sent again after a rate limit before giving up (live replies).
LIMIT_RETRIES = 5
REMEMBERED_CHOICES = 2000
SEND_EVERY = 5.0


@dataclass
class MatrixConfig:
    homeserver: str
    user_id: str
    data_dir: Path
    access_token: str | None = None
    password: str | None = None
    partners: list[str] = field(default_factory=list)
    pacing: float = 1.0
    device_name: str = "Coordo"
    names: tuple[str, ...] = ("coordo",)
    # A guided form without an answer for this long ends (seconds).
    form_expiry: float = forms.EXPIRY

    @property
    def server_name(self) -> str:
        return self.user_id.split(":", 1)[1]


def server_of(user_id: str) -> str:
    return user_id.split(":", 1)[1] if ":" in user_id else ""


def _txn(*parts: str) -> str:
    return "coordo-" + hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:40]


class _State:
    """The connector's memory, one JSON file in the data folder, written atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path
        data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
        self.access_token: str | None = data.get("access_token")
        self.device_id: str | None = data.get("device_id")
        self.user_id: str | None = data.get("user_id")
        self.next_batch: str | None = data.get("next_batch")
        self.direct: dict[str, str] = data.get("direct", {})
        self.choices: OrderedDict[str, list[list[str]]] = OrderedDict(data.get("choices", []))
        # (room, thread root) → the last message of Coordo's in it that offered choices.
        self.threads: OrderedDict[str, str] = OrderedDict(data.get("threads", []))
        # A native poll's event id → where it is and what each answer does.
        self.polls: OrderedDict[str, dict[str, Any]] = OrderedDict(data.get("polls", []))
        # Guided forms under way, by room and person (``forms.Guided``).
        self.forms: dict[str, forms.Guided] = {
            k: forms.Guided.from_json(v) for k, v in data.get("forms", {}).items()
        }
        # The events taken as answers to a form: handed over again after a crash, they
        # are neither a second answer nor, once the form is over, a numbered click.
        self.form_answers: list[str] = data.get("form_answers", [])
        self.lock = threading.Lock()

    def save(self) -> None:
        with self.lock:
            data = {
                "access_token": self.access_token,
                "device_id": self.device_id,
                "user_id": self.user_id,
                "next_batch": self.next_batch,
                "direct": self.direct,
                "choices": list(self.choices.items()),
                "threads": list(self.threads.items()),
                "polls": list(self.polls.items()),
                "forms": {k: g.to_json() for k, g in self.forms.items()},
                "form_answers": self.form_answers[-REMEMBERED_CHOICES:],
            }
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data))
            tmp.replace(self.path)

    def remember(
        self, room_id: str, thread: str | None, event_id: str, buttons: list[Button]
    ) -> None:
        with self.lock:
            self.choices[event_id] = [[b.label, b.action, b.value] for b in buttons]
            if thread:
                self.threads[f"{room_id}|{thread}"] = event_id
            while len(self.choices) > REMEMBERED_CHOICES:
                self.choices.popitem(last=False)
            while len(self.threads) > REMEMBERED_CHOICES:
                self.threads.popitem(last=False)

    def buttons(self, event_id: str) -> list[Button]:
        with self.lock:
            return [Button(*b) for b in self.choices.get(event_id, [])]

    def replace_buttons(self, event_id: str, buttons: list[Button]) -> None:
        """An edited message's choices are the new ones (none once a poll is closed)."""
        with self.lock:
            if buttons:
                self.choices[event_id] = [[b.label, b.action, b.value] for b in buttons]
                return
            self.choices.pop(event_id, None)
            for poll_id in [p for p, k in self.polls.items() if k["message"] == event_id]:
                del self.polls[poll_id]

    def remember_poll(
        self, poll_id: str, message_id: str, thread: str, answers: dict[str, Button]
    ) -> None:
        with self.lock:
            self.polls[poll_id] = {
                "message": message_id,
                "thread": thread,
                "answers": {k: [b.label, b.action, b.value] for k, b in answers.items()},
            }
            while len(self.polls) > REMEMBERED_CHOICES:
                self.polls.popitem(last=False)

    def poll(self, poll_id: str) -> tuple[str, dict[str, Button]] | None:
        """The thread a poll lives in and its answers, or None for a poll unknown."""
        with self.lock:
            known = self.polls.get(poll_id)
            if known is None:
                return None
            return known["thread"], {k: Button(*b) for k, b in known["answers"].items()}

    def polls_of(self, message_id: str) -> list[str]:
        with self.lock:
            return [p for p, known in self.polls.items() if known["message"] == message_id]


@dataclass(frozen=True)
class _Origin:
    """Where a command was typed, and by whom: where its reply goes."""

    room_id: str
    event_id: str
    thread_root: str
    user_id: str
    locale: str
    in_direct: bool


class MatrixConnector:
    def __init__(
        self,
        config: MatrixConfig,
        engine: Engine,
        router: Router,
        *,
        runner: Runner | None = None,
        send_outbox: bool = True,
    ) -> None:
        self.config = config
        self.engine = engine
        self.router = router
        self.runner = runner or Runner(engine, router, name="coordo-matrix")
        self.send_outbox = send_outbox
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.state = _State(config.data_dir / STATE_FILE)
        self.loop = asyncio.new_event_loop()
        self.client: nio.AsyncClient | None = None
        self.ready = threading.Event()
        self.failed: BaseException | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._pace_lock: asyncio.Lock | None = None
        self._last_request = 0.0
        self._words = set(router.words())
        self.sender: Any = None
        # Commands seen and replies sent, for logs and benchmarks.
        self.handled = 0
        self._tasks: set[asyncio.Task[None]] = set()

    # -- life --------------------------------------------------------------------------

    def start(self, timeout: float = 60.0) -> None:
        self._thread = threading.Thread(target=self._run, name="matrix-connector", daemon=True)
        self._thread.start()
        if not self.ready.wait(timeout):
            raise RuntimeError("the Matrix connector did not connect in time")
        if self.failed is not None:
            raise RuntimeError(f"the Matrix connector failed: {self.failed}") from self.failed

    def stop(self) -> None:
        if self._thread is None:
            return
        if self.sender is not None:
            self.sender.stop()
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=60)
        self.runner.close()
        self._thread = None

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._main())
        except BaseException as error:
            self.failed = error
            self.ready.set()
            log.exception("the Matrix connector stopped")
        finally:
            self.loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        self._pace_lock = asyncio.Lock()
        client = await self._connect()
        self.client = client
        try:
            await self._first_sync(client)
            self.ready.set()
            tasks = [asyncio.create_task(self._sync_forever(client))]
            if self.send_outbox:
                tasks.append(asyncio.create_task(self._outbox_forever()))
            await self._stop.wait()
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        finally:
            await client.close()

    async def _connect(self) -> nio.AsyncClient:
        config = self.config
        state = self.state
        store = config.data_dir / "store"
        store.mkdir(exist_ok=True)
        client_config = nio.AsyncClientConfig(
            encryption_enabled=True,
            store_sync_tokens=False,
            max_limit_exceeded=0,
            max_timeouts=2,
            request_timeout=60,
        )
        client = nio.AsyncClient(
            config.homeserver, config.user_id, store_path=str(store), config=client_config
        )
        token = state.access_token if state.user_id == config.user_id else None
        device = state.device_id if token else None
        if token is None and config.access_token:
            token = config.access_token
            client.access_token = token
            whoami = await client.whoami()
            if not isinstance(whoami, nio.WhoamiResponse):
                raise PermanentError(f"MATRIX_ACCESS_TOKEN refused: {whoami}")
            device = whoami.device_id
        if token is None:
            if not config.password:
                raise PermanentError("set MATRIX_ACCESS_TOKEN, or MATRIX_PASSWORD once")
            login = await client.login(config.password, device_name=config.device_name)
            if not isinstance(login, nio.LoginResponse):
                raise PermanentError(f"Matrix login refused: {login}")
            token, device = login.access_token, login.device_id
        assert device is not None
        client.restore_login(config.user_id, device, token)
        state.access_token, state.device_id, state.user_id = token, device, config.user_id
        state.save()
        return client

    async def _first_sync(self, client: nio.AsyncClient) -> None:
        """The first sync of a new account state learns the rooms and handles no message:
        what was said before Coordo came is not a command to it."""
        response = await client.sync(timeout=0, since=self.state.next_batch, full_state=True)
        if not isinstance(response, nio.SyncResponse):
            raise TransientError(f"first sync failed: {response}")
        if self.state.next_batch is None:
            await self._join_invites(client, response)
        else:
            await self._handle(client, response)
        self.state.next_batch = response.next_batch
        self.state.save()
        await self._share_keys(client)
        await self._expire_forms()

    async def _sync_forever(self, client: nio.AsyncClient) -> None:
        while True:
            try:
                response = await client.sync(timeout=SYNC_TIMEOUT_MS, since=self.state.next_batch)
            except (TimeoutError, OSError) as error:
                log.warning("Matrix sync: %s; again", error)
                await asyncio.sleep(2)
                continue
            except Exception:
                # A bug, or the encryption store refusing a write: logged with its
                # traceback; the connector goes on from the same sync token.
                log.exception("Matrix sync failed; again in a few seconds")
                await asyncio.sleep(5)
                continue
            if not isinstance(response, nio.SyncResponse):
                log.warning("Matrix sync failed: %s; again", response)
                await asyncio.sleep(2)
                continue
            await self._handle(client, response)
            await self._share_keys(client)
            await self._expire_forms()
            # Written after the events were handed over: a crash in between hands them
            # over again, and their request keys (the event ids) make them write once.
            self.state.next_batch = response.next_batch
            self.state.save()

    async def _share_keys(self, client: nio.AsyncClient) -> None:
        if client.olm is None:
            return
        if client.should_upload_keys:
            await client.keys_upload()
        if client.should_query_keys:
            await client.keys_query()
        if client.should_claim_keys:
            await client.keys_claim(client.get_users_for_key_claiming())

    async def _join_invites(self, client: nio.AsyncClient, response: nio.SyncResponse) -> None:
        for room_id in response.rooms.invite:
            joined = await self._paced(functools.partial(client.join, room_id))
            if isinstance(joined, nio.JoinResponse):
                log.info("joined %s", room_id)
            else:
                log.warning("could not join %s: %s", room_id, joined)

    # -- inbound -----------------------------------------------------------------------

    async def _handle(self, client: nio.AsyncClient, response: nio.SyncResponse) -> None:
        await self._join_invites(client, response)
        for room_id, room in response.rooms.join.items():
            for event in room.timeline.events:
                if getattr(event, "sender", None) == self.config.user_id:
                    continue
                try:
                    self._handle_event(client, room_id, event)
                except Exception:
                    log.exception("Matrix event %s in %s", getattr(event, "event_id", "?"), room_id)

    def _handle_event(self, client: nio.AsyncClient, room_id: str, event: Any) -> None:
        if isinstance(event, nio.MegolmEvent):
            log.warning("could not decrypt %s in %s", event.event_id, room_id)
            return
        source: dict[str, Any] = getattr(event, "source", {}) or {}
        kind = source.get("type")
        content = source.get("content") or {}
        if kind == "m.reaction" or isinstance(event, nio.ReactionEvent):
            relates = content.get("m.relates_to") or {}
            self._on_choice(
                room_id,
                event.sender,
                event.event_id,
                relates.get("event_id", ""),
                relates.get("key", ""),
                None,
            )
            return
        if kind in render.POLL_RESPONSES:
            selection = render.poll_selection(content)
            if selection is not None:
                self._on_poll_answer(room_id, event.sender, event.event_id, *selection)
            return
        if not isinstance(event, nio.RoomMessageText):
            return
        relates = content.get("m.relates_to") or {}
        if relates.get("rel_type") == "m.replace":
            return  # an edit: the command ran as first typed
        thread_root = relates.get("event_id") if relates.get("rel_type") == "m.thread" else None
        body = _strip_reply_fallback(event.body)
        answer = body.strip()
        if event.event_id in self.state.form_answers:
            return
        guided = self.state.forms.get(forms.Guided.key_of(room_id, event.sender))
        typed_command = body.lstrip().startswith("!") and read_command(
            body, words=self._words, names=()
        )
        if (
            guided is not None
            and not typed_command
            and (
                thread_root == guided.thread_root
                or (thread_root is None and self._is_direct(client, room_id))
            )
        ):
            self._on_form_answer(client, guided, event.event_id, answer)
            return
        if answer and (answer.rstrip(".)").isdigit() or len(answer) <= 2):
            replied = (relates.get("m.in_reply_to") or {}).get("event_id")
            target = replied if replied and self.state.buttons(replied) else None
            if target is None and thread_root:
                target = self.state.threads.get(f"{room_id}|{thread_root}")
            if target:
                self._on_choice(room_id, event.sender, event.event_id, target, answer, thread_root)
                return
        read = read_command(body, words=self._words, names=self._names(client))
        if read is None:
            return
        word, text = read
        origin = _Origin(
            room_id=room_id,
            event_id=event.event_id,
            thread_root=thread_root or event.event_id,
            user_id=event.sender,
            locale=self._locale(word),
            in_direct=self._is_direct(client, room_id),
        )
        now = datetime.fromtimestamp(event.server_timestamp / 1000, UTC)
        command = InboundCommand(
            platform="matrix",
            workspace_id=self.config.server_name,
            workspace_name=self.config.server_name,
            channel=self._channel(client, room_id),
            user=self.person(client, room_id, event.sender),
            command=word,
            text=text,
            now=now,
            request_key=delivery_key("matrix", self.config.server_name, event.event_id),
            mentioned_ids=_mentions(content),
        )
        future = self.runner.dispatch(command.invocation, origin.locale)
        self._after(future, origin)

    def _on_choice(
        self,
        room_id: str,
        sender: str,
        event_id: str,
        target: str,
        answer: str,
        thread_root: str | None,
    ) -> None:
        buttons = self.state.buttons(target)
        if not buttons:
            return
        button = choices.pick(buttons, answer)
        if button is None:
            return
        self._act(room_id, sender, event_id, thread_root or target, button)

    def _on_poll_answer(
        self, room_id: str, sender: str, event_id: str, poll_id: str, selected: list[str]
    ) -> None:
        """A native poll's answer is the click it stands for. Its event id is the request
        key, so a response handed over again writes once; a changed answer is a new
        response, and counts as the new answer. An answer withdrawn (no selection) or
        not one of the poll's is left alone."""
        known = self.state.poll(poll_id)
        if known is None or not selected:
            return
        thread, answers = known
        button = answers.get(selected[0])
        if button is not None:
            self._act(room_id, sender, event_id, thread, button)

    def _act(
        self, room_id: str, sender: str, event_id: str, thread_root: str, button: Button
    ) -> None:
        client = self.client
        assert client is not None
        locale = "fr"
        origin = _Origin(
            room_id=room_id,
            event_id=event_id,
            thread_root=thread_root,
            user_id=sender,
            locale=locale,
            in_direct=self._is_direct(client, room_id),
        )
        command = InboundCommand(
            platform="matrix",
            workspace_id=self.config.server_name,
            workspace_name=self.config.server_name,
            channel=self._channel(client, room_id),
            user=self.person(client, room_id, sender),
            command="",
            text="",
            now=datetime.now(UTC),
            request_key=delivery_key("matrix", self.config.server_name, event_id),
        )
        future = self.runner.act(command.invocation, button.action, button.value)
        self._after(future, origin)

    def _after(self, future: Future[Reply], origin: _Origin) -> None:
        def done(finished: Future[Reply]) -> None:
            asyncio.run_coroutine_threadsafe(
                self._deliver_logged(origin, finished.result()), self.loop
            )

        future.add_done_callback(done)

    # -- guided forms ------------------------------------------------------------------

    async def _start_form(self, origin: _Origin, reply: Reply) -> None:
        assert reply.form is not None
        guided = forms.start(
            reply.form,
            room_id=origin.room_id,
            thread_root=origin.thread_root,
            user_id=origin.user_id,
            locale=origin.locale,
            now=time.time(),
            expiry=self.config.form_expiry,
        )
        with self.state.lock:
            self.state.forms[guided.key] = guided
        self.state.save()
        await self._ask(guided, origin.event_id, forms.question(guided, first=True))

    async def _ask(self, guided: forms.Guided, replied: str, text: str, what: str = "form") -> None:
        """A message of the exchange in its thread, replying to ``replied``; its
        transaction id comes from that event and ``what``."""
        await self._post(
            guided.room_id,
            render.content(Reply(text=text), guided.locale),
            f"{replied}:{what}",
            (guided.thread_root, replied),
        )

    def _end_form(self, guided: forms.Guided) -> None:
        with self.state.lock:
            if self.state.forms.get(guided.key) is guided:
                del self.state.forms[guided.key]
        self.state.save()

    def _on_form_answer(
        self, client: nio.AsyncClient, guided: forms.Guided, event_id: str, answer: str
    ) -> None:
        """One answer to the current field: checked, kept, and the next field asked; the
        form submitted to the core after the last one."""
        loc = guided.locale
        with self.state.lock:
            self.state.form_answers.append(event_id)
            del self.state.form_answers[:-REMEMBERED_CHOICES]
        if time.time() > guided.expires_at:
            self._end_form(guided)
            self._spawn(self._ask(guided, event_id, self._expired_text(guided)))
            return
        if forms.is_cancel(answer):
            self._end_form(guided)
            self._spawn(self._ask(guided, event_id, message("kit.form_cancelled", loc)))
            return
        wrong = forms.take(guided, answer)
        guided.expires_at = time.time() + self.config.form_expiry
        self.state.save()
        if wrong is not None:
            self._spawn(self._ask(guided, event_id, wrong + "\n\n" + forms.question(guided)))
            return
        if not guided.complete:
            self._spawn(self._ask(guided, event_id, forms.question(guided)))
            return
        # The last answer: the form goes to the core, keyed by this answer's event id.
        self._end_form(guided)
        origin = _Origin(
            room_id=guided.room_id,
            event_id=event_id,
            thread_root=guided.thread_root,
            user_id=guided.user_id,
            locale=loc,
            in_direct=self._is_direct(client, guided.room_id),
        )
        command = InboundCommand(
            platform="matrix",
            workspace_id=self.config.server_name,
            workspace_name=self.config.server_name,
            channel=self._channel(client, guided.room_id),
            user=self.person(client, guided.room_id, guided.user_id),
            command="",
            text="",
            now=datetime.now(UTC),
            request_key=delivery_key("matrix", self.config.server_name, event_id),
        )
        make = command.invocation
        values, callback, state = dict(guided.values), guided.callback, guided.state

        def submit() -> Reply:
            return self.router.submit(self.engine, make(), callback, values, state)

        future = self.runner.run(loc, submit, f"form {callback}")

        def done(finished: Future[Reply]) -> None:
            asyncio.run_coroutine_threadsafe(
                self._after_submit(guided, origin, finished.result()), self.loop
            )

        future.add_done_callback(done)

    async def _after_submit(self, guided: forms.Guided, origin: _Origin, reply: Reply) -> None:
        """The core's answer; a field it refused is asked again, the others kept."""
        if reply.errors and forms.refused(guided, reply.errors):
            guided.expires_at = time.time() + self.config.form_expiry
            with self.state.lock:
                self.state.forms[guided.key] = guided
            self.state.save()
            error = reply.errors[guided.again[0]]
            text = message("kit.form_refused", guided.locale, error=error)
            await self._ask(guided, origin.event_id, text + "\n\n" + forms.question(guided))
            return
        await self._deliver_logged(origin, reply)

    def _expired_text(self, guided: forms.Guided) -> str:
        minutes = max(1, round(self.config.form_expiry / 60))
        return message("kit.form_expired", guided.locale, title=guided.title, minutes=minutes)

    async def _expire_forms(self) -> None:
        now = time.time()
        with self.state.lock:
            expired = [g for g in self.state.forms.values() if g.expires_at < now]
        for guided in expired:
            self._end_form(guided)
            try:
                text = self._expired_text(guided)
                await self._ask(guided, guided.thread_root, text, f"expired:{guided.expires_at}")
            except ChatError as error:
                log.warning("form expiry note in %s: %s", guided.room_id, error)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        async def logged() -> None:
            try:
                await coroutine
            except Exception:
                log.exception("guided form message")

        task = self.loop.create_task(logged())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _names(self, client: nio.AsyncClient) -> tuple[str, ...]:
        local = self.config.user_id[1:].split(":", 1)[0]
        return (self.config.user_id, *self.config.names, local)

    def _locale(self, word: str) -> str:
        try:
            return self.router.resolve(word)[1] or "fr"
        except Exception:  # an unknown word: the core answers it, in French by default
            return "fr"

    def _is_direct(self, client: nio.AsyncClient, room_id: str) -> bool:
        if room_id in self.state.direct.values():
            return True
        room = client.rooms.get(room_id)
        return room is not None and room.member_count <= 2

    def _channel(self, client: nio.AsyncClient, room_id: str) -> PlatformChannel:
        room = client.rooms.get(room_id)
        members = list(room.users) if room is not None else []
        shared = any(self.is_partner(m) for m in members if m != self.config.user_id)
        name = (room.display_name if room is not None else "") or room_id
        return PlatformChannel(
            room_id, name, is_shared=shared, is_direct=self._is_direct(client, room_id)
        )

    def is_partner(self, user_id: str) -> bool:
        """Users of another homeserver than the lab's, and those the settings mark."""
        server = server_of(user_id)
        return (
            server != self.config.server_name
            or user_id in self.config.partners
            or server in self.config.partners
        )

    def person(self, client: nio.AsyncClient, room_id: str, user_id: str) -> PlatformUser:
        """The handle is the account's local part (``@marie:lab.fr`` → ``marie``)."""
        return PlatformUser(
            id=user_id,
            name=user_id[1:].split(":", 1)[0],
            is_guest=self.is_partner(user_id),
            is_external=server_of(user_id) != self.config.server_name,
            team_id=server_of(user_id),
        )

    # -- outbound ----------------------------------------------------------------------

    async def _deliver_logged(self, origin: _Origin, reply: Reply) -> None:
        try:
            await self._deliver(origin, reply)
        except Exception:  # a bug: logged with its traceback, the connector goes on
            log.exception("reply to %s in %s", origin.event_id, origin.room_id)

    async def _deliver(self, origin: _Origin, reply: Reply) -> None:
        self.handled += 1
        client = self.client
        assert client is not None
        if reply.form is not None and reply.form.fields:
            await self._start_form(origin, reply)
            return
        steps = plan(reply, CAPABILITIES, in_direct=origin.in_direct, locale=origin.locale)
        for index, step in enumerate(steps):
            key = f"{origin.event_id}:{index}"
            try:
                if step.where is Where.DIRECT:
                    room = await self.direct_room(origin.user_id)
                    await self._post(room, render.content(step.reply, origin.locale), key, None)
                    for number, file in enumerate(step.files):
                        await self._file(room, file, f"{key}:file:{number}", None)
                    continue
                thread = (origin.thread_root, origin.event_id)
                body = render.content(step.reply, origin.locale)
                await self._post(origin.room_id, body, key, thread)
                for number, file in enumerate(step.files):
                    await self._file(origin.room_id, file, f"{key}:file:{number}", thread)
            except ChatError as error:
                log.warning("reply to %s: %s", origin.event_id, error)
                if step.where is Where.DIRECT:
                    note = Reply(text=_private_failed(origin.locale))
                    with contextlib.suppress(ChatError):
                        await self._post(
                            origin.room_id,
                            render.content(note, origin.locale),
                            f"{key}:failed",
                            (origin.thread_root, origin.event_id),
                        )
                    return

    async def _post(
        self,
        room_id: str,
        content: dict[str, Any],
        key: str,
        thread: tuple[str, str] | None,
        *,
        live: bool = True,
    ) -> str:
        """Send one message, then the reactions for its choices; returns its event id."""
        content = dict(content)
        if thread is not None:
            root, replied = thread
            content["m.relates_to"] = {
                "rel_type": "m.thread",
                "event_id": root,
                "is_falling_back": True,
                "m.in_reply_to": {"event_id": replied},
            }
        event_id = await self._send(
            room_id, "m.room.message", content, _txn(room_id, key), live=live
        )
        buttons = render.buttons_of(content)
        if buttons:
            self.state.remember(room_id, thread[0] if thread else event_id, event_id, buttons)
            self.state.save()
            for number, button in enumerate(buttons):
                emoji = choices.reaction_for(button)
                if emoji is None:
                    continue
                reaction = {
                    "m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": emoji}
                }
                await self._send(
                    room_id, "m.reaction", reaction, _txn(event_id, "react", str(number)), live=live
                )
            await self._polls(room_id, event_id, thread, content, live=live)
        return event_id

    async def _polls(
        self,
        room_id: str,
        event_id: str,
        thread: tuple[str, str] | None,
        content: dict[str, Any],
        *,
        live: bool,
    ) -> None:
        """The native polls a message's answers stand for, after it (its reactions and
        numbered answers keep working). One poll goes where the message went; several
        (a date poll's dates) go in the message's thread, so that the room shows one
        message, edited as answers come, and its thread one card per date."""
        polls = render.native_polls(content)
        if not polls:
            return
        if thread is not None:
            where: tuple[str, str] | None = (thread[0], event_id)
        elif len(polls) > 1:
            where = (event_id, event_id)
        else:
            where = None
        for number, poll in enumerate(polls):
            start = poll.content()
            if where is not None:
                start["m.relates_to"] = {
                    "rel_type": "m.thread",
                    "event_id": where[0],
                    "is_falling_back": True,
                    "m.in_reply_to": {"event_id": where[1]},
                }
            poll_id = await self._send(
                room_id, render.POLL_START, start, _txn(event_id, "poll", str(number)), live=live
            )
            self.state.remember_poll(
                poll_id, event_id, where[0] if where else event_id, dict(poll.answers)
            )
        self.state.save()

    async def edit(self, room_id: str, message_id: str, content: dict[str, Any], key: str) -> str:
        """Replace message ``message_id``'s content (``m.replace``). The transaction id
        comes from ``key`` (the outbox row's), so an edit sent again is one event. When
        the message's choices are gone (a poll closed), its native polls are ended."""
        edit = render.edit_of(message_id, content)
        event_id = await self._send(
            room_id, "m.room.message", edit, _txn(room_id, "edit", key), live=False
        )
        buttons = render.buttons_of(content)
        if not buttons:
            closing = render.first_line(str(content.get("body", "")))
            for poll_id in self.state.polls_of(message_id):
                end = render.poll_end(poll_id, closing)
                await self._send(room_id, render.POLL_END, end, _txn(poll_id, "end"), live=False)
        self.state.replace_buttons(message_id, buttons)
        self.state.save()
        return event_id

    async def _file(
        self,
        room_id: str,
        file: File,
        key: str,
        thread: tuple[str, str] | None,
        *,
        live: bool = True,
    ) -> str:
        client = self.client
        assert client is not None
        room = client.rooms.get(room_id)
        encrypted = bool(room is not None and room.encrypted)
        uploaded, keys = await self._paced(
            lambda: client.upload(
                lambda *_: file.content,
                content_type=file.mime_type,
                filename=file.filename,
                encrypt=encrypted,
                filesize=len(file.content),
            )
        )
        if not isinstance(uploaded, nio.UploadResponse):
            raise _error(uploaded)
        kind = "m.image" if file.mime_type.startswith("image/") else "m.file"
        body: dict[str, Any] = {
            "msgtype": kind,
            "body": file.title or file.filename,
            "filename": file.filename,
            "info": {"mimetype": file.mime_type, "size": len(file.content)},
        }
        if encrypted and keys is not None:
            body["file"] = {**keys, "url": uploaded.content_uri}
        else:
            body["url"] = uploaded.content_uri
        return await self._post(room_id, body, key, thread, live=live)

    async def direct_room(self, user_id: str) -> str:
        known = self.state.direct.get(user_id)
        client = self.client
        assert client is not None
        if known and known in client.rooms:
            return known
        created = await self._paced(
            lambda: client.room_create(
                is_direct=True, invite=[user_id], preset=nio.RoomPreset.trusted_private_chat
            )
        )
        if not isinstance(created, nio.RoomCreateResponse):
            raise _error(created)
        self.state.direct[user_id] = created.room_id
        self.state.save()
        # The client sends only to rooms it knows: wait for the sync to bring it.
        for _ in range(100):
            if created.room_id in client.rooms:
                break
            await asyncio.sleep(0.1)
        return str(created.room_id)

    async def _send(
        self, room_id: str, event_type: str, content: dict[str, Any], txn: str, *, live: bool
    ) -> str:
        """One event, paced; a rate limit is waited out (live replies) or raised (outbox)."""
        client = self.client
        assert client is not None
        for _ in range(LIMIT_RETRIES):
            room = client.rooms.get(room_id)
            encrypted = room is not None and room.encrypted
            if encrypted:
                await self._share_room_keys(client, room_id)
            try:
                response = await self._paced(
                    lambda: client.room_send(
                        room_id, event_type, content, tx_id=txn, ignore_unverified_devices=True
                    )
                )
            except nio.LocalProtocolError as refused:
                # A room the client has not synced yet, or keys not ready: later.
                raise TransientError(str(refused)) from refused
            if isinstance(response, nio.RoomSendResponse):
                return str(response.event_id)
            error = _error(response)
            if isinstance(error, RateLimited) and live:
                await asyncio.sleep(error.retry_after)
                continue
            raise error
        raise RateLimited(1.0)

    async def _share_room_keys(self, client: nio.AsyncClient, room_id: str) -> None:
        if client.olm is None:
            return
        await self._share_keys(client)
        with contextlib.suppress(nio.LocalProtocolError):
            if client.olm.should_share_group_session(room_id):
                await client.share_group_session(room_id, ignore_unverified_devices=True)

    async def _paced(self, call: Callable[[], Coroutine[Any, Any, T]]) -> T:
        assert self._pace_lock is not None
        async with self._pace_lock:
            wait = self._last_request + self.config.pacing - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            # Start to start: one request a second, whatever each takes.
            self._last_request = time.monotonic()
            return await call()

    # -- for other threads (the outbox) ------------------------------------------------

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = 120.0) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    async def _outbox_forever(self) -> None:
        from bot.matrix.port import MatrixChat
        from bot.sender import Sender

        self.sender = Sender(
            self.engine,
            {"matrix": MatrixChat(self)},
            renderers={"matrix": render.to_matrix},
            pacing={},
            concurrency=1,
        )
        while True:
            try:
                await asyncio.to_thread(self.sender.run_once)
            except Exception:
                log.exception("Matrix outbox pass failed")
            await asyncio.sleep(SEND_EVERY)


def _error(response: Any) -> ChatError:
    code = getattr(response, "status_code", None)
    text = getattr(response, "message", str(response))
    if code == "M_LIMIT_EXCEEDED":
        retry = getattr(response, "retry_after_ms", None) or 1000
        return RateLimited(retry / 1000, code=code)
    if code in {"M_FORBIDDEN", "M_UNKNOWN_TOKEN", "M_NOT_FOUND", "M_BAD_JSON", "M_TOO_LARGE"}:
        return PermanentError(f"{code}: {text}", code=code)
    return TransientError(f"{code}: {text}", code=str(code) if code else None)


def _private_failed(locale: str) -> str:
    from commands.render import message

    return message("kit.private_failed", locale)


def _strip_reply_fallback(body: str) -> str:
    """A reply's body starts with the quoted message (``> <@x> …`` lines, then a blank)."""
    if not body.startswith("> "):
        return body
    lines = body.split("\n")
    while lines and lines[0].startswith(">"):
        lines.pop(0)
    return "\n".join(lines).strip()


def _mentions(content: dict[str, Any]) -> dict[str, str]:
    users = (content.get("m.mentions") or {}).get("user_ids") or []
    return {u[1:].split(":", 1)[0]: u for u in users if isinstance(u, str) and u.startswith("@")}


def from_settings(
    settings: Settings, engine: Engine, router: Router, runner: Runner | None = None
) -> MatrixConnector | None:
    """The connector the settings ask for, not started; None without Matrix settings.
    ``runner``: the process's pool, when it serves other platforms too."""
    if not (settings.matrix_homeserver and settings.matrix_user_id and settings.matrix_connector):
        return None
    config = MatrixConfig(
        homeserver=settings.matrix_homeserver,
        user_id=settings.matrix_user_id,
        data_dir=settings.matrix_data_dir,
        access_token=settings.matrix_access_token,
        password=settings.matrix_password,
        partners=list(settings.matrix_partners),
        pacing=settings.matrix_pacing,
    )
    return MatrixConnector(config, engine, router, runner=runner)
