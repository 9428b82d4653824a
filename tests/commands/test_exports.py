"""``/depense export``: the files the finance department opens, read back as it would."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
import uuid
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

from bot.console import Console
from commands.core import Context, ensure_person, ensure_workspace
from commands.errors import UserError
from commands.expenses import Period, parse_period
from commands.reply import File
from commands.services import expenses
from commands.services.budget import BudgetState
from models import Expense
from tests.chat import converse, normalise
from tests.commands.test_expenses import dispatch

TODAY = date(2026, 11, 24)


def export(console: Console, command: str) -> File:
    reply = dispatch(console, command)
    assert len(reply.files) == 1, reply.text
    return reply.files[0]


def read_csv(file: File) -> list[list[str]]:
    assert file.content.startswith(b"\xef\xbb\xbf"), "a UTF-8 byte order mark for Excel"
    text = file.content.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text), delimiter=";"))


def test_csv_for_french_excel(console: Console) -> None:
    console.handle("/depense 1 250,50 € location de salle poste:logistique fournisseur:Mairie")
    file = export(console, "/depense export csv")
    assert file.filename == "depenses-bondy-bp-all.csv"
    assert file.mime_type == "text/csv"
    rows = read_csv(file)
    assert rows[0] == [
        "N°",
        "Date",
        "Poste",
        "Description",
        "Fournisseur",
        "Montant",
        "Devise",
        "Justificatif",
        "Saisie par",
        "Étape",
        "Compté au budget (TTC)",
    ]
    assert len(rows) == 1 + 8
    assert rows[1][:7] == [
        "1",
        "25/09/2026",
        "Logistique",
        "Location du gymnase Jean-Renoir (forum de lancement)",
        "Ville de Bondy",
        "1850,00",
        "EUR",
    ]
    assert rows[-1][:7] == [
        "15",
        "24/11/2026",
        "Logistique",
        "location de salle",
        "Mairie",
        "1250,50",
        "EUR",
    ]
    assert rows[-1][7:] == ["", "camille", "payé", "1250,50"]
    assert sum(Decimal(r[5].replace(",", ".")) for r in rows[1:]) == Decimal("15360.50")


def test_the_file_follows_the_experiment_s_convention_not_the_typist_s_language(
    console: Console,
) -> None:
    """A French experiment's CSV is French whoever asks (``;``, decimal commas); an English
    one is English (``,``, decimal points): each reads back as numbers."""
    file = export(console, "/expense export csv november")
    assert file.filename == "depenses-bondy-bp-2026-11.csv"
    rows = read_csv(file)
    assert rows[0][:6] == ["N°", "Date", "Poste", "Description", "Fournisseur", "Montant"]
    assert [(r[0], r[1], r[5]) for r in rows[1:]] == [
        ("5", "04/11/2026", "1960,00"),
        ("6", "12/11/2026", "420,00"),
        ("7", "19/11/2026", "2100,00"),
    ]
    french = pd.read_csv(io.BytesIO(file.content), sep=";", decimal=",", encoding="utf-8-sig")
    assert french["Montant"].dtype.kind == "f"
    assert french["Montant"].sum() == 4480
    console.handle("/labo reglages langue:en")
    file = export(console, "/depense export csv novembre")
    assert file.filename == "expenses-bondy-bp-2026-11.csv"
    text = file.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:6] == ["#", "Date", "Budget line", "Description", "Supplier", "Amount"]
    assert [(r[0], r[1], r[5]) for r in rows[1:]] == [
        ("5", "2026-11-04", "1960.00"),
        ("6", "2026-11-12", "420.00"),
        ("7", "2026-11-19", "2100.00"),
    ]
    english = pd.read_csv(io.BytesIO(file.content), encoding="utf-8-sig")
    assert english["Amount"].dtype.kind == "f"
    assert english["Amount"].sum() == 4480


def test_a_text_that_looks_like_a_formula_stays_text_in_every_column(
    console: Console, demo_engine: Engine
) -> None:
    console.handle('/depense 10 € "=HYPERLINK(""http://evil"")" fournisseur:+33')
    console.handle("/depense 10 € @SUM(A1) fournisseur:-x")
    with Session(demo_engine) as s:
        s.execute(text("UPDATE person SET handle = '=1+1' WHERE handle = 'marie'"))
        s.commit()
    rows = read_csv(export(console, "/depense export csv"))
    assert rows[-2][3].startswith("'=")
    assert rows[-2][4] == "'+33"
    assert rows[-1][3] == "'@SUM(A1)"
    assert "'=1+1" in [row[8] for row in rows]
    book = load_workbook(io.BytesIO(export(console, "/depense export xlsx").content))
    formulas = [
        c for row in book.worksheets[0].iter_rows(min_row=3) for c in row if str(c.value)[:1] == "="
    ]
    assert {c.column_letter for c in formulas} == {"D", "H"}
    assert all(c.data_type == "s" for c in formulas)
    assert any(str(c.value).startswith("=HYPERLINK") for c in formulas)


def test_a_stored_control_character_never_breaks_an_export(
    console: Console, demo_engine: Engine
) -> None:
    """Cleaned when logged (a control character is dropped as the command arrives); and
    text stored before that rule still exports."""
    console.handle("/depense 10 € café\x02 noir fournisseur:Bar\x07tabac")
    with Session(demo_engine) as s:
        logged = s.exec(select(Expense).order_by(col(Expense.id).desc())).first()
        assert logged is not None
        assert (logged.description, logged.supplier) == ("café noir", "Bartabac")
        logged.description = "ancienne\x02saisie"
        s.add(logged)
        s.commit()
    book = load_workbook(io.BytesIO(export(console, "/depense export xlsx").content))
    descriptions = [r[3] for r in book.worksheets[0].iter_rows(min_row=3, values_only=True)]
    assert "anciennesaisie" in descriptions
    assert read_csv(export(console, "/depense export csv"))[-1][3] == "anciennesaisie"


SUMMARY_HEADER = (
    "Poste",
    "Prévu",
    "Dépensé sur la période",
    "Nb de dépenses",
    "Dépensé à ce jour",
    "Prévu, non engagé",
    "Engagé non payé",
    "Payé",
    "Reste",
    "% consommé",
)


def test_xlsx_with_a_euro_column_and_a_summary_per_line(console: Console) -> None:
    console.handle("/depense 1 250,50 € location de salle poste:logistique")
    console.handle("/depense 12 € timbres")
    file = export(console, "/depense export xlsx")
    assert file.filename == "depenses-bondy-bp-all.xlsx"
    assert file.mime_type.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(file.content))
    assert book.sheetnames == ["Dépenses", "Synthèse par poste"]
    sheet = book["Dépenses"]
    rows = list(sheet.iter_rows(values_only=True))
    title = (
        "Budget participatif de Bondy — toutes les dépenses — exporté le 24/11/2026"
        " — Montants comptés au budget : TTC (TVA non récupérable)."
    )
    assert normalise(rows[0][0]) == title
    assert rows[1][:6] == ("N°", "Date", "Poste", "Description", "Fournisseur", "Montant")
    assert len(rows) == 2 + 9 + 1
    first = next(iter(sheet.iter_rows(min_row=3, max_row=3)))
    assert first[1].value == datetime(2026, 9, 25)
    assert first[1].number_format == "DD/MM/YYYY"
    assert first[5].value == 1850
    assert "€" in first[5].number_format
    assert first[5].number_format.startswith("#,##0.00")
    assert rows[-2][5] == 12
    assert rows[-1][3] == "Total"
    assert rows[-1][5] == Decimal("15372.5")
    assert sheet.freeze_panes == "A3"

    summary = list(book["Synthèse par poste"].iter_rows(values_only=True))
    assert normalise(summary[0][0]) == title
    assert summary[1] == SUMMARY_HEADER
    by_line = {row[0]: row[1:] for row in summary[2:]}
    assert by_line == {
        # Planned, spent in the period (all time) and how many, spent to date; then
        # planned and not committed, committed and unpaid, paid; remaining, %.
        "Logistique": (
            12000,
            Decimal("3520.5"),
            3,
            Decimal("3520.5"),
            0,
            0,
            Decimal("3520.5"),
            Decimal("8479.5"),
            0.2934,
        ),
        "Communication": (8000, 4300, 2, 4300, 0, 0, 4300, 3700, 0.5375),
        "Restauration": (5000, 640, 1, 640, 0, 0, 640, 4360, 0.128),
        "Animation": (15000, 6900, 2, 6900, 0, 0, 6900, 8100, 0.46),
        "Études": (5000, 0, 0, 0, 0, 0, 0, 5000, 0),
        "Non réparti (dont sans poste)": (0, 12, 1, 12, 0, 0, 12, -12, None),
        "Total": (
            45000,
            Decimal("15372.5"),
            9,
            Decimal("15372.5"),
            0,
            0,
            Decimal("15372.5"),
            Decimal("29627.5"),
            0.3416,
        ),
    }


def test_a_period_export_shows_the_period_spent_to_date_and_what_really_remains(
    console: Console,
) -> None:
    converse(
        console,
        """
        > /depense export xlsx septembre..octobre
        Export XLSX de Budget participatif de Bondy (du 01/09/2026 au 31/10/2026) : 4 dépenses.
        > /depense export xlsx novembre
        (novembre 2026) : 3 dépenses.
        > /depense export 2026-10
        Export XLSX de Budget participatif de Bondy (octobre 2026) : 2 dépenses.
        > /expense export xlsx from 2026-11-01 to 2026-11-12
        XLSX export of Budget participatif de Bondy (from 01/11/2026 to 12/11/2026): 2 expenses.
        > /depense export csv décembre
        (décembre 2025) : 0 dépense.
        """,
    )
    book = load_workbook(io.BytesIO(export(console, "/depense export xlsx novembre").content))
    summary = list(book.worksheets[1].iter_rows(values_only=True))
    assert normalise(summary[0][0]) == (
        "Budget participatif de Bondy — novembre 2026 — exporté le 24/11/2026"
        " — Montants comptés au budget : TTC (TVA non récupérable)."
    )
    figures = {row[0]: (*row[1:5], row[8]) for row in summary[2:]}
    # Planned, spent in November (and how many), spent to date, what really remains.
    assert figures["Communication"] == (8000, 1960, 1, 4300, 3700)
    assert figures["Logistique"] == (12000, 420, 1, 2270, 9730)
    assert figures["Total"] == (45000, 4480, 3, 14110, 30890)


def test_the_console_writes_the_file_to_its_exports_folder(
    console: Console, tmp_path: Path
) -> None:
    reply = normalise(console.handle("/depense export xlsx novembre"))
    path = tmp_path / "exports" / "depenses-bondy-bp-2026-11.xlsx"
    assert f"→ {path}" in reply
    assert load_workbook(path).sheetnames == ["Dépenses", "Synthèse par poste"]


def test_an_empty_export_is_still_a_valid_workbook(console: Console) -> None:
    file = export(console, "/depense export xlsx décembre")
    book = load_workbook(io.BytesIO(file.content))
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert len(rows) == 3
    assert rows[-1][5] == 0


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("novembre", date(2026, 11, 1), date(2026, 11, 30)),
        ("November", date(2026, 11, 1), date(2026, 11, 30)),
        ("nov", date(2026, 11, 1), date(2026, 11, 30)),
        ("décembre", date(2025, 12, 1), date(2025, 12, 31)),
        ("février 2027", date(2027, 2, 1), date(2027, 2, 28)),
        ("2026-11", date(2026, 11, 1), date(2026, 11, 30)),
        ("11/2026", date(2026, 11, 1), date(2026, 11, 30)),
        ("2026", date(2026, 1, 1), date(2026, 12, 31)),
        ("ce mois", date(2026, 11, 1), date(2026, 11, 30)),
        ("mois dernier", date(2026, 10, 1), date(2026, 10, 31)),
        ("last month", date(2026, 10, 1), date(2026, 10, 31)),
        ("septembre..novembre", date(2026, 9, 1), date(2026, 11, 30)),
        ("de septembre à novembre", date(2026, 9, 1), date(2026, 11, 30)),
        ("from september to november", date(2026, 9, 1), date(2026, 11, 30)),
        ("novembre..février", date(2025, 11, 1), date(2026, 2, 28)),
        ("du 01/09/2026 au 15/11/2026", date(2026, 9, 1), date(2026, 11, 15)),
        ("2026-09-01..2026-09-30", date(2026, 9, 1), date(2026, 9, 30)),
        ("2026-09 - 2026-10", date(2026, 9, 1), date(2026, 10, 31)),
        ("12/11", date(2026, 11, 12), date(2026, 11, 12)),
        ("d'octobre à novembre", date(2026, 10, 1), date(2026, 11, 30)),
        ("en octobre", date(2026, 10, 1), date(2026, 10, 31)),
    ],
)
def test_periods(text: str, start: date, end: date) -> None:
    assert parse_period(text, TODAY) == Period(start, end)


@pytest.mark.parametrize("text", ["", "tout", "all"])
def test_no_period_is_everything(text: str) -> None:
    assert parse_period(text, TODAY) is None


@pytest.mark.parametrize(
    "text", ["brumaire", "2026-13", "31/02/2026", "2026-11..2026-09", "nov 26", "12 34"]
)
def test_bad_periods(text: str) -> None:
    with pytest.raises(UserError) as caught:
        parse_period(text, TODAY)
    assert caught.value.key == "expenses.bad_period"


def fr_money(cents: int) -> str:
    return f"{cents / 100:,.2f}".replace(",", " ").replace(".", ",")


def budget_view(console: Console, demo_engine: Engine) -> BudgetState:
    """The state ``/depense budget`` shows, from the same service."""
    with Session(demo_engine) as s:
        invocation = console.invocation("depense", "")
        workspace = ensure_workspace(s, invocation)
        person = ensure_person(s, workspace, invocation)
        ctx = Context(s, invocation, workspace, person, "fr", str(uuid.uuid4()))
        return expenses.budget_state(ctx, ctx.experiment())


def test_every_figure_of_the_xlsx_read_back_is_the_budget_view(
    console: Console, demo_engine: Engine
) -> None:
    """With an envelope above the lines and an expense on no line: openpyxl with
    ``data_only`` (what a program or a preview sees) and pandas read values, and they are
    the figures of ``/depense budget``."""
    console.handle("/labo reglages budget:50000")
    console.handle("/depense 12 € timbres")
    console.handle("/depense 1 250,50 € location de salle poste:logistique")
    state = budget_view(console, demo_engine)
    view = normalise(console.handle("/depense budget"))
    content = export(console, "/depense export xlsx").content

    book = load_workbook(io.BytesIO(content), data_only=True)
    summary = list(book.worksheets[1].iter_rows(min_row=3, values_only=True))
    expected = [
        *(
            (g.label or "Non réparti (dont sans poste)", g.planned_cents, g.spent_cents)
            for g in state.rows
        ),
        ("Total", state.total.planned_cents, state.total.spent_cents),
    ]
    cents = [
        (row[0], round(row[1] * 100), round(row[4] * 100), round(row[8] * 100)) for row in summary
    ]
    assert cents == [(label, p, s, p - s) for label, p, s in expected]
    assert cents[-1] == ("Total", 50_000_00, 14_110_00 + 12_00 + 1_250_50, 50_000_00 - 15_372_50)
    for label, planned, spent, remaining in cents:
        assert f"{fr_money(spent)} € dépensés" in view, label
        if planned > 0:
            assert f"reste {fr_money(remaining)} €" in view, label
    assert sum(c[1] for c in cents[:-1]) == cents[-1][1]
    assert sum(c[2] for c in cents[:-1]) == cents[-1][2]
    expenses_sheet = list(book.worksheets[0].iter_rows(min_row=3, values_only=True))
    assert round(expenses_sheet[-1][5] * 100) == state.total.spent_cents
    assert all(cell is not None for row in summary for cell in row[:6])

    frame = pd.read_excel(io.BytesIO(content), sheet_name=1, header=1)
    assert list(frame.columns[:6]) == list(SUMMARY_HEADER[:6])
    total = frame[frame["Poste"] == "Total"].iloc[0]
    assert round(total["Dépensé à ce jour"] * 100) == state.total.spent_cents
    assert round(total["Reste"] * 100) == state.total.remaining_cents
    assert round(total["Prévu"] * 100) == state.total.planned_cents
    assert round(frame["Prévu"].iloc[:-1].sum() * 100) == state.total.planned_cents
    rows = pd.read_excel(io.BytesIO(content), sheet_name=0, header=1)
    assert round(rows["Montant"].iloc[:-1].sum() * 100) == state.total.spent_cents
    assert round(rows["Montant"].iloc[-1] * 100) == state.total.spent_cents


def test_the_workbook_prints_landscape_one_page_wide_under_a_title(console: Console) -> None:
    console.handle("/depense 12 € " + "une description assez longue pour passer à la ligne " * 3)
    book = load_workbook(io.BytesIO(export(console, "/depense export xlsx").content))
    for sheet in book.worksheets:
        assert sheet.page_setup.orientation == "landscape"
        assert sheet.page_setup.paperSize == 9  # A4
        assert sheet.page_setup.fitToWidth == 1
        assert sheet.page_setup.fitToHeight == 0
        assert sheet.sheet_properties.pageSetUpPr.fitToPage is True
        assert sheet.print_title_rows == "$2:$2"
        assert sheet["A1"].font.b
        fonts = {c.font.name for row in sheet.iter_rows() for c in row if c.value is not None}
        assert fonts == {"Calibri"}
    sheet = book.worksheets[0]
    widths = {k: d.width for k, d in sheet.column_dimensions.items()}
    assert widths["D"] >= 40
    assert widths["G"] >= 30
    description = sheet.cell(row=sheet.max_row - 1, column=4)
    assert description.value.startswith("une description")
    assert description.alignment.wrap_text


# CI installs LibreOffice (.ci/run) and sets CI: there the test runs or fails, never skips.
@pytest.mark.skipif(
    shutil.which("soffice") is None and not os.environ.get("CI"),
    reason="LibreOffice is not installed",
)
def test_libreoffice_prints_each_sheet_on_one_page_width(console: Console, tmp_path: Path) -> None:
    """Converted to PDF by LibreOffice: three rows and a summary print on one landscape page
    each, not on six portrait pages."""
    path = tmp_path / "export.xlsx"
    path.write_bytes(export(console, "/depense export xlsx").content)
    subprocess.run(
        ["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(path)],
        check=True,
        capture_output=True,
        timeout=180,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    pdf = (tmp_path / "export.pdf").read_bytes()
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    pages = len(re.findall(rb"/Type\s*/Page\b", pdf))
    assert pages == 2, pages
    assert boxes
    assert all(float(w) > float(h) for w, h in boxes)
