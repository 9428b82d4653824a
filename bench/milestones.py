"""``/jalon`` commands, each kind timed on its own: parse (date included), execute, render.

    python bench/milestones.py [--db URL] [--rounds 200]

The demo lab on a fresh database; every command of a round is undone by the next ones or
by ``/jalon annuler``, so the lab stays the same size from round to round. Prints p50 and
p99 per kind of command, after a warm-up round.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.console import Console
from commands.demo import seed_demo
from commands.registry import build_router
from models.db import make_engine, migrate

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))
ROUND = [
    ("create, date in the title", "/jalon Lancer l'appel à projets vendredi prochain @marie"),
    ("undo", "/jalon annuler"),
    ("create, pour: and resp:", "/jalon Envoyer le bilan intermédiaire pour:15/01 resp:@karim"),
    ("undo", "/jalon annuler"),
    (
        "create, pour: before the title",
        "/jalon pour:15 janvier Envoyer le bilan intermédiaire aux élus du conseil resp:@karim",
    ),
    ("undo", "/jalon annuler"),
    ("list, channel's experiment", "/jalon liste"),
    ("list, whole lab, one owner", "/jalon liste @marie tous expe:bondy-bp"),
    ("progress", "/jalon avancement 3 60%"),
    ("undo", "/jalon annuler"),
    ("reschedule", "/jalon reporter 3 au 15 janvier"),
    ("undo", "/jalon annuler"),
    ("refused: 31/02", "/jalon Envoyer le bilan pour:31/02"),
    ("refused: title of 5,000 characters", "/jalon " + "Préparer " * 560 + "vendredi"),
]


def run(url: str, rounds: int) -> dict[str, list[float]]:
    engine = make_engine(url)
    migrate(engine)
    with Session(engine) as session:
        seed_demo(session, NOW)
        session.commit()
    console = Console(engine, build_router(), user="camille", channel="bondy", now=NOW)
    for _, command in ROUND:  # warm-up: templates compiled, parser and connections ready
        console.handle(command)
    timings: dict[str, list[float]] = {}
    for _ in range(rounds):
        for kind, command in ROUND:
            start = time.perf_counter()
            out = console.handle(command)
            timings.setdefault(kind, []).append(time.perf_counter() - start)
            if not out or "Désolé" in out:
                raise SystemExit(f"no proper reply to {command[:60]}: {out!r}")
    return timings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db")
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
        timings = run(url, args.rounds)
    print(f"/jalon on {url.split(':')[0]}, {args.rounds} rounds (ms per command)")
    for kind, values in timings.items():
        values.sort()
        p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
        print(f"  {kind:<36} p50 {statistics.median(values) * 1000:7.2f}   p99 {p99 * 1000:7.2f}")


if __name__ == "__main__":
    main()
