"""The funders' reports: the financial report of a grant in the layout of the CERFA
n°15059 (charges by nature and resources by source, planned against actual, the gap in %,
and the lines whose gap needs explaining), and the statement of expenses a European fund
asks for (supplier, SIRET, invoice number and date, payment date, HT, VAT, TTC, eligible
amount). Each as XLSX (figures as values, set up for A4) and PDF (drawn by fpdf2, pure
Python), in the experiment's own language.

Both read their figures from ``ledger.ledger_rows`` and ``ledger.Shares``, the one
computation the chat views read too; the report's amount charged to the grant is the sum
of the statement's eligible amounts.
"""

from __future__ import annotations

import importlib.util
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from commands.core import Context
from commands.render import money
from commands.render import plain_message as message
from commands.services import expenses as budget
from commands.services import ledger
from models import Experiment, Funder, pk

# A gap between planned and actual above this share needs a word of explanation.
GAP_THRESHOLD = 15
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class Line:
    """A row of the report: a class of charges or a source of resources."""

    label: str
    planned: int
    actual: int
    key: str = ""

    @property
    def gap(self) -> float | None:
        """The gap in %, None when nothing was planned."""
        if self.planned == 0:
            return None
        return (self.actual - self.planned) * 100 / self.planned

    @property
    def needs_explaining(self) -> bool:
        gap = self.gap
        return (self.actual > 0) if gap is None else abs(gap) > GAP_THRESHOLD


class StatementRow(tuple[Any, ...]):
    """id, date, line, account, description, supplier, SIRET, invoice number, invoice
    date, payment date, step, HT, VAT, TTC, eligible."""

    __slots__ = ()


@dataclass
class Report:
    experiment: Experiment
    funder: Funder
    period: tuple[date, date] | None
    recoverable: bool
    locale: str
    charges: list[Line] = field(default_factory=list)
    resources: list[Line] = field(default_factory=list)
    statement: list[StatementRow] = field(default_factory=list)
    charged: int = 0

    @property
    def planned(self) -> int:
        return sum(c.planned for c in self.charges)

    @property
    def actual(self) -> int:
        return sum(c.actual for c in self.charges)

    @property
    def gaps(self) -> list[Line]:
        return [x for x in [*self.charges, *self.resources] if x.needs_explaining]


@dataclass(frozen=True)
class Summary:
    planned: int
    actual: int
    charged: int
    gaps: int
    count: int


@dataclass(frozen=True)
class BuiltFile:
    filename: str
    content: bytes
    title: str
    mime: str


@dataclass(frozen=True)
class Built:
    summary: Summary
    files: list[BuiltFile]
    report: Report


def compute(
    ctx: Context, experiment: Experiment, funder: Funder, period: tuple[date, date] | None
) -> Report:
    """The report's figures: every charge actually incurred in ``period`` (service done,
    ordered or paid), by account class; each funder's share of them; the statement's rows
    for ``funder``."""
    locale = experiment.locale
    # The actual charges per line: the budget's own computation, over the period.
    spending = budget.spending(ctx, experiment, period)
    recoverable = spending.counts_ht
    lines = spending.lines
    labels = {pk(line): line.label for line in lines}
    natures = ledger.natures(ctx, experiment)
    shares = ledger.shares_of(ctx, experiment)
    planned: dict[str | None, int] = {}
    for line in lines:
        account = natures.get(pk(line))
        planned[account] = planned.get(account, 0) + line.planned_cents
    actual: dict[str | None, int] = {}
    by_funder: dict[int, int] = {pk(f): 0 for f in shares.funders}
    report = Report(experiment, funder, period, recoverable, locale)
    me = pk(funder)
    step_words = {step: message(f"ledger.step_{step}", locale) for step in ledger.STEPS}
    for line_id, spent in spending.by_line.items():
        account = natures.get(line_id) if line_id is not None else None
        actual[account] = actual.get(account, 0) + spent.realised
    for row in ledger.ledger_rows(ctx, experiment, period):
        if row.status not in ledger.REALISED:
            continue
        cents = ledger.counted(row.ttc, row.ht, recoverable)
        account = natures.get(row.line_id) if row.line_id is not None else None
        parts = shares.split(row, cents)
        for funder_id, part in parts.items():
            by_funder[funder_id] = by_funder.get(funder_id, 0) + part
        eligible = parts.get(me, 0)
        if eligible:
            report.statement.append(
                StatementRow(
                    (
                        row.id,
                        row.spent_on,
                        labels.get(row.line_id, "") if row.line_id is not None else "",
                        account or "",
                        row.description,
                        row.supplier_name or row.supplier_text,
                        row.siret or "",
                        row.invoice_number,
                        row.invoice_date,
                        row.paid_on,
                        step_words[row.status],
                        row.ht,
                        row.vat,
                        row.ttc,
                        eligible,
                    )
                )
            )
    for account in [*ledger.ACCOUNTS, None]:
        if account in planned or account in actual:
            label = message(f"ledger.account_{account or 'none'}", locale)
            report.charges.append(
                Line(label, planned.get(account, 0), actual.get(account, 0), account or "")
            )
    granted = 0
    for f in shares.funders:
        granted += f.granted_cents
        report.resources.append(
            Line(
                message("ledger.report_funder_line", locale, name=f.name),
                f.granted_cents,
                by_funder.get(pk(f), 0),
                f.key,
            )
        )
    own_planned = max(0, report.planned - granted)
    own_actual = report.actual - sum(by_funder.values())
    report.resources.append(
        Line(message("ledger.report_own", locale), own_planned, own_actual, "own")
    )
    report.charged = by_funder.get(me, 0)
    return report


