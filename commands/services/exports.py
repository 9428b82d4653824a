"""Exports for the finance department, in the experiment's own convention (its locale, a
setting: not the language of whoever typed the command). French: CSV with ``;`` between
fields and decimal commas, dates as 24/11/2026; English: ``,`` and decimal points, ISO
dates. Both with a UTF-8 byte order mark, so spreadsheets read the accents and the numbers.

The XLSX is written in openpyxl's write-only mode (rows streamed, not held as cell
objects): a sheet of the expenses with their total, and a summary per line: the plan,
what the period spent, what was spent to date and what really remains, with the
unallocated part and the total, all from the one budget computation
(``commands.services.budget``). Every figure is a value, not a formula (a file read by a
program, a preview or a mail client has no spreadsheet to compute it). Each sheet prints
landscape on one page width, its header row on every page, under a title line.

Text is never a formula: a text starting with ``=`` (or ``+ - @``) stays text in every
column. Control characters are dropped (stored text never breaks a file).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from babel.numbers import get_currency_symbol
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from commands.render import plain_message as message
from commands.services.budget import BudgetState, Spent, total_of
from commands.services.expenses import ExportRow

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORBIDDEN_IN_SHEET_NAMES = str.maketrans(dict.fromkeys("[]:*?/\\", " "))
FONT = "Calibri"


@dataclass(frozen=True)
class ExportSpec:
    """What every export needs besides the rows: the file's language (the experiment's),
    the currency, and the title line (experiment, period, day of export)."""

    locale: str
    currency: str
    title: str
    period: str
    heading: str = ""
    counts_ht: bool = False  # how the budget counts: said in the CSV's last column


@dataclass(frozen=True)
class SummaryRow:
    """One line of the summary (or the unallocated part, or the total): its plan, what the
    period spent (and in how many expenses), what was spent to date, what remains."""

    label: str
    planned_cents: int
    period_cents: int
    period_count: int
    to_date_cents: int
    foreseen_cents: int = 0
    committed_cents: int = 0
    paid_cents: int = 0

    @property
    def remaining_cents(self) -> int:
        return self.planned_cents - self.to_date_cents

    @property
    def fraction(self) -> float | None:
        return self.to_date_cents / self.planned_cents if self.planned_cents > 0 else None


def summary_rows(
    state: BudgetState,
    in_period: dict[int | None, Spent] | None,
    unallocated_label: str,
) -> list[SummaryRow]:
    """The lines, the unallocated part and the total, to date from ``state`` and for the
    period from ``in_period`` (what is counted per line id; None: the period is all time)."""
    rows = []
    known = {g.line.id for g in state.lines if g.line is not None}
    for gauge in state.rows:
        if in_period is None:
            spent = gauge.spent
        elif gauge.line is not None:
            spent = in_period.get(gauge.line.id, Spent())
        else:
            spent = total_of(v for k, v in in_period.items() if k not in known)
        rows.append(
            SummaryRow(
                gauge.label or unallocated_label,
                gauge.planned_cents,
                spent.spent,
                spent.count,
                gauge.spent_cents,
                gauge.foreseen_cents,
                gauge.committed_cents,
                gauge.paid_cents,
            )
        )
    return rows


def total_row(rows: list[SummaryRow], state: BudgetState, label: str) -> SummaryRow:
    return SummaryRow(
        label,
        state.total.planned_cents,
        sum(r.period_cents for r in rows),
        sum(r.period_count for r in rows),
        state.total.spent_cents,
        state.total.foreseen_cents,
        state.total.committed_cents,
        state.total.paid_cents,
    )


# The columns of each format. The workbook's amount column is formatted in the currency,
# so it needs no currency column; the CSV, plain text, says it.
XLSX_COLUMNS = ("id", "date", "line", "description", "supplier", "amount", "receipt", "author")
XLSX_WIDTHS = (7, 11, 20, 48, 24, 13, 34, 13)
CSV_COLUMNS = (*XLSX_COLUMNS[:6], "currency", *XLSX_COLUMNS[6:])
SUMMARY_COLUMNS = (
    "line",
    "planned",
    "period_spent",
    "count",
    "spent_to_date",
    "foreseen",
    "committed_unpaid",
    "paid",
    "remaining",
)
SUMMARY_WIDTHS = (34, 15, 17, 11, 17, 15, 17, 15, 15, 9)


def _headers(locale: str, columns: tuple[str, ...]) -> list[str]:
    return [message(f"expenses.col_{k}", locale) for k in columns]


def clean(text: str) -> str:
    """Text without the control characters a file may not hold."""
    return ILLEGAL_CHARACTERS_RE.sub("", text)


def _safe(text: str) -> str:
    """Text that a spreadsheet will not read as a formula, with no control character."""
    text = clean(text)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def safe_text(text: str) -> str:
    """``_safe``, for the other files written in the export's convention."""
    return _safe(text)


