"""``/depense export``: the files the finance department opens, read back as it would."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.console import Console
from commands.errors import UserError
from commands.expenses import Period, parse_period
from commands.reply import File
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
    assert rows[-1][7:] == ["", "camille"]
    assert sum(Decimal(r[5].replace(",", ".")) for r in rows[1:]) == Decimal("15360.50")


def test_csv_in_english_and_for_one_month(console: Console) -> None:
    file = export(console, "/expense export csv november")
    assert file.filename == "expenses-bondy-bp-2026-11.csv"
    rows = read_csv(file)
    assert rows[0][:6] == ["#", "Date", "Budget line", "Description", "Supplier", "Amount"]
    assert [(r[0], r[1], r[5]) for r in rows[1:]] == [
        ("5", "2026-11-04", "1960.00"),
        ("6", "2026-11-12", "420.00"),
        ("7", "2026-11-19", "2100.00"),
    ]


def test_a_text_that_looks_like_a_formula_stays_text(console: Console) -> None:
    console.handle('/depense 10 € "=HYPERLINK(""http://evil"")" fournisseur:+33')
    console.handle("/depense 10 € @SUM(A1) fournisseur:-x")
    rows = read_csv(export(console, "/depense export csv"))
    assert rows[-2][3].startswith("'=")
    assert rows[-2][4] == "'+33"
    assert rows[-1][3] == "'@SUM(A1)"
    book = load_workbook(io.BytesIO(export(console, "/depense export xlsx").content))
    descriptions = [row[3] for row in book.worksheets[0].iter_rows(min_row=2, values_only=True)]
    assert any(str(d).startswith("=HYPERLINK") for d in descriptions)
    cell = next(
        c
        for row in book.worksheets[0].iter_rows(min_row=2)
        for c in row[3:4]
        if str(c.value).startswith("=")
    )
    assert cell.data_type == "s"


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
    assert rows[0][:6] == ("N°", "Date", "Poste", "Description", "Fournisseur", "Montant")
    assert len(rows) == 1 + 9 + 1
    first = next(iter(sheet.iter_rows(min_row=2, max_row=2)))
    assert first[1].value == datetime(2026, 9, 25)
    assert first[1].number_format == "DD/MM/YYYY"
    assert first[5].value == 1850
    assert "€" in first[5].number_format
    assert first[5].number_format.startswith("#,##0.00")
    assert rows[-2][5] == 12
    assert rows[-1][3] == "Total"
    assert rows[-1][5] == "=SUM(F2:F10)"
    assert sheet.freeze_panes == "A2"

    summary = list(book["Synthèse par poste"].iter_rows(values_only=True))
    assert summary[0][0] == "Budget participatif de Bondy — toutes les dépenses"
    assert summary[1] == ("Poste", "Prévu", "Dépensé", "Reste", "Dépenses", "%")
    by_line = {row[0]: row[1:3] + row[4:5] for row in summary[2:-1]}
    assert by_line == {
        "Logistique": (12000, Decimal("3520.5"), 3),
        "Communication": (8000, 4300, 2),
        "Restauration": (5000, 640, 1),
        "Animation": (15000, 6900, 2),
        "Études": (5000, 0, 0),
        "Sans poste": (0, 12, 1),
    }
    total = summary[-1]
    assert total[0] == "Total"
    assert total[1:3] == ("=SUM(B3:B8)", "=SUM(C3:C8)")


def test_xlsx_for_a_period_names_it(console: Console) -> None:
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
    assert summary[0][0] == "Budget participatif de Bondy — novembre 2026"
    spent = {row[0]: row[2] for row in summary[2:-1]}
    assert spent["Communication"] == 1960
    assert spent["Logistique"] == 420


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
    assert len(rows) == 2
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
