"""How fast the outbound clients send against the local fake platforms.

Prints messages per second for ``SlackChat.post`` and ``MattermostChat.post``, sequential
and from several threads (as an outbox sender with a thread pool would), and a file
upload round trip. The fakes answer at once, so this measures Coordo's client side plus
the fake: a ceiling for end-to-end tests, not a figure for the real platforms, which
rate-limit long before (Slack: about one message per second per channel).

    python bench/bench_platform_clients.py [--messages 500] [--threads 8]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.kit.port import ChatPort, PlatformMessage
from bot.mattermost.client import MattermostChat
from bot.slack.client import SlackChat
from tests.fakes.mattermost_api import FakeMattermost
from tests.fakes.slack_api import FakeSlack

MESSAGE = PlatformMessage(
    text="Jalon « vote du budget » dans 2 jours",
    blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "*Jalon* : vote du budget"}}],
    attachments=[{"title": "Jalon", "text": "Vote du budget", "color": "#2e7d32"}],
)


def rate(n: int, run: Callable[[], None]) -> float:
    start = time.perf_counter()
    run()
    return n / (time.perf_counter() - start)


def measure(name: str, chat: ChatPort, messages: int, threads: int) -> None:
    chat.post("C0WARMUP", MESSAGE)
    channels = [f"C0{n:04d}" for n in range(messages)]

    def sequential() -> None:
        for channel in channels:
            chat.post(channel, MESSAGE)

    def parallel() -> None:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda c: chat.post(c, MESSAGE), channels))

    seq = [rate(messages, sequential) for _ in range(3)]
    par = [rate(messages, parallel) for _ in range(3)]
    content = bytes(200_000)
    uploads = []
    for _ in range(5):
        start = time.perf_counter()
        chat.upload_file("C0FILES", "export.xlsx", content, "Export")
        uploads.append((time.perf_counter() - start) * 1000)
    print(
        f"{name:<11} sequential {statistics.median(seq):7.0f} msg/s   "
        f"{threads} threads {statistics.median(par):7.0f} msg/s   "
        f"upload 200 kB {statistics.median(uploads):6.1f} ms (median of 3 / 3 / 5 runs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    with FakeSlack() as slack:
        # The fake Slack knows only the channels it was told about, as Slack does.
        for channel in ["C0WARMUP", "C0FILES", *(f"C0{n:04d}" for n in range(args.messages))]:
            slack.add_channel(channel)
        measure(
            "Slack", SlackChat(slack.token, base_url=slack.api_url), args.messages, args.threads
        )
    with FakeMattermost() as mattermost:
        # The same for the fake Mattermost: the bot posts only where it was added.
        for channel in ["C0WARMUP", "C0FILES", *(f"C0{n:04d}" for n in range(args.messages))]:
            mattermost.add_channel(channel)
        with MattermostChat(mattermost.url, mattermost.token) as chat:
            measure("Mattermost", chat, args.messages, args.threads)


if __name__ == "__main__":
    main()