def build(
    ctx: Context,
    experiment: Experiment,
    funder: Funder,
    period: tuple[date, date] | None,
    kind: str,
) -> Built:
    """``kind`` "report" (the CERFA 15059) or "statement" (the statement of expenses)."""
    report = compute(ctx, experiment, funder, period)
    summary = Summary(
        report.planned, report.actual, report.charged, len(report.gaps), len(report.statement)
    )
    locale = report.locale
    stem = message(f"ledger.{kind}_stem", locale)
    slug = f"{stem}-{experiment.slug}-{funder.key}"
    if period is not None:
        slug += f"-{period[0]:%Y%m%d}-{period[1]:%Y%m%d}"
    title = message(
        f"ledger.{kind}_title" if kind == "statement" else "ledger.report_title", locale
    )
    if kind == "report":
        xlsx, pdf = report_xlsx(report), report_pdf(report)
    else:
        xlsx, pdf = statement_xlsx(report), statement_pdf(report)
    files = [
        BuiltFile(f"{slug}.xlsx", xlsx, title, XLSX_MIME),
        BuiltFile(f"{slug}.pdf", pdf, title, "application/pdf"),
    ]
    return Built(summary, files, report)


# -- words of the files -----------------------------------------------------------------


def _m(report: Report, key: str, **params: Any) -> str:
    return message(f"ledger.{key}", report.locale, **params)


def _heading(report: Report) -> list[str]:
    period = (
        _m(report, "report_period", start=report.period[0], end=report.period[1])
        if report.period is not None and report.period[0] != date.min
        else _m(report, "report_period_all")
    )
    basis = _m(report, "basis_ht" if report.recoverable else "basis_ttc")
    return [
        _m(report, "report_subtitle", experiment=report.experiment.name, funder=report.funder.name),
        period,
        _m(report, "report_basis", basis=basis, currency=report.experiment.currency),
    ]


def _gap_text(line: Line, locale: str) -> str:
    gap = line.gap
    if gap is None:
        return "—"
    text = f"{gap:+.1f} %" if locale == "fr" else f"{gap:+.1f}%"
    return text.replace(".", ",") if locale == "fr" else text


def _money(report: Report, cents: int | None) -> str:
    if cents is None:
        return ""
    return money(cents, report.experiment.currency, report.locale)


def _day(report: Report, day: date | None) -> str:
    if day is None:
        return ""
    return day.strftime("%d/%m/%Y") if report.locale == "fr" else day.isoformat()


# -- XLSX -------------------------------------------------------------------------------


def _money_format(currency: str) -> str:
    symbol = {"EUR": "€", "USD": "$", "GBP": "£"}.get(currency, currency)
    return f'#,##0.00 "{symbol}";-#,##0.00 "{symbol}"'


def _a4(sheet: Any, landscape: bool) -> None:
    sheet.page_setup.paperSize = 9  # A4
    sheet.page_setup.orientation = "landscape" if landscape else "portrait"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True


def _euros(cents: int | None) -> Any:
    """Cents as an exact decimal number of units, written to the sheet as a value."""
    return None if cents is None else Decimal(cents) / 100


