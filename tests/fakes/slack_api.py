"""A fake Slack Web API that speaks the wire format Coordo's clients and Bolt expect.

``POST /api/<method>`` (GET with a query string also works), body form-encoded or JSON,
token in ``Authorization: Bearer …`` or, for forms, the ``token`` field. Answers are
HTTP 200 with ``{"ok": true, …}`` or ``{"ok": false, "error": "…"}`` as Slack gives them;
HTTP 429 with ``Retry-After`` when rate limited. Also served:

- ``POST /upload/v1/<file_id>``: the upload URL that ``files.getUploadURLExternal`` hands
  out, taking raw bytes (or a multipart form) as Slack's file service does, so that
  ``WebClient.files_upload_v2`` works unchanged against the fake;
- ``POST /response/<id>``: ``response_url`` endpoints from ``new_response_url()``,
  taking JSON, at most 5 uses within 30 minutes, as Slack's do.

Point clients at ``fake.api_url`` (``WebClient(token, base_url=fake.api_url)``).

The fake is as strict as Slack, always (there is no lenient mode):

- ``blocks`` and ``view`` are checked with slack_sdk's Block Kit models and Slack's
  documented limits (``tests/fakes/slack_rules.py``): ``invalid_blocks`` for a message,
  ``invalid_arguments`` for a view, with the reasons in ``response_metadata.messages``;
- it knows only the channels and people it was told about (``add_channel``,
  ``add_user``): ``channel_not_found``, ``user_not_found``; the bot posts in a public
  channel it is not in (``chat:write.public``) but not in a private one
  (``channel_not_found``), and an ephemeral message needs the bot in the channel
  (``not_in_channel``) and the person too (``user_not_in_channel``);
- a ``trigger_id`` comes from ``new_trigger_id()``, is good for 3 seconds and once
  (``expired_trigger_id``, ``exchanged_trigger_id``, ``invalid_trigger_id``);
- a ``response_url`` takes 5 uses within 30 minutes, then HTTP 404 ``expired_url``;
- its rate limit answers 429 with ``Retry-After``, or, as some methods do, HTTP 200
  ``{"ok": false, "error": "rate_limited"}``;
- an app distributed by OAuth (``distribute``): ``GET /oauth/v2/authorize`` takes the
  person signed in (``sign_in``) through consent and back to the app's redirect URL with a
  code; ``oauth.v2.access`` checks the client id (``invalid_client_id``), the secret
  (``bad_client_secret``), the code (``invalid_code``: unknown, older than 10 minutes, or
  used already) and the redirect URL (``bad_redirect_uri``), and gives the workspace's bot
  token. Other workspaces (``add_workspace``) are served by the same server, each call by
  the workspace of its token (``auth.test`` says whose); a revoked token
  (``revoke``) answers ``token_revoked``.
"""

from __future__ import annotations

import base64
import itertools
import json
import logging
import time
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import urlencode

from tests.fakes import slack_rules
from tests.fakes._server import (
    CannedFailure,
    Clock,
    FakeServer,
    Request,
    Response,
    TokenBucket,
    ceil_seconds,
    parse_query,
)

logger = logging.getLogger(__name__)

OAUTH_CODE_LIFETIME = 600.0
RESPONSE_URL_MAX_USES = 5
RESPONSE_URL_LIFETIME = 30 * 60.0
TRIGGER_LIFETIME = 3.0
MAX_MESSAGE_BLOCKS = slack_rules.MAX_MESSAGE_BLOCKS
MAX_VIEW_BLOCKS = slack_rules.MAX_VIEW_BLOCKS
MAX_TEXT_LENGTH = slack_rules.MAX_MESSAGE_TEXT


@dataclass
class SlackChannel:
    id: str
    name: str
    is_ext_shared: bool = False
    is_private: bool = False
    is_archived: bool = False
    is_im: bool = False
    is_mpim: bool = False
    user: str | None = None  # the other member of a direct conversation
    members: set[str] = field(default_factory=set)  # the bot is one when it has joined

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "is_channel": not (self.is_im or self.is_mpim or self.is_private),
            "is_group": self.is_private and not self.is_mpim,
            "is_im": self.is_im,
            "is_mpim": self.is_mpim,
            "is_private": self.is_private or self.is_im or self.is_mpim,
            "is_archived": self.is_archived,
            "is_shared": self.is_ext_shared,
            "is_ext_shared": self.is_ext_shared,
            "is_org_shared": False,
            "created": 1_700_000_000,
        }
        if self.is_im:
            data["user"] = self.user
            del data["name"]
        return data