def amount_text(cents: int, locale: str) -> str:
    """An amount as the export writes it: ``-1234,50`` in French, ``-1234.50`` in English."""
    return _amount_text(cents, locale)


def day_text(day: date, locale: str) -> str:
    return _day_text(day, locale)


def _amount_text(cents: int, locale: str) -> str:
    units, rest = divmod(cents, 100)
    sign = "-" if units < 0 else ""
    separator = "," if locale == "fr" else "."
    return f"{sign}{abs(units)}{separator}{rest:02d}"


def _day_text(day: date, locale: str) -> str:
    return day.strftime("%d/%m/%Y") if locale == "fr" else day.isoformat()


def expenses_csv(rows: Iterable[ExportRow], spec: ExportSpec) -> bytes:
    """One line per expense, UTF-8 with a byte order mark, ``;`` and decimal commas in
    French, ``,`` and decimal points in English."""
    buffer = io.StringIO()
    delimiter = ";" if spec.locale == "fr" else ","
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(
        [
            *_headers(spec.locale, CSV_COLUMNS),
            message("expenses.col_step", spec.locale),
            message("expenses.col_counted", spec.locale, ht=spec.counts_ht),
        ]
    )
    steps: dict[str, str] = {}
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
                _safe(row.author),
                steps.get(row.status)
                or steps.setdefault(row.status, message(f"ledger.step_{row.status}", spec.locale)),
                _amount_text(row.counted_cents, spec.locale),
            ]
        )
    return buffer.getvalue().encode("utf-8-sig")


def money_format(currency: str, locale: str) -> str:
    symbol = get_currency_symbol(currency, locale="fr_FR" if locale == "fr" else "en_GB")
    return f'#,##0.00 "{symbol}";-#,##0.00 "{symbol}"'


def sheet_name(text: str) -> str:
    return text.translate(_FORBIDDEN_IN_SHEET_NAMES).strip()[:31] or "Sheet"


class _Cells:
    """Cells for one write-only sheet. A styled cell shares the style of a prototype
    rather than setting its number format and font one by one (a lookup each), and plain
    text is handed over as is: at 50,000 rows that is most of the time saved."""

    def __init__(self, sheet: WriteOnlyWorksheet, money: str) -> None:
        self.sheet = sheet
        wrap = Alignment(wrap_text=True, vertical="top")
        top = Alignment(vertical="top")
        self.styles = {
            "money": self._prototype(money, top),
            "money bold": self._prototype(money, top, bold=True),
            "day": self._prototype("DD/MM/YYYY", top),
            "plain": self._prototype(None, None),
            "wrapped": self._prototype(None, wrap),
            "bold": self._prototype(None, wrap, bold=True),
            "title": self._prototype(None, None, bold=True, size=13),
            "percent": self._prototype("0%", top),
            "percent bold": self._prototype("0%", top, bold=True),
            "count bold": self._prototype(None, top, bold=True),
        }

    def _prototype(
        self,
        number_format: str | None,
        alignment: Alignment | None,
        *,
        bold: bool = False,
        size: int = 11,
    ) -> StyleArray:
        cell = WriteOnlyCell(self.sheet, 0)
        if number_format is not None:
            cell.number_format = number_format
        cell.font = Font(name=FONT, bold=bold, size=size)
        if alignment is not None:
            cell.alignment = alignment
        style: StyleArray = cell._style  # type: ignore[attr-defined]
        return style

    def styled(self, value: Any, style: str) -> Cell:
        cell = WriteOnlyCell(self.sheet, value)
        # Shared, never changed: a written cell only reads its style's ids.
        cell._style = self.styles[style]  # type: ignore[attr-defined]
        return cell

    def text(self, value: str, style: str | None = None) -> Cell | str:
        """Text as text; plain (no style: the workbook's font) unless ``style`` says."""
        value = clean(value)
        if value.startswith("="):
            cell = self.styled(value, style or "plain")
            cell.data_type = "s"  # text that looks like a formula stays text
            return cell
        return value if style is None else self.styled(value, style)

    def amount(self, cents: int, *, bold: bool = False) -> Cell:
        return self.styled(Decimal(cents) / 100, "money bold" if bold else "money")

    def day(self, value: date) -> Cell:
        return self.styled(value, "day")

    def header(self, labels: list[str]) -> list[Cell | str]:
        return [self.text(label, "bold") for label in labels]