def report_xlsx(report: Report) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = _m(report, "report_sheet")
    _a4(sheet, landscape=False)
    bold = Font(bold=True)
    fmt = _money_format(report.experiment.currency)
    sheet.append([_m(report, "report_title")])
    sheet["A1"].font = Font(bold=True, size=13)
    for text in _heading(report):
        sheet.append([text])
    sheet.append([])
    head = [_m(report, "report_planned"), _m(report, "report_actual"), _m(report, "report_gap")]

    def block(title: str, rows: list[Line], total_label: str) -> None:
        sheet.append([title, *head])
        for cell in sheet[sheet.max_row]:
            cell.font = bold
        for line in rows:
            _row(line.label, line.planned, line.actual, line.gap)
        total = Line(total_label, sum(x.planned for x in rows), sum(x.actual for x in rows))
        _row(total.label, total.planned, total.actual, total.gap, strong=True)
        sheet.append([])

    def _row(
        label: str, planned: int, actual: int, gap: float | None, strong: bool = False
    ) -> None:
        sheet.append([label, _euros(planned), _euros(actual), None if gap is None else gap / 100])
        r = sheet.max_row
        sheet.cell(r, 2).number_format = fmt
        sheet.cell(r, 3).number_format = fmt
        sheet.cell(r, 4).number_format = "+0.0%;-0.0%;0.0%"
        if strong:
            for cell in sheet[r]:
                cell.font = bold

    block(_m(report, "report_charges"), report.charges, _m(report, "report_total_charges"))
    block(_m(report, "report_resources"), report.resources, _m(report, "report_total_resources"))
    for label, value in (
        (_m(report, "report_granted"), report.funder.granted_cents),
        (_m(report, "report_charged"), report.charged),
    ):
        sheet.append([label, _euros(value)])
        sheet.cell(sheet.max_row, 2).number_format = fmt
    sheet.append(
        [
            _m(report, "report_rate"),
            report.charged / report.funder.granted_cents if report.funder.granted_cents else None,
        ]
    )
    sheet.cell(sheet.max_row, 2).number_format = "0.0%"
    sheet.append([])
    sheet.append([_m(report, "report_explain", threshold=GAP_THRESHOLD)])
    sheet.cell(sheet.max_row, 1).font = bold
    for line in report.gaps:
        sheet.append(
            [line.label, _euros(line.planned), _euros(line.actual), _gap_text(line, report.locale)]
        )
        sheet.cell(sheet.max_row, 2).number_format = fmt
        sheet.cell(sheet.max_row, 3).number_format = fmt
    if not report.gaps:
        sheet.append([_m(report, "report_no_gap", threshold=GAP_THRESHOLD)])
    sheet.append([])
    sheet.append([_m(report, "report_realised_note")])
    sheet.column_dimensions["A"].width = 52
    for column in "BCD":
        sheet.column_dimensions[column].width = 16
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


STATEMENT_COLUMNS = (
    "id",
    "date",
    "line",
    "account",
    "description",
    "supplier",
    "siret",
    "invoice",
    "invoice_date",
    "paid_on",
    "status",
    "ht",
    "vat",
    "ttc",
    "eligible",
)
_MONEY_COLUMNS = (11, 12, 13, 14)
_DATE_COLUMNS = (1, 8, 9)


def _style_of(cell: Any, number_format: str) -> Any:
    cell.number_format = number_format
    return cell._style


def statement_xlsx(report: Report) -> bytes:
    """Written in openpyxl's write-only mode: tens of thousands of rows stream out."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet: Any = book.create_sheet(_m(report, "statement_sheet"))
    _a4(sheet, landscape=True)
    bold = Font(bold=True)
    fmt = _money_format(report.experiment.currency)
    day_fmt = "DD/MM/YYYY" if report.locale == "fr" else "YYYY-MM-DD"
    widths = (8, 12, 18, 8, 36, 26, 16, 16, 12, 12, 14, 13, 12, 13, 14)
    for i, width in enumerate(widths, start=1):
        from openpyxl.utils import get_column_letter

        sheet.column_dimensions[get_column_letter(i)].width = width
    title = WriteOnlyCell(sheet, _m(report, "statement_title"))
    title.font = Font(bold=True, size=13)
    sheet.append([title])
    for text in _heading(report):
        sheet.append([text])
    sheet.append([])
    header = []
    for column in STATEMENT_COLUMNS:
        cell = WriteOnlyCell(sheet, _m(report, f"col_{column}"))
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    # Each cell shares its column's style (never changed once made) rather than setting
    # its number format one by one: at 50,000 rows that is a good part of the time.
    money_style = _style_of(WriteOnlyCell(sheet, 0), fmt)
    day_style = _style_of(WriteOnlyCell(sheet, 0), day_fmt)
    new_cell: Any = WriteOnlyCell
    for row in report.statement:
        values: list[Any] = list(row)
        for i in _MONEY_COLUMNS:
            cell = new_cell(sheet, _euros(values[i]))
            cell._style = money_style
            values[i] = cell
        for i in _DATE_COLUMNS:
            cell = new_cell(sheet, values[i])
            cell._style = day_style
            values[i] = cell
        values[4] = _safe(values[4])
        values[5] = _safe(values[5])
        sheet.append(values)
    total_ttc = sum(r[13] for r in report.statement)
    label = WriteOnlyCell(sheet, _m(report, "col_total"))
    label.font = bold
    total: list[Any] = [label, *[None] * 12]
    for cents in (total_ttc, report.charged):
        cell = WriteOnlyCell(sheet, _euros(cents))
        cell.number_format = fmt
        cell.font = bold
        total.append(cell)
    sheet.append(total)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _safe(text: str) -> str:
    """Text a spreadsheet will not read as a formula."""
    return "'" + text if text.startswith(("=", "+", "-", "@", "\t", "\r")) else text


# -- PDF --------------------------------------------------------------------------------


def _font_dir() -> Path:
    """DejaVu Sans, which draws € and French text, ships with matplotlib (a dependency);
    found without importing matplotlib (seconds)."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or spec.origin is None:
        raise RuntimeError("matplotlib, which ships the reports' font, is not installed")
    return Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf"


