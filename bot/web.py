"""The web app: one ASGI application that mounts the platform adapters' routes and the
calendar feeds. ``create_app`` is the factory uvicorn runs (Procfile's ``web``).

With ``SCHEDULER`` on (the default, for a small lab in one process: ``python -m bot
serve``) the app's lifespan also runs the scheduler (the outbox scan and sender) in a
background thread; behind several web processes, turn it off and run ``python -m bot
worker`` instead (the Procfile does).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC
from email.utils import format_datetime, parsedate_to_datetime

import uvicorn
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.kit.runner import Runner, shared_runner
from bot.mattermost.app import MattermostApp
from bot.settings import Settings, configure_logging
from bot.slack.app import SlackApp, build_slack_app
from bot.slack.install import SlackInstallations, install_routes, oauth_enabled
from commands.core import Router
from commands.registry import build_router
from commands.services.calendars import FeedFile, feed_for_token
from models.db import make_engine, migrate

log = logging.getLogger(__name__)

SLACK_EVENTS_PATH = "/slack/events"


async def health(request: Request) -> Response:
    return JSONResponse({"ok": True})


def _feed(engine: Engine, token: str) -> FeedFile | None:
    with Session(engine) as session:
        return feed_for_token(session, token)


def _not_modified(request: Request, found: FeedFile) -> bool:
    """A conditional GET answered 304: the ETag decides when the client sends one (RFC
    9110: If-None-Match wins over If-Modified-Since)."""
    tags = request.headers.get("if-none-match")
    if tags is not None:
        wanted = [t.strip().removeprefix("W/") for t in tags.split(",")]
        return "*" in wanted or found.etag in wanted
    since = request.headers.get("if-modified-since")
    if since is None or found.last_modified is None:
        return False
    try:
        moment = parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False
    if moment.tzinfo is None:
        return False
    return found.last_modified.replace(microsecond=0) <= moment


async def calendar_feed(request: Request) -> Response:
    """An experiment's calendar, ``/calendar/<token>.ics``, for calendar applications to
    subscribe to. A wrong token is a plain 404, answered after the same work as a right one.
    Polling is cheap: an ETag and a Last-Modified, and 304 when nothing changed."""
    token = str(request.path_params["token"])
    found = await run_in_threadpool(_feed, request.app.state.engine, token)
    if found is None:
        return PlainTextResponse("Not found", status_code=404)
    headers = {
        "Content-Disposition": f'inline; filename="{found.name}"',
        # Calendar applications poll; five minutes of staleness is fine, and the
        # secret address must not sit in shared caches.
        "Cache-Control": "private, max-age=300",
        "ETag": found.etag,
    }
    if found.last_modified is not None:
        headers["Last-Modified"] = format_datetime(found.last_modified.astimezone(UTC), usegmt=True)
    if _not_modified(request, found):
        return Response(status_code=304, headers=headers)
    return Response(found.content, media_type="text/calendar; charset=utf-8", headers=headers)


def slack_client(settings: Settings) -> WebClient:
    """The Web API client of the Slack app (``SLACK_API_URL`` points it elsewhere in tests).
    A 429 or a 5xx is retried once, after Retry-After: these calls have a person waiting."""
    client = WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    client.retry_handlers.append(ServerErrorRetryHandler(max_retry_count=1))
    return client


def create_app(
    settings: Settings | None = None,
    router: Router | None = None,
    *,
    engine: Engine | None = None,
    slack: SlackApp | None = None,
    runner: Runner | None = None,
) -> Starlette:
    """The web app. Slack is served when its bot token is set: over HTTP at
    ``/slack/events`` with the signing secret, and through Socket Mode with the app-level
    token (``SLACK_APP_TOKEN``), which needs no public address. ``runner``: the one pool
    the platforms' commands run in; without one, the process's for this engine and router,
    closed with the app."""
    if settings is None:  # run by uvicorn (the Procfile's web): the environment's settings
        settings = Settings()
        configure_logging(settings)
    engine = engine or make_engine(settings.database_url)
    router = router or build_router(settings.public_url)
    owns_runner = runner is None
    runner = runner or shared_runner(engine, router)
    mattermost = MattermostApp(settings, engine, router, runner=runner)
    if slack is None and oauth_enabled(settings):
        # Many workspaces: each installs Coordo at /slack/install (bot.slack.install).
        assert settings.slack_client_id
        if settings.slack_bot_token:
            log.warning("SLACK_CLIENT_ID is set: SLACK_BOT_TOKEN is not used (many workspaces)")
        installations = SlackInstallations(engine, settings.slack_client_id)
        client = slack_client(settings.model_copy(update={"slack_bot_token": None}))
        slack = build_slack_app(
            settings, engine, router, client, installations=installations, runner=runner
        )
    elif (
        slack is None
        and settings.slack_bot_token
        and (settings.slack_signing_secret or settings.slack_app_token)
    ):
        slack = build_slack_app(settings, engine, router, slack_client(settings), runner=runner)
    routes = [
        Route("/healthz", health),
        Route("/calendar/{token}.ics", calendar_feed, methods=["GET", "HEAD"]),
        *mattermost.routes(),
    ]
    if slack is not None and settings.slack_signing_secret:
        routes.append(Route(SLACK_EVENTS_PATH, slack.endpoint, methods=["POST"]))
    if slack is not None and slack.bolt.oauth_flow is not None:
        routes.extend(install_routes(slack.bolt))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        scheduler = None
        if settings.scheduler:
            from bot.scheduler import background_scheduler, jobs_from_settings

            jobs = jobs_from_settings(settings, engine)
            scheduler = background_scheduler(jobs)
            scheduler.start()
            app.state.jobs = jobs
        if slack is not None:
            slack.start(settings.slack_app_token)
        try:
            yield
        finally:
            if slack is not None:
                slack.close()
            if scheduler is not None:
                app.state.jobs.sender.stop()
                scheduler.shutdown(wait=True)
            await mattermost.aclose()
            if owns_runner:
                await run_in_threadpool(runner.close)
            engine.dispose()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.router = router
    app.state.mattermost = mattermost
    app.state.slack = slack
    return app


def serve(settings: Settings, runner: Runner | None = None) -> int:
    """``python -m bot serve``: migrate, then run the web app (in ``runner``, with its
    engine and router, when the process shares one with Matrix)."""
    migrate(make_engine(settings.database_url))
    if runner is None:
        app = create_app(settings)
    else:
        app = create_app(settings, runner.router, engine=runner.engine, runner=runner)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
    )
    return 0
