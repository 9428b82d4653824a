"""A fake Mattermost server speaking the parts of REST API v4 that Coordo uses.

``Authorization: Bearer <token>`` (or ``Token <token>``) on every ``/api/v4`` call, 401
with Mattermost's JSON error otherwise. Errors have Mattermost's shape:
``{"id": "…app_error", "message": …, "detailed_error": "", "request_id": …,
"status_code": …}``. Routes:

- ``GET /api/v4/users/me`` and ``GET /api/v4/users/{id}`` (``roles`` ``system_user`` or
  ``system_guest``);
- ``POST /api/v4/posts`` (``channel_id``, ``message``, ``props.attachments``,
  ``file_ids``), 201 with the post;
- ``POST /api/v4/channels/direct`` with ``[user_a, user_b]``, 201 with a channel whose id
  is stable for the pair; the caller must be one of the two, as on a real server;
- ``POST /api/v4/files``, multipart (``channel_id``, ``files``) or with ``channel_id`` and
  ``filename`` in the query and the bytes as body, 201 with ``file_infos``;
- ``POST /api/v4/actions/dialogs/open`` (``trigger_id``, ``url``, ``dialog``);
- ``POST /hooks/commands/<id>``: ``response_url`` endpoints from ``new_response_url()``.

Strict by default, as a real server is (``tests/fakes/mattermost_rules.py`` holds the
ported rules): a post passes ``Post.IsValid`` and its attachments and actions theirs; a
dialog passes ``Dialog.IsValid`` and needs a trigger id the fake gave
(``new_trigger_id()``) less than 3 s ago; the bot posts only in channels it was added
to (``add_channel``; ``bot_member=False`` for one it is not in: 403), knows only the
users it was told of (404 for anyone else, direct channels included); a
``response_url`` takes a command response (JSON or plain text) 5 times within 30
minutes and answers ``ok`` in plain text. There is no lenient mode: a test or a
benchmark registers the users and channels it uses, as a real server holds them.

Rate limiting, off by default as on a real server, is Mattermost's: a token bucket per
token (``per_sec``, ``burst``) with ``X-Ratelimit-Limit``, ``X-Ratelimit-Remaining`` and
``X-Ratelimit-Reset`` (seconds until the bucket is full) on every answer, and on a 429
a ``Retry-After`` in seconds and the plain-text body ``limit exceeded``.

Routes are named for ``fail_next`` and the call log by their template, e.g.
``"POST /api/v4/posts"`` or ``"GET /api/v4/users/{id}"``.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import mimetypes
import os
import re
import time
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from tests.fakes import mattermost_rules as rules
from tests.fakes._server import (
    CannedFailure,
    Clock,
    FakeServer,
    Request,
    Response,
    TokenBucket,
    ceil_seconds,
)

GET_ME = "GET /api/v4/users/me"
GET_USER = "GET /api/v4/users/{id}"
CREATE_POST = "POST /api/v4/posts"
CREATE_DIRECT_CHANNEL = "POST /api/v4/channels/direct"
UPLOAD_FILE = "POST /api/v4/files"
OPEN_DIALOG = "POST /api/v4/actions/dialogs/open"
COMMAND_RESPONSE = "POST /hooks/commands/{id}"

MAX_POST_LENGTH = rules.POST_MESSAGE_MAX_RUNES
MAX_FILES_PER_POST = 5
RESPONSE_URL_MAX_USES = rules.RESPONSE_URL_MAX_USES
RESPONSE_URL_LIFETIME = rules.RESPONSE_URL_LIFETIME
TRIGGER_ID_LIFETIME = rules.TRIGGER_ID_LIFETIME


def new_id() -> str:
    """A 26-character id, the shape of Mattermost's."""
    return base64.b32encode(os.urandom(16)).decode().lower().rstrip("=")[:26]


def _stable_id(seed: str) -> str:
    return base64.b32encode(hashlib.sha256(seed.encode()).digest()).decode().lower()[:26]


