"""Coordo in many Slack workspaces: the app distributed by OAuth ("Add to Slack").

With ``SLACK_CLIENT_ID`` and ``SLACK_CLIENT_SECRET`` set (and the signing secret), each
workspace installs Coordo at ``/slack/install``; Slack sends the person back to
``/slack/oauth_redirect``, where the code is exchanged once for the workspace's bot token
(``oauth.v2.access``). What is kept, in Coordo's database (migration 0026):

- the installations and their bot tokens (``SlackInstallations``, a slack_sdk
  installation store over the tables of slack_sdk's SQLAlchemy store);
- the one-time ``state`` of each install under way (a slack_sdk state store, and the
  person's browser cookie, which Bolt checks).

Then every request finds its workspace's token (Bolt's authorize reads the store) and is
served by an adapter holding a client with that token (``TeamAdapters``); every outbox
message finds the token of its row's workspace (``SlackWorkspaces``, for the sender). An
uninstall (``app_uninstalled``, or ``tokens_revoked`` for the bot) deletes the workspace's
installation: its messages are held, not lost nor retried without end, until it installs
Coordo again (``bot.sender``, ``NOT_INSTALLED``).

A workspace is a Slack team, as in the single-token setup (``SLACK_BOT_TOKEN``), which
stays the default for one lab: every query of the core is scoped by it already. Coordo
asks for bot scopes only, and installs in a workspace, not across an Enterprise Grid
organisation.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from slack_bolt import App, BoltContext, BoltRequest, BoltResponse
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.authorize import InstallationStoreAuthorize
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.oauth.installation_store import Bot, Installation, InstallationStore
from slack_sdk.oauth.state_store import OAuthStateStore
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.sender import NOT_INSTALLED
from bot.settings import Settings
from bot.slack.app import CACHED_WORKSPACES
from bot.slack.client import SLACK_API_URL, SlackChat
from commands.services import outbox
from models import Platform, db
from models.installations import bots as bots_table
from models.installations import installations as installations_table
from models.installations import oauth_states as oauth_states_table

log = logging.getLogger(__name__)

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
# The bot scopes of ``bot/manifest.yml`` (a test keeps them equal).
SCOPES = (
    "commands",
    "chat:write",
    "chat:write.public",
    "im:write",
    "files:write",
    "users:read",
    "channels:read",
    "groups:read",
    "im:read",
    "mpim:read",
    "channels:history",
    "groups:history",
    "im:history",
)
# How long an install may take between /slack/install and the way back.
STATE_LIFETIME = 600


def oauth_enabled(settings: Settings) -> bool:
    """Many workspaces: the app's client id and secret, and the signing secret, are set."""
    return bool(
        settings.slack_client_id and settings.slack_client_secret and settings.slack_signing_secret
    )


class SlackInstallations:
    """The installations of Coordo's Slack app, one (or more, the latest counts) per
    workspace, with their bot tokens."""

    def __init__(self, engine: Engine, client_id: str) -> None:
        self.engine = engine
        self.client_id = client_id
        self.store = _Store(self, engine, client_id)
        self.states = _States(engine)
        self._listeners: list[Callable[[str], None]] = []

    def on_change(self, listener: Callable[[str], None]) -> None:
        """``listener(team_id)`` is called after a workspace installs or uninstalls."""
        self._listeners.append(listener)

    def bot_token(self, team_id: str) -> str | None:
        """The bot token of the workspace's latest installation; None when it has none."""
        bots = self.store.bots
        query = (
            sa.select(bots.c.bot_token)
            .where(
                bots.c.client_id == self.client_id,
                bots.c.team_id == team_id,
                bots.c.bot_token.is_not(None),
            )
            .order_by(bots.c.installed_at.desc(), bots.c.id.desc())
            .limit(1)
        )
        with self.engine.connect() as conn:
            token = conn.execute(query).scalar()
        return str(token) if token else None

    def installed(self, team_id: str) -> None:
        """A workspace installed Coordo (again): what was held for it goes now."""
        with db.session_scope(self.engine) as session:
            resumed = outbox.resume_held(session, Platform.SLACK, team_id, NOT_INSTALLED)
        if resumed:
            log.info(
                "Slack workspace %s installed Coordo: %s held message(s) resume", team_id, resumed
            )
        self._changed(team_id)

    def uninstalled(self, enterprise_id: str | None, team_id: str | None) -> None:
        """The app was uninstalled, or its bot token revoked: the workspace's
        installations go (Coordo has no user token to keep)."""
        self.store.delete_all(enterprise_id=enterprise_id, team_id=team_id)
        log.warning(
            "Slack workspace %s uninstalled Coordo (or revoked its token): installation "
            "deleted; its messages are held until it installs Coordo again",
            team_id,
        )
        if team_id:
            self._changed(team_id)

    def _changed(self, team_id: str) -> None:
        for listener in self._listeners:
            listener(team_id)

    def oauth_settings(self, settings: Settings) -> OAuthSettings:
        assert settings.slack_client_id
        assert settings.slack_client_secret
        return OAuthSettings(
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret,
            scopes=list(SCOPES),
            redirect_uri=settings.public_url.rstrip("/") + REDIRECT_PATH,
            install_path=INSTALL_PATH,
            redirect_uri_path=REDIRECT_PATH,
            # /slack/install sends the person to Slack at once, no page of ours between.
            install_page_rendering_enabled=False,
            authorization_url=settings.slack_authorization_url,
            installation_store=self.store,
            installation_store_bot_only=True,
            state_store=self.states,
            state_expiration_seconds=STATE_LIFETIME,
            logger=logging.getLogger("bot.slack.install.oauth"),
        )

    def authorize(self, client: WebClient) -> Callable[..., AuthorizeResult]:
        """Bolt's authorize over the store: each request reads its workspace's latest bot
        (one indexed query), so an uninstall is seen at once; what ``auth.test`` says of
        a token is asked once and remembered (not one more call to Slack per request)."""
        authorize = InstallationStoreAuthorize(
            logger=logging.getLogger("bot.slack.install.authorize"),
            installation_store=self.store,
            bot_only=True,
            cache_enabled=True,
            client=client,
        )
        # An ``Authorize`` (Bolt takes it as it is), typed as Bolt's argument is.
        return cast(Callable[..., AuthorizeResult], authorize)

    # -- Bolt's listeners of the two events ----------------------------------------------

    def on_app_uninstalled(self, context: BoltContext) -> None:
        self.uninstalled(context.enterprise_id, context.team_id)

    def on_tokens_revoked(self, event: dict[str, Any], context: BoltContext) -> None:
        """The bot's token revoked is the app gone from the workspace; a person's token
        alone (Coordo asks for none) leaves the bot in place."""
        tokens = event.get("tokens") or {}
        if tokens.get("bot"):
            self.uninstalled(context.enterprise_id, context.team_id)
        for user_id in tokens.get("oauth") or []:
            self.store.delete_installation(
                enterprise_id=context.enterprise_id, team_id=context.team_id, user_id=user_id
            )


