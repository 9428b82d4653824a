"""Mattermost's side of the web app: custom slash commands, interactive message buttons
and interactive dialogs, answered by the neutral core.

- ``/mattermost/command``: the custom slash command request (POST form or GET query, as
  configured in Mattermost). Its token (form field ``token``, or the header
  ``Authorization: Token …``) is compared in constant time with the token
  ``MATTERMOST_COMMAND_TOKENS`` gives for that trigger word (``labo:tok1,depense:tok2``):
  Mattermost makes one token per command, and one command's token does not run
  another. A wrong or missing one gets 401 and nothing runs. The answer is the command response
  JSON (``ephemeral`` or ``in_channel``, Markdown, attachments with fields and buttons).
  Mattermost would wait 30 s, but its documentation asks for an answer within 3 s: a
  command still running after ``ack_seconds`` is answered "on it", and its reply goes to
  ``response_url`` when ready. Files go through the bot account's API upload.
- ``/mattermost/actions``: a click on a button Coordo made. Mattermost sends no token
  here; the button's ``context`` (kept by the Mattermost server, never shown to clients)
  carries Coordo's signature instead, and an unsigned click gets 401. The answer edits
  the post (``update``) or tells the clicker alone (``ephemeral_text``).
- ``/mattermost/dialogs``: a submitted interactive dialog (Coordo's ``Form``). Its
  ``state`` is signed too, binding the dialog to the person it was opened for. Errors
  come back as ``{"errors": {field: message}}`` so the dialog stays open; on success the
  reply goes to the command's ``response_url`` (or is posted by the bot).

The core is synchronous: every call into it runs in Starlette's thread pool, never on
the event loop. Retried deliveries and double clicks write once (``request_key``).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import anyio
import anyio.to_thread
import httpx
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.kit.keys import RecentClicks
from bot.platforms.mattermost_client import MattermostChat
from bot.platforms.port import ChatError, PermanentError, PlatformUser, RateLimited
from bot.platforms.render import (
    MATTERMOST_ACTIONS_PATH,
    MATTERMOST_DIALOGS_PATH,
    ButtonClick,
    MattermostSigner,
    mattermost_markdown,
    to_mattermost,
)
from bot.settings import Settings
from bot.text import markdown_to_text
from commands.core import Router, apology
from commands.invocation import ChannelInfo, Invocation, UserRef, WorkspaceRef
from commands.messages import normalise_locale
from commands.render import message
from commands.reply import Form, FormField, Reply, Visibility
from models import Person, Platform, Role, Workspace

log = logging.getLogger(__name__)

COMMAND_PATH = "/mattermost/command"
# Answer a slash command within this many seconds, or say "on it" and answer later.
ACK_SECONDS = 2.5
# How long what Mattermost says about a person (guest or not, locale) is trusted.
USER_TTL_SECONDS = 300.0
# Commands run at once per web process; the others wait their turn, first come first
# served. Enough to overlap the database's round trips, few enough not to fight over the
# interpreter lock; well within the database pool, so a running command never waits for
# a connection.
CORE_THREADS = 4
# A user look-up refused for a rate limit is tried again after at most this wait.
USER_RETRY_WAIT = 1.0
# Background deliveries still running at shutdown get this long to finish.
DRAIN_SECONDS = 25.0
# A command's response_url takes answers for 30 minutes (command_webhook.go); a dialog
# answered later than this after its command is answered through the bot's own API.
RESPONSE_URL_SECONDS = 25 * 60.0
# Two identical clicks this close, without a trigger id to tell them apart, are one.
CLICK_WINDOW_SECONDS = 10.0
# Mattermost's limits on dialogs (integration_action.go), in UTF-8 bytes.
DIALOG_TITLE_LIMIT = 24
DIALOG_LABEL_LIMIT = 24
DIALOG_HELP_LIMIT = 150
DIALOG_TEXT_LIMIT = 150

_TOKEN_HEADER = re.compile(r"\s*token\s+(\S+)\s*", re.IGNORECASE)

Clock = Callable[[], datetime]
T = TypeVar("T")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def fit_bytes(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` UTF-8 bytes, which is how the Mattermost server
    measures a dialog's title and labels (Go's ``len``): cut between characters, never
    inside one, and marked with an ellipsis."""
    if len(text.encode("utf-8")) <= limit:
        return text
    room = limit - len("…".encode())
    end = len(text.encode("utf-8")[:room].decode("utf-8", errors="ignore"))
    while 0 < end < len(text) and unicodedata.combining(text[end]):
        end -= 1  # an accent typed as its own code point stays with its letter
    return text[:end].rstrip() + "…"


