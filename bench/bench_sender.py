"""1,000 notifications to 100 channels through the fake Slack in rate-limit mode (one
message per second per channel, HTTP 429 with Retry-After beyond): how long until all are
delivered, and whether any was lost or sent twice.

Ten messages per channel at one per second cannot take less than about 9 s; the sender
spaces the messages to one channel (``pacing``) and sends to several channels at once
(``concurrency`` threads).

    python bench/bench_sender.py [--db URL] [--messages 1000] [--channels 100] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert
from sqlmodel import SQLModel

from bot.sender import Sender
from bot.slack.client import SlackChat
from bot.slack.render import to_slack
from commands.reply import Reply
from commands.services import outbox
from models import Workspace
from models.db import make_engine
from tests.fakes.slack_api import FakeSlack


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db")
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--channels", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    url = args.db or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    engine = make_engine(url)
    SQLModel.metadata.drop_all(engine)
    SQLModel.metadata.create_all(engine)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(Workspace.__table__),  # type: ignore[attr-defined]
            [
                {
                    "id": 1,
                    "platform": "slack",
                    "external_id": "T0LAB",
                    "name": "Labo",
                    "locale": "fr",
                    "timezone": "Europe/Paris",
                    "created_at": now,
                }
            ],
        )
    rows = [
        outbox.notification(
            key=f"bench:{n}",
            workspace_id=1,
            kind="bench",
            target_kind="channel",
            target_id=f"C{n % args.channels:05d}",
            reply=Reply(text=f"**Rappel** n°{n}"),
            not_before=now,
        )
        for n in range(args.messages)
    ]
    with engine.begin() as conn:
        conn.execute(insert(outbox.TABLE), rows)
    with FakeSlack() as slack:
        for n in range(args.channels):  # the fake knows only the channels it was told about
            slack.add_channel(f"C{n:05d}")
        slack.enable_rate_limit(per_channel_interval=1.0)
        sender = Sender(
            engine,
            {"slack": SlackChat(slack.token, base_url=slack.api_url)},
            concurrency=args.concurrency,
            batch_size=500,
            renderers={"slack": to_slack},
        )
        started = time.perf_counter()
        report = sender.run_until_idle()
        elapsed = time.perf_counter() - started
        texts = Counter(m.text for m in slack.messages)
        limited = sum(1 for c in slack.calls("chat.postMessage") if c.status == 429)
    expected = {f"*Rappel* n°{n}" for n in range(args.messages)}
    lost = len(expected - set(texts))
    doubled = sum(1 for count in texts.values() if count > 1)
    print(
        f"{engine.dialect.name}: {report.sent} of {args.messages} notifications to "
        f"{args.channels} channels delivered in {elapsed:.1f} s "
        f"(one message per second per channel; concurrency {args.concurrency}); "
        f"lost {lost}, sent twice {doubled}, 429 answers {limited}"
    )
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
