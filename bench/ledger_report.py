"""``/depense rapport <financeur>`` (the CERFA 15059 report, XLSX and PDF) for an
experiment with 50,000 expenses and four funders: time and peak memory.

    PYTHONPATH=. python bench/ledger_report.py [--db postgresql://…] [--expenses 50000]
        [--statement]

The parent seeds the demo lab with the expenses (bulk inserts), gives each a ledger entry
(a mix of steps, VAT rates, suppliers and invoice numbers), adds four funders through the
chat commands (two with their own allocations of lines, two pro rata), then runs the
command in a fresh child process, which prints its wall and CPU time, its peak resident
memory (``ru_maxrss``) and its resident memory just before the command, and then again
with ``tracemalloc`` for what Python allocated during the command; after the command,
the child times its parts one by one (the figures, the XLSX, the PDF). Each child first
builds a small experiment's report, so the figures leave out the imports of openpyxl and
fpdf2 (paid once per process). ``--statement`` also
measures ``/depense etat``, the statement listing every expense (its PDF runs to
hundreds of pages).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from _expenses_lab import NOW, database, seed
from sqlalchemy import Engine, insert
from sqlmodel import Session, select

from bot.console import Console
from commands.registry import build_router
from models import Expense, Experiment, LedgerEntry
from models.db import make_engine

T = TypeVar("T")

FUNDERS = [
    '/depense financeur ajouter region "Région Île-de-France" 40000 type:region',
    '/depense financeur ajouter departement "Département de la Seine-Saint-Denis" 20000',
    '/depense financeur ajouter etat "État — ANCT" 15000',
    '/depense financeur ajouter feder "FEDER" 25000 type:europe',
    "/depense financeur allouer region 50% poste:logistique",
    "/depense financeur allouer feder 30% poste:logistique",
    "/depense financeur allouer feder 40% poste:animation",
    # A small experiment's grant, for the warm-up.
    '/depense financeur ajouter ville "Ville de Montreuil" 1000 expe:montreuil-ac',
]


def rss_now_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def child(url: str, mode: str, command: str) -> None:
    engine = make_engine(url)
    console = Console(engine, build_router(), user="camille", channel="bondy", now=NOW)
    # Warm-up on a small experiment's report: openpyxl and fpdf2 imported (a second or
    # two, once per process), templates compiled, connection open.
    kind = command.split()[0]
    console.router.dispatch(
        engine, console.invocation("depense", f"{kind} ville expe:montreuil-ac")
    )
    invocation = console.invocation("depense", command)
    before_kb = rss_now_kb()
    if mode == "trace":
        tracemalloc.start()
    start, start_cpu = time.perf_counter(), time.process_time()
    reply = console.router.dispatch(engine, invocation)
    wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    traced = tracemalloc.get_traced_memory()[1] if mode == "trace" else 0
    peak_rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    parts = measure_parts(engine, kind) if mode == "time" else {}
    print(
        json.dumps(
            {
                "wall": wall,
                "cpu": cpu,
                "peak_rss_kb": peak_rss_kb,
                "before_kb": before_kb,
                "traced": traced,
                "files": [(f.filename, len(f.content)) for f in reply.files],
                "text": reply.text,
                "parts": parts,
            }
        )
    )


def measure_parts(engine: Engine, kind: str) -> dict[str, tuple[float, float]]:
    """The command's parts one by one, wall and CPU seconds: its figures (the ledger's
    rows, the budget's aggregate, the funders' shares), the XLSX, the PDF."""
    from commands.core import Context, ensure_person, ensure_workspace
    from commands.invocation import ChannelInfo, Invocation, UserRef, WorkspaceRef
    from commands.services import ledger, reports

    found: dict[str, tuple[float, float]] = {}

    def timed(name: str, run: Callable[[], T]) -> T:
        start, start_cpu = time.perf_counter(), time.process_time()
        result = run()
        found[name] = (time.perf_counter() - start, time.process_time() - start_cpu)
        return result

    with Session(engine) as session:
        invocation = Invocation(
            workspace=WorkspaceRef("console", "console", ""),
            user=UserRef("camille", "camille"),
            channel=ChannelInfo("bondy", "bondy"),
            command="depense",
            text="",
            now=NOW,
        )
        workspace = ensure_workspace(session, invocation)
        person = ensure_person(session, workspace, invocation)
        ctx = Context(session, invocation, workspace, person, "fr", "bench")
        experiment = session.exec(select(Experiment).where(Experiment.slug == "bondy-bp")).one()
        funder = ledger.find_funder(ctx, experiment, "region" if kind == "rapport" else "feder")
        period = ledger.funder_period(funder)
        report = timed("figures", lambda: reports.compute(ctx, experiment, funder, period))
        if kind == "rapport":
            timed("xlsx", lambda: reports.report_xlsx(report))
            timed("pdf", lambda: reports.report_pdf(report))
        else:
            timed("xlsx", lambda: reports.statement_xlsx(report))
            timed("pdf", lambda: reports.statement_pdf(report))
    return found


def add_ledger(url: str) -> None:
    """A ledger entry for every expense, as the team would have kept it."""
    rng = random.Random(7)
    engine = make_engine(url)
    with Session(engine) as session:
        experiment = session.exec(select(Experiment).where(Experiment.slug == "bondy-bp")).one()
        rows = session.exec(
            select(Expense.id, Expense.amount_cents, Expense.spent_on, Expense.author_id).where(
                Expense.experiment_id == experiment.id
            )
        ).all()
        entries = []
        for expense_id, cents, day, author in rows:
            rate = rng.choice((2000, 2000, 1000, 550, 0))
            divisor = 10_000 + rate
            ht = (2 * cents * 10_000 + divisor) // (2 * divisor)
            status = rng.choices(
                ("planned", "committed", "done", "ordered", "paid"), (1, 1, 1, 1, 6)
            )[0]
            entry = {
                "expense_id": expense_id,
                "ht_cents": ht,
                "vat_cents": cents - ht,
                "vat_rate": rate,
                "status": status,
                "commitment_ref": f"BC-{expense_id}" if status != "planned" else "",
                "order_ref": "",
                "forced": False,
                "invoice_number": f"F-{expense_id}" if status != "planned" else "",
                "invoice_date": day if status != "planned" else None,
                "invoice_received_on": day if status != "planned" else None,
                "committed_on": day if status != "planned" else None,
                "committed_by": author if status != "planned" else None,
                "done_on": day if status in ("done", "ordered", "paid") else None,
                "ordered_on": day if status in ("ordered", "paid") else None,
                "paid_on": day if status == "paid" else None,
                "paid_by": author if status == "paid" else None,
            }
            entries.append(entry)
        for i in range(0, len(entries), 5000):
            session.execute(insert(LedgerEntry), entries[i : i + 5000])
        session.commit()
    console = Console(engine, build_router(), user="camille", channel="bondy", now=NOW)
    for command in FUNDERS:
        console.handle(command)
    engine.dispose()


def measure(url: str, command: str) -> None:
    for mode in ("time", "trace"):
        out = subprocess.run(
            [sys.executable, __file__, "--child", url, mode, command],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        ).stdout
        result = json.loads(out.strip().splitlines()[-1])
        if mode == "time":
            print(f"/depense {command}")
            print(f"  {result['text'].splitlines()[0][:160]}")
            for name, size in result["files"]:
                print(f"  file {name}: {size / 1024:.0f} KiB")
            print(
                "  parts: "
                + ", ".join(
                    f"{name} {wall:.2f} s wall / {cpu:.2f} s CPU"
                    for name, (wall, cpu) in result["parts"].items()
                )
            )
            print(
                f"  wall {result['wall']:.2f} s, CPU {result['cpu']:.2f} s, load "
                f"{os.getloadavg()[0]:.1f}; peak RSS {result['peak_rss_kb'] / 1024:.0f} MiB "
                f"(RSS before the command {result['before_kb'] / 1024:.0f} MiB)"
            )
        else:
            print(f"  tracemalloc peak during the command: {result['traced'] / 2**20:.1f} MiB")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], sys.argv[4])
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--db")
    parser.add_argument("--expenses", type=int, default=50_000)
    parser.add_argument("--statement", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, database(args.db, Path(folder)) as url:
        start = time.perf_counter()
        seed(url, args.expenses).dispose()
        add_ledger(url)
        print(
            f"{args.expenses} expenses with their ledger entries and four funders "
            f"({url.split(':')[0]}), seeded in {time.perf_counter() - start:.0f} s"
        )
        measure(url, "rapport region")
        if args.statement:
            measure(url, "etat feder")


if __name__ == "__main__":
    main()