@dataclass
class SlackUser:
    id: str
    name: str
    team_id: str
    is_restricted: bool = False
    is_ultra_restricted: bool = False
    is_stranger: bool = False
    is_bot: bool = False
    deleted: bool = False
    tz: str = "Europe/Paris"
    locale: str = "fr-FR"

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "team_id": self.team_id,
            "name": self.name,
            "real_name": self.name,
            "deleted": self.deleted,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "is_admin": False,
            "is_owner": False,
            "is_restricted": self.is_restricted,
            "is_ultra_restricted": self.is_ultra_restricted,
            "tz": self.tz,
            "tz_offset": 3600,
            "locale": self.locale,
            "profile": {"real_name": self.name, "display_name": self.name, "team": self.team_id},
        }
        if self.is_stranger:
            data["is_stranger"] = True
        return data


@dataclass
class SlackMessage:
    channel: str
    ts: str
    text: str | None
    blocks: list[dict[str, Any]] | None
    thread_ts: str | None = None
    files: list[str] = field(default_factory=list)
    edited: bool = False
    metadata: dict[str, Any] | None = None


@dataclass
class EphemeralMessage:
    channel: str
    user: str
    text: str | None
    blocks: list[dict[str, Any]] | None


@dataclass
class SlackFile:
    id: str
    filename: str
    length: int
    content: bytes | None = None
    title: str | None = None
    channels: list[str] = field(default_factory=list)
    initial_comment: str | None = None
    completed: bool = False


@dataclass
class SlackView:
    id: str
    view: dict[str, Any]
    trigger_id: str | None = None
    user_id: str | None = None  # for Home tabs


@dataclass
class ResponseURL:
    id: str
    created: float
    payloads: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Trigger:
    id: str
    created: float
    used: bool = False


@dataclass
class OAuthCode:
    code: str
    workspace: FakeSlack
    user_id: str
    scopes: list[str]
    redirect_uri: str | None
    created: float
    used: bool = False


@dataclass
class OAuthApp:
    client_id: str
    client_secret: str
    app_id: str
    redirect_url: str


