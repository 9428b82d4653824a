"""The web app: one ASGI application that mounts the platform adapters' routes and the
calendar feeds. ``create_app`` is the factory uvicorn runs (Procfile's ``web``)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.mattermost_app import MattermostApp
from bot.settings import Settings
from commands.core import Router
from commands.registry import build_router
from models.db import make_engine, migrate

log = logging.getLogger(__name__)


async def health(request: Request) -> Response:
    return JSONResponse({"ok": True})


def create_app(settings: Settings | None = None, router: Router | None = None) -> Starlette:
    settings = settings or Settings()
    engine = make_engine(settings.database_url)
    router = router or build_router()
    mattermost = MattermostApp(settings, engine, router)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await mattermost.aclose()
        engine.dispose()

    app = Starlette(routes=[Route("/healthz", health), *mattermost.routes()], lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.router = router
    app.state.mattermost = mattermost
    return app


def serve(settings: Settings) -> int:
    """``python -m bot serve``: migrate, then run the web app."""
    migrate(make_engine(settings.database_url))
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
    )
    return 0