def _page_setup(sheet: Any, widths: tuple[int, ...]) -> None:
    """Landscape A4, one page wide, the header row (row 2) on every page."""
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = "9"  # A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = "2:2"
    sheet.print_options.gridLines = True
    sheet.freeze_panes = "A3"


def expenses_xlsx(
    rows: Iterable[ExportRow],
    summary: list[SummaryRow],
    total: SummaryRow,
    spec: ExportSpec,
) -> bytes:
    """A workbook: the expenses (one row each, a total at the bottom) and a summary, one
    row per budget line, the unallocated part and the total."""
    book = Workbook(write_only=True)
    money = money_format(spec.currency, spec.locale)
    sheet = book.create_sheet(sheet_name(message("expenses.sheet_expenses", spec.locale)))
    _page_setup(sheet, XLSX_WIDTHS)
    cells = _Cells(sheet, money)
    headers = _headers(spec.locale, XLSX_COLUMNS)
    sheet.append([cells.text(spec.heading, "title")])
    sheet.append(cells.header(headers))
    count = 0
    spent = 0
    text, styles = cells.text, cells.styles
    day_style, money_style = styles["day"], styles["money"]
    new_cell: Any = WriteOnlyCell
    for row in rows:
        count += 1
        spent += row.amount_cents
        day = new_cell(sheet, row.spent_on)
        day._style = day_style
        amount = new_cell(sheet, Decimal(row.amount_cents) / 100)
        amount._style = money_style
        sheet.append(
            [
                row.id,
                day,
                text(row.line_label),
                text(row.description, "wrapped"),
                text(row.supplier),
                amount,
                text(row.receipt_url),
                text(row.author),
            ]
        )
    last = count + 2
    sheet.auto_filter.ref = f"A2:{get_column_letter(len(headers))}{last}"
    sheet.append(
        [
            None,
            None,
            None,
            cells.text(message("expenses.col_total", spec.locale), "bold"),
            None,
            cells.amount(spent, bold=True),
        ]
    )

    summary_sheet = book.create_sheet(sheet_name(message("expenses.sheet_summary", spec.locale)))
    _page_setup(summary_sheet, SUMMARY_WIDTHS)
    s = _Cells(summary_sheet, money)
    summary_sheet.append([s.text(spec.heading, "title")])
    summary_sheet.append(
        s.header(
            [*_headers(spec.locale, SUMMARY_COLUMNS), message("expenses.col_percent", spec.locale)]
        )
    )
    for figures in [*summary, total]:
        bold = figures is total
        fraction = figures.fraction
        summary_sheet.append(
            [
                s.text(figures.label, "bold" if bold else None),
                s.amount(figures.planned_cents, bold=bold),
                s.amount(figures.period_cents, bold=bold),
                s.styled(figures.period_count, "count bold") if bold else figures.period_count,
                s.amount(figures.to_date_cents, bold=bold),
                s.amount(figures.foreseen_cents, bold=bold),
                s.amount(figures.committed_cents, bold=bold),
                s.amount(figures.paid_cents, bold=bold),
                s.amount(figures.remaining_cents, bold=bold),
                s.styled(round(fraction, 4), "percent bold" if bold else "percent")
                if fraction is not None
                else None,
            ]
        )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