@dataclass
class MattermostUser:
    id: str
    username: str
    roles: str = "system_user"
    is_bot: bool = False
    timezone: str = "Europe/Paris"
    locale: str = "fr"

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "create_at": 1_700_000_000_000,
            "update_at": 1_700_000_000_000,
            "delete_at": 0,
            "username": self.username,
            "first_name": "",
            "last_name": "",
            "nickname": "",
            "email": f"{self.username}@example.org",
            "auth_service": "",
            "roles": self.roles,
            "locale": self.locale,
            "is_bot": self.is_bot,
            "timezone": {
                "useAutomaticTimezone": "false",
                "manualTimezone": self.timezone,
                "automaticTimezone": "",
            },
        }


@dataclass
class MattermostChannel:
    id: str
    name: str
    type: str = "O"  # O public, P private, D direct, G group
    team_id: str = ""
    members: set[str] = field(default_factory=set)

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "create_at": 1_700_000_000_000,
            "update_at": 1_700_000_000_000,
            "delete_at": 0,
            "team_id": self.team_id,
            "type": self.type,
            "display_name": "" if self.type == "D" else self.name,
            "name": self.name,
            "header": "",
            "purpose": "",
        }


@dataclass
class MattermostFile:
    id: str
    name: str
    channel_id: str
    content: bytes
    mime_type: str
    post_id: str = ""  # the post it is attached to, once posted

    def to_api(self, user_id: str) -> dict[str, Any]:
        extension = self.name.rsplit(".", 1)[-1].lower() if "." in self.name else ""
        return {
            "id": self.id,
            "user_id": user_id,
            "channel_id": self.channel_id,
            "post_id": self.post_id,
            "create_at": int(time.time() * 1000),
            "update_at": int(time.time() * 1000),
            "delete_at": 0,
            "name": self.name,
            "extension": extension,
            "size": len(self.content),
            "mime_type": self.mime_type,
        }


@dataclass
class Dialog:
    trigger_id: str
    url: str
    dialog: dict[str, Any]
    user_id: str = ""  # whom the trigger id was given to: the dialog opens for them


@dataclass(frozen=True)
class Trigger:
    user_id: str
    created: float


@dataclass
class CommandResponseURL:
    id: str
    created: float
    payloads: list[dict[str, Any]] = field(default_factory=list)