class SlackError(Exception):
    def __init__(self, error: str, reasons: list[str] | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.reasons = reasons or []


class FakeSlack(FakeServer):
    """A Slack workspace: one bot token, its team, channels, users and what was sent."""

    def __init__(
        self,
        *,
        token: str = "xoxb-coordo-test",
        team_id: str = "T0LAB",
        team: str = "Coordo Lab",
        bot_user_id: str = "U0COORDO",
        bot_id: str = "B0COORDO",
        chat_write_public: bool = True,
        clock: Clock = time.monotonic,
    ) -> None:
        super().__init__(clock=clock)
        self.token = token
        self.team_id = team_id
        self.team = team
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.chat_write_public = chat_write_public
        self.channels: dict[str, SlackChannel] = {}
        self.users: dict[str, SlackUser] = {}
        self.messages: list[SlackMessage] = []
        self.ephemeral: list[EphemeralMessage] = []
        self.files: dict[str, SlackFile] = {}
        self.views: dict[str, SlackView] = {}
        self.response_urls: dict[str, ResponseURL] = {}
        self.triggers: dict[str, Trigger] = {}
        # What the fake refused as Slack would (invalid_blocks…): the ``fake_slack``
        # fixture fails a test whose code sent any, unless it expects refusals.
        self.refused: list[str] = []
        self.expect_refusals = False
        self._ts_base = int(time.time())
        self._seq = itertools.count(1)
        self._rate_interval: float | None = None
        self._rate_burst = 1
        self._rate_error_status = 429
        self._buckets: dict[str, TokenBucket] = {}
        self.revoked = False
        # Slack's side of an app distributed by OAuth (``distribute``).
        self.oauth_app: OAuthApp | None = None
        self.oauth_codes: dict[str, OAuthCode] = {}
        self.signed_in: tuple[FakeSlack, str] | None = None
        self.workspaces: list[FakeSlack] = []
        self.add_user(bot_user_id, name="coordo", is_bot=True)

    # -- set-up --------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        """The ``base_url`` for ``WebClient``: ends with ``/api/``."""
        return f"{self.url}/api/"

    def add_channel(
        self,
        channel_id: str,
        name: str | None = None,
        *,
        is_ext_shared: bool = False,
        is_private: bool = False,
        is_archived: bool = False,
        members: tuple[str, ...] | list[str] = (),
        bot_is_member: bool = True,
    ) -> SlackChannel:
        """A channel of the workspace with its ``members`` (people added with
        ``add_user``); the bot is in it unless ``bot_is_member=False``."""
        channel = SlackChannel(
            channel_id,
            name or channel_id.lower(),
            is_ext_shared=is_ext_shared,
            is_private=is_private,
            is_archived=is_archived,
            members=set(members) | ({self.bot_user_id} if bot_is_member else set()),
        )
        with self._lock:
            self.channels[channel_id] = channel
        return channel

    def add_user(
        self,
        user_id: str,
        *,
        name: str | None = None,
        team_id: str | None = None,
        is_restricted: bool = False,
        is_ultra_restricted: bool = False,
        is_stranger: bool = False,
        is_bot: bool = False,
        deleted: bool = False,
        tz: str = "Europe/Paris",
        locale: str = "fr-FR",
    ) -> SlackUser:
        """A person of the workspace; ``team_id`` other than the home team is a Slack Connect user."""
        user = SlackUser(
            user_id,
            name or user_id.lower(),
            team_id or self.team_id,
            is_restricted=is_restricted,
            is_ultra_restricted=is_ultra_restricted,
            is_stranger=is_stranger,
            is_bot=is_bot,
            deleted=deleted,
            tz=tz,
            locale=locale,
        )
        with self._lock:
            self.users[user_id] = user
        return user

    def join(self, channel_id: str, *user_ids: str) -> None:
        """Add people (or, with no one named, the bot) to a known channel."""
        with self._lock:
            self.channels[channel_id].members.update(user_ids or (self.bot_user_id,))

    def enable_rate_limit(
        self, per_channel_interval: float = 1.0, burst: int = 1, *, as_ok_false: bool = False
    ) -> None:
        """Allow ``burst`` ``chat.postMessage`` per channel at once, then one per interval.

        Beyond that, HTTP 429 ``ratelimited`` with ``Retry-After`` in whole seconds, or
        with ``as_ok_false`` HTTP 200 ``{"ok": false, "error": "rate_limited"}`` and no
        header, as ``chat.postMessage`` documents it.
        """
        with self._lock:
            self._rate_interval = per_channel_interval
            self._rate_burst = burst
            self._rate_error_status = 200 if as_ok_false else 429
            self._buckets.clear()

    def disable_rate_limit(self) -> None:
        with self._lock:
            self._rate_interval = None
            self._buckets.clear()

    def new_response_url(self) -> str:
        with self._lock:
            rid = f"T{next(self._seq):06d}"
            self.response_urls[rid] = ResponseURL(rid, self.clock())
        return f"{self.url}/response/{rid}"

    def new_trigger_id(self) -> str:
        """A ``trigger_id`` as Slack puts in a command or an interaction: good for 3
        seconds (on the fake's clock) and for one ``views.open``."""
        with self._lock:
            n = next(self._seq)
            trigger_id = f"{n}.{self.team_id}.{n * 7919:08x}"
            self.triggers[trigger_id] = Trigger(trigger_id, self.clock())
        return trigger_id

    # -- many workspaces, and the app's OAuth ------------------------------------------

    def distribute(
        self, client_id: str, client_secret: str, *, redirect_url: str, app_id: str = "A0COORDO"
    ) -> None:
        """Register the app for distribution: its OAuth client and its redirect URL."""
        with self._lock:
            self.oauth_app = OAuthApp(client_id, client_secret, app_id, redirect_url)

    def add_workspace(self, other: FakeSlack) -> None:
        """Serve ``other``'s Web API here too: a call with its bot token (as it is at the
        time of the call) is its."""
        with self._lock:
            self.workspaces.append(other)

    def sign_in(self, workspace: FakeSlack, user_id: str) -> None:
        """Who the browser at the consent page is: a person of ``workspace`` (this one or
        one added with ``add_workspace``)."""
        with self._lock:
            self.signed_in = (workspace, user_id)

    def revoke(self) -> None:
        """The bot token of this workspace is revoked (the app was uninstalled)."""
        with self._lock:
            self.revoked = True

    def reinstate(self, token: str) -> None:
        """A new bot token for this workspace (installed again)."""
        with self._lock:
            self.token = token
            self.revoked = False

    @property
    def authorize_url(self) -> str:
        return f"{self.url}/oauth/v2/authorize"

    # -- queries -------------------------------------------------------------------------

    def messages_in(self, channel: str) -> list[SlackMessage]:
        with self._lock:
            return [m for m in self.messages if m.channel == channel]

    def dm_channel_for(self, user_id: str) -> str:
        """The id ``conversations.open`` gives for the bot's conversation with ``user_id``."""
        return "D" + user_id[1:]

    def responses_to(self, url: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.response_urls[url.rsplit("/", 1)[-1]].payloads)

    # -- dispatch ------------------------------------------------------------------------

    def route(self, request: Request) -> tuple[str, Any, Response]:
        path = request.path
        if path.startswith("/api/"):
            method = path[len("/api/") :]
            body = self._parse_body(request)
            return method, body, self._api(method, body, request)
        if path.startswith("/upload/v1/"):
            return "upload", None, self._upload(path.rsplit("/", 1)[-1], request)
        if path == "/oauth/v2/authorize" and request.method == "GET":
            return "oauth.authorize", dict(request.query), self._authorize(request.query)
        if path.startswith("/response/"):
            try:
                payload = json.loads(request.body or b"null")
            except ValueError:
                payload = None
            return "response_url", payload, self._response_url(path.rsplit("/", 1)[-1], payload)
        return "unknown", None, Response.text("not found", 404)

    @staticmethod
    def _parse_body(request: Request) -> dict[str, Any]:
        body: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            data = json.loads(request.body or b"{}")
            if isinstance(data, dict):
                body.update(data)
        elif request.body:
            body.update(parse_query(request.body.decode()))
        return body

    def _api(self, method: str, body: dict[str, Any], request: Request) -> Response:
        failure = self._pop_failure(method)
        if failure is not None:
            return self._failure(failure)
        auth = request.header("authorization") or ""
        if method == "oauth.v2.access":
            with self._lock:
                return self._oauth_access(body, auth)
        token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else body.get("token")
        if not token:
            return _error("not_authed")
        with self._lock:
            other = next((w for w in self.workspaces if w.token == token), None)
        if other is not None:
            return other._api(method, body, request)
        if token != self.token:
            return _error("invalid_auth")
        if self.revoked:
            return _error("token_revoked")
        handler = _METHODS.get(method)
        if handler is None:
            return _error("unknown_method")
        try:
            with self._lock:
                return handler(self, body)
        except SlackError as e:
            return _error(e.error, e.reasons)
        except slack_rules.Refused as e:
            logger.warning("fake Slack refused %s: %s", method, e)
            self.refused.append(f"{method}: {e}")
            return _error(e.error, e.reasons)

    @staticmethod
    def _failure(failure: CannedFailure) -> Response:
        defaults: dict[str, str] = {}
        if failure.status == 429:
            defaults["Retry-After"] = str(
                failure.retry_after if failure.retry_after is not None else 1
            )
        headers = failure.apply_headers(defaults)
        if failure.body is not None:
            return Response(
                failure.status,
                failure.body,
                failure.content_type or "text/plain; charset=utf-8",
                headers,
            )
        if failure.status == 200:
            return Response.json(
                {"ok": False, "error": failure.error or "internal_error"}, 200, headers
            )
        if failure.status == 429:
            return Response.json({"ok": False, "error": "ratelimited"}, 429, headers)
        if failure.status >= 500:
            return Response(
                failure.status, b"<html><body>Server Error</body></html>", "text/html", headers
            )
        return Response.json(
            {"ok": False, "error": failure.error or "invalid_request"}, failure.status, headers
        )

    # -- OAuth (called with the lock held) ---------------------------------------------

    def _authorize(self, query: dict[str, str]) -> Response:
        """Slack's consent page, consented at once by the person signed in: back to the
        app's redirect URL with a one-time code and the app's ``state``."""
        with self._lock:
            app = self.oauth_app
            if app is None or query.get("client_id") != app.client_id:
                return Response.text("invalid_client_id", 400)
            if self.signed_in is None:
                return Response.text("nobody signed in", 400)
            redirect_uri = query.get("redirect_uri") or None
            if redirect_uri is not None and redirect_uri != app.redirect_url:
                return Response.text("bad_redirect_uri", 400)
            if query.get("user_scope"):
                return Response.text("this app asks for bot scopes only", 400)
            workspace, user_id = self.signed_in
            n = next(self._seq)
            code = f"{workspace.team_id}.{n}.{n * 104729:010x}"
            scopes = [s for s in (query.get("scope") or "").split(",") if s]
            self.oauth_codes[code] = OAuthCode(
                code, workspace, user_id, scopes, redirect_uri, self.clock()
            )
        target = f"{redirect_uri or app.redirect_url}?{urlencode({'code': code, 'state': query.get('state', '')})}"
        return Response(302, b"", "text/plain", {"Location": target})

    def _oauth_access(self, body: dict[str, Any], auth: str) -> Response:
        app = self.oauth_app
        client_id, client_secret = body.get("client_id"), body.get("client_secret")
        if auth.startswith("Basic "):
            decoded = base64.b64decode(auth[len("Basic ") :]).decode()
            client_id, _, client_secret = decoded.partition(":")
        if app is None or client_id != app.client_id:
            return _error("invalid_client_id")
        if client_secret != app.client_secret:
            return _error("bad_client_secret")
        grant = self.oauth_codes.get(str(body.get("code") or ""))
        if grant is None or grant.used or self.clock() - grant.created > OAUTH_CODE_LIFETIME:
            return _error("invalid_code")
        if grant.redirect_uri is not None and body.get("redirect_uri") != grant.redirect_uri:
            return _error("bad_redirect_uri")
        grant.used = True
        workspace = grant.workspace
        return _ok(
            app_id=app.app_id,
            authed_user={"id": grant.user_id},
            scope=",".join(grant.scopes),
            token_type="bot",
            access_token=workspace.token,
            bot_user_id=workspace.bot_user_id,
            team={"id": workspace.team_id, "name": workspace.team},
            enterprise=None,
            is_enterprise_install=False,
        )

    # -- lookups (called with the lock held) ---------------------------------------------

    def _next_ts(self) -> str:
        return f"{self._ts_base}.{next(self._seq):06d}"

    def _channel(self, channel_id: str | None) -> SlackChannel:
        if not channel_id:
            raise SlackError("channel_not_found")
        if channel_id[0] in "UW":  # a user id: Slack posts to the app's conversation with them
            return self._open_dm(channel_id)[0]
        channel = self.channels.get(channel_id)
        if channel is None:
            raise SlackError("channel_not_found")
        if channel.is_private and self.bot_user_id not in channel.members:
            raise SlackError("channel_not_found")  # a private channel is hidden from outsiders
        return channel

    def _bot_in(self, channel: SlackChannel) -> None:
        if self.bot_user_id not in channel.members:
            raise SlackError("not_in_channel")

    def _user(self, user_id: str | None) -> SlackUser:
        if not user_id:
            raise SlackError("user_not_found")
        user = self.users.get(user_id)
        if user is None:
            raise SlackError("user_not_found")
        return user

    def _open_dm(self, user_id: str) -> tuple[SlackChannel, bool]:
        user = self._user(user_id)
        if user.deleted:
            raise SlackError("user_disabled")
        channel_id = self.dm_channel_for(user_id)
        existing = self.channels.get(channel_id)
        if existing is not None:
            return existing, True
        channel = SlackChannel(
            channel_id, channel_id, is_im=True, user=user_id, members={self.bot_user_id, user_id}
        )
        self.channels[channel_id] = channel
        return channel, False

    def _rate_limited(self, channel_id: str) -> Response | None:
        if self._rate_interval is None:
            return None
        now = self.clock()
        bucket = self._buckets.get(channel_id)
        if bucket is None:
            bucket = TokenBucket(1 / self._rate_interval, self._rate_burst, now)
            self._buckets[channel_id] = bucket
        wait = bucket.take(now)
        if wait == 0:
            return None
        if self._rate_error_status == 200:
            return _error("rate_limited")
        return Response.json(
            {"ok": False, "error": "ratelimited"},
            429,
            {"Retry-After": str(ceil_seconds(wait))},
        )

    # -- methods -------------------------------------------------------------------------

    def _auth_test(self, body: dict[str, Any]) -> Response:
        return _ok(
            url=f"https://{self.team.lower().replace(' ', '-')}.slack.com/",
            team=self.team,
            user="coordo",
            team_id=self.team_id,
            user_id=self.bot_user_id,
            bot_id=self.bot_id,
            is_enterprise_install=False,
        )

    def _chat_post_message(self, body: dict[str, Any]) -> Response:
        channel = self._channel(body.get("channel"))
        text, blocks = _content(body, MAX_MESSAGE_BLOCKS)
        if channel.is_archived:
            raise SlackError("is_archived")
        if not self.chat_write_public:
            self._bot_in(channel)
        limited = self._rate_limited(channel.id)
        if limited is not None:
            return limited
        ts = self._next_ts()
        self.messages.append(SlackMessage(channel.id, ts, text, blocks, body.get("thread_ts")))
        return _ok(channel=channel.id, ts=ts, message=self._message_api(ts, text, blocks))

    def _chat_post_ephemeral(self, body: dict[str, Any]) -> Response:
        channel = self._channel(body.get("channel"))
        user = self._user(body.get("user"))
        text, blocks = _content(body, MAX_MESSAGE_BLOCKS)
        self._bot_in(channel)
        if user.id not in channel.members:
            raise SlackError("user_not_in_channel")
        self.ephemeral.append(EphemeralMessage(channel.id, user.id, text, blocks))
        return _ok(message_ts=self._next_ts())

    def _chat_update(self, body: dict[str, Any]) -> Response:
        channel = self._channel(body.get("channel"))
        ts = str(body.get("ts") or "")
        found = [m for m in self.messages if m.channel == channel.id and m.ts == ts]
        if not found:
            raise SlackError("message_not_found")
        text, blocks = _content(body, MAX_MESSAGE_BLOCKS)
        message = found[0]
        message.text, message.blocks, message.edited = text, blocks, True
        return _ok(
            channel=channel.id, ts=ts, text=text, message=self._message_api(ts, text, blocks)
        )

    def _message_api(
        self, ts: str, text: str | None, blocks: list[dict[str, Any]] | None
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "ts": ts,
            "text": text or "",
            "team": self.team_id,
        }
        if blocks is not None:
            message["blocks"] = blocks
        return message

    def _conversations_open(self, body: dict[str, Any]) -> Response:
        if body.get("channel"):
            channel = self._channel(body["channel"])
            return _ok(channel={"id": channel.id})
        users = body.get("users")
        ids = users if isinstance(users, list) else [u for u in str(users or "").split(",") if u]
        if not ids:
            raise SlackError("users_list_not_supplied")
        if len(ids) > 8:
            raise SlackError("too_many_users")
        if len(ids) == 1:
            channel, existed = self._open_dm(ids[0])
        else:
            for user_id in ids:
                self._user(user_id)
            channel_id = "G" + "".join(sorted(u[1:] for u in ids))[:10]
            channel = self.channels.setdefault(
                channel_id, SlackChannel(channel_id, "mpdm-" + "--".join(ids), is_mpim=True)
            )
            existed = False
        data = channel.to_api() if _truthy(body.get("return_im")) else {"id": channel.id}
        extra = {"no_op": True, "already_open": True} if existed else {}
        return _ok(channel=data, **extra)

    def _conversations_info(self, body: dict[str, Any]) -> Response:
        channel = self._channel(body.get("channel"))
        return _ok(channel=channel.to_api())

    def _users_info(self, body: dict[str, Any]) -> Response:
        return _ok(user=self._user(body.get("user")).to_api())

    def _views_open(self, body: dict[str, Any]) -> Response:
        trigger_id = body.get("trigger_id") or body.get("interactivity_pointer")
        if not trigger_id:
            raise SlackError("invalid_arguments", ["missing required field: trigger_id"])
        view = self._view(body, expected="modal")
        trigger = self.triggers.get(str(trigger_id))
        if trigger is None:
            raise SlackError("invalid_trigger_id")
        if trigger.used:
            raise SlackError("exchanged_trigger_id")
        if self.clock() - trigger.created > TRIGGER_LIFETIME:
            raise SlackError("expired_trigger_id")
        trigger.used = True
        return _ok(view=self._store_view(view, trigger_id=trigger_id))

    def _views_update(self, body: dict[str, Any]) -> Response:
        view_id = body.get("view_id")
        external_id = body.get("external_id")
        found = None
        if view_id:
            found = self.views.get(view_id)
        elif external_id:
            found = next(
                (v for v in self.views.values() if v.view.get("external_id") == external_id), None
            )
        else:
            raise SlackError("invalid_arguments")
        if found is None:
            raise SlackError("not_found")
        found.view = self._view(body, expected=found.view.get("type", "modal"))
        return _ok(view={**found.view, "id": found.id})

    def _views_publish(self, body: dict[str, Any]) -> Response:
        user = self._user(body.get("user_id"))
        view = self._view(body, expected="home")
        existing = next((v for v in self.views.values() if v.user_id == user.id), None)
        if existing is not None:
            existing.view = view
            return _ok(view={**view, "id": existing.id})
        return _ok(view=self._store_view(view, user_id=user.id))

    def _view(self, body: dict[str, Any], *, expected: str) -> dict[str, Any]:
        view = body.get("view")
        if isinstance(view, str):
            try:
                view = json.loads(view)
            except ValueError as e:
                raise SlackError("invalid_arguments") from e
        slack_rules.check_view(view, expected=expected)
        assert isinstance(view, dict)
        return view

    def _store_view(
        self, view: dict[str, Any], *, trigger_id: str | None = None, user_id: str | None = None
    ) -> dict[str, Any]:
        view_id = f"V{next(self._seq):08d}"
        self.views[view_id] = SlackView(view_id, view, trigger_id=trigger_id, user_id=user_id)
        return {**view, "id": view_id, "team_id": self.team_id, "app_id": "A0COORDO"}

    def _files_get_upload_url_external(self, body: dict[str, Any]) -> Response:
        filename = body.get("filename")
        try:
            length = int(body.get("length") or 0)
        except ValueError as e:
            raise SlackError("invalid_arguments") from e
        if not filename:
            raise SlackError("invalid_arguments")
        if length <= 0:
            raise SlackError("missing_argument")
        file_id = f"F{next(self._seq):08d}"
        self.files[file_id] = SlackFile(file_id, filename, length)
        return _ok(upload_url=f"{self.url}/upload/v1/{file_id}", file_id=file_id)

    def _files_complete_upload_external(self, body: dict[str, Any]) -> Response:
        files = body.get("files")
        if isinstance(files, str):
            try:
                files = json.loads(files)
            except ValueError as e:
                raise SlackError("invalid_arguments") from e
        if not isinstance(files, list) or not files:
            raise SlackError("invalid_arguments")
        channel_ids: list[str] = []
        if body.get("channel_id"):
            channel_ids.append(body["channel_id"])
        if body.get("channels"):
            channel_ids.extend(c for c in str(body["channels"]).split(",") if c)
        channels = [self._channel(c).id for c in channel_ids]
        completed = []
        for item in files:
            uploaded = self.files.get(item.get("id", ""))
            if uploaded is None or uploaded.content is None:
                raise SlackError("file_not_found")
            completed.append((uploaded, item.get("title")))
        for uploaded, title in completed:
            uploaded.title = title or uploaded.filename
            uploaded.channels = channels
            uploaded.initial_comment = body.get("initial_comment")
            uploaded.completed = True
        for channel_id in channels:
            self.messages.append(
                SlackMessage(
                    channel_id,
                    self._next_ts(),
                    body.get("initial_comment"),
                    None,
                    body.get("thread_ts"),
                    files=[f.id for f, _ in completed],
                )
            )
        return _ok(files=[self._file_api(f) for f, _ in completed])

    def _file_api(self, file: SlackFile) -> dict[str, Any]:
        return {
            "id": file.id,
            "created": int(time.time()),
            "name": file.filename,
            "title": file.title,
            "mimetype": "application/octet-stream",
            "filetype": file.filename.rsplit(".", 1)[-1] if "." in file.filename else "binary",
            "user": self.bot_user_id,
            "size": len(file.content or b""),
            "channels": [c for c in file.channels if c[0] == "C"],
            "groups": [c for c in file.channels if c[0] == "G"],
            "ims": [c for c in file.channels if c[0] == "D"],
        }

    # -- the other endpoints -------------------------------------------------------------

    def _upload(self, file_id: str, request: Request) -> Response:
        failure = self._pop_failure("upload")
        if failure is not None:
            return self._failure(failure)
        with self._lock:
            file = self.files.get(file_id)
            if file is None:
                return Response.text("not found", 404)
            content = request.body
            if request.content_type == "multipart/form-data":
                content = _first_multipart_file(request)
            file.content = content
        return Response.text(f"OK - {len(content)}")

    def _response_url(self, rid: str, payload: Any) -> Response:
        failure = self._pop_failure("response_url")
        if failure is not None:
            return self._failure(failure)
        with self._lock:
            target = self.response_urls.get(rid)
            if target is None:
                return Response.json({"ok": False, "error": "invalid_url"}, 404)
            if (
                self.clock() - target.created > RESPONSE_URL_LIFETIME
                or len(target.payloads) >= RESPONSE_URL_MAX_USES
            ):
                return Response.json({"ok": False, "error": "expired_url"}, 404)
            if not isinstance(payload, dict):
                return Response.json({"ok": False, "error": "invalid_payload"}, 400)
            if (
                not payload.get("text")
                and not payload.get("blocks")
                and not payload.get("delete_original")
            ):
                return Response.json({"ok": False, "error": "no_text"}, 400)
            try:
                slack_rules.check_text(payload.get("text"))
                if payload.get("blocks") is not None:
                    slack_rules.check_message_blocks(payload["blocks"])
            except slack_rules.Refused as e:
                logger.warning("fake Slack refused a response_url payload: %s", e)
                self.refused.append(f"response_url: {e}")
                return Response.json(
                    {"ok": False, "error": e.error, "response_metadata": {"messages": e.reasons}},
                    400,
                )
            target.payloads.append(payload)
        return Response.json({"ok": True})


# -- message metadata and channel history ------------------------------------------------
# ``chat.postMessage`` keeps a message's ``metadata`` (``event_type`` and
# ``event_payload``, given as an object or as JSON text); ``conversations.history`` answers
# a channel's messages newest first, between ``oldest`` and ``latest`` (exclusive unless
# ``inclusive``), ``limit`` at a time (default 100, at most 999) with a ``next_cursor``
# while ``has_more``, and shows the metadata only with ``include_all_metadata``. A file
# share comes as a message with ``files`` (the file objects, ``user`` the uploader) and
# ``upload: true``, its text the initial comment or empty.

HISTORY_DEFAULT_LIMIT = 100
HISTORY_MAX_LIMIT = 999


def _post_message_with_metadata(self: FakeSlack, body: dict[str, Any]) -> Response:
    metadata = body.get("metadata")
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except ValueError as e:
            raise SlackError("invalid_metadata_format") from e
    if metadata is not None and (
        not isinstance(metadata, dict)
        or not isinstance(metadata.get("event_type"), str)
        or not isinstance(metadata.get("event_payload"), dict)
    ):
        raise SlackError("invalid_metadata_schema")
    response = FakeSlack._chat_post_message(self, body)
    if response.status == 200 and metadata is not None:
        answer = json.loads(response.body)
        if answer.get("ok"):
            for message in reversed(self.messages):
                if message.ts == answer["ts"]:
                    message.metadata = metadata
                    break
    return response


def _conversations_history(self: FakeSlack, body: dict[str, Any]) -> Response:
    channel = self._channel(body.get("channel"))
    self._bot_in(channel)  # reading a channel's history needs the bot in it
    try:
        limit = int(body.get("limit") or HISTORY_DEFAULT_LIMIT)
        oldest = float(body.get("oldest") or 0)
        latest = float(body.get("latest") or "inf")
        offset = int(str(body.get("cursor") or "").removeprefix("next:") or 0)
    except ValueError as e:
        raise SlackError("invalid_arguments") from e
    limit = max(1, min(limit, HISTORY_MAX_LIMIT))
    inclusive = _truthy(body.get("inclusive"))
    with_metadata = _truthy(body.get("include_all_metadata"))
    found = [
        m
        for m in self.messages
        if m.channel == channel.id
        and (oldest <= float(m.ts) if inclusive else oldest < float(m.ts))
        and (float(m.ts) <= latest if inclusive else float(m.ts) < latest)
    ]
    found.sort(key=lambda m: float(m.ts), reverse=True)
    page = found[offset : offset + limit]
    messages = []
    for m in page:
        data = self._message_api(m.ts, m.text, m.blocks)
        if with_metadata and m.metadata is not None:
            data["metadata"] = m.metadata
        if m.files:  # a file share (files.completeUploadExternal): the files, by the uploader
            data["files"] = [self._file_api(self.files[f]) for f in m.files if f in self.files]
            data["upload"] = True
            data["display_as_bot"] = False
        messages.append(data)
    more = offset + limit < len(found)
    return _ok(
        messages=messages,
        has_more=more,
        pin_count=0,
        response_metadata={"next_cursor": f"next:{offset + limit}" if more else ""},
    )


def _ok(**data: Any) -> Response:
    return Response.json({"ok": True, **data})


def _error(error: str, reasons: list[str] | None = None) -> Response:
    data: dict[str, Any] = {"ok": False, "error": error}
    if reasons:
        data["response_metadata"] = {"messages": reasons}
    return Response.json(data)


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in {"1", "true"}


def _content(
    body: dict[str, Any], max_blocks: int
) -> tuple[str | None, list[dict[str, Any]] | None]:
    text = body.get("text")
    blocks = body.get("blocks")
    if isinstance(blocks, str):
        try:
            blocks = json.loads(blocks)
        except ValueError as e:
            raise SlackError("invalid_blocks_format") from e
    attachments = body.get("attachments")
    if not text and not blocks and not attachments:
        raise SlackError("no_text")
    slack_rules.check_text(text)
    if blocks is not None:
        slack_rules.check_message_blocks(blocks, limit=max_blocks)
    return text, blocks


def _first_multipart_file(request: Request) -> bytes:
    head = f"Content-Type: {request.header('content-type')}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + request.body)
    for part in message.iter_parts():
        payload = part.get_payload(decode=True)
        if part.get_filename() is not None and isinstance(payload, bytes):
            return payload
    return b""


_METHODS = {
    "auth.test": FakeSlack._auth_test,
    "chat.postMessage": FakeSlack._chat_post_message,
    "chat.postEphemeral": FakeSlack._chat_post_ephemeral,
    "chat.update": FakeSlack._chat_update,
    "conversations.open": FakeSlack._conversations_open,
    "conversations.info": FakeSlack._conversations_info,
    "users.info": FakeSlack._users_info,
    "views.open": FakeSlack._views_open,
    "views.update": FakeSlack._views_update,
    "views.publish": FakeSlack._views_publish,
    "files.getUploadURLExternal": FakeSlack._files_get_upload_url_external,
    "files.completeUploadExternal": FakeSlack._files_complete_upload_external,
}
_METHODS["chat.postMessage"] = _post_message_with_metadata
_METHODS["conversations.history"] = _conversations_history
