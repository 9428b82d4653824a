"""How many direct messages each person gets a day, over a simulated month of the demo
lab, with the daily summary (the default) and with every reminder sent at once.

The demo lab is seeded on Tuesday 24 November 2026; nobody marks anything done, so late
milestones stay late (the worst case for pings). The console's scan and sender run every
half hour from 07:00 to 20:00 for 30 days, and each direct message printed is counted
against its person and day (Paris time). Run: ``python bench/notifications_month.py``.
"""

from __future__ import annotations

import re
import statistics
import sys
import tempfile
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.console import Console
from bot.scheduler import attach_to_console
from commands.demo import seed_demo
from commands.registry import build_router
from models import Person
from models.db import make_engine, migrate

PARIS = ZoneInfo("Europe/Paris")
START = datetime(2026, 11, 24, 7, 0, tzinfo=PARIS)
DAYS = 30
DM = re.compile(r"^📨 Coordo → @(\S+)$", re.M)


def simulate(daily_summary: bool, folder: Path) -> Counter[tuple[str, str]]:
    """Direct messages per (person, day) over the month."""
    engine = make_engine(f"sqlite:///{folder / f'month-{daily_summary}.db'}")
    migrate(engine)
    with Session(engine) as session:
        seed_demo(session, START)
        for person in session.exec(select(Person)):
            person.daily_summary = daily_summary
            session.add(person)
        session.commit()
    console = Console(
        engine, build_router(), user="camille", channel="bondy", now=START, files_dir=folder
    )
    attach_to_console(console, engine)
    counts: Counter[tuple[str, str]] = Counter()
    for day in range(DAYS):
        for half_hour in range(27):
            moment = START + timedelta(days=day, minutes=30 * half_hour)
            printed = console.handle(":now " + moment.isoformat())
            for handle in DM.findall(printed):
                counts[handle, moment.date().isoformat()] += 1
    engine.dispose()
    return counts


def report(label: str, counts: Counter[tuple[str, str]]) -> None:
    people = sorted({p for p, _ in counts})
    print(f"\n{label}")
    print(f"{'person':<22}{'days with DMs':>14}{'DMs':>6}{'per day (mean)':>16}{'max a day':>11}")
    for person in people:
        days = [n for (p, _), n in counts.items() if p == person]
        print(
            f"@{person:<21}{len(days):>14}{sum(days):>6}"
            f"{statistics.mean(days):>16.2f}{max(days):>11}"
        )
    total = sum(counts.values())
    print(f"{'all':<22}{len(counts):>14}{total:>6}")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        summary = simulate(True, folder)
        each = simulate(False, folder)
    print(f"Demo lab, {DAYS} days from {START:%A %d %B %Y}, scan and send every 30 min 07:00–20:00")
    report("A summary a day (default)", summary)
    report("Each reminder at once (/labo rappels tout-de-suite)", each)


if __name__ == "__main__":
    main()
