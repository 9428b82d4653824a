"""A sender in a process of its own, for the tests that kill it with SIGKILL mid-send:

    python -m tests.bot.outbox_child DATABASE_URL slack|mattermost API_URL TOKEN

One pass over what is due, with the real clock, one message at a time."""

from __future__ import annotations

import logging
import sys

from bot.kit.port import ChatPort
from bot.mattermost.client import MattermostChat
from bot.mattermost.render import to_mattermost
from bot.sender import Renderer, Sender
from bot.slack.client import SlackChat
from bot.slack.render import to_slack
from models.db import make_engine


def main(argv: list[str]) -> None:
    url, platform, api_url, token = argv
    logging.basicConfig(level=logging.INFO)
    port: ChatPort
    renderers: dict[str, Renderer] = {}
    if platform == "slack":
        port = SlackChat(token, base_url=api_url)
        renderers["slack"] = to_slack
    else:
        port = MattermostChat(api_url, token)
        renderers["mattermost"] = lambda reply, team: to_mattermost(reply, None, team_id=team)
    sender = Sender(
        make_engine(url), {platform: port}, renderers=renderers, concurrency=1, pacing={}
    )
    print("sent", sender.run_once().sent, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