def _pdf(landscape: bool) -> Any:
    from fpdf import FPDF

    pdf = FPDF(orientation="L" if landscape else "P", unit="mm", format="A4")
    fonts = _font_dir()
    pdf.add_font("DejaVu", "", str(fonts / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(fonts / "DejaVuSans-Bold.ttf"))
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.set_margins(12, 12, 12)
    pdf.add_page()
    return pdf


def _pdf_heading(pdf: Any, report: Report, title: str) -> None:
    pdf.set_font("DejaVu", "B", 13)
    pdf.multi_cell(0, 7, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    for text in _heading(report):
        pdf.multi_cell(0, 5, text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)


def report_pdf(report: Report) -> bytes:
    pdf = _pdf(landscape=False)
    _pdf_heading(pdf, report, _m(report, "report_title"))
    widths = (96, 30, 30, 30)

    def row(cells: list[str], strong: bool = False) -> None:
        pdf.set_font("DejaVu", "B" if strong else "", 9)
        for i, (text, width) in enumerate(zip(cells, widths, strict=True)):
            pdf.cell(width, 6, text, border=1, align="L" if i == 0 else "R")
        pdf.ln(6)

    head = [_m(report, "report_planned"), _m(report, "report_actual"), _m(report, "report_gap")]
    for title, lines, total_key in (
        (_m(report, "report_charges"), report.charges, "report_total_charges"),
        (_m(report, "report_resources"), report.resources, "report_total_resources"),
    ):
        row([title, *head], strong=True)
        for line in lines:
            row(
                [
                    line.label,
                    _money(report, line.planned),
                    _money(report, line.actual),
                    _gap_text(line, report.locale),
                ]
            )
        total = Line("", sum(x.planned for x in lines), sum(x.actual for x in lines))
        row(
            [
                _m(report, total_key),
                _money(report, total.planned),
                _money(report, total.actual),
                _gap_text(total, report.locale),
            ],
            strong=True,
        )
        pdf.ln(4)
    pdf.set_font("DejaVu", "", 9)
    rate = report.charged / report.funder.granted_cents if report.funder.granted_cents else 0
    for label, value in (
        (_m(report, "report_granted"), _money(report, report.funder.granted_cents)),
        (_m(report, "report_charged"), _money(report, report.charged)),
        (
            _m(report, "report_rate"),
            f"{rate * 100:.1f} %".replace(".", ",")
            if report.locale == "fr"
            else f"{rate * 100:.1f}%",
        ),
    ):
        pdf.cell(96, 6, label)
        pdf.cell(30, 6, value, align="R")
        pdf.ln(6)
    pdf.ln(3)
    pdf.set_font("DejaVu", "B", 9)
    pdf.multi_cell(
        0, 6, _m(report, "report_explain", threshold=GAP_THRESHOLD), new_x="LMARGIN", new_y="NEXT"
    )
    pdf.set_font("DejaVu", "", 9)
    for line in report.gaps:
        pdf.multi_cell(
            0,
            5,
            f"• {line.label} : {_money(report, line.planned)} → {_money(report, line.actual)} ({_gap_text(line, report.locale)})",
            new_x="LMARGIN",
            new_y="NEXT",
        )
    if not report.gaps:
        pdf.multi_cell(
            0,
            5,
            _m(report, "report_no_gap", threshold=GAP_THRESHOLD),
            new_x="LMARGIN",
            new_y="NEXT",
        )
    pdf.ln(2)
    pdf.multi_cell(0, 5, _m(report, "report_realised_note"), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def statement_pdf(report: Report) -> bytes:
    """The statement as a PDF table. Its body (tens of thousands of rows) is drawn with
    fpdf2's plain ``text`` and one grid per page rather than a ``cell`` per value, which
    costs ten times as much; what a row shows is the same."""
    pdf = _pdf(landscape=True)
    _pdf_heading(pdf, report, _m(report, "statement_title"))
    # The statement's columns on a landscape A4 page (273 mm between the margins); the
    # line and account columns are in the XLSX.
    columns = (
        (0, 11),
        (1, 18),
        (4, 50),
        (5, 38),
        (6, 24),
        (7, 24),
        (8, 18),
        (9, 18),
        (11, 18),
        (12, 16),
        (13, 18),
        (14, 20),
    )
    money_columns = set(_MONEY_COLUMNS)
    height = 5.0
    left = pdf.l_margin
    edges = [left]
    for _, width in columns:
        edges.append(edges[-1] + width)
    bottom = pdf.h - pdf.b_margin
    as_money = MoneyText(report.experiment.currency, report.locale)
    fitted: dict[tuple[str, float], str] = {}

    def measure(text: str) -> float:
        """The width of ``text`` in the body's font, in mm: fpdf2's own sum of the glyphs'
        widths, without its text shaping (none in these cells)."""
        return float(pdf.current_font.get_text_width(text, pdf.font_size_pt, None)[1]) / pdf.k

    def header() -> None:
        pdf.set_font("DejaVu", "B", 7)
        for index, width in columns:
            pdf.cell(width, height, _m(report, f"col_{STATEMENT_COLUMNS[index]}"), border=1)
        pdf.ln(height)
        pdf.set_font("DejaVu", "", 7)

    def grid(top: float, y: float) -> None:
        """The cells' borders of the rows drawn on this page, from ``top`` to ``y``."""
        if y <= top:
            return
        for x in edges:
            pdf.line(x, top, x, y)
        row_y = top + height
        while row_y <= y + 0.001:
            pdf.line(left, row_y, edges[-1], row_y)
            row_y += height

    header()
    top = y = pdf.get_y()
    baseline = height / 2 + 0.3 * pdf.font_size
    for row in report.statement:
        if y + height > bottom:
            grid(top, y)
            pdf.add_page()
            header()
            top = y = pdf.get_y()
        for (index, width), x in zip(columns, edges, strict=False):
            value = row[index]
            if value is None or value == "":
                continue
            if index in money_columns:
                text = as_money(value)
                pdf.text(x + width - 1 - measure(text), y + baseline, text)
                continue
            if isinstance(value, date):
                text = _day(report, value)
            else:
                key = (str(value), width)
                text = fitted.get(key) or fitted.setdefault(key, _fit(measure, key[0], width))
            pdf.text(x + 1, y + baseline, text)
        y += height
    grid(top, y)
    pdf.set_xy(left, y)
    if y + 6 > bottom:
        pdf.add_page()
    pdf.set_font("DejaVu", "B", 8)
    pdf.cell(sum(w for _, w in columns[:-1]), 6, _m(report, "col_total"), border=1)
    pdf.cell(columns[-1][1], 6, _money(report, report.charged), border=1, align="R")
    pdf.ln(6)
    return bytes(pdf.output())


class MoneyText:
    """``render.money`` for many amounts: the locale's pattern read once from two
    samples, then plain integer formatting (a test holds it equal to ``money``)."""

    def __init__(self, currency: str, locale: str) -> None:
        self.parts = {
            sign: self._parts(money(sign * 123456789, currency, locale)) for sign in (1, -1)
        }

    @staticmethod
    def _parts(sample: str) -> tuple[str, str, str, str]:
        first = next(i for i, c in enumerate(sample) if c.isdigit())
        last = max(i for i, c in enumerate(sample) if c.isdigit())
        digits = sample[first : last + 1]  # 1?234?567?89
        return sample[:first], digits[1], digits[9], sample[last + 1 :]

    def __call__(self, cents: int) -> str:
        prefix, group, decimal, suffix = self.parts[-1 if cents < 0 else 1]
        units, rest = divmod(abs(cents), 100)
        return f"{prefix}{units:,}".replace(",", group) + f"{decimal}{rest:02d}{suffix}"


def _fit(measure: Callable[[str], float], text: str, width: float) -> str:
    """``text`` cut with an ellipsis to fit its cell."""
    if measure(text) <= width - 2:
        return text
    while text and measure(text + "…") > width - 2:
        text = text[:-1]
    return text + "…"