class MattermostError(Exception):
    def __init__(self, status: int, error_id: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_id = error_id
        self.message = message


class FakeMattermost(FakeServer):
    """A Mattermost server with one bot account, its users, channels and what was posted."""

    def __init__(
        self,
        *,
        token: str = "mm-coordo-test-token",
        bot_user_id: str | None = None,
        bot_username: str = "coordo",
        team_id: str | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        super().__init__(clock=clock)
        self.token = token
        self.team_id = team_id or _stable_id("team")
        self.users: dict[str, MattermostUser] = {}
        self.channels: dict[str, MattermostChannel] = {}
        self.posts: list[dict[str, Any]] = []
        self.files: dict[str, MattermostFile] = {}
        self.dialogs: list[Dialog] = []
        self.response_urls: dict[str, CommandResponseURL] = {}
        self.triggers: dict[str, Trigger] = {}
        self.refusals: list[rules.Refusal] = []
        self._seq = itertools.count(1)
        self._rate: tuple[float, int] | None = None
        self._buckets: dict[str, TokenBucket] = {}
        self.pending_post_ids: dict[str, tuple[float, str]] = {}
        self.bot = self.add_user(
            bot_user_id or _stable_id("bot"), username=bot_username, is_bot=True
        )

    # -- set-up --------------------------------------------------------------------------

    @property
    def bot_user_id(self) -> str:
        return self.bot.id

    def add_user(
        self,
        user_id: str | None = None,
        *,
        username: str | None = None,
        roles: str = "system_user",
        is_bot: bool = False,
        timezone: str = "Europe/Paris",
        locale: str = "fr",
    ) -> MattermostUser:
        """A person on the server; ``roles="system_guest"`` makes them a guest (a partner)."""
        user_id = user_id or new_id()
        user = MattermostUser(
            user_id, username or f"user{next(self._seq)}", roles, is_bot, timezone, locale
        )
        with self._lock:
            self.users[user_id] = user
        return user

    def add_channel(
        self,
        channel_id: str | None = None,
        name: str | None = None,
        *,
        type: str = "O",
        bot_member: bool = True,
        team_id: str | None = None,
    ) -> MattermostChannel:
        """A channel of the team (or of another team of the server, ``team_id``); the
        bot is a member unless ``bot_member=False``."""
        channel_id = channel_id or new_id()
        channel = MattermostChannel(
            channel_id,
            name or f"channel-{channel_id[:6]}",
            type,
            team_id or self.team_id,
            {self.bot.id} if bot_member else set(),
        )
        with self._lock:
            self.channels[channel_id] = channel
        return channel

    def enable_rate_limit(self, per_sec: float = 10, burst: int = 100) -> None:
        """Mattermost's limiter: ``burst + 1`` calls at once per token, refilled ``per_sec``."""
        with self._lock:
            self._rate = (per_sec, burst)
            self._buckets.clear()

    def disable_rate_limit(self) -> None:
        with self._lock:
            self._rate = None
            self._buckets.clear()

    def new_response_url(self) -> str:
        rid = new_id()
        with self._lock:
            self.response_urls[rid] = CommandResponseURL(rid, self.clock())
        return f"{self.url}/hooks/commands/{rid}"

    def new_trigger_id(self, user_id: str) -> str:
        """A trigger id as the server puts in a command or a click of ``user_id``:
        base64 of ``client id:user id:millis:signature``, good for 3 s (fake clock)."""
        client_id = new_id()
        raw = f"{client_id}:{user_id}:{int(self.clock() * 1000)}:{new_id()}"
        trigger = base64.b64encode(raw.encode()).decode()
        with self._lock:
            self.triggers[trigger] = Trigger(user_id, self.clock())
        return trigger

    def direct_channel_id(self, user_a: str, user_b: str) -> str:
        """The id ``POST /channels/direct`` gives for this pair, in either order."""
        return _stable_id("__".join(sorted((user_a, user_b))))

    # -- queries -------------------------------------------------------------------------

    def posts_in(self, channel_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [p for p in self.posts if p["channel_id"] == channel_id]

    def responses_to(self, url: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.response_urls[url.rsplit("/", 1)[-1]].payloads)

    # -- dispatch ------------------------------------------------------------------------

    def route(self, request: Request) -> tuple[str, Any, Response]:
        name, params = _match(request.method, request.path)
        body = _parse_body(request)
        if name is None:
            return (
                f"{request.method} {request.path}",
                body,
                _app_error(404, "api.context.404.app_error", "Sorry, we could not find the page."),
            )
        failure = self._pop_failure(name)
        if failure is not None:
            return name, body, self._failure(failure)
        if name == COMMAND_RESPONSE:
            return name, body, self._command_response(params["id"], request)
        token = _bearer(request)
        if token != self.token:
            return (
                name,
                body,
                _app_error(
                    401,
                    "api.context.session_expired.app_error",
                    "Invalid or expired session, please login again.",
                ),
            )
        limit_headers, denied = self._rate_limit(token)
        if denied is not None:
            return name, body, denied
        try:
            with self._lock:
                response = _ROUTES[name](self, body, params)
        except MattermostError as e:
            response = _app_error(e.status, e.error_id, e.message)
        response.headers.update(limit_headers)
        return name, body, response

    def _rate_limit(self, token: str) -> tuple[dict[str, str], Response | None]:
        with self._lock:
            if self._rate is None:
                return {}, None
            per_sec, burst = self._rate
            now = self.clock()
            bucket = self._buckets.get(token)
            if bucket is None:
                bucket = self._buckets[token] = TokenBucket(per_sec, burst + 1, now)
            wait = bucket.take(now)
            headers = {
                "X-Ratelimit-Limit": str(burst + 1),
                "X-Ratelimit-Remaining": str(int(bucket.tokens)),
                "X-Ratelimit-Reset": str(ceil_seconds(bucket.seconds_until_full(now))),
            }
        if wait == 0:
            return headers, None
        headers["Retry-After"] = str(ceil_seconds(wait))
        return headers, Response.text("limit exceeded\n", 429, headers)

    @staticmethod
    def _failure(failure: CannedFailure) -> Response:
        defaults: dict[str, str] = {}
        if failure.status == 429:
            wait = failure.retry_after if failure.retry_after is not None else 1
            defaults = {
                "X-Ratelimit-Limit": "101",
                "X-Ratelimit-Remaining": "0",
                "X-Ratelimit-Reset": str(wait),
                "Retry-After": str(wait),
            }
        headers = failure.apply_headers(defaults)
        if failure.body is not None:
            return Response(
                failure.status,
                failure.body,
                failure.content_type or "text/plain; charset=utf-8",
                headers,
            )
        if failure.status == 429:
            return Response.text("limit exceeded\n", 429, headers)
        return _app_error(
            failure.status,
            failure.error or "app.fake.canned_failure.app_error",
            "We encountered an error.",
            headers,
        )

    # -- routes (called with the lock held) ----------------------------------------------

    def _user(self, user_id: str) -> MattermostUser:
        user = self.users.get(user_id)
        if user is None:
            raise MattermostError(404, "app.user.missing_account.const", "Unable to find the user.")
        return user

    def _channel(self, channel_id: Any) -> MattermostChannel:
        if not isinstance(channel_id, str) or not channel_id:
            raise MattermostError(
                400, "api.context.invalid_body_param.app_error", "Invalid or missing channel_id."
            )
        channel = self.channels.get(channel_id)
        if channel is None or self.bot.id not in channel.members:
            raise MattermostError(
                403,
                "api.context.permissions.app_error",
                "You do not have the appropriate permissions.",
            )
        return channel

    def _get_me(self, body: Any, params: dict[str, str]) -> Response:
        return Response.json(self.bot.to_api())

    def _get_user(self, body: Any, params: dict[str, str]) -> Response:
        return Response.json(self._user(params["id"]).to_api())

    def _create_post(self, body: Any, params: dict[str, str]) -> Response:
        if not isinstance(body, dict):
            raise MattermostError(400, "api.context.invalid_body_param.app_error", "Invalid post.")
        channel = self._channel(body.get("channel_id"))
        message = body.get("message") or ""
        props = body.get("props") or {}
        file_ids = body.get("file_ids") or []
        if not isinstance(message, str) or not isinstance(props, dict):
            raise MattermostError(
                400, "api.context.invalid_body_param.app_error", "Invalid or missing post."
            )
        rules.CHECKED["post"] += 1
        refusal = rules.post_problems(message, props, file_ids)
        if refusal is not None:
            self.refusals.append(refusal)
            raise MattermostError(refusal.status, refusal.error_id, str(refusal))
        if len(file_ids) > MAX_FILES_PER_POST:
            raise MattermostError(
                400, "model.post.is_valid.file_ids.app_error", "Invalid file ids."
            )
        for file_id in file_ids:
            if file_id not in self.files:
                raise MattermostError(
                    400, "app.post.create_post.file_ids.app_error", "Unable to attach the files."
                )
        if not message and not file_ids and not props.get("attachments"):
            raise MattermostError(400, "api.post.create_post.empty.app_error", "Empty post.")
        now = int(time.time() * 1000)
        post = {
            "id": new_id(),
            "create_at": now,
            "update_at": now,
            "edit_at": 0,
            "delete_at": 0,
            "is_pinned": False,
            "user_id": self.bot.id,
            "channel_id": channel.id,
            "root_id": body.get("root_id") or "",
            "original_id": "",
            "message": message,
            "type": "",
            "props": props,
            "hashtags": "",
            "file_ids": file_ids,
            "pending_post_id": "",
            "metadata": {},
        }
        if file_ids:  # the files, attached to this post, in its metadata
            for file_id in file_ids:
                self.files[file_id].post_id = post["id"]
            post["metadata"] = {"files": [self.files[f].to_api(self.bot.id) for f in file_ids]}
        self.posts.append(post)
        return Response.json(post, 201)

    def _create_direct_channel(self, body: Any, params: dict[str, str]) -> Response:
        if (
            not isinstance(body, list)
            or len(body) != 2
            or not all(isinstance(u, str) and u for u in body)
        ):
            raise MattermostError(
                400,
                "api.context.invalid_body_param.app_error",
                "Invalid or missing user_ids in request body.",
            )
        if self.bot.id not in body:
            raise MattermostError(
                403,
                "api.context.permissions.app_error",
                "You do not have the appropriate permissions.",
            )
        for user_id in body:
            self._user(user_id)
        a, b = sorted(body)
        channel_id = self.direct_channel_id(a, b)
        channel = self.channels.setdefault(
            channel_id, MattermostChannel(channel_id, f"{a}__{b}", "D", "", {a, b})
        )
        return Response.json(channel.to_api(), 201)

    def _upload_file(self, body: Any, params: dict[str, str]) -> Response:
        if not isinstance(body, dict):
            raise MattermostError(
                400, "api.file.upload_file.bad_parse.app_error", "Unable to upload."
            )
        channel = self._channel(body["fields"].get("channel_id"))
        if not body["files"]:
            raise MattermostError(
                400, "api.file.upload_file.incorrect_number_of_files.app_error", "No files."
            )
        infos = []
        for name, content in body["files"]:
            mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
            file = MattermostFile(new_id(), name, channel.id, content, mime)
            self.files[file.id] = file
            infos.append(file.to_api(self.bot.id))
        client_ids = body["fields"].get("client_ids")
        return Response.json(
            {"file_infos": infos, "client_ids": [client_ids] if client_ids else []}, 201
        )

    def _open_dialog(self, body: Any, params: dict[str, str]) -> Response:
        """``openDialog`` (action.go), ``OpenInteractiveDialog`` (integration_action.go in
        app/): the trigger id decoded and not expired, then ``OpenDialogRequest.IsValid``
        (the server logs what fails it and the web app shows it broken: refused here)."""
        if not isinstance(body, dict) or not isinstance(body.get("dialog"), dict):
            raise MattermostError(
                400, "api.context.invalid_body_param.app_error", "Invalid or missing dialog."
            )
        if not body.get("url"):
            raise MattermostError(
                400, "api.context.invalid_body_param.app_error", "Invalid or missing url."
            )
        trigger_id = str(body.get("trigger_id") or "")
        trigger = self.triggers.get(trigger_id)
        if trigger is None:
            raise MattermostError(
                400,
                "interactive_message.decode_trigger_id.missing_data",
                "Trigger ID for interactive dialog is missing required data.",
            )
        if trigger is not None and self.clock() - trigger.created > TRIGGER_ID_LIFETIME:
            raise MattermostError(
                400,
                "interactive_message.decode_trigger_id.expired",
                f"Trigger ID for interactive dialog is expired. Maximum time allowed is "
                f"{TRIGGER_ID_LIFETIME:g}s.",
            )
        problems = rules.open_dialog_problems(body)
        if problems:
            refusal = rules.Refusal(400, "interactive_message.dialog.is_valid", tuple(problems))
            self.refusals.append(refusal)
            raise MattermostError(400, refusal.error_id, str(refusal))
        self.dialogs.append(
            Dialog(trigger_id, body["url"], body["dialog"], trigger.user_id if trigger else "")
        )
        return Response.json({"status": "OK"})

    def _command_response(self, rid: str, request: Request) -> Response:
        """``commandWebhook`` (web/webhook.go), ``HandleCommandWebhook`` (command.go): the
        body parsed as ``CommandResponseFromHTTPBody`` does; a hook older than 30 minutes
        is not found (404), a sixth use is ``try_use.invalid`` (400); ``ok`` in plain
        text."""
        try:
            parsed = rules.parse_command_response(request.content_type, request.body)
        except rules.Refusal as refusal:
            self.refusals.append(refusal)
            return _app_error(
                400, "web.command_webhook.parse.app_error", f"Unable to parse: {refusal}"
            )
        with self._lock:
            target = self.response_urls.get(rid)
            if target is None or self.clock() - target.created > RESPONSE_URL_LIFETIME:
                return _app_error(
                    404, "app.command_webhook.get.missing", "Unable to find the webhook."
                )
            if len(target.payloads) >= RESPONSE_URL_MAX_USES:
                return _app_error(400, "app.command_webhook.try_use.invalid", "Invalid webhook.")
            target.payloads.append(parsed)
        return Response.text("ok")


# -- pending_post_id and a channel's posts ---------------------------------------------
# ``POST /posts`` with a ``pending_post_id`` seen within the last 30 seconds answers the
# post created then, as the server's ``deduplicateCreatePost`` does, and the post echoes
# it. ``GET /channels/{id}/posts`` answers a ``PostList`` (``order`` newest first,
# ``posts`` by id): with ``since`` (Unix milliseconds) every post created, changed or
# deleted after it; otherwise ``page`` and ``per_page`` (default 60, at most 200) of the
# posts not deleted.

GET_CHANNEL_POSTS = "GET /api/v4/channels/{id}/posts"
PENDING_POST_ID_TTL = 30.0
POSTS_PER_PAGE = 60
POSTS_MAX_PER_PAGE = 200


def _create_post_once(self: FakeMattermost, body: Any, params: dict[str, str]) -> Response:
    pending = body.get("pending_post_id") if isinstance(body, dict) else None
    now = self.clock()
    if isinstance(pending, str) and pending:
        seen = self.pending_post_ids.get(pending)
        if seen is not None and now - seen[0] < PENDING_POST_ID_TTL:
            post = next((p for p in self.posts if p["id"] == seen[1]), None)
            if post is not None:
                return Response.json(post, 201)
    response = FakeMattermost._create_post(self, body, params)
    if response.status == 201 and isinstance(pending, str) and pending:
        post = self.posts[-1]
        post["pending_post_id"] = pending
        self.pending_post_ids[pending] = (now, post["id"])
    return response


def _get_channel_posts(self: FakeMattermost, body: Any, params: dict[str, str]) -> Response:
    channel = self._channel(params["id"])
    query = body if isinstance(body, dict) else {}
    posts = [p for p in self.posts if p["channel_id"] == channel.id]
    try:
        if query.get("since"):
            since = int(query["since"])
            chosen = [p for p in posts if p["update_at"] > since]
        else:
            page = int(query.get("page") or 0)
            per_page = min(int(query.get("per_page") or POSTS_PER_PAGE), POSTS_MAX_PER_PAGE)
            alive = [p for p in posts if not p["delete_at"]]
            alive.sort(key=lambda p: p["create_at"], reverse=True)
            chosen = alive[page * per_page : (page + 1) * per_page]
    except ValueError as e:
        raise MattermostError(
            400, "api.context.invalid_url_param.app_error", "Invalid or missing parameter."
        ) from e
    chosen.sort(key=lambda p: p["create_at"], reverse=True)
    return Response.json(
        {
            "order": [p["id"] for p in chosen],
            "posts": {p["id"]: p for p in chosen},
            "next_post_id": "",
            "prev_post_id": "",
            "has_next": False,
        }
    )


def _app_error(
    status: int, error_id: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    return Response.json(
        {
            "id": error_id,
            "message": message,
            "detailed_error": "",
            "request_id": new_id(),
            "status_code": status,
        },
        status,
        headers,
    )


def _bearer(request: Request) -> str | None:
    auth = request.header("authorization") or ""
    scheme, _, token = auth.partition(" ")
    if scheme.lower() in {"bearer", "token"} and token:
        return token.strip()
    return None


_PATTERNS: list[tuple[str, str, re.Pattern[str]]] = [
    (GET_ME, "GET", re.compile(r"^/api/v4/users/me$")),
    (GET_USER, "GET", re.compile(r"^/api/v4/users/(?P<id>[^/]+)$")),
    (CREATE_POST, "POST", re.compile(r"^/api/v4/posts$")),
    (CREATE_DIRECT_CHANNEL, "POST", re.compile(r"^/api/v4/channels/direct$")),
    (UPLOAD_FILE, "POST", re.compile(r"^/api/v4/files$")),
    (OPEN_DIALOG, "POST", re.compile(r"^/api/v4/actions/dialogs/open$")),
    (COMMAND_RESPONSE, "POST", re.compile(r"^/hooks/commands/(?P<id>[^/]+)$")),
]


def _match(method: str, path: str) -> tuple[str | None, dict[str, str]]:
    for name, verb, pattern in _PATTERNS:
        found = pattern.match(path)
        if found and verb == method:
            return name, found.groupdict()
    return None, {}


def _parse_body(request: Request) -> Any:
    if request.method == "GET":  # what a GET says is in its query
        return dict(request.query) or None
    if request.content_type == "multipart/form-data":
        return _parse_multipart(request)
    if request.path == "/api/v4/files":  # the other form: channel_id and filename in the query
        name = request.query.get("filename", "")
        return {"fields": dict(request.query), "files": [(name, request.body)] if name else []}
    if not request.body:
        return None
    try:
        return json.loads(request.body)
    except ValueError:
        return request.body.decode(errors="replace")


def _parse_multipart(request: Request) -> dict[str, Any]:
    head = f"Content-Type: {request.header('content-type')}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + request.body)
    fields: dict[str, str] = {}
    files: list[tuple[str, bytes]] = []
    part: Message
    for part in message.iter_parts():
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            files.append((filename, data))
        else:
            name = part.get_param("name", header="content-disposition")
            if isinstance(name, str):
                fields[name] = data.decode()
    return {"fields": fields, "files": files}


_ROUTES = {
    GET_ME: FakeMattermost._get_me,
    GET_USER: FakeMattermost._get_user,
    CREATE_POST: FakeMattermost._create_post,
    CREATE_DIRECT_CHANNEL: FakeMattermost._create_direct_channel,
    UPLOAD_FILE: FakeMattermost._upload_file,
    OPEN_DIALOG: FakeMattermost._open_dialog,
}
PATCH_POST = "PUT /api/v4/posts/{id}/patch"


def _patch_post(self: FakeMattermost, body: Any, params: dict[str, str]) -> Response:
    """Change a post's message and props, as the server does (``edit_at`` set)."""
    found = [p for p in self.posts if p["id"] == params["id"] and not p["delete_at"]]
    if not found or not isinstance(body, dict):
        raise MattermostError(404, "app.post.get.app_error", "Unable to get the post.")
    post = found[0]
    if post["user_id"] != self.bot.id:
        raise MattermostError(403, "api.context.permissions.app_error", "No permission.")
    now = int(time.time() * 1000)
    if "message" in body:
        post["message"] = body["message"]
    if "props" in body:
        post["props"] = body["props"]
    post["edit_at"] = post["update_at"] = now
    return Response.json(post, 200)


_PATTERNS.append((PATCH_POST, "PUT", re.compile(r"^/api/v4/posts/(?P<id>[^/]+)/patch$")))
_ROUTES[PATCH_POST] = _patch_post
_PATTERNS.append((GET_CHANNEL_POSTS, "GET", re.compile(r"^/api/v4/channels/(?P<id>[^/]+)/posts$")))
_ROUTES[CREATE_POST] = _create_post_once
_ROUTES[GET_CHANNEL_POSTS] = _get_channel_posts
