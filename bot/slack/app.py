"""Coordo on Slack: the Bolt app (slash commands, buttons, modals, App Home), served over
HTTP at ``/slack/events`` or through Socket Mode.

The pipeline of one HTTP request, and why it is shaped so:

1. ``SlackApp.endpoint`` (async, on the event loop) reads the body and checks its signature
   and timestamp with ``slack_sdk``'s ``SignatureVerifier`` (401 otherwise), then its shape
   (400 for a body Slack would never send); both are microseconds of work.
2. It hands the request to Bolt's ``App.dispatch`` **in one of the core's worker threads**
   (the pool of the kit's ``Runner``, one per process, shared with the other platforms).
   Bolt's own Starlette adapter calls the synchronous ``dispatch`` on the event loop, where
   Bolt waits for the ack in a loop of 10 ms sleeps: every request then holds the whole
   server for at least 10 ms (the ~90 requests/s ceiling ``bench/slack_http.py``
   measures). Here the app runs with ``process_before_response=True``, so the listener
   runs in the calling thread and returns the ack itself: no polling, and the event loop
   stays free.
3. The listener builds the neutral ``Invocation`` (an ``InboundCommand`` of the kit) and
   runs the core (synchronous, one transaction) right there, in the same thread, under
   the runner's guard: one thread hop per request. The endpoint keeps the time: after the
   runner's ``ack_budget`` seconds (2.5 by default: Slack wants the ack
   within 3) it answers "working on it", and the listener, when its reply is ready, sends
   it through ``response_url`` instead. Which of the two answers is settled once, under a
   lock (``Handoff``), so a reply is never lost nor given twice. Further pages of a long
   reply and the files of a reply (``files_upload_v2``) always go after the ack, from a
   background pool.

Socket Mode (``SLACK_APP_TOKEN``) feeds the same Bolt app, hence the same listeners, over a
WebSocket; there is no signature to check there, the connection is authenticated. There the
listener keeps the time itself: the core runs in the runner's pool and the listener waits
for it at most ``ack_budget`` seconds.

People are looked up (``users.info``) through the kit's ``Directory``: when Slack does not
answer, the last answer known is used whatever its age; with none, the request is refused
with "try again" and nothing is written. Replies and files go where the kit's ``plan``
puts them by Slack's capabilities: ephemeral through ``response_url`` or
``chat.postEphemeral`` (a direct message when Slack refuses it), files after the message.

Safety. A request is identified by a key the core stores once it has handled it
(``RequestReceipt``, keys of ``bot.kit.keys``): the ``trigger_id`` of a slash command, the
view of a modal, and for a click the person, the message, the button and its
``action_ts``; a click repeating the person's previous one on that message within two
seconds takes its key (``RecentClicks``). So a retried delivery or a double click writes
once, and yes → no → yes counts three times. The workspace is the one the app is
installed in (the bot token's team): a person from another organisation, in a channel
shared with it (Slack Connect), acts inside that workspace as a partner and never reaches
data of their own team.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import parse_qs

from slack_bolt import Ack, App, BoltContext, BoltRequest, BoltResponse
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import Engine
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.kit.delivery import Where as Place
from bot.kit.delivery import plan
from bot.kit.directory import Directory, LookupFailed
from bot.kit.inbound import InboundCommand
from bot.kit.keys import RecentClicks, delivery_key
from bot.kit.port import ChatError, PlatformChannel, PlatformMessage, PlatformUser
from bot.kit.runner import Runner, shared_runner
from bot.settings import Settings
from bot.slack.client import SlackChat, post_to_response_url
from bot.slack.render import action_name, home_view, modal_view, mrkdwn, to_slack_pages
from bot.text import markdown_to_text
from commands.core import Router
from commands.errors import UserError
from commands.home import ACTION as HOME_ACTION
from commands.invocation import ChannelInfo, Invocation
from commands.messages import normalise_locale
from commands.render import message
from commands.reply import File, Reply, Visibility
from models import Platform

log = logging.getLogger(__name__)

# How long what users.info said is trusted; when it fails, the last answer is used
# whatever its age (``bot.kit.directory``).
PEOPLE_TTL = timedelta(minutes=5)
# How long what conversations.info said is trusted, and how many answers are kept.
DIRECTORY_TTL = 300.0
DIRECTORY_SIZE = 10_000
# Slack's requests are a few kilobytes; anything this large is not one of them.
MAX_BODY = 1_000_000
# A ``response_url`` takes 5 messages; the ack carries the first page of a reply.
MAX_PAGES = 6
MAX_ERROR_TEXT = 2000
# Retries of the start-up check: after 1 s, then twice as long each time, at most 5 min.
START_RETRY_FIRST = 1.0
START_RETRY_MAX = 300.0
# What chat.postEphemeral answers when the bot or the person is not in the channel.
EPHEMERAL_REFUSALS = frozenset({"not_in_channel", "user_not_in_channel", "channel_not_found"})
# What chat.postMessage answers for a channel the bot cannot post in.
CHANNEL_REFUSALS = frozenset({"not_in_channel", "channel_not_found", "is_archived"})
_BARE_MENTION = re.compile(r"<@([UW][A-Z0-9]+)>")
_ENTITY = re.compile(r"<([^<>]*)>")

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class MalformedRequest(Exception):
    """A request Slack would never send: answered 400, never 500."""


# -- what Slack says about people and channels -------------------------------------------------


def look_up_user(client: WebClient, user_id: str) -> PlatformUser:
    """Who ``user_id`` is (``users.info``): a Slack guest (``is_restricted``), a stranger
    to the workspace (``is_stranger``) or a person of another team (``team_id``, compared
    by the adapter with the workspace's) comes as a partner. A failure is a ``ChatError``,
    for the kit's ``Directory`` to apply its one policy."""
    try:
        user = client.users_info(user=user_id, include_locale=True)["user"]
        profile = user.get("profile") or {}
        return PlatformUser(
            id=user_id,
            name=str(user.get("name") or user_id),
            display_name=str(
                profile.get("display_name") or user.get("real_name") or user.get("name") or ""
            ),
            is_guest=bool(user.get("is_restricted") or user.get("is_ultra_restricted")),
            is_external=bool(user.get("is_stranger")),
            is_bot=bool(user.get("is_bot")),
            team_id=str(user.get("team_id") or "") or None,
            timezone=user.get("tz"),
            locale=user.get("locale"),
        )
    except (SlackApiError, SlackClientError, OSError, KeyError, TypeError) as e:
        raise ChatError(f"users.info {user_id} failed: {e}") from e


class SlackChannels:
    """Whether a channel is shared with another organisation (``conversations.info``),
    looked up once per ``DIRECTORY_TTL`` seconds, and the bot's direct conversation with
    a person.

    A channel look-up that fails (Slack down, a channel the bot cannot see) does not fail
    the command: the channel is taken as not shared, for a short while.
    """

    def __init__(self, client: WebClient) -> None:
        self.client = client
        self._cache: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def _get(self, key: str) -> Any:
        with self._lock:
            hit = self._cache.get(key)
            if hit is None or hit[0] < time.monotonic():
                return None
            return hit[1]

    def _put(self, key: str, value: Any, ttl: float | None = None) -> None:
        with self._lock:
            self._cache[key] = (time.monotonic() + (DIRECTORY_TTL if ttl is None else ttl), value)
            self._cache.move_to_end(key)
            while len(self._cache) > DIRECTORY_SIZE:
                self._cache.popitem(last=False)

    def channel(self, channel_id: str, name: str = "") -> PlatformChannel:
        if not channel_id:
            return PlatformChannel("", name)
        if channel_id.startswith("D"):  # a direct conversation is never shared
            return PlatformChannel(channel_id, name or "directmessage", is_direct=True)
        key = f"channel:{channel_id}"
        info: PlatformChannel | None = self._get(key)
        if info is None:
            try:
                channel = self.client.conversations_info(channel=channel_id)["channel"]
                info = PlatformChannel(
                    channel_id,
                    str(channel.get("name") or name or channel_id),
                    is_shared=bool(channel.get("is_ext_shared")),
                )
                self._put(key, info)
            except (SlackApiError, SlackClientError, OSError, KeyError, TypeError) as e:
                log.info("conversations.info %s failed (%s); taken as not shared", channel_id, e)
                info = PlatformChannel(channel_id, name or channel_id)
                self._put(key, info, ttl=30)
        return info

    def direct_channel(self, user_id: str) -> str:
        """The bot's conversation with ``user_id`` (``conversations.open``)."""
        key = f"dm:{user_id}"
        cached: str | None = self._get(key)
        if cached is None:
            cached = str(self.client.conversations_open(users=[user_id])["channel"]["id"])
            self._put(key, cached, ttl=24 * 3600)
        return cached


# -- parsing what Slack sends ------------------------------------------------------------------


class BodyTooLarge(Exception):
    """A body beyond ``MAX_BODY``: answered 413 without reading the rest."""


async def read_body(request: Request, limit: int) -> bytes:
    """The request's body, read chunk by chunk and given up as soon as it passes
    ``limit`` bytes (a declared ``Content-Length`` beyond it is refused before reading):
    a 50 MB body costs the server at most ``limit`` bytes of memory."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def decode_body(raw: bytes) -> str:
    if len(raw) > MAX_BODY:
        raise MalformedRequest("body too large")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedRequest("body is not UTF-8") from None


def check_body(text: str, content_type: str) -> None:
    """Refuse (``MalformedRequest``) a body Slack never sends, before any work is done:
    what Bolt needs to route a request must be there and of the right type."""
    if content_type.startswith("application/json"):
        body = _json_object(text, "body")
        if body.get("type") == "event_callback":
            _field(body, "event", "type")
        return
    form = parse_qs(text, keep_blank_values=True)
    if "payload" in form:
        payload = _json_object(form["payload"][0], "payload")
        kind = _field(payload, "type")
        if kind in ("block_actions", "view_submission", "view_closed"):
            _field(payload, "user", "id")
        if kind == "block_actions":
            actions = payload.get("actions")
            if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
                raise MalformedRequest("block_actions without actions")
            _field(actions[0], "action_id")
        elif kind in ("view_submission", "view_closed"):
            _field(payload, "view", "id")
            _field(payload, "view", "type")
            _field(payload, "view", "callback_id")
        return
    if "command" in form:
        for name in ("command", "team_id", "user_id", "channel_id"):
            if not (form.get(name) or [""])[0].strip():
                raise MalformedRequest(f"slash command without {name}")
        return
    if "ssl_check" in form:
        return
    raise MalformedRequest("neither a command, an interaction nor an event")


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError:
        raise MalformedRequest(f"{what} is not JSON") from None
    except RecursionError:  # ``[[[[…`` nested thousands deep: no request of Slack's
        raise MalformedRequest(f"{what} is nested too deep") from None
    if not isinstance(data, dict):
        raise MalformedRequest(f"{what} is not a JSON object")
    return data


def _field(data: Any, *path: str, required: bool = True) -> str:
    """``data[path[0]][path[1]]…`` as a string; a missing required one is malformed."""
    value: Any = data
    for name in path:
        value = value.get(name) if isinstance(value, dict) else None
    if value is None or value == "":
        if required:
            raise MalformedRequest("missing " + ".".join(path))
        return ""
    if not isinstance(value, str | int | float):
        raise MalformedRequest("not a string: " + ".".join(path))
    return str(value)


def _text(value: Any) -> str:
    """A value of a form's state: a string (or a number), never an object."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise MalformedRequest("a form value is not text")
    return str(value)


def _texts(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedRequest("a form value is not a list")
    return [_text(v) for v in value]


def _object(data: dict[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name)
    return value if isinstance(value, dict) else {}


def from_slack(text: str) -> str:
    """What a person typed, as Slack escapes it, back to plain text for the core.

    Slack sends ``&amp;``, ``&lt;``, ``&gt;`` for what was typed, and ``<…>`` for what it
    recognised: mentions ``<@U…|name>`` and channels ``<#C…|name>`` stay for the core's
    parser; links ``<https://…|label>`` become the address; ``<!here>`` becomes ``@here``.
    """

    def entity(m: re.Match[str]) -> str:
        inner = m.group(1)
        if inner.startswith(("@", "#")):
            return m.group(0)
        target, _, label = inner.partition("|")
        if target.startswith("!"):
            return "@" + (label.lstrip("@") or target[1:].split("^")[0])
        if target.startswith("mailto:"):
            return target[len("mailto:") :]
        return target

    out: list[str] = []
    position = 0
    for m in _ENTITY.finditer(text):
        out.append(_unescape(text[position : m.start()]))
        out.append(_unescape(entity(m)))
        position = m.end()
    out.append(_unescape(text[position:]))
    return "".join(out)


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _inputs(view: dict[str, Any]) -> list[str]:
    """The block ids of a modal's inputs."""
    blocks = view.get("blocks")
    return [
        str(b.get("block_id"))
        for b in (blocks if isinstance(blocks, list) else [])
        if isinstance(b, dict) and b.get("type") == "input"
    ]


def _response_body(page: PlatformMessage, visibility: Visibility, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "response_type": "in_channel" if visibility == Visibility.CHANNEL else "ephemeral",
        "text": page.text,
        **extra,
    }
    if page.blocks:
        body["blocks"] = page.blocks
    return body


def _api_error(e: SlackApiError) -> str:
    data = e.response.data if isinstance(e.response.data, dict) else {}
    return str(data.get("error") or "")


@dataclass(frozen=True)
class Where:
    """Where to answer an interaction: the channel, the person, the ``response_url``."""

    channel_id: str
    user_id: str
    response_url: str
    locale: str

    def direct(self) -> Where:
        """The person's conversation with Coordo."""
        return Where("", self.user_id, "", self.locale)


# -- the adapter -------------------------------------------------------------------------------


class SlackAdapter:
    """The listeners of the Bolt app: requests in, core, Block Kit out.

    The core runs through the kit's ``Runner`` (its pool, its ack budget, its apology in
    the person's language), shared with the other platforms of the process; people are
    looked up through the kit's ``Directory`` (one policy when Slack does not answer)."""

    capabilities = SlackChat.capabilities

    def __init__(
        self,
        engine: Engine,
        router: Router,
        client: WebClient,
        *,
        runner: Runner | None = None,
        people_ttl: timedelta = PEOPLE_TTL,
        clock: Clock = _utc_now,
        background_threads: int = 4,
    ) -> None:
        self.engine = engine
        self.router = router
        self.client = client
        self.runner = runner or shared_runner(engine, router)
        self.people = Directory(lambda user_id: look_up_user(client, user_id), ttl=people_ttl)
        self.channels = SlackChannels(client)
        self.clock = clock
        self.background = ThreadPoolExecutor(background_threads, thread_name_prefix="coordo-after")
        self._seen_events: OrderedDict[str, None] = OrderedDict()
        self.clicks = RecentClicks()
        self._lock = threading.Lock()

    def close(self) -> None:
        self.runner.close()
        self.background.shutdown(wait=True)

    # -- building the invocation ---------------------------------------------------------

    @staticmethod
    def home_team(context: BoltContext, payload_team: str | None) -> str:
        """The workspace the app is installed in (the token's team), else the request's."""
        result = context.authorize_result
        team = (result.team_id if result is not None else None) or context.team_id
        if not team and not payload_team:
            raise MalformedRequest("no team")
        return str(team or payload_team)

    def person(self, user_id: str, home: str, payload_team: str | None = None) -> PlatformUser:
        """Who ``user_id`` is; of another organisation when Slack or the request itself
        names a team other than the workspace's. ``LookupFailed`` when Slack does not
        answer and nobody remembers."""
        user = self.people.get(user_id)
        if not user.is_external and {user.team_id, payload_team} - {None, "", home}:
            user = replace(user, is_external=True)
        return user

    def invocation(
        self,
        context: BoltContext,
        *,
        user_id: str,
        payload_team: str | None,
        channel_id: str = "",
        channel_name: str = "",
        command: str = "",
        text: str = "",
        request_key: str | None = None,
        team_name: str = "",
        mentioned_ids: dict[str, str] | None = None,
    ) -> Invocation:
        home = self.home_team(context, payload_team)
        user = self.person(user_id, home, payload_team)
        text = _BARE_MENTION.sub(lambda m: self._named_mention(m.group(1), home), text)
        return InboundCommand(
            platform=Platform.SLACK,
            workspace_id=home,
            workspace_name=team_name,
            channel=self.channels.channel(channel_id, channel_name),
            user=user,
            command=command,
            text=text,
            now=self.clock(),
            request_key=request_key,
            mentioned_ids=mentioned_ids or {},
        ).invocation()

    def _named_mention(self, user_id: str, home: str) -> str:
        return f"<@{user_id}|{self.person(user_id, home).name}>"

    # -- running the core within the ack budget ------------------------------------------

    def within_budget(
        self,
        work: Callable[[], Reply],
        *,
        locale: str | None,
        what: str,
        late: Callable[[Reply], None],
        context: BoltContext,
        working: dict[str, Any] | None = None,
    ) -> Reply | None:
        """The core's reply if it comes within the ack budget; else None, and ``late``
        gets the reply when it comes. ``working`` is the ack to give in the meantime."""
        handoff = context.get(HANDOFF)
        if isinstance(handoff, Handoff):
            # Over HTTP the endpoint keeps the time: the work runs here, in this thread
            # (one of the runner's already).
            handoff.working = working
            reply = self.runner.guard(locale, work, f"Slack {what}")
            if handoff.in_time():
                return reply
            log.info("Slack %s was slow: answering after the ack", what)
            self.after_ack(late, reply)
            return None
        future = self.runner.run(locale, work, f"Slack {what}")
        in_time = self.runner.within_budget(future)
        if in_time is None:
            log.info("Slack %s is slow: answering after the ack", what)

            def deliver(done: Future[Reply]) -> None:
                self.after_ack(late, done.result())

            future.add_done_callback(deliver)
        return in_time

    def _quietly(self, work: Callable[..., None], *args: Any) -> None:
        try:
            work(*args)
        except (ChatError, SlackApiError, SlackClientError, OSError):
            log.exception("Slack: sending after the ack failed")

    def after_ack(self, work: Callable[..., None], *args: Any) -> None:
        self.background.submit(self._quietly, work, *args)

    # -- slash commands ------------------------------------------------------------------

    def on_command(self, ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        team = _field(body, "team_id")
        home = self.home_team(context, team)
        trigger_id = _field(body, "trigger_id", required=False)
        command = _field(body, "command").lstrip("/")
        invocation = self.invocation(
            context,
            user_id=_field(body, "user_id"),
            payload_team=team,
            channel_id=_field(body, "channel_id"),
            channel_name=_field(body, "channel_name", required=False),
            command=command,
            text=from_slack(_field(body, "text", required=False)),
            request_key=(
                delivery_key(Platform.SLACK, home, f"command:{trigger_id}") if trigger_id else None
            ),
            team_name=_field(body, "team_domain", required=False),
        )
        locale = normalise_locale(invocation.locale)
        where = Where(
            invocation.channel.external_id,
            invocation.user.external_id,
            _field(body, "response_url", required=False),
            locale,
        )
        working = _response_body(
            PlatformMessage(message("chat.working", locale)), Visibility.EPHEMERAL
        )
        reply = self.within_budget(
            lambda: self.router.dispatch(self.engine, invocation),
            locale=invocation.locale,
            what=f"/{invocation.command}",
            late=lambda r: self.deliver(r, where),
            context=context,
            working=working,
        )
        if reply is None:
            ack(working)
            return
        if reply.form is not None and trigger_id and self.open_form(reply, trigger_id, where):
            ack()
            return
        pages = to_slack_pages(reply, locale=locale, max_pages=MAX_PAGES)
        ack(_response_body(pages[0], reply.visibility))
        if len(pages) > 1 or reply.files:
            self.after_ack(self.deliver, reply, where, pages[1:])

    def open_form(self, reply: Reply, trigger_id: str, where: Where) -> bool:
        assert reply.form is not None
        metadata = {"c": where.channel_id, "s": reply.form.state}
        view = modal_view(reply.form, locale=where.locale, private_metadata=json.dumps(metadata))
        try:
            self.client.views_open(trigger_id=trigger_id, view=view)
            return True
        except (SlackApiError, SlackClientError, OSError) as e:
            # An expired trigger (over 3 s) or Slack down: answer the text instead.
            log.warning("views.open failed (%s); answering with text", e)
            return False

    # -- answering after the ack ---------------------------------------------------------

    def deliver(
        self, reply: Reply, where: Where, pages: list[PlatformMessage] | None = None
    ) -> None:
        """Send ``reply`` (or its remaining ``pages``) and its files, after the ack, where
        the kit's ``plan`` puts them by Slack's capabilities (ephemeral messages and
        files: everything goes where the command was typed)."""
        in_direct = where.channel_id.startswith("D")
        for step in plan(reply, self.capabilities, in_direct=in_direct, locale=where.locale):
            target = where if step.where == Place.HERE else where.direct()
            if pages is None or step.where != Place.HERE:
                step_pages = to_slack_pages(
                    step.reply, locale=where.locale, max_pages=MAX_PAGES - 1
                )
            else:
                step_pages = pages
            for page in step_pages:
                self.post(page, step.reply.visibility, target)
            if step.files:
                self.upload(step.files, step.reply.visibility, target)

    def post(self, page: PlatformMessage, visibility: Visibility, where: Where) -> None:
        """Through the ``response_url`` when there is one; else to the channel, or only to
        the person in it (``chat.postEphemeral``); else, or when Slack refuses, to the
        person's conversation with Coordo."""
        if where.response_url:
            body = _response_body(page, visibility, replace_original=False)
            post_to_response_url(where.response_url, body)
            return
        try:
            if visibility == Visibility.CHANNEL and where.channel_id:
                self.client.chat_postMessage(
                    channel=where.channel_id, text=page.text, blocks=page.blocks
                )
                return
            if where.channel_id and not where.channel_id.startswith("D"):
                self.client.chat_postEphemeral(
                    channel=where.channel_id, user=where.user_id, text=page.text, blocks=page.blocks
                )
                return
        except SlackApiError as e:
            # A private channel the bot is not in, an archived one, or a person not in the
            # channel (Slack shows an ephemeral message only to a member, from a member):
            # the person who acted still gets the answer, in their conversation.
            if _api_error(e) not in CHANNEL_REFUSALS | EPHEMERAL_REFUSALS:
                raise
            log.info("posting to %s refused (%s); to the person", where.channel_id, e)
        direct = self.channels.direct_channel(where.user_id)
        self.client.chat_postMessage(channel=direct, text=page.text, blocks=page.blocks)

    def upload(self, files: list[File], visibility: Visibility, where: Where) -> None:
        """Files of a reply for the channel go to the channel; the others to the person,
        in their conversation with Coordo, never where others could see them."""
        if visibility == Visibility.CHANNEL and where.channel_id:
            target = where.channel_id
        else:
            target = self.channels.direct_channel(where.user_id)
        try:
            self.client.files_upload_v2(
                channel=target,
                file_uploads=[
                    {"content": f.content, "filename": f.filename, "title": f.title} for f in files
                ],
            )
        except (SlackApiError, SlackClientError, OSError):
            log.exception("files_upload_v2 to %s failed", target)
            text = "\n".join(
                message("chat.file_failed", where.locale, title=f.title) for f in files
            )
            self.post(PlatformMessage(mrkdwn(text)), Visibility.EPHEMERAL, where)

    # -- buttons -------------------------------------------------------------------------

    def on_action(self, ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
            raise MalformedRequest("block_actions without actions")
        action = actions[0]
        action_id = _field(action, "action_id")
        value = (
            _field(action, "value", required=False)
            or _field(action, "selected_option", "value", required=False)
            or _field(action, "selected_date", required=False)
        )
        user_id = _field(body, "user", "id")
        team = _field(body, "user", "team_id", required=False) or _field(body, "team", "id")
        container = _object(body, "container")
        in_home = _object(body, "view").get("type") == "home"
        place = _field(container, "message_ts", required=False) or _field(
            container, "view_id", required=False
        )
        home = self.home_team(context, team)
        stamp = float(_field(action, "action_ts", required=False) or time.time())
        clicked = datetime.fromtimestamp(stamp, UTC)
        # Each click has its own key (Slack stamps it, ``action_ts``); one that repeats the
        # person's previous click on this message within two seconds takes that one's key.
        key = self.clicks.key(
            user_id,
            place,
            f"{action_id}\x1f{value}",
            clicked,
            delivery_key(
                Platform.SLACK, home, f"click:{user_id}:{place}:{action_id}:{value}:{stamp:.6f}"
            ),
        )
        invocation = self.invocation(
            context,
            user_id=user_id,
            payload_team=team,
            channel_id=_field(body, "channel", "id", required=False),
            channel_name=_field(body, "channel", "name", required=False),
            request_key=key,
        )
        locale = normalise_locale(invocation.locale)
        where = Where(
            invocation.channel.external_id,
            user_id,
            _field(body, "response_url", required=False),
            locale,
        )
        name = action_name(action_id)

        def act() -> Reply:
            return self.router.act(self.engine, invocation, name, value)

        def answer(reply: Reply) -> None:
            if in_home:
                self.publish_home(invocation, where)
                if name != HOME_ACTION:
                    self.deliver(reply, where.direct())
            else:
                self.deliver(reply, where)

        reply = self.within_budget(
            act, locale=invocation.locale, what=f"click {name}", late=answer, context=context
        )
        if reply is not None and reply.form is not None:
            trigger_id = _field(body, "trigger_id", required=False)
            if trigger_id and self.open_form(reply, trigger_id, where):
                ack()
                return
        ack()
        if reply is not None:
            self.after_ack(answer, reply)

    # -- modals --------------------------------------------------------------------------

    def on_view_submission(self, ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        view = body.get("view")
        if not isinstance(view, dict):
            raise MalformedRequest("view_submission without a view")
        callback = _field(view, "callback_id")
        view_id = _field(view, "id")
        state = _object(view, "state")
        try:
            metadata = json.loads(view.get("private_metadata") or "{}")
        except ValueError:
            metadata = {}
        if not isinstance(metadata, dict):
            metadata = {}
        user_id = _field(body, "user", "id")
        team = _field(body, "user", "team_id", required=False) or _field(body, "team", "id")
        home = self.home_team(context, team)
        values, mentions = self.form_values(state.get("values"), home)
        invocation = self.invocation(
            context,
            user_id=user_id,
            payload_team=team,
            channel_id=str(metadata.get("c") or ""),
            request_key=delivery_key(Platform.SLACK, home, f"view:{view_id}"),
            mentioned_ids=mentions,
        )
        locale = normalise_locale(invocation.locale)
        # A form may be sent long after its command, whose response_url (30 minutes, 5
        # uses) is then spent: what follows a form goes through the bot's own API.
        where = Where(invocation.channel.external_id, user_id, "", locale)
        reply = self.within_budget(
            lambda: self.router.submit(
                self.engine, invocation, callback, values, str(metadata.get("s") or "")
            ),
            locale=invocation.locale,
            what=f"form {callback}",
            late=lambda r: self.deliver(r, where),
            context=context,
        )
        if reply is None:
            ack()
            return
        inputs = _inputs(view)
        if reply.errors and inputs:
            errors: dict[str, str] = {}
            for field_name, text in reply.errors.items():
                target = field_name if field_name in inputs else inputs[0]
                errors[target] = markdown_to_text(text)[:MAX_ERROR_TEXT]
            ack(response_action="errors", errors=errors)
            return
        if reply.form is not None:
            metadata["s"] = reply.form.state
            next_view = modal_view(reply.form, locale=locale, private_metadata=json.dumps(metadata))
            ack(response_action="update", view=next_view)
            return
        ack()
        self.after_ack(self.deliver, reply, where)

    def form_values(self, state: Any, home: str) -> tuple[dict[str, str], dict[str, str]]:
        """``view.state.values`` as field name → text, in the form the core's forms take
        from every platform, and the people named (handle → Slack id) for the core to
        find them by id: a person picked is ``@handle`` (several, separated by spaces), a
        channel ``<#C…|name>``, a date ``YYYY-MM-DD``, a time ``HH:MM``, a choice its
        value, typed text and numbers as typed."""
        if not isinstance(state, dict):
            raise MalformedRequest("view_submission without state values")
        values: dict[str, str] = {}
        mentions: dict[str, str] = {}
        for block_id, elements in state.items():
            if not isinstance(elements, dict):
                raise MalformedRequest("bad state values")
            for action_id, element in elements.items():
                if not isinstance(element, dict):
                    raise MalformedRequest("bad state value")
                values[str(action_id or block_id)] = self._form_value(element, home, mentions)
        return values, mentions

    def _form_value(self, element: dict[str, Any], home: str, mentions: dict[str, str]) -> str:
        def person(user_id: Any) -> str:
            handle = self.person(_text(user_id), home).name
            mentions[handle] = _text(user_id)
            return "@" + handle

        def channel(channel_id: Any) -> str:
            info = self.channels.channel(_text(channel_id))
            return f"<#{info.id}|{info.name}>"

        kind = element.get("type")
        if kind == "users_select":
            return person(element["selected_user"]) if element.get("selected_user") else ""
        if kind == "multi_users_select":
            return " ".join(person(u) for u in _texts(element.get("selected_users")))
        if kind in ("conversations_select", "channels_select"):
            chosen = element.get("selected_conversation") or element.get("selected_channel")
            return channel(chosen) if chosen else ""
        if kind in ("multi_conversations_select", "multi_channels_select"):
            chosen = element.get("selected_conversations") or element.get("selected_channels")
            return " ".join(channel(c) for c in _texts(chosen))
        if kind in ("multi_static_select", "multi_external_select", "checkboxes"):
            options = element.get("selected_options") or []
            if not isinstance(options, list):
                raise MalformedRequest("selected_options is not a list")
            return " ".join(_text(o.get("value")) for o in options if isinstance(o, dict))
        option = element.get("selected_option")
        value = (
            element.get("value")
            or element.get("selected_date")
            or element.get("selected_time")
            or (option.get("value") if isinstance(option, dict) else None)
            or element.get("selected_conversation")
            or element.get("selected_channel")
            or ""
        )
        if element.get("selected_user"):  # a picker of an older payload without its type
            return person(element["selected_user"])
        return _text(value)

    # -- App Home ------------------------------------------------------------------------

    def on_home_opened(
        self, event: dict[str, Any], body: dict[str, Any], context: BoltContext
    ) -> None:
        if event.get("tab") != "home":
            return
        event_id = _field(body, "event_id", required=False)
        if event_id and self._seen(event_id):
            return  # a retried delivery of an event already handled
        user_id = _field(event, "user")
        invocation = self.invocation(
            context, user_id=user_id, payload_team=_field(body, "team_id", required=False)
        )
        where = Where("", user_id, "", normalise_locale(invocation.locale))
        self.after_ack(self.publish_home, invocation, where)

    def _seen(self, event_id: str) -> bool:
        with self._lock:
            if event_id in self._seen_events:
                return True
            self._seen_events[event_id] = None
            while len(self._seen_events) > DIRECTORY_SIZE:
                self._seen_events.popitem(last=False)
            return False

    def publish_home(self, invocation: Invocation, where: Where) -> None:
        home_invocation = Invocation(
            workspace=invocation.workspace,
            channel=ChannelInfo("", ""),
            user=invocation.user,
            command="",
            text="",
            now=self.clock(),
            locale=invocation.locale,
            timezone=invocation.timezone,
            role=invocation.role,
        )
        reply = self.runner.guard(
            invocation.locale,
            lambda: self.router.act(self.engine, home_invocation, HOME_ACTION, ""),
            "Slack App Home",
        )
        self.client.views_publish(user_id=where.user_id, view=home_view(reply, locale=where.locale))

    # -- errors --------------------------------------------------------------------------

    def on_error(self, error: Exception, body: Any) -> BoltResponse:
        if isinstance(error, MalformedRequest):
            log.info("Slack: malformed request refused (%s)", error)
            return BoltResponse(status=400, body={"error": f"malformed request: {error}"})
        if isinstance(error, LookupFailed):
            return self.refuse(error, body if isinstance(body, dict) else {})
        log.error("Slack listener failed", exc_info=error)
        text = message("core.unexpected", "fr")
        return BoltResponse(status=200, body={"response_type": "ephemeral", "text": text})

    def refuse(self, failed: LookupFailed, body: dict[str, Any]) -> BoltResponse:
        """Slack could not say who someone is, and nobody remembers: nothing was run. They
        are asked to try again, in their command's language (French otherwise): in the
        command's answer, under the form (which stays open, its answers kept), or through
        the click's ``response_url``."""
        log.warning("Slack request refused: %s", failed)
        try:
            locale = self.router.resolve(str(body.get("command") or ""))[1]
        except UserError:
            locale = ""
        text = message("kit.directory_unavailable", normalise_locale(locale or None))
        inputs = _inputs(_object(body, "view"))
        if body.get("type") == "view_submission" and inputs:
            return BoltResponse(
                status=200, body={"response_action": "errors", "errors": {inputs[0]: text}}
            )
        answer = _response_body(PlatformMessage(text), Visibility.EPHEMERAL)
        if body.get("type") == "block_actions" and body.get("response_url"):
            answer["replace_original"] = False
            self.after_ack(post_to_response_url, str(body["response_url"]), answer)
            return BoltResponse(status=200, body="")
        return BoltResponse(status=200, body=answer)


# -- the app -----------------------------------------------------------------------------------

# The key of the request's ``Handoff`` in Bolt's context (HTTP requests only).
HANDOFF = "coordo_handoff"


class Handoff:
    """Who gives an HTTP request its answer, settled once: the endpoint's response when the
    listener's reply is ready within the ack budget, else the listener itself, later."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._late: bool | None = None
        # What the endpoint acknowledges with if the budget runs out (set by the listener).
        self.working: dict[str, Any] | None = None

    def in_time(self) -> bool:
        """The listener's claim, its reply ready: True if the response still waits for it."""
        with self._lock:
            if self._late is None:
                self._late = False
            return not self._late

    def give_up(self) -> bool:
        """The endpoint's claim, the budget spent: True if the listener is to answer later."""
        with self._lock:
            if self._late is None:
                self._late = True
            return self._late


class SlackApp:
    """The Bolt app, its adapter, and the HTTP endpoint that serves it."""

    def __init__(self, bolt: App, adapter: SlackAdapter, signing_secret: str | None) -> None:
        self.bolt = bolt
        self.adapter = adapter
        self.verifier = SignatureVerifier(signing_secret) if signing_secret else None
        self._socket_mode: Any = None
        self._starter: threading.Thread | None = None
        self._stopping = threading.Event()

    async def endpoint(self, request: Request) -> Response:
        """``POST /slack/events``: verify, check the shape, then Bolt in a worker thread."""
        if self.verifier is None:
            return JSONResponse({"error": "Slack signing secret not configured"}, 503)
        try:
            raw = await read_body(request, MAX_BODY)
        except BodyTooLarge:
            return JSONResponse({"error": "request body too large"}, 413)
        try:
            text = decode_body(raw)
        except MalformedRequest as e:
            return JSONResponse({"error": f"malformed request: {e}"}, 400)
        try:
            valid = self.verifier.is_valid(
                text,
                request.headers.get("x-slack-request-timestamp"),
                request.headers.get("x-slack-signature"),
            )
        except ValueError:  # a timestamp that is not a number
            valid = False
        if not valid:
            return JSONResponse({"error": "invalid signature or timestamp"}, 401)
        try:
            check_body(text, request.headers.get("content-type", ""))
        except MalformedRequest as e:
            return JSONResponse({"error": f"malformed request: {e}"}, 400)
        handoff = Handoff()
        bolt_request = BoltRequest(
            body=text,
            query=request.url.query,
            headers={k: [v] for k, v in request.headers.items()},
            context={HANDOFF: handoff},
        )
        running = asyncio.get_running_loop().run_in_executor(
            self.adapter.runner.pool, self.bolt.dispatch, bolt_request
        )
        try:
            answer = await asyncio.wait_for(asyncio.shield(running), self.adapter.runner.ack_budget)
        except TimeoutError:
            if handoff.give_up():
                # The listener answers later (response_url); Slack gets its ack now.
                return JSONResponse(handoff.working) if handoff.working else Response()
            answer = await running
        return Response(
            status_code=answer.status,
            content=answer.body,
            headers=answer.first_headers_without_set_cookie(),
        )

    def start_socket_mode(self, app_token: str) -> None:
        """Receive Slack's requests over a WebSocket (no public address needed)."""
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        self._socket_mode = SocketModeHandler(self.bolt, app_token)
        self._socket_mode.connect()
        log.info("Slack Socket Mode connected")

    def start(self, app_token: str | None = None) -> None:
        """Check the bot token (``auth.test``) and, with ``app_token``, connect Socket Mode,
        in a background thread that retries until Slack answers: a Slack out of reach
        at start-up is one log line, not a server that fails to start."""
        self._stopping.clear()
        self._starter = threading.Thread(
            target=self._connect, args=(app_token,), name="coordo-slack-start", daemon=True
        )
        self._starter.start()

    def _connect(self, app_token: str | None) -> None:
        client = self.adapter.client
        # A client of its own, without slack_sdk's retry and its error log of each attempt.
        probe = WebClient(
            token=client.token,
            base_url=client.base_url,
            timeout=10,
            logger=logging.getLogger("bot.slack.app.start"),
        )
        probe.retry_handlers.clear()
        steps: list[tuple[str, Callable[[], object]]] = []
        if client.token:  # with many workspaces, each installation has its token
            steps.append(("auth.test", probe.auth_test))
        if app_token:
            steps.append(("Socket Mode", lambda: self.start_socket_mode(app_token)))
        for what, step in steps:
            wait, failures = START_RETRY_FIRST, 0
            while not self._stopping.is_set():
                try:
                    step()
                    break
                except (SlackApiError, SlackClientError, OSError) as e:
                    failures += 1
                    if failures == 1:
                        log.warning(
                            "Slack unreachable at start-up: %s failed (%s); retrying in the "
                            "background",
                            what,
                            e,
                        )
                    else:
                        log.debug("Slack %s failed again (%s)", what, e)
                self._stopping.wait(wait)
                wait = min(wait * 2, START_RETRY_MAX)
            else:
                return
            if failures:
                log.info("Slack reachable: %s succeeded after %d failures", what, failures)

    def close(self) -> None:
        self._stopping.set()
        if self._starter is not None:
            self._starter.join(timeout=15)
            self._starter = None
        if self._socket_mode is not None:
            self._socket_mode.close()
            self._socket_mode = None
        self.adapter.close()


class Installations(Protocol):
    """What the app needs of the workspaces that installed Coordo (``bot.slack.install``
    keeps them in the database): Bolt's OAuth settings and authorize, the uninstall
    events, and a word when a workspace installs or uninstalls."""

    def on_change(self, listener: Callable[[str], None]) -> None: ...

    def oauth_settings(self, settings: Settings) -> OAuthSettings: ...

    def authorize(self, client: WebClient) -> Callable[..., AuthorizeResult]: ...

    def on_app_uninstalled(self, context: BoltContext) -> None: ...

    def on_tokens_revoked(self, event: dict[str, Any], context: BoltContext) -> None: ...


# Workspaces whose adapter (client, directory) and outbound client are kept in memory
# (the least recently served go first).
CACHED_WORKSPACES = 1000


class TeamAdapters:
    """The adapter that serves a request: one per workspace token, each with a Web API
    client holding that token and a directory of its own (who is a guest depends on the
    workspace), all sharing the pools and the memory of events of the first one, ``base``.
    A request without a token (``url_verification``, the uninstall events) is ``base``'s."""

    def __init__(self, base: SlackAdapter, *, size: int = CACHED_WORKSPACES) -> None:
        self.base = base
        self.size = size
        # Token → (its workspace, its adapter), the least recently used first.
        self._by_token: OrderedDict[str, tuple[str, SlackAdapter]] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, context: BoltContext) -> SlackAdapter:
        token = context.bot_token
        if not token:
            return self.base
        with self._lock:
            hit = self._by_token.get(token)
            if hit is not None:
                self._by_token.move_to_end(token)
                return hit[1]
        client = self.base.client
        team_client = WebClient(
            token=token,
            base_url=client.base_url,
            timeout=client.timeout,
            retry_handlers=list(client.retry_handlers),
            logger=client.logger,
        )
        # A shallow copy: the pools, the lock and the events seen are the base's.
        adapter = copy.copy(self.base)
        adapter.client = team_client
        adapter.people = Directory(
            lambda user_id: look_up_user(team_client, user_id), ttl=self.base.people.ttl
        )
        adapter.channels = SlackChannels(team_client)
        with self._lock:
            self._by_token[token] = (str(context.team_id or ""), adapter)
            while len(self._by_token) > self.size:
                self._by_token.popitem(last=False)
        return adapter

    def forget(self, team_id: str) -> None:
        """Drop what is kept for the workspace (it uninstalled, or installed anew)."""
        with self._lock:
            for token, (team, _) in list(self._by_token.items()):
                if team == team_id:
                    del self._by_token[token]


def build_slack_app(
    settings: Settings,
    engine: Engine,
    router: Router,
    client: WebClient,
    *,
    runner: Runner | None = None,
    clock: Clock = _utc_now,
    people_ttl: timedelta = PEOPLE_TTL,
    installations: Installations | None = None,
) -> SlackApp:
    """The Bolt app for ``client``'s workspace, or, with ``installations``, for every
    workspace that installed Coordo (``bot.slack.install``: ``client`` then has no token,
    each request is served with its workspace's); nothing is asked of Slack here.

    ``runner``: the kit's runner the commands run in (its pool and its ack budget); by
    default the one the process shares between its platforms for ``engine`` and
    ``router``. The app closes it when it closes."""
    adapter = SlackAdapter(
        engine, router, client, runner=runner, clock=clock, people_ttl=people_ttl
    )

    def the_adapter(context: BoltContext) -> SlackAdapter:
        return adapter

    adapter_for: Callable[[BoltContext], SlackAdapter] = the_adapter
    oauth_settings = authorize = None
    if installations is not None:
        team_adapters = TeamAdapters(adapter)
        installations.on_change(team_adapters.forget)
        adapter_for = team_adapters
        oauth_settings = installations.oauth_settings(settings)
        authorize = installations.authorize(client)
    secret = settings.slack_signing_secret
    bolt = App(
        client=client,
        signing_secret=secret or "",
        request_verification_enabled=bool(secret),
        # No auth.test here: an unreachable Slack would stop the server from starting.
        # ``SlackApp.start`` checks the token in the background; Bolt asks again (once,
        # then keeps the answer) on the first request that needs it.
        token_verification_enabled=False,
        process_before_response=True,
        raise_error_for_unhandled_request=False,
        name="coordo",
        logger=logging.getLogger("bot.slack_bolt"),
        oauth_settings=oauth_settings,
        authorize=authorize,
    )

    def command(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        adapter_for(context).on_command(ack, body, context)

    def action(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        adapter_for(context).on_action(ack, body, context)

    def view_submission(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        adapter_for(context).on_view_submission(ack, body, context)

    def view_closed(ack: Ack) -> None:
        ack()

    def home_opened(event: dict[str, Any], body: dict[str, Any], context: BoltContext) -> None:
        adapter_for(context).on_home_opened(event, body, context)

    def error(error: Exception, body: Any) -> BoltResponse:
        return adapter.on_error(error, body)

    everything = re.compile(r".+")
    bolt.command(everything)(command)
    bolt.block_action(everything)(action)
    bolt.view_submission(everything)(view_submission)
    bolt.view_closed(everything)(view_closed)
    bolt.event("app_home_opened")(home_opened)
    if installations is not None:
        bolt.event("app_uninstalled")(installations.on_app_uninstalled)
        bolt.event("tokens_revoked")(installations.on_tokens_revoked)
    bolt.error(error)
    return SlackApp(bolt, adapter, secret)
