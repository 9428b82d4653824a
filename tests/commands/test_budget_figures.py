"""Every place that shows a budget figure shows the same one, to the cent: the budget view,
the commitments view, the experiment's digest and its chart, the alerts, the home page,
``/labo voir``, the lab digest, the XLSX summary, the CERFA report and the statement of
expenses (files read back: openpyxl with values, the PDF's text). On the demo lab with VAT
recoverable, expenses at every step, with and without VAT, on lines and on none, and two
funders (one with its own share of a line)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.console import Console
from bot.text import markdown_to_text, reply_to_text
from commands.home import ACTION
from commands.render import money
from commands.services import digests, ledger, reports
from commands.services import expenses as budget
from commands.services.budget import BudgetState, Gauge
from models import Experiment, OutboxMessage, Workspace
from tests.chat import converse, normalise
from tests.commands.test_ledger import add_funders, context, pdf_text, read_xlsx
from tests.conftest import NOW


def eur(cents: int) -> str:
    return normalise(money(cents, "EUR", "fr"))


def chain(g: Gauge) -> str:
    text = f"payé {eur(g.paid_cents)} · engagé non payé {eur(g.committed_cents)}"
    if g.foreseen_cents:
        text += f" · prévu non engagé {eur(g.foreseen_cents)}"
    return text


def the_ledger_of_a_season(console: Console) -> None:
    add_funders(console)
    converse(
        console,
        """
        > /depense tva recuperable oui
        le budget compte les montants HT
        > /depense financeur allouer region 60% poste:logistique
        > /depense 1 200 € traiteur poste:restauration tva:10 facture:F-9 fournisseur:Dupont
        Dépense n°15 enregistrée
        > /depense prevoir 2 000 € étude de terrain poste:etudes tva:20
        Dépense n°16 enregistrée
        > /depense prevoir 600 € affiches poste:communication ht:500
        Dépense n°17 enregistrée
        > /depense engager 17 bc:BC-17
        > /depense prevoir 360 € location de salle poste:logistique tva:20
        Dépense n°18 enregistrée
        > /depense engager 18 bc:BC-18
        > /depense service fait 18
        > /depense 48 € timbres
        Dépense n°19 enregistrée
        > /depense 3 000 € traiteur du forum poste:restauration tva:20
        Dépense n°20 enregistrée
        """,
    )


def test_every_surface_shows_the_same_budget_to_the_cent(
    console: Console, demo_engine: Engine, tmp_path: Path
) -> None:
    the_ledger_of_a_season(console)
    with Session(demo_engine) as s:
        ctx = context(s, demo_engine)
        experiment = s.exec(select(Experiment).where(Experiment.slug == "bondy-bp")).one()
        state = budget.budget_state(ctx, experiment)
        funders = ledger.funders(ctx, experiment)
        # Each report over its grant's period (the region's: 2026, every expense of it).
        computed = {
            f.key: reports.compute(ctx, experiment, f, ledger.funder_period(f)) for f in funders
        }
        rows = ledger.ledger_rows(ctx, experiment)
        digest = digests.experiment_digest(s, experiment, NOW)
        lab = digests.lab_digest(s, s.exec(select(Workspace)).one(), NOW)
        alerts = list(
            s.exec(
                select(OutboxMessage)
                .where(OutboxMessage.kind == "budget_alert")
                .order_by(col(OutboxMessage.id))
            )
        )
    t = state.total

    # The computation itself: HT where known, TTC for the 7 old expenses and the stamps.
    assert state.counts_ht
    assert state.vat_unknown == 8
    restauration = next(g for g in state.lines if g.label == "Restauration")
    assert restauration.paid_cents == 640_00 + 1_090_91 + 2_500_00  # HT, not 4 840 € TTC
    assert next(g for g in state.lines if g.label == "Études").foreseen_cents == 1_666_67
    assert next(g for g in state.lines if g.label == "Communication").committed_cents == 500_00
    logistique = next(g for g in state.lines if g.label == "Logistique")
    assert (logistique.committed_cents, logistique.realised_cents) == (300_00, 2_270_00 + 300_00)
    assert t.committed_cents == 800_00
    assert t.paid_cents == 14_110_00 + 1_090_91 + 48_00 + 2_500_00
    assert t.spent_cents == t.committed_cents + t.paid_cents
    assert t.remaining_cents == t.planned_cents - t.spent_cents
    assert t.realised_cents == t.paid_cents + 300_00
    # Per line and in total, to the cent, from the same rows the ledger lists.
    assert sum(ledger.counted(r.ttc, r.ht, True) for r in rows if r.status != "planned") == (
        t.spent_cents
    )
    for attribute in ("foreseen_cents", "committed_cents", "paid_cents", "spent_cents"):
        assert sum(getattr(g, attribute) for g in state.rows) == getattr(t, attribute)

    basis = "Montants comptés au budget : HT (TVA récupérable) ; 8 dépenses à TVA inconnue"
    view = normalise(console.handle("/depense budget"))
    assert basis in view
    for g in [*state.lines, t]:
        label = "Total" if g is t else g.label
        assert f"{label} : {eur(g.spent_cents)} dépensés sur {eur(g.planned_cents)}" in view, label
        assert f"reste {eur(g.remaining_cents)} — {chain(g)}" in view, label

    commitments = normalise(console.handle("/depense engagements"))
    assert basis in commitments
    for g in [*state.lines, t]:
        label = "Total" if g is t else g.label
        assert (
            f"{label} : prévu non engagé {eur(g.foreseen_cents)} · engagé non payé "
            f"{eur(g.committed_cents)} · payé {eur(g.paid_cents)} · reste "
            f"{eur(g.remaining_cents)} sur {eur(g.planned_cents)}" in commitments
        ), label

    # The digest and its chart.
    assert_same_state(digest.budget, state)
    text = normalise(digests.render_experiment_digest(digest, "fr", see_budget=True))
    assert basis in text
    assert f"**Budget** : {eur(t.spent_cents)} dépensés sur {eur(t.planned_cents)}" in text
    assert f"reste {eur(t.remaining_cents)} — {chain(t)}" in text
    for g in state.lines:
        assert f"{eur(g.spent_cents)} / {eur(g.planned_cents)}" in text, g.label
    chart = digests.experiment_chart(digest, "fr", see_budget=True)
    assert chart["lines"] == [
        [g.label or "Non réparti", g.planned_cents, g.spent_cents] for g in state.rows
    ]

    # The alert told when the forum's caterer took Restauration past 80 %, counted HT.
    assert alerts
    told = normalise(markdown_to_text(str(alerts[0].payload["text"])))
    assert (
        f"le poste Restauration a passé 80 % de son prévu : {eur(restauration.spent_cents)} "
        f"dépensés (HT) sur {eur(restauration.planned_cents)}" in told
    ), told

    # The home page, /labo voir and the lab digest.
    reply = console.router.act(console.engine, console.invocation("", ""), ACTION, "")
    home = normalise(reply_to_text(reply))
    assert f"{eur(t.spent_cents)} sur {eur(t.planned_cents)} (" in home, home
    assert f"reste {eur(t.remaining_cents)} — {chain(t)} (HT)" in home, home
    show = normalise(console.handle("/labo voir"))
    assert f"{eur(t.spent_cents)} dépensés sur {eur(t.planned_cents)}" in show, show
    assert f"reste {eur(t.remaining_cents)} — {chain(t)}" in show, show
    assert basis in show
    standing = next(x for x in lab.standings if x.experiment.slug == "bondy-bp")
    assert (standing.planned, standing.spent, standing.committed_unpaid, standing.counts_ht) == (
        t.planned_cents,
        t.spent_cents,
        t.committed_cents,
        True,
    )
    lab_text = normalise(digests.render_lab_digest(lab, "fr"))
    assert f"`bondy-bp` — {eur(t.spent_cents)} / {eur(t.planned_cents)} (" in lab_text
    assert f"HT · engagé non payé {eur(t.committed_cents)}" in lab_text, lab_text

    # The XLSX summary, read back as values.
    console.handle("/depense export xlsx")
    path = tmp_path / "exports" / "depenses-bondy-bp-all.xlsx"
    book = load_workbook(path, data_only=True)
    summary = list(book.worksheets[1].iter_rows(values_only=True))
    assert basis in normalise(summary[0][0])
    figures = {row[0]: [round(x * 100) for x in (*row[1:3], *row[4:9])] for row in summary[2:]}
    for g in [*state.rows, t]:
        label = "Total" if g is t else g.label or "Non réparti (dont sans poste)"
        assert figures[label] == [
            g.planned_cents,
            g.spent_cents,
            g.spent_cents,
            g.foreseen_cents,
            g.committed_cents,
            g.paid_cents,
            g.remaining_cents,
        ], label

    # The CSV: each expense's step and what the budget counts of it, HT said.
    console.handle("/depense export csv")
    text = (tmp_path / "exports" / "depenses-bondy-bp-all.csv").read_text("utf-8-sig")
    csv_rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert csv_rows[0][-2:] == ["Étape", "Compté au budget (HT)"]
    by_step: dict[str, int] = {}
    for row in csv_rows[1:]:
        cents = int(row[-1].replace(",", ""))
        by_step[row[-2]] = by_step.get(row[-2], 0) + cents
    assert by_step == {
        "prévu": t.foreseen_cents,
        "engagé": 500_00,
        "service fait": 300_00,
        "payé": t.paid_cents,
    }

    # The CERFA report: actual charges are the realised ones (service done, ordered,
    # paid), the plan the lines'; the funders' parts and the rest add up to them.
    for key, report in computed.items():
        assert report.recoverable
        assert report.planned == state.lines_planned_cents
        assert report.actual == t.realised_cents, key
        assert sum(x.actual for x in report.resources) == t.realised_cents
    assert sum(r.charged for r in computed.values()) <= t.realised_cents
    console.handle("/depense rapport region")
    console.handle("/depense etat region")
    files = {p.name: p for p in (tmp_path / "exports").iterdir()}
    report_x = read_xlsx(files["compte-rendu-financier-bondy-bp-region-20260101-20261231.xlsx"])
    labels = {row[0]: row for row in report_x if row and row[0]}
    charged = computed["region"].charged
    assert round(float(labels["Total des charges"][1]) * 100) == state.lines_planned_cents
    assert round(float(labels["Total des charges"][2]) * 100) == t.realised_cents
    assert round(float(labels["Dépenses imputées à la subvention"][1]) * 100) == charged
    report_pdf = pdf_text(files["compte-rendu-financier-bondy-bp-region-20260101-20261231.pdf"])
    assert eur(t.realised_cents) in report_pdf
    assert eur(charged) in report_pdf
    assert "HT (TVA récupérable)" in report_pdf

    # The statement: its eligible amounts add up to what the report charges the grant.
    statement = read_xlsx(files["etat-des-depenses-bondy-bp-region-20260101-20261231.xlsx"])
    header = statement.index(next(r for r in statement if r[0] == "N°"))
    body = [r for r in statement[header + 1 :] if isinstance(r[0], int)]
    assert round(sum(float(r[14]) for r in body) * 100) == charged
    assert round(float(statement[-1][14]) * 100) == charged
    dupont = next(r for r in body if r[7] == "F-9")
    assert (round(float(dupont[11]) * 100), round(float(dupont[13]) * 100)) == (
        1_090_91,
        1_200_00,
    )
    assert eur(charged) in pdf_text(
        files["etat-des-depenses-bondy-bp-region-20260101-20261231.pdf"]
    )


def assert_same_state(one: BudgetState, other: BudgetState) -> None:
    def figures(state: BudgetState) -> list[tuple[object, ...]]:
        return [
            (g.label, g.planned_cents, g.spent, g.projected_cents)
            for g in [*state.rows, state.total]
        ]

    assert figures(one) == figures(other)
    assert (one.counts_ht, one.vat_unknown) == (other.counts_ht, other.vat_unknown)


def test_an_experiment_that_does_not_recover_vat_counts_ttc_everywhere(
    console: Console, demo_engine: Engine
) -> None:
    converse(
        console,
        """
        > /depense 1 200 € traiteur poste:restauration tva:10
        compté TTC
        > /depense budget
        Montants comptés au budget : TTC (TVA non récupérable).
        Restauration : 1 840,00 € dépensés sur 5 000,00 €
        """,
    )
    with Session(demo_engine) as s:
        lab = digests.lab_digest(s, s.exec(select(Workspace)).one(), NOW)
    standing = next(x for x in lab.standings if x.experiment.slug == "bondy-bp")
    assert (standing.spent, standing.counts_ht) == (14_110_00 + 1_200_00, False)
    assert "TTC" in normalise(digests.render_lab_digest(lab, "fr"))
