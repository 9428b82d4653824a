"""The two floors ``bench/slack_http.py`` measures Coordo against, as ASGI factories for
uvicorn (``uvicorn slack_floors:plain --factory --app-dir bench``):

- ``bare_bolt``: Bolt's synchronous ``App`` behind Bolt's own Starlette adapter, whose
  slash-command handler only acknowledges (what a Bolt app costs before doing anything);
- ``plain``: a Starlette endpoint that answers 200 with no Bolt and no check at all.

Settings from the environment: ``SLACK_SIGNING_SECRET``, ``SLACK_BOT_TOKEN`` and
``SLACK_API_URL`` (the fake Slack API the benchmark runs, for Bolt's ``auth.test``).
"""

from __future__ import annotations

import os
import re

from slack_bolt import Ack, App
from slack_bolt.adapter.starlette import SlackRequestHandler
from slack_sdk import WebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


async def health(request: Request) -> Response:
    return JSONResponse({"ok": True})


def bare_bolt() -> Starlette:
    client = WebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"])
    app = App(client=client, signing_secret=os.environ["SLACK_SIGNING_SECRET"])

    @app.command(re.compile(".+"))
    def only_ack(ack: Ack) -> None:
        ack()

    handler = SlackRequestHandler(app)

    async def events(request: Request) -> Response:
        return await handler.handle(request)

    return Starlette(
        routes=[Route("/healthz", health), Route("/slack/events", events, methods=["POST"])]
    )


def plain() -> Starlette:
    async def events(request: Request) -> Response:
        await request.body()
        return Response(status_code=200)

    return Starlette(
        routes=[Route("/healthz", health), Route("/slack/events", events, methods=["POST"])]
    )
