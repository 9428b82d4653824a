"""Coordo on a real Synapse (SQLite, 127.0.0.1, a free port), three figures:

1. how long Synapse takes to start (configuration written → ``/health`` answers), and
   the floor: one person's message reaching another through Synapse alone (``--floor``);
2. a command's round trip (a person sends ``!depense …`` → Coordo's reply arrives in the
   thread, as the person's client sees it through ``/sync``), median and p99 over
   ``--commands`` commands typed one after the other, with the connector's pacing at
   ``--command-pacing`` seconds (0: Coordo's and Synapse's own cost);
3. ``--reminders`` reminders queued to ``--rooms`` rooms, delivered by the outbox through the
   connector paced at ``--pacing`` seconds (Tchap's rule: about one request a second), with
   the homeserver limiting the bot to ``--limit`` messages a second: how long, how many
   rate limits met, and in the rooms how many are missing or there twice.

    python bench/matrix_synapse.py [--commands 200] [--reminders 200] [--rooms 20] [--pacing 1.0]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlmodel import Session, SQLModel, select

from bot.matrix.connector import MatrixConfig, MatrixConnector
from bot.matrix.port import MatrixChat
from bot.matrix.render import to_matrix
from bot.sender import Sender
from commands.registry import build_router
from commands.reply import Reply, Visibility
from commands.services import outbox
from models import Workspace
from models.db import make_engine
from tests.synapse import Client, Homeserver


def in_thread(event: dict, root: str) -> bool:
    relates = event.get("content", {}).get("m.relates_to") or {}
    return relates.get("rel_type") == "m.thread" and relates.get("event_id") == root


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def connector(server: Homeserver, account, engine, folder: Path, pacing: float) -> MatrixConnector:
    config = MatrixConfig(
        homeserver=server.url,
        user_id=account.user_id,
        access_token=account.access_token,
        data_dir=folder,
        pacing=pacing,
    )
    made = MatrixConnector(config, engine, build_router(), send_outbox=False)
    made.start()
    return made


def wait_joined(person: Client, room: str, bot: str) -> None:
    person.wait_for(
        lambda r, e: (
            r == room
            and e.get("type") == "m.room.member"
            and e.get("state_key") == bot
            and e["content"].get("membership") == "join"
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--floor", type=int, default=50)
    parser.add_argument("--commands", type=int, default=200)
    parser.add_argument("--command-pacing", type=float, default=0.0)
    parser.add_argument("--reminders", type=int, default=200)
    parser.add_argument("--rooms", type=int, default=20)
    parser.add_argument("--pacing", type=float, default=1.0)
    parser.add_argument("--limit", type=int, default=1)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="coordo-matrix-bench-"))
    server = Homeserver(folder / "synapse")
    server.start()
    try:
        print(f"machine: {os.cpu_count()} CPU, load {os.getloadavg()[0]:.2f}")
        print(f"Synapse start (config written → /health answers): {server.started_in:.2f} s")
        engine = make_engine(f"sqlite:///{folder / 'coordo.db'}")
        SQLModel.metadata.create_all(engine)
        bot = server.register("coordo")
        camille = Client(server, server.register("camille"))

        # The floor: one person's message reaching another through Synapse alone.
        lucas = Client(server, server.register("lucas"))
        floor_room = camille.create_room(invite=[lucas.user_id])
        lucas.join(floor_room)
        lucas.events()
        floor: list[float] = []
        for number in range(args.floor):
            start = time.perf_counter()
            sent = camille.say(floor_room, f"ping {number}")
            lucas.wait_for(lambda r, e, s=sent: e.get("event_id") == s)
            floor.append(time.perf_counter() - start)
        if floor:
            print(
                f"Synapse alone, a message from one person to another over {len(floor)}: "
                f"median {statistics.median(floor) * 1000:.0f} ms, "
                f"p99 {percentile(floor, 0.99) * 1000:.0f} ms"
            )
        lucas.close()

        # 2. command round trips
        live = connector(server, bot, engine, folder / "data", args.command_pacing)
        room = camille.create_room(invite=[bot.user_id])
        wait_joined(camille, room, bot.user_id)
        for line in ('!labo creer bench "Banc d\'essai" budget:1000000', "!labo lier bench"):
            sent = camille.say(room, line)
            camille.wait_for(lambda r, e, s=sent: in_thread(e, s), sender=bot.user_id)
        times: list[float] = []
        began = time.perf_counter()
        for number in range(args.commands):
            start = time.perf_counter()
            sent = camille.say(room, f"!depense {number % 90 + 1},50 € café {number}")
            camille.wait_for(
                lambda r, e, s=sent: e.get("type") == "m.room.message" and in_thread(e, s),
                sender=bot.user_id,
            )
            times.append(time.perf_counter() - start)
        total = time.perf_counter() - began
        print(
            f"command round trip over {len(times)} commands (pacing {args.command_pacing:g} s): "
            f"median {statistics.median(times) * 1000:.0f} ms, "
            f"p99 {percentile(times, 0.99) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms "
            f"({total:.1f} s in all)"
        )
        live.stop()

        # 3. reminders through the outbox, paced
        rooms = []
        for _ in range(args.rooms):
            made = camille.create_room(invite=[bot.user_id])
            rooms.append(made)
        paced = connector(server, bot, engine, folder / "data", args.pacing)
        deadline = time.monotonic() + 120
        while not all(r in paced.client.rooms for r in rooms):  # type: ignore[union-attr]
            if time.monotonic() > deadline:
                raise SystemExit("Coordo did not join the rooms")
            time.sleep(0.2)
        server.limit_messages(bot.user_id, per_second=args.limit, burst_count=5)
        with Session(engine) as session:
            workspace = session.exec(select(Workspace)).one()
            for number in range(args.reminders):
                outbox.enqueue(
                    session,
                    key=f"bench:{number}",
                    workspace_id=workspace.id,
                    kind="reminder",
                    target_kind="channel",
                    target_id=rooms[number % len(rooms)],
                    reply=Reply(text=f"Rappel n° {number}", visibility=Visibility.CHANNEL),
                    not_before=datetime.now(UTC) - timedelta(minutes=1),
                    quiet_hours=False,
                )
            session.commit()
        sender = Sender(
            engine,
            {"matrix": MatrixChat(paced)},
            renderers={"matrix": to_matrix},
            pacing={},
            concurrency=4,
        )
        began = time.perf_counter()
        report = sender.run_until_idle()
        spent = time.perf_counter() - began
        paced.stop()
        seen: Counter[str] = Counter()
        for made in rooms:
            for event in camille.messages(made, limit=100):
                body = event.get("content", {}).get("body", "")
                if event.get("sender") == bot.user_id and body.startswith("Rappel n° "):
                    seen[body] += 1
        expected = {f"Rappel n° {n}" for n in range(args.reminders)}
        lost = len(expected - set(seen))
        twice = sum(1 for count in seen.values() if count > 1)
        print(
            f"{args.reminders} reminders to {args.rooms} rooms, pacing {args.pacing:g} s, "
            f"server limit {args.limit:g}/s: {spent:.1f} s "
            f"({args.reminders / spent:.2f} messages/s), sent {report.sent}, "
            f"rate limits met {report.rate_limited}, lost {lost}, twice {twice}"
        )
        camille.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
