"""Exports for the finance department: CSV that French Excel opens right (``;`` between
fields, a UTF-8 byte order mark, decimal commas in French) and XLSX written in openpyxl's
write-only mode (rows streamed to disk, not held as cell objects), with a sheet of the
expenses and a summary sheet with one row per budget line.

Cells are never formulas by accident: a text starting with ``=`` (or ``+ - @``) stays text,
so a description cannot run in the accountant's spreadsheet.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from copy import copy
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from babel.numbers import get_currency_symbol
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.styles import Font
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from commands.render import message
from commands.services.expenses import ExportRow, Gauge

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORBIDDEN_IN_SHEET_NAMES = str.maketrans(dict.fromkeys("[]:*?/\\", " "))


@dataclass(frozen=True)
class ExportSpec:
    """What every export needs besides the rows: the reader's language, the currency,
    the experiment's name and the period in words (for titles)."""

    locale: str
    currency: str
    title: str
    period: str


# The columns of each format. The workbook's amount column is formatted in the currency,
# so it needs no currency column; the CSV, plain text, says it.
XLSX_COLUMNS = ("id", "date", "line", "description", "supplier", "amount", "receipt", "author")
CSV_COLUMNS = (*XLSX_COLUMNS[:6], "currency", *XLSX_COLUMNS[6:])


def _headers(locale: str, columns: tuple[str, ...]) -> list[str]:
    return [message(f"expenses.col_{k}", locale) for k in columns]


def _safe(text: str) -> str:
    """Text that a spreadsheet will not read as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _amount_text(cents: int, locale: str) -> str:
    units, rest = divmod(cents, 100)
    separator = "," if locale == "fr" else "."
    return f"{units}{separator}{rest:02d}"


def _day_text(day: date, locale: str) -> str:
    return day.strftime("%d/%m/%Y") if locale == "fr" else day.isoformat()


def expenses_csv(rows: Iterable[ExportRow], spec: ExportSpec) -> bytes:
    """One line per expense, ``;``-separated, UTF-8 with a byte order mark."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(_headers(spec.locale, CSV_COLUMNS))
    for row in rows:
        writer.writerow(
            [
                row.id,
                _day_text(row.spent_on, spec.locale),
                _safe(row.line_label),
                _safe(row.description),
                _safe(row.supplier),
                _amount_text(row.amount_cents, spec.locale),
                row.currency,
                _safe(row.receipt_url),
                row.author,
            ]
        )
    return buffer.getvalue().encode("utf-8-sig")


def money_format(currency: str, locale: str) -> str:
    symbol = get_currency_symbol(currency, locale="fr_FR" if locale == "fr" else "en_GB")
    return f'#,##0.00 "{symbol}";-#,##0.00 "{symbol}"'


def sheet_name(text: str) -> str:
    return text.translate(_FORBIDDEN_IN_SHEET_NAMES).strip()[:31] or "Sheet"


class _Cells:
    """Cells for one write-only sheet. A styled cell copies the style of a prototype
    rather than setting its number format and font one by one (a lookup each), and plain
    text is handed over as is: at 50,000 rows that is most of the time saved."""

    def __init__(self, sheet: WriteOnlyWorksheet, money: str) -> None:
        self.sheet = sheet
        self.styles = {
            "money": self._prototype(money, bold=False),
            "money bold": self._prototype(money, bold=True),
            "day": self._prototype("DD/MM/YYYY", bold=False),
            "bold": self._prototype(None, bold=True),
            "percent": self._prototype("0%", bold=False),
            "percent bold": self._prototype("0%", bold=True),
        }

    def _prototype(self, number_format: str | None, *, bold: bool) -> StyleArray:
        cell = WriteOnlyCell(self.sheet, 0)
        if number_format is not None:
            cell.number_format = number_format
        if bold:
            cell.font = Font(bold=True)
        style: StyleArray = cell._style  # type: ignore[attr-defined]
        return style

    def styled(self, value: Any, style: str) -> Cell:
        cell = WriteOnlyCell(self.sheet, value)
        cell._style = copy(self.styles[style])  # type: ignore[attr-defined]
        return cell

    def text(self, value: str, *, bold: bool = False) -> Cell | str:
        if bold:
            cell = self.styled(value, "bold")
        elif value.startswith("="):
            cell = WriteOnlyCell(self.sheet, value)
        else:
            return value
        if value.startswith("="):
            cell.data_type = "s"  # text that looks like a formula stays text
        return cell

    def amount(self, cents: int | str, *, bold: bool = False) -> Cell:
        value: Any = Decimal(cents) / 100 if isinstance(cents, int) else cents
        return self.styled(value, "money bold" if bold else "money")

    def day(self, value: date) -> Cell:
        return self.styled(value, "day")

    def header(self, labels: list[str]) -> list[Cell | str]:
        return [self.text(label, bold=True) for label in labels]