def request_key(kind: str, *parts: str) -> str:
    """A receipt key for a Mattermost request: short whatever the ids' length."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]
    return f"mattermost:{kind}:{digest}"


def click_request_key(payload: Mapping[str, Any], click: ButtonClick, now: datetime) -> str:
    """The receipt key of a click. The server makes a new ``trigger_id`` for every click
    (a random id, the clicker and the time, signed), so it names one delivery: the same
    request sent again writes nothing twice, while yes → no → yes on one invitation
    counts three times. Without a trigger id (a server too old to send one), the click
    falls back to a short time window, in which a second identical click is a double
    click."""
    trigger_id = str(payload.get("trigger_id") or "")
    user_id = str(payload.get("user_id") or "")
    post_id = str(payload.get("post_id") or "")
    if trigger_id:
        return request_key("action", trigger_id, user_id, click.action, click.value)
    bucket = str(int(now.timestamp() // CLICK_WINDOW_SECONDS))
    return request_key("action", post_id, user_id, click.action, click.value, bucket)


@dataclass(frozen=True)
class CommandRequest:
    """The fields of a custom slash command request that Coordo reads."""

    team_id: str
    team_domain: str
    channel_id: str
    channel_name: str
    user_id: str
    user_name: str
    command: str
    text: str
    trigger_id: str
    response_url: str
    # @-mentions Mattermost recognised in the text: username → user id.
    mentions: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_fields(cls, fields: ImmutableMultiDict[str, str]) -> CommandRequest:

        def get(name: str) -> str:
            return str(fields.get(name) or "")

        names = [str(v) for v in fields.getlist("user_mentions")]
        ids = [str(v) for v in fields.getlist("user_mentions_ids")]
        return cls(
            team_id=get("team_id"),
            team_domain=get("team_domain"),
            channel_id=get("channel_id"),
            channel_name=get("channel_name"),
            user_id=get("user_id"),
            user_name=get("user_name"),
            command=get("command"),
            text=get("text"),
            trigger_id=get("trigger_id"),
            response_url=get("response_url"),
            mentions=dict(zip(names, ids, strict=False)) if len(names) == len(ids) else {},
        )


@dataclass(frozen=True)
class DialogState:
    """What Coordo wrote into a dialog's ``state`` when it opened it, signed."""

    form_state: str
    user_id: str
    channel_id: str
    team_id: str
    response_url: str
    nonce: str
    fields: tuple[str, ...]
    user_fields: tuple[str, ...]
    # When the command that opened the dialog came (Unix seconds): its response_url
    # lives 30 minutes from then.
    opened_at: float = 0.0

    def payload(self) -> dict[str, Any]:
        return {
            "a": int(self.opened_at),
            "f": self.form_state,
            "u": self.user_id,
            "c": self.channel_id,
            "t": self.team_id,
            "r": self.response_url,
            "k": self.nonce,
            "n": list(self.fields),
            "us": list(self.user_fields),
        }

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]) -> DialogState:
        return cls(
            form_state=str(data["f"]),
            user_id=str(data["u"]),
            channel_id=str(data["c"]),
            team_id=str(data["t"]),
            response_url=str(data["r"]),
            nonce=str(data["k"]),
            fields=tuple(str(n) for n in data["n"]),
            user_fields=tuple(str(n) for n in data["us"]),
            opened_at=float(data.get("a") or 0),
        )


