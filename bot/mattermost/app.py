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
  command still running after the runner's ack budget is answered "on it", and its reply
  goes to ``response_url`` when ready. Files go through the bot account's API upload.
- ``/mattermost/actions``: a click on a button Coordo made. Mattermost sends no token
  here; the button's ``context`` (kept by the Mattermost server, never shown to clients)
  carries Coordo's signature instead, and an unsigned click gets 401. The answer edits
  the post (``update``) or tells the clicker alone (``ephemeral_text``).
- ``/mattermost/dialogs``: a submitted interactive dialog (Coordo's ``Form``). Its
  ``state`` is signed too, binding the dialog to the person it was opened for. Errors
  come back as ``{"errors": {field: message}}`` so the dialog stays open; on success the
  reply goes to the command's ``response_url`` (or is posted by the bot).

What every platform shares comes from the adapter kit (``bot.kit``): commands, clicks and
submissions run in the process's one ``Runner`` (never on the event loop); people are
looked up through its ``Directory``; a retried delivery (the same trigger id) and a double
click write once (``delivery_key``, ``click_key``); a reply's files go by ``plan``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import hashlib
import hmac
import json
import logging
import re
import time
import unicodedata
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import httpx
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.kit.delivery import Where, plan
from bot.kit.directory import Directory, LookupFailed
from bot.kit.inbound import InboundCommand
from bot.kit.keys import RecentClicks, click_key, delivery_key
from bot.kit.port import (
    ChatError,
    PermanentError,
    PlatformChannel,
    PlatformUser,
    RateLimited,
)
from bot.kit.runner import Runner, shared_runner
from bot.mattermost.client import MattermostChat
from bot.mattermost.render import (
    MATTERMOST_ACTIONS_PATH,
    MATTERMOST_DIALOGS_PATH,
    MattermostSigner,
    mattermost_markdown,
    to_mattermost,
)
from bot.settings import Settings
from bot.text import markdown_to_text
from commands.core import Router
from commands.invocation import Invocation
from commands.messages import normalise_locale
from commands.render import message
from commands.reply import File, Form, FormField, Reply, Visibility
from models import Person, Platform, Workspace

log = logging.getLogger(__name__)

COMMAND_PATH = "/mattermost/command"
# How long what Mattermost says about a person (guest or not, locale) is trusted.
USER_TTL = timedelta(minutes=5)
# A user look-up refused for a rate limit is tried again after at most this wait.
USER_RETRY_WAIT = 1.0
# Background deliveries still running at shutdown get this long to finish.
DRAIN_SECONDS = 25.0
# A command's response_url takes answers for 30 minutes (command_webhook.go); a dialog
# answered later than this after its command is answered through the bot's own API.
RESPONSE_URL_SECONDS = 25 * 60.0
# Mattermost's limits on dialogs (integration_action.go), in UTF-8 bytes.
DIALOG_TITLE_LIMIT = 24
DIALOG_LABEL_LIMIT = 24
DIALOG_HELP_LIMIT = 150
DIALOG_TEXT_LIMIT = 150

_TOKEN_HEADER = re.compile(r"\s*token\s+(\S+)\s*", re.IGNORECASE)

Clock = Callable[[], datetime]


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


def click_moment(trigger_id: str, arrived: datetime) -> datetime:
    """When a click was made: the time the server wrote into its trigger id (base64 of
    ``client id:user id:milliseconds:signature``), so that an exact replay of one click
    falls in its own window however late it comes; without a readable one, when it
    arrived."""
    try:
        millis = int(base64.b64decode(trigger_id, validate=True).split(b":")[2])
        return datetime.fromtimestamp(millis / 1000, UTC)
    except (binascii.Error, ValueError, IndexError, OverflowError, OSError):
        return arrived


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
    ``runner``: the process's one runner, shared with the other platforms.
    """

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        router: Router,
        *,
        chat: MattermostChat | None = None,
        clock: Clock = _utc_now,
        runner: Runner | None = None,
        user_ttl: timedelta = USER_TTL,
    ) -> None:
        self.engine = engine
        self.router = router
        self.clock = clock
        self.runner = runner or shared_runner(engine, router)
        self._tokens = [
            (entry.word, entry.team, entry.token.encode())
            for entry in settings.mattermost_command_entries()
        ]
        self.signer = MattermostSigner.from_settings(settings)
        if chat is None and settings.mattermost_url and settings.mattermost_bot_token:
            chat = MattermostChat(settings.mattermost_url, settings.mattermost_bot_token)
        self.chat = chat
        # Without a bot account no file can be uploaded: the reply says so.
        self.capabilities = dataclasses.replace(MattermostChat.capabilities, files=bool(chat))
        self.directory = Directory(self._look_up, ttl=user_ttl, clock=lambda: self.clock())
        self.clicks = RecentClicks()
        self._hooks = httpx.Client(timeout=10.0)
        self._pending: set[asyncio.Task[None]] = set()
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

    def authentic(
        self, command: str, header: str | None, form_token: str | None, team_id: str = ""
    ) -> bool:
        """Whether the request carries the token configured for its trigger word (and for
        its team, when the token is bound to one: a team's admin sees its command's token,
        which must not speak for another team of the server).
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
            for word, team, known in self._tokens:
                same = hmac.compare_digest(token.encode(), known)
                matched |= same and (word is None or word == trigger) and team in (None, team_id)
            ok &= matched
        return ok

    async def command(self, request: Request) -> Response:
        fields = await _fields(request)
        if not self.authentic(
            str(fields.get("command") or ""),
            request.headers.get("authorization"),
            fields.get("token"),
            str(fields.get("team_id") or ""),
        ):
            log.warning("refused a Mattermost command from %s: bad token", _client(request))
            return PlainTextResponse("unauthorized", status_code=401)
        cmd = CommandRequest.from_fields(fields)
        # A failure is apologised for in the language of the command's word.
        locale = self.runner.word_locale(cmd.command) or self._known_locale(cmd.user_id)
        # A retried delivery of the command carries its trigger id again.
        key = (
            delivery_key(Platform.MATTERMOST, cmd.team_id, cmd.trigger_id)
            if cmd.trigger_id
            else None
        )

        def invocation() -> Invocation:
            return self._invocation(
                team_id=cmd.team_id,
                team_name=cmd.team_domain,
                channel_id=cmd.channel_id,
                channel_name=cmd.channel_name,
                user_id=cmd.user_id,
                user_name=cmd.user_name,
                command=cmd.command,
                text=cmd.text,
                key=key,
                mentions=cmd.mentions,
            )

        work = asyncio.wrap_future(self.runner.dispatch(invocation, locale))
        done, _ = await asyncio.wait({work}, timeout=self.runner.ack_budget)
        if not done:
            self._spawn(self._answer_late(work, cmd))
            return JSONResponse(_answer(message("chat.working", locale)))
        body = await self._command_answer(work.result(), cmd)
        return JSONResponse(body or {})

    async def _answer_late(self, work: asyncio.Future[Reply], cmd: CommandRequest) -> None:
        body = await self._command_answer(await work, cmd)
        if body is not None:
            await run_in_threadpool(self._respond, cmd.response_url, body)

    async def _command_answer(self, reply: Reply, cmd: CommandRequest) -> dict[str, Any] | None:
        """A command's answer (also what ``response_url`` takes), its files sent after;
        None when its form opened as a dialog."""
        if reply.form is not None and await run_in_threadpool(
            self._open_dialog,
            reply.form,
            trigger_id=cmd.trigger_id,
            user_id=cmd.user_id,
            channel_id=cmd.channel_id,
            team_id=cmd.team_id,
            response_url=cmd.response_url,
        ):
            return None
        body, files = self._planned(reply, cmd.user_id)
        self._send_files_later(files, body, cmd.channel_id, cmd.user_id, cmd.response_url)
        return self.command_body(body, cmd.team_id)

    def command_body(self, reply: Reply, team_id: str) -> dict[str, Any]:
        """A reply as a command response (also what ``response_url`` takes)."""
        ephemeral = reply.visibility != Visibility.CHANNEL
        post = to_mattermost(reply, self.signer, ephemeral=ephemeral, team_id=team_id)
        body = _answer(post.text, ephemeral=ephemeral)
        if post.attachments:
            body["attachments"] = post.attachments
        return body

    # -- buttons -----------------------------------------------------------------------

    async def action(self, request: Request) -> Response:
        payload = await _json_object(request)
        if payload is None:
            return PlainTextResponse("bad request", status_code=400)
        click = self.signer.verify_button(payload.get("context")) if self.signer else None
        if click is None:
            log.warning("refused a Mattermost action from %s: unsigned context", _client(request))
            return PlainTextResponse("unauthorized", status_code=401)
        user_id = str(payload.get("user_id") or "")
        channel_id = str(payload.get("channel_id") or "")
        trigger_id = str(payload.get("trigger_id") or "")
        team_id = click.team_id or str(payload.get("team_id") or "")
        if not team_id and user_id:
            team_id = await run_in_threadpool(self._team_of, user_id)
        locale = self._known_locale(user_id)
        if not team_id or not user_id:
            return JSONResponse({"ephemeral_text": message("core.unknown_action", locale)})
        moment = click_moment(trigger_id, self.clock())
        post_id = str(payload.get("post_id") or "")
        # Each click has its own trigger id (an exact replay writes once however late); one
        # that repeats the person's previous click on this post within two seconds is a
        # double click and takes that one's key.
        own = (
            delivery_key(Platform.MATTERMOST, team_id, f"click:{trigger_id}")
            if trigger_id
            else click_key(
                Platform.MATTERMOST, team_id, user_id, post_id, click.action, click.value, moment
            )
        )
        key = self.clicks.key(user_id, post_id, f"{click.action}\x1f{click.value}", moment, own)

        def invocation() -> Invocation:
            return self._invocation(
                team_id=team_id,
                team_name=str(payload.get("team_domain") or ""),
                channel_id=channel_id,
                channel_name=str(payload.get("channel_name") or ""),
                user_id=user_id,
                user_name=str(payload.get("user_name") or ""),
                command="",
                text="",
                key=key,
                mentions={},
            )

        work = self.runner.act(invocation, click.action, click.value, locale)
        reply = await asyncio.wrap_future(work)
        if reply.form is not None and await run_in_threadpool(
            self._open_dialog,
            reply.form,
            trigger_id=trigger_id,
            user_id=user_id,
            channel_id=channel_id,
            team_id=team_id,
            response_url="",
        ):
            return JSONResponse({})
        body, files = self._planned(reply, user_id)
        self._send_files_later(files, body, channel_id, user_id, "")
        if click.ephemeral or body.visibility != Visibility.CHANNEL:
            # An ephemeral post cannot be edited, and a private answer must not replace
            # what the channel sees: tell the clicker alone.
            return JSONResponse({"ephemeral_text": flat_markdown(body)})
        post = to_mattermost(body, self.signer, team_id=team_id)
        # Props given in full, so the old buttons go and the new ones come.
        update = {"message": post.text, "props": {"attachments": post.attachments or []}}
        return JSONResponse({"update": update})

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

        def submit() -> Reply:
            fields, mentions = self._form_values(values, state)
            invocation = self._invocation(
                team_id=state.team_id,
                team_name="",
                channel_id=state.channel_id,
                channel_name="",
                user_id=state.user_id,
                user_name="",
                command="",
                text="",
                key=delivery_key(Platform.MATTERMOST, state.team_id, f"dialog:{state.nonce}"),
                mentions=mentions,
            )
            return self.router.submit(self.engine, invocation, callback, fields, state.form_state)

        locale = self._known_locale(user_id)
        reply = await asyncio.wrap_future(self.runner.run(locale, submit, f"dialog {callback}"))
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
                    user = self.directory.get(text)
                except LookupFailed:
                    log.warning("Mattermost user look-up failed for a dialog", exc_info=True)
                else:
                    mentions[user.name] = user.id
                    text = f"@{user.name}"
            values[str(name)] = text
        return values, mentions

    # -- delivering --------------------------------------------------------------------

    def _planned(self, reply: Reply, user_id: str) -> tuple[Reply, list[File]]:
        """The reply by Mattermost's capabilities (``plan``): its message and the files
        that follow it. Mattermost has ephemeral messages, so everything stays where it
        was asked; without a bot account, a line says the files were left out."""
        [step] = plan(reply, self.capabilities, in_direct=False, locale=self._known_locale(user_id))
        assert step.where == Where.HERE
        return step.reply, step.files

    def _deliver(self, reply: Reply, state: DialogState) -> None:
        """A dialog's reply: to the command's ``response_url`` while it still takes
        answers, else (the dialog came from a button, or was submitted too late, or the
        hook refused) posted by the bot: in the channel, or to the person in a direct
        message for a private reply (an ephemeral post needs a system admin's token)."""
        body, files = self._planned(reply, state.user_id)
        age = self.clock().timestamp() - state.opened_at
        fresh = bool(state.response_url) and age < RESPONSE_URL_SECONDS
        if not (
            fresh and self._respond(state.response_url, self.command_body(body, state.team_id))
        ):
            self._post_as_bot(body, state)
        if files:
            private = body.visibility != Visibility.CHANNEL
            url = state.response_url if fresh else ""
            self._send_files(files, private, state.channel_id, state.user_id, url)

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

    def _send_files_later(
        self, files: list[File], body: Reply, channel_id: str, user_id: str, response_url: str
    ) -> None:
        if files:
            private = body.visibility != Visibility.CHANNEL
            self._spawn(
                run_in_threadpool(
                    self._send_files, files, private, channel_id, user_id, response_url
                )
            )

    def _send_files(
        self, files: list[File], private: bool, channel_id: str, user_id: str, response_url: str
    ) -> None:
        """Upload a reply's files with the bot account: to the channel for a channel
        reply, to the person for a private one (an export is not for every guest of the
        channel, and a file cannot be ephemeral). When the bot may not post in the
        channel, the person gets the file, and a notice says why."""
        assert self.chat is not None  # without one, ``plan`` left the files out
        locale = self._known_locale(user_id)
        for file in files:
            try:
                target = self.chat.open_direct_channel(user_id) if private else channel_id
                try:
                    self.chat.upload_file(target, file.filename, file.content, file.title)
                except PermanentError:
                    if private:
                        raise
                    direct = self.chat.open_direct_channel(user_id)
                    self.chat.upload_file(direct, file.filename, file.content, file.title)
                    notice = message("chat.file_sent_privately", locale, title=file.title)
                    self._respond(response_url, _answer(mattermost_markdown(notice)))
            except ChatError:
                log.exception("could not upload %s to Mattermost", file.filename)
                notice = message("chat.file_failed", locale, title=file.title)
                self._respond(response_url, _answer(mattermost_markdown(notice)))

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
        """Runs in the runner's pool: it may look the person up."""
        return InboundCommand(
            platform=Platform.MATTERMOST,
            workspace_id=team_id,
            workspace_name=team_name,
            channel=PlatformChannel(channel_id, channel_name),
            user=self._person(user_id, user_name),
            command=command.strip().lstrip("/"),
            text=text,
            now=self.clock(),
            request_key=key,
            mentioned_ids=mentions,
        ).invocation()

    def _person(self, user_id: str, user_name: str) -> PlatformUser:
        """Who ``user_id`` is, by the directory and its one policy when the server
        cannot say (``LookupFailed``: the command is refused, nothing written). Without
        a bot account nobody can be asked: a member, by the name the request gave."""
        if self.chat is None:
            return PlatformUser(user_id, user_name or user_id, is_guest=False)
        return self.directory.get(user_id)

    def _look_up(self, user_id: str) -> PlatformUser:
        """``GET /users/{id}``, once more after a short rate-limit wait (a person waits)."""
        if self.chat is None:
            raise PermanentError("no Mattermost bot account to look people up")
        try:
            return self.chat.get_user(user_id)
        except RateLimited as limited:
            if limited.retry_after > USER_RETRY_WAIT:
                raise
            time.sleep(limited.retry_after)
            return self.chat.get_user(user_id)

    def _known_locale(self, user_id: str) -> str:
        """The person's locale if already looked up (never a network call)."""
        known = self.directory.last_known(user_id)
        return normalise_locale(known.locale if known is not None else None)

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


def _answer(text: str, *, ephemeral: bool = True) -> dict[str, Any]:
    """A command's answer, or what a ``response_url`` takes. The text is Mattermost's
    markdown: the server must not read ``<!channel>`` or ``<url|label>`` in it the Slack
    way (``skip_slack_parsing``), notices as much as replies."""
    return {
        "response_type": "ephemeral" if ephemeral else "in_channel",
        "text": text,
        "skip_slack_parsing": True,
    }


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