def expenses_xlsx(
    rows: Iterable[ExportRow],
    summary: list[Gauge],
    spec: ExportSpec,
    unassigned: str,
) -> bytes:
    """A workbook: the expenses (one row each, a total at the bottom) and a summary, one
    row per budget line with its plan and what was spent in the period."""
    book = Workbook(write_only=True)
    money = money_format(spec.currency, spec.locale)
    sheet = book.create_sheet(sheet_name(message("expenses.sheet_expenses", spec.locale)))
    for column, width in enumerate((8, 12, 22, 50, 28, 14, 40, 14), start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.freeze_panes = "A2"
    cells = _Cells(sheet, money)
    headers = _headers(spec.locale, XLSX_COLUMNS)
    sheet.append(cells.header(headers))
    count = 0
    for row in rows:
        count += 1
        sheet.append(
            [
                row.id,
                cells.day(row.spent_on),
                cells.text(row.line_label),
                cells.text(row.description),
                cells.text(row.supplier),
                cells.amount(row.amount_cents),
                cells.text(row.receipt_url),
                row.author,
            ]
        )
    last = count + 1
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{last}"
    sheet.append(
        [
            None,
            None,
            None,
            cells.text(message("expenses.col_total", spec.locale), bold=True),
            None,
            cells.amount(f"=SUM(F2:F{last})" if count else 0, bold=True),
        ]
    )

    summary_sheet = book.create_sheet(sheet_name(message("expenses.sheet_summary", spec.locale)))
    for column, width in enumerate((34, 16, 16, 16, 12, 10), start=1):
        summary_sheet.column_dimensions[get_column_letter(column)].width = width
    s = _Cells(summary_sheet, money)
    summary_sheet.append([s.text(f"{spec.title} — {spec.period}", bold=True)])
    summary_sheet.append(
        s.header(
            [
                message(f"expenses.col_{k}", spec.locale)
                for k in ("line", "planned", "spent", "remaining", "count", "percent")
            ]
        )
    )
    first = 3
    for n, gauge in enumerate(summary, start=first):
        percent = s.styled(f'=IF(B{n}>0,C{n}/B{n},"")', "percent")
        summary_sheet.append(
            [
                s.text(gauge.label or unassigned),
                s.amount(gauge.planned_cents),
                s.amount(gauge.spent_cents),
                s.amount(f"=B{n}-C{n}"),
                gauge.count,
                percent,
            ]
        )
    end = first + len(summary) - 1
    total_row = end + 1
    percent = s.styled(f'=IF(B{total_row}>0,C{total_row}/B{total_row},"")', "percent bold")
    summary_sheet.append(
        [
            s.text(message("expenses.col_total", spec.locale), bold=True),
            s.amount(f"=SUM(B{first}:B{end})" if summary else 0, bold=True),
            s.amount(f"=SUM(C{first}:C{end})" if summary else 0, bold=True),
            s.amount(f"=B{total_row}-C{total_row}", bold=True),
            f"=SUM(E{first}:E{end})" if summary else 0,
            percent,
        ]
    )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