def _canonical(data: Mapping[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def dialog_element(form_field: FormField) -> dict[str, Any]:
    """One input of Coordo's form as a Mattermost dialog element.

    Numbers and dates stay text inputs: people type amounts the French way (``12,50 €``)
    and dates in words, which the core parses (the web app would turn a ``number``
    subtype into a JavaScript number). A ``user`` field lists the server's users, a
    ``channel`` field its channels; ``bool`` is a checkbox, ``radio`` a list of choices.
    Lengths are cut as the server counts them, in bytes; a default that the server would
    refuse (not among a select's options) is left out.
    """
    element: dict[str, Any] = {
        "display_name": fit_bytes(form_field.label, DIALOG_LABEL_LIMIT),
        "name": form_field.name,
        "type": "text",
        "optional": not form_field.required,
    }
    if element["display_name"] != form_field.label:
        element["help_text"] = fit_bytes(form_field.label, DIALOG_HELP_LIMIT)
    limit = DIALOG_TEXT_LIMIT
    options = [{"text": label, "value": value} for value, label in form_field.options]
    kind = form_field.kind
    if kind == "textarea":
        element["type"] = "textarea"
        limit = 3000
    elif kind in ("select", "radio") and options:
        element["type"] = kind
        element["options"] = options
        limit = 3000
    elif kind in ("user", "channel"):
        element["type"] = "select"
        element["data_source"] = f"{kind}s"
        limit = 3000
    elif kind == "bool":
        element["type"] = "bool"
    if form_field.placeholder:
        element["placeholder"] = fit_bytes(form_field.placeholder, limit)
    initial = form_field.initial
    if element["type"] == "bool":
        initial = initial if initial in ("true", "false") else ""
    elif "options" in element and initial not in {o["value"] for o in options}:
        initial = ""  # the server refuses a default that is not one of the options
    if initial:
        element["default"] = fit_bytes(initial, limit)
    return element


def submitted_text(value: Any) -> str | None:
    """A submitted value as the text the core parses: a checkbox ``true``/``false``, a
    number without a spurious ``.0``, a multi-select's values joined; None for nothing."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ", ".join(t for t in map(submitted_text, value) if t)
    return str(value).strip()


def dialog_of(form: Form, state: str) -> dict[str, Any]:
    return {
        "callback_id": form.callback,
        "title": fit_bytes(form.title, DIALOG_TITLE_LIMIT),
        "submit_label": form.submit_label,
        "notify_on_cancel": False,
        "state": state,
        "elements": [dialog_element(f) for f in form.fields],
    }


def flat_markdown(reply: Reply) -> str:
    """A reply as one Markdown text, for the places that take no attachments
    (``ephemeral_text``): sections as bold titles and field lists, buttons left out."""
    parts = [reply.text]
    for section in reply.sections:
        if section.title:
            parts.append(f"**{section.title}**")
        if section.text:
            parts.append(section.text)
        parts.extend(f"- **{f.label}** : {f.value}" for f in section.fields)
    return mattermost_markdown("\n".join(p for p in parts if p))


class MattermostApp:
    """The Mattermost endpoints of one web process.

    ``chat`` (the bot account's API client) opens dialogs, uploads files, tells guests
    from members and posts what has no ``response_url``; without ``MATTERMOST_URL`` and
    ``MATTERMOST_BOT_TOKEN`` commands still work, without buttons, forms or files.
    """

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        router: Router,
        *,
        chat: MattermostChat | None = None,
        clock: Clock = _utc_now,
        ack_seconds: float = ACK_SECONDS,
        user_ttl: float = USER_TTL_SECONDS,
        core_threads: int = CORE_THREADS,
    ) -> None:
        self.engine = engine
        self.router = router
        self.clock = clock
        self.ack_seconds = ack_seconds
        self.user_ttl = user_ttl
        self._tokens = [(word, token.encode()) for word, token in settings.mattermost_token_pairs()]
        self.signer = MattermostSigner.from_settings(settings)
        if chat is None and settings.mattermost_url and settings.mattermost_bot_token:
            chat = MattermostChat(settings.mattermost_url, settings.mattermost_bot_token)
        self.chat = chat
        self._hooks = httpx.Client(timeout=10.0)
        self._users: dict[str, tuple[float, PlatformUser]] = {}
        self._lock = threading.Lock()
        # Each click has its own trigger id: a double click is told by the one before.
        self.clicks = RecentClicks()
        self._pending: set[asyncio.Task[None]] = set()
        self._core_threads = core_threads
        self._core_limiter: anyio.CapacityLimiter | None = None
        if not self._tokens:
            log.warning("MATTERMOST_COMMAND_TOKENS is empty: every slash command will be refused")
        if self.chat is None:
            log.warning(
                "no Mattermost bot account (MATTERMOST_URL, MATTERMOST_BOT_TOKEN): "
                "no buttons, dialogs or files, and guests are not told from members"
            )

    def routes(self) -> list[Route]:
        return [
            Route(COMMAND_PATH, self.command, methods=["GET", "POST"]),
            Route(MATTERMOST_ACTIONS_PATH, self.action, methods=["POST"]),
            Route(MATTERMOST_DIALOGS_PATH, self.dialog, methods=["POST"]),
        ]

    async def aclose(self) -> None:
        """Let background deliveries finish (within ``DRAIN_SECONDS``), then close."""
        if self._pending:
            _, late = await asyncio.wait(set(self._pending), timeout=DRAIN_SECONDS)
            if late:
                log.error("%d Mattermost deliveries unfinished at shutdown", len(late))
        self._hooks.close()
        if self.chat is not None:
            self.chat.close()

    # -- slash commands ----------------------------------------------------------------

    def authentic(self, command: str, header: str | None, form_token: str | None) -> bool:
        """Whether the request carries the token configured for its trigger word.
        Every token given (``Authorization: Token …`` and the form field) must be it;
        each comparison is constant-time and every configured token is compared, so
        timing tells nothing about which matched. Another scheme in the header (a
        Mattermost server with an outgoing OAuth connection sends ``Bearer …``) is not
        a command token: the form field must then carry it."""
        given = []
        found = _TOKEN_HEADER.fullmatch(header or "")
        if found is not None:
            given.append(found.group(1))
        if form_token:
            given.append(form_token)
        if not given or not self._tokens:
            return False
        trigger = command.strip().lstrip("/").lower()
        ok = True
        for token in given:
            matched = False
            for word, known in self._tokens:
                same = hmac.compare_digest(token.encode(), known)
                matched |= same and (word is None or word == trigger)
            ok &= matched
        return ok

    async def command(self, request: Request) -> Response:
        fields = await _fields(request)
        if not self.authentic(
            str(fields.get("command") or ""),
            request.headers.get("authorization"),
            fields.get("token"),
        ):
            log.warning("refused a Mattermost command from %s: bad token", _client(request))
            return PlainTextResponse("unauthorized", status_code=401)
        cmd = CommandRequest.from_fields(fields)
        work = asyncio.ensure_future(self._in_core(self._run_command, cmd))
        try:
            reply, dialog_opened = await asyncio.wait_for(asyncio.shield(work), self.ack_seconds)
        except TimeoutError:
            self._spawn(self._answer_late(work, cmd))
            text = message("chat.working", self._known_locale(cmd.user_id))
            return JSONResponse({"response_type": "ephemeral", "text": text})
        if reply.files:
            self._spawn(
                run_in_threadpool(
                    self._send_files, reply, cmd.channel_id, cmd.user_id, cmd.response_url
                )
            )
        if dialog_opened:
            return JSONResponse({})
        return JSONResponse(self.command_body(reply, cmd.team_id))

    def command_body(self, reply: Reply, team_id: str) -> dict[str, Any]:
        """A reply as a command response (also what ``response_url`` takes)."""
        ephemeral = reply.visibility != Visibility.CHANNEL
        post = to_mattermost(reply, self.signer, ephemeral=ephemeral, team_id=team_id)
        body: dict[str, Any] = {
            "response_type": "ephemeral" if ephemeral else "in_channel",
            "text": post.text,
            # The text is Mattermost's markdown: the server must not read ``<!channel>``
            # or ``<url|label>`` in it the Slack way.
            "skip_slack_parsing": True,
        }
        if post.attachments:
            body["attachments"] = post.attachments
        return body

    def _run_command(self, cmd: CommandRequest) -> tuple[Reply, bool]:
        """Run a slash command in the core; open its form as a dialog if it has one."""
        locale = None
        try:
            invocation = self._invocation(
                team_id=cmd.team_id,
                team_name=cmd.team_domain,
                channel_id=cmd.channel_id,
                channel_name=cmd.channel_name,
                user_id=cmd.user_id,
                user_name=cmd.user_name,
                command=cmd.command,
                text=cmd.text,
                key=request_key("command", cmd.trigger_id) if cmd.trigger_id else None,
                mentions=cmd.mentions,
            )
            locale = invocation.locale
            reply = self._core(lambda: self.router.dispatch(self.engine, invocation))
        except Exception:
            log.exception("Mattermost command failed: %s %s", cmd.command, cmd.text)
            return apology(locale), False
        if reply.form is not None:
            opened = self._open_dialog(
                reply.form,
                trigger_id=cmd.trigger_id,
                user_id=cmd.user_id,
                channel_id=cmd.channel_id,
                team_id=cmd.team_id,
                response_url=cmd.response_url,
            )
            return reply, opened
        return reply, False

    async def _answer_late(
        self, work: asyncio.Future[tuple[Reply, bool]], cmd: CommandRequest
    ) -> None:
        reply, dialog_opened = await work
        if not dialog_opened:
            await run_in_threadpool(
                self._respond, cmd.response_url, self.command_body(reply, cmd.team_id)
            )
        if reply.files:
            await run_in_threadpool(
                self._send_files, reply, cmd.channel_id, cmd.user_id, cmd.response_url
            )

    # -- buttons -----------------------------------------------------------------------

    async def action(self, request: Request) -> Response:
        payload = await _json_object(request)
        if payload is None:
            return PlainTextResponse("bad request", status_code=400)
        click = self.signer.verify_button(payload.get("context")) if self.signer else None
        if click is None:
            log.warning("refused a Mattermost action from %s: unsigned context", _client(request))
            return PlainTextResponse("unauthorized", status_code=401)
        body, reply = await self._in_core(self._run_action, payload, click)
        if reply is not None and reply.files:
            channel_id = str(payload.get("channel_id") or "")
            user_id = str(payload.get("user_id") or "")
            self._spawn(run_in_threadpool(self._send_files, reply, channel_id, user_id, ""))
        return JSONResponse(body)

    def _run_action(
        self, payload: Mapping[str, Any], click: ButtonClick
    ) -> tuple[dict[str, Any], Reply | None]:
        user_id = str(payload.get("user_id") or "")
        channel_id = str(payload.get("channel_id") or "")
        trigger_id = str(payload.get("trigger_id") or "")
        team_id = click.team_id or str(payload.get("team_id") or "") or self._team_of(user_id)
        locale = None
        try:
            if not team_id or not user_id:
                return {
                    "ephemeral_text": message("core.unknown_action", self._known_locale(user_id))
                }, None
            invocation = self._invocation(
                team_id=team_id,
                team_name=str(payload.get("team_domain") or ""),
                channel_id=channel_id,
                channel_name=str(payload.get("channel_name") or ""),
                user_id=user_id,
                user_name=str(payload.get("user_name") or ""),
                command="",
                text="",
                key=self._click_key(payload, click),
                mentions={},
            )
            locale = invocation.locale
            reply = self._core(
                lambda: self.router.act(self.engine, invocation, click.action, click.value)
            )
        except Exception:
            log.exception("Mattermost action failed: %s %s", click.action, click.value)
            return {"ephemeral_text": apology(locale).text}, None
        if reply.form is not None and self._open_dialog(
            reply.form,
            trigger_id=trigger_id,
            user_id=user_id,
            channel_id=channel_id,
            team_id=team_id,
            response_url="",
        ):
            return {}, reply
        if click.ephemeral or reply.visibility != Visibility.CHANNEL:
            # An ephemeral post cannot be edited, and a private answer must not replace
            # what the channel sees: tell the clicker alone.
            return {"ephemeral_text": flat_markdown(reply)}, reply
        post = to_mattermost(reply, self.signer, team_id=team_id)
        # Props given in full, so the old buttons go and the new ones come.
        update = {"message": post.text, "props": {"attachments": post.attachments or []}}
        return {"update": update}, reply

    def _click_key(self, payload: Mapping[str, Any], click: ButtonClick) -> str:
        """The click's request key; a double click shares the first click's."""
        now = self.clock()
        return self.clicks.key(
            str(payload.get("user_id") or ""),
            str(payload.get("post_id") or ""),
            f"{click.action}\x1f{click.value}",
            now,
            click_request_key(payload, click, now),
        )

    # -- dialogs -----------------------------------------------------------------------

    def _open_dialog(
        self,
        form: Form,
        *,
        trigger_id: str,
        user_id: str,
        channel_id: str,
        team_id: str,
        response_url: str,
    ) -> bool:
        """Open ``form`` as a dialog for this person (the trigger lives 3 s); False
        when that cannot be done, and the reply's text is shown instead."""
        if self.chat is None or self.signer is None or not trigger_id:
            return False
        state = DialogState(
            form_state=form.state,
            user_id=user_id,
            channel_id=channel_id,
            team_id=team_id,
            response_url=response_url,
            nonce=hashlib.sha256(trigger_id.encode()).hexdigest()[:32],
            fields=tuple(f.name for f in form.fields),
            user_fields=tuple(f.name for f in form.fields if f.kind == "user"),
            opened_at=self.clock().timestamp(),
        )
        data = state.payload()
        data["s"] = self.signer.sign("dialog", form.callback, _canonical(data))
        try:
            self.chat.open_dialog(
                trigger_id, self.signer.dialogs_url, dialog_of(form, _canonical(data))
            )
        except ChatError:
            log.warning("could not open the Mattermost dialog %s", form.callback, exc_info=True)
            return False
        return True

    def verify_state(self, callback: str, raw: object, user_id: str) -> DialogState | None:
        """The state of a dialog Coordo opened for ``user_id``, or None."""
        if self.signer is None or not isinstance(raw, str):
            return None
        try:
            data = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        signature = data.pop("s", None)
        if not self.signer.check(signature, "dialog", callback, _canonical(data)):
            return None
        try:
            state = DialogState.from_payload(data)
        except (KeyError, TypeError):
            return None
        return state if state.user_id == user_id else None

    async def dialog(self, request: Request) -> Response:
        payload = await _json_object(request)
        if payload is None:
            return PlainTextResponse("bad request", status_code=400)
        callback = str(payload.get("callback_id") or "")
        user_id = str(payload.get("user_id") or "")
        state = self.verify_state(callback, payload.get("state"), user_id)
        if state is None:
            log.warning("refused a Mattermost dialog from %s: unsigned state", _client(request))
            return PlainTextResponse("unauthorized", status_code=401)
        if payload.get("cancelled"):
            return JSONResponse({})
        submission = payload.get("submission")
        values = submission if isinstance(submission, dict) else {}
        reply = await self._in_core(self._run_dialog, payload, callback, state, values)
        if reply.errors:
            return JSONResponse(self.dialog_errors(reply, state))
        self._spawn(run_in_threadpool(self._deliver, reply, state))
        return JSONResponse({})

    @staticmethod
    def dialog_errors(reply: Reply, state: DialogState) -> dict[str, Any]:
        """Errors next to their fields; the others above the dialog's buttons."""
        errors = {name: markdown_to_text(text) for name, text in reply.errors.items()}
        by_field = {name: text for name, text in errors.items() if name in state.fields}
        general = [text for name, text in errors.items() if name not in state.fields]
        body: dict[str, Any] = {}
        if by_field:
            body["errors"] = by_field
        if general:
            body["error"] = " ".join(general)
        return body

    def _run_dialog(
        self,
        payload: Mapping[str, Any],
        callback: str,
        state: DialogState,
        submission: Mapping[str, Any],
    ) -> Reply:
        locale = None
        try:
            values, mentions = self._form_values(submission, state)
            invocation = self._invocation(
                team_id=state.team_id,
                team_name="",
                channel_id=state.channel_id,
                channel_name="",
                user_id=state.user_id,
                user_name="",
                command="",
                text="",
                key=request_key("dialog", state.nonce),
                mentions=mentions,
            )
            locale = invocation.locale
            return self._core(
                lambda: self.router.submit(
                    self.engine, invocation, callback, values, state.form_state
                )
            )
        except Exception:
            log.exception("Mattermost dialog failed: %s", callback)
            sorry = apology(locale)
            sorry.errors[""] = sorry.text
            return sorry

    def _form_values(
        self, submission: Mapping[str, Any], state: DialogState
    ) -> tuple[dict[str, str], dict[str, str]]:
        """Submitted values as text the core reads, for the dialog's own fields only. A
        chosen user (the web app sends their id) becomes ``@username`` with its mention,
        so the core finds the person as it does for a typed ``@mention``; when the
        server cannot say who it is, the id stays and the core says it knows no one so."""
        values: dict[str, str] = {}
        mentions: dict[str, str] = {}
        for name, value in submission.items():
            text = submitted_text(value)
            if text is None or name not in state.fields:
                continue
            if name in state.user_fields and text:
                try:
                    user = self._user(text)
                except ChatError:
                    log.warning("Mattermost user look-up failed for a dialog", exc_info=True)
                    user = None
                if user is not None:
                    mentions[user.name] = user.id
                    text = f"@{user.name}"
            values[str(name)] = text
        return values, mentions

    # -- delivering --------------------------------------------------------------------

    def _deliver(self, reply: Reply, state: DialogState) -> None:
        """A dialog's reply: to the command's ``response_url`` while it still takes
        answers, else (the dialog came from a button, or was submitted too late, or the
        hook refused) posted by the bot: in the channel, or to the person in a direct
        message for a private reply (an ephemeral post needs a system admin's token)."""
        age = self.clock().timestamp() - state.opened_at
        fresh = bool(state.response_url) and age < RESPONSE_URL_SECONDS
        if not (
            fresh and self._respond(state.response_url, self.command_body(reply, state.team_id))
        ):
            self._post_as_bot(reply, state)
        if reply.files:
            self._send_files(
                reply, state.channel_id, state.user_id, state.response_url if fresh else ""
            )

    def _post_as_bot(self, reply: Reply, state: DialogState) -> None:
        if self.chat is None:
            log.error("a Mattermost dialog's reply is lost: no bot account to post it")
            return
        post = to_mattermost(reply, self.signer, team_id=state.team_id)
        try:
            if reply.visibility == Visibility.CHANNEL:
                try:
                    self.chat.post(state.channel_id, post)
                    return
                except PermanentError:
                    log.warning(
                        "the bot may not post in %s: the reply goes to the person", state.channel_id
                    )
            self.chat.direct_message(state.user_id, post)
        except ChatError:
            log.exception("could not deliver the reply to a Mattermost dialog")

    def _respond(self, url: str, body: dict[str, Any]) -> bool:
        """Post a late answer to a ``response_url`` (5 uses within 30 minutes); whether
        the server took it."""
        if not url:
            return False
        try:
            response = self._hooks.post(url, json=body)
        except httpx.HTTPError:
            log.exception("Mattermost response_url unreachable")
            return False
        if response.is_error:
            log.error(
                "Mattermost response_url refused the answer: HTTP %s %s",
                response.status_code,
                response.text[:200],
            )
            return False
        return True

    def _send_files(self, reply: Reply, channel_id: str, user_id: str, response_url: str) -> None:
        """Upload a reply's files with the bot account: to the channel for a channel
        reply, to the person for a private one (an export is not for every guest of the
        channel). When the bot may not post in the channel, the person gets the file."""
        if self.chat is None:
            log.warning("a reply has %d file(s) but no Mattermost bot account", len(reply.files))
            return
        locale = self._known_locale(user_id)
        private = reply.visibility != Visibility.CHANNEL
        for file in reply.files:
            try:
                target = self.chat.open_direct_channel(user_id) if private else channel_id
                try:
                    self.chat.upload_file(target, file.filename, file.content, file.title)
                except PermanentError:
                    if private:
                        raise
                    self.chat.upload_file(
                        self.chat.open_direct_channel(user_id),
                        file.filename,
                        file.content,
                        file.title,
                    )
                    notice = mattermost_markdown(
                        message("chat.file_sent_privately", locale, title=file.title)
                    )
                    self._respond(response_url, {"response_type": "ephemeral", "text": notice})
            except ChatError:
                log.exception("could not upload %s to Mattermost", file.filename)
                notice = mattermost_markdown(message("chat.file_failed", locale, title=file.title))
                self._respond(response_url, {"response_type": "ephemeral", "text": notice})

    async def _in_core(self, func: Callable[..., T], *args: Any) -> T:
        """Run ``func`` (which calls the synchronous core) in a worker thread, at most
        ``core_threads`` at once. Waiting in this fair queue rather than for a database
        connection (which wakes waiters in no order) keeps the slowest answers close to
        the typical one under load."""
        if self._core_limiter is None:  # made on the event loop, at the first request
            self._core_limiter = anyio.CapacityLimiter(self._core_threads)
        return await anyio.to_thread.run_sync(func, *args, limiter=self._core_limiter)

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        """Run ``work`` after the answer; kept until done so shutdown can wait for it."""

        async def guarded() -> None:
            try:
                await work
            except Exception:
                log.exception("a Mattermost delivery failed")

        task = asyncio.ensure_future(guarded())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    # -- who and where -----------------------------------------------------------------

    def _invocation(
        self,
        *,
        team_id: str,
        team_name: str,
        channel_id: str,
        channel_name: str,
        user_id: str,
        user_name: str,
        command: str,
        text: str,
        key: str | None,
        mentions: dict[str, str],
    ) -> Invocation:
        user = self._user(user_id)
        guest = bool(user and user.is_guest)
        handle = user_name or (user.name if user else user_id)
        return Invocation(
            workspace=WorkspaceRef(Platform.MATTERMOST, team_id, team_name),
            channel=ChannelInfo(channel_id, channel_name),
            user=UserRef(user_id, handle, handle, is_guest=guest),
            command=command.strip().lstrip("/"),
            text=text,
            now=self.clock(),
            locale=user.locale if user else None,
            timezone=user.timezone if user else None,
            role=Role.PARTNER if guest else None,
            request_key=key,
            mentioned_ids=mentions,
        )

    def _user(self, user_id: str) -> PlatformUser | None:
        """What the server says of ``user_id`` (guest or not, locale, timezone), cached
        for ``user_ttl`` s.

        When the server cannot say (rate limit, outage), the last answer serves, however
        old; else a person Coordo already knows goes on as the database knows them
        (``None``: a guest stays a guest); a stranger gets no answer (the lookup's error
        is raised), better than a guest taken for a member."""
        if self.chat is None or not user_id:
            return None
        now = time.monotonic()
        with self._lock:
            cached = self._users.get(user_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            user = self._fetch_user(self.chat, user_id)
        except ChatError as error:
            if cached is not None:
                log.warning("Mattermost user look-up failed (%s); using the last answer", error)
                return cached[1]
            if self._known(user_id):
                log.warning("Mattermost user look-up failed (%s); going by the database", error)
                return None
            raise
        with self._lock:
            self._users[user_id] = (now + self.user_ttl, user)
        return user

    @staticmethod
    def _fetch_user(chat: MattermostChat, user_id: str) -> PlatformUser:
        """``GET /users/{id}``, once more after a short rate-limit wait (a person waits)."""
        try:
            return chat.get_user(user_id)
        except RateLimited as limited:
            if limited.retry_after > USER_RETRY_WAIT:
                raise
            time.sleep(limited.retry_after)
            return chat.get_user(user_id)

    def _known(self, user_id: str) -> bool:
        with Session(self.engine) as session:
            found = session.exec(
                select(Person.id)
                .join(Workspace, col(Person.workspace_id) == Workspace.id)
                .where(Workspace.platform == Platform.MATTERMOST, Person.external_id == user_id)
            ).first()
        return found is not None

    def _known_locale(self, user_id: str) -> str:
        """The person's locale if already looked up (never a network call)."""
        with self._lock:
            cached = self._users.get(user_id)
        return normalise_locale(cached[1].locale if cached is not None else None)

    def _team_of(self, user_id: str) -> str:
        """The team of a click made where Mattermost names none (a direct message): the
        first Mattermost workspace that knows this person."""
        with Session(self.engine) as session:
            team = session.exec(
                select(Workspace.external_id)
                .join(Person, col(Person.workspace_id) == Workspace.id)
                .where(Workspace.platform == Platform.MATTERMOST, Person.external_id == user_id)
                .order_by(col(Workspace.id))
            ).first()
        return team or ""

    @staticmethod
    def _core(call: Callable[[], Reply]) -> Reply:
        try:
            return call()
        except IntegrityError:
            # Two first requests of a new workspace or person at once: the loser's
            # transaction was rolled back whole; run it again, now that the rows exist.
            return call()


async def _fields(request: Request) -> ImmutableMultiDict[str, str]:
    """The request's fields: the URL-encoded body of a POST, the query of a GET (as the
    command is configured in Mattermost). ``user_mentions`` and others repeat."""
    if request.method != "POST":
        return ImmutableMultiDict(request.query_params.multi_items())
    body = (await request.body()).decode("utf-8", errors="replace")
    return ImmutableMultiDict(parse_qsl(body, keep_blank_values=True))


async def _json_object(request: Request) -> dict[str, Any] | None:
    try:
        payload = await request.json()
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def _client(request: Request) -> str:
    return request.client.host if request.client else "?"
