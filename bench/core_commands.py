"""The core alone: 1,000 commands parsed, executed on SQLite and rendered.

    python bench/core_commands.py [--db sqlite:///path.db]

No platform, no network: the console's path (Invocation → Router → services → Jinja2).
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
# A mix of reads and writes as a lab types them.
MIX = [
    "/labo voir",
    "/labo liste",
    "/labo equipe",
    "/lab show",
    "/labo role @lucas membre",
    "/labo annuler",
    "/labo voir montreuil-ac",
    "/labo reglages",
    "/labo historique",
    "/labo voir banane",
]


def run(url: str, count: int) -> tuple[float, list[float]]:
    engine = make_engine(url)
    migrate(engine)
    with Session(engine) as session:
        seed_demo(session, NOW)
        session.commit()
    console = Console(engine, build_router(), user="camille", channel="bondy", now=NOW)
    console.handle(MIX[0])  # warm-up: templates compiled, connections opened
    latencies = []
    start = time.perf_counter()
    for i in range(count):
        t = time.perf_counter()
        out = console.handle(MIX[i % len(MIX)])
        latencies.append(time.perf_counter() - t)
        if not out or "Désolé" in out:
            raise SystemExit(f"no proper reply to {MIX[i % len(MIX)]}: {out!r}")
    return time.perf_counter() - start, latencies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db")
    parser.add_argument("--count", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
        total, latencies = run(url, args.count)
    latencies.sort()
    print(
        f"{args.count} commands (parse + execute on {url.split(':')[0]} + render): {total:.2f} s (goal: under 2 s)"
    )
    print(
        f"per command: p50 {statistics.median(latencies) * 1000:.2f} ms, "
        f"p99 {latencies[int(len(latencies) * 0.99)] * 1000:.2f} ms"
    )


if __name__ == "__main__":
    main()