class _Store(InstallationStore):
    """slack_sdk's installation store over Coordo's tables (``models.installations``, the
    columns of slack_sdk's own SQLAlchemy store, whose module needs an asyncio extra that
    Coordo has no use for), telling Coordo when a workspace installs."""

    def __init__(self, owner: SlackInstallations, engine: Engine, client_id: str) -> None:
        self.owner = owner
        self.engine = engine
        self.client_id = client_id
        self.installations = installations_table
        self.bots = bots_table
        self._logger = logging.getLogger("bot.slack.install.store")

    @property
    def logger(self) -> logging.Logger:
        return self._logger

    def save(self, installation: Installation) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                self.installations.insert(), self._row(self.installations, installation.to_dict())
            )
            conn.execute(self.bots.insert(), self._row(self.bots, installation.to_bot().to_dict()))
        if installation.team_id:
            self.owner.installed(installation.team_id)

    def save_bot(self, bot: Bot) -> None:
        with self.engine.begin() as conn:
            conn.execute(self.bots.insert(), self._row(self.bots, bot.to_dict()))

    def _row(self, table: sa.Table, values: dict[str, Any]) -> dict[str, Any]:
        row = {k: v for k, v in values.items() if k in table.c and k != "id"}
        row["client_id"] = self.client_id
        for name in ("installed_at", "bot_token_expires_at", "user_token_expires_at"):
            if isinstance(row.get(name), datetime):
                row[name] = _naive_utc(row[name])
        row.setdefault("installed_at", _naive_utc(datetime.now(UTC)))
        return row

    def _where(self, table: sa.Table, enterprise_id: str | None, team_id: str | None) -> Any:
        return sa.and_(
            table.c.client_id == self.client_id,
            table.c.enterprise_id == enterprise_id,
            table.c.team_id == team_id,
        )

    def find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        if is_enterprise_install:
            team_id = None
        query = (
            self.bots.select()
            .where(
                self._where(self.bots, enterprise_id, team_id), self.bots.c.bot_token.is_not(None)
            )
            .order_by(self.bots.c.installed_at.desc(), self.bots.c.id.desc())
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            return None
        fields = {k: row[k] for k in _BOT_FIELDS}
        return Bot(**fields, installed_at=_aware(row["installed_at"]))

    def find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        if is_enterprise_install:
            team_id = None
        where = [self._where(self.installations, enterprise_id, team_id)]
        if user_id is not None:
            where.append(self.installations.c.user_id == user_id)
        query = (
            self.installations.select()
            .where(*where)
            .order_by(self.installations.c.installed_at.desc(), self.installations.c.id.desc())
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            return None
        fields = {k: row[k] for k in _INSTALLATION_FIELDS}
        installation = Installation(**fields, installed_at=_aware(row["installed_at"]))
        bot = self.find_bot(enterprise_id=enterprise_id, team_id=team_id)
        if bot is not None and bot.bot_token != installation.bot_token:
            installation.bot_id = bot.bot_id
            installation.bot_user_id = bot.bot_user_id
            installation.bot_token = bot.bot_token
            installation.bot_scopes = bot.bot_scopes
        return installation

    def delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(self.bots.delete().where(self._where(self.bots, enterprise_id, team_id)))

    def delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        where = [self._where(self.installations, enterprise_id, team_id)]
        if user_id is not None:
            where.append(self.installations.c.user_id == user_id)
        with self.engine.begin() as conn:
            conn.execute(self.installations.delete().where(*where))


_BOT_FIELDS = (
    "app_id",
    "enterprise_id",
    "enterprise_name",
    "team_id",
    "team_name",
    "bot_token",
    "bot_id",
    "bot_user_id",
    "bot_scopes",
    "bot_refresh_token",
    "is_enterprise_install",
)
_INSTALLATION_FIELDS = (
    *_BOT_FIELDS,
    "enterprise_url",
    "user_id",
    "user_token",
    "user_scopes",
    "user_refresh_token",
    "incoming_webhook_url",
    "incoming_webhook_channel",
    "incoming_webhook_channel_id",
    "incoming_webhook_configuration_url",
    "token_type",
)


class _States(OAuthStateStore):
    """The one-time ``state`` of each install under way: issued at /slack/install,
    consumed once on the way back, within ``STATE_LIFETIME``."""

    def __init__(self, engine: Engine, lifetime: int = STATE_LIFETIME) -> None:
        self.engine = engine
        self.lifetime = lifetime
        self.table = oauth_states_table
        self._logger = logging.getLogger("bot.slack.install.states")

    @property
    def logger(self) -> logging.Logger:
        return self._logger

    def issue(self, *args: Any, **kwargs: Any) -> str:
        state = secrets.token_urlsafe(24)
        expire_at = _naive_utc(datetime.now(UTC) + timedelta(seconds=self.lifetime))
        with self.engine.begin() as conn:
            conn.execute(self.table.insert(), {"state": state, "expire_at": expire_at})
        return state

    def consume(self, state: str) -> bool:
        """True once for a state issued and not expired; the expired ones go too."""
        now = _naive_utc(datetime.now(UTC))
        table = self.table
        with self.engine.begin() as conn:
            fresh = conn.execute(
                table.delete().where(table.c.state == state, table.c.expire_at > now)
            ).rowcount
            conn.execute(table.delete().where(table.c.expire_at <= now))
        return bool(fresh)


def _naive_utc(moment: datetime) -> datetime:
    """The stores' columns hold UTC without a time zone (as slack_sdk's stores write)."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


# -- requests: an adapter per workspace --------------------------------------------------------


def install_routes(bolt: App) -> list[Route]:
    """``GET /slack/install`` (to Slack's consent page, with a fresh ``state``) and ``GET
    /slack/oauth_redirect`` (the code exchanged, the installation stored), served by
    Bolt's OAuth flow in a worker thread: the exchange calls Slack and writes."""
    flow = bolt.oauth_flow
    assert flow is not None

    async def install(request: Request) -> Response:
        return await _run(flow.handle_installation, request)

    async def redirect(request: Request) -> Response:
        return await _run(flow.handle_callback, request)

    return [
        Route(INSTALL_PATH, install, methods=["GET"]),
        Route(REDIRECT_PATH, redirect, methods=["GET"]),
    ]


async def _run(handler: Callable[[BoltRequest], BoltResponse], request: Request) -> Response:
    bolt_request = BoltRequest(
        body="",
        query=request.url.query,
        headers={k: [v] for k, v in request.headers.items()},
    )
    answer = await run_in_threadpool(handler, bolt_request)
    response = Response(
        status_code=answer.status,
        content=answer.body,
        headers=answer.first_headers_without_set_cookie(),
    )
    for cookie in answer.cookies():
        for morsel in cookie.values():
            response.headers.append("set-cookie", morsel.OutputString())
    return response


# -- the outbox: a client per workspace --------------------------------------------------------


class SlackWorkspaces:
    """The sender's Slack when Coordo is installed in many workspaces: for each row, the
    client of its workspace's bot token, looked up in the installations (a client is kept
    per token, with what it learnt: direct conversations, the bot's id)."""

    platform = "slack"

    def __init__(
        self,
        installations: SlackInstallations,
        *,
        base_url: str = SLACK_API_URL,
        size: int = CACHED_WORKSPACES,
    ) -> None:
        self.installations = installations
        self.base_url = base_url
        self.size = size
        self._by_token: OrderedDict[str, SlackChat] = OrderedDict()
        self._lock = threading.Lock()

    def for_workspace(self, workspace: str) -> SlackChat | None:
        token = self.installations.bot_token(workspace)
        if token is None:
            return None
        with self._lock:
            chat = self._by_token.get(token)
            if chat is None:
                chat = SlackChat(token, base_url=self.base_url)
                self._by_token[token] = chat
                while len(self._by_token) > self.size:
                    self._by_token.popitem(last=False)
            else:
                self._by_token.move_to_end(token)
            return chat
