"""The digest's picture: budget consumption per line and a milestone timeline, as a PNG.

Drawn with matplotlib's Agg canvas on a ``Figure`` of its own (no pyplot, so no global
state shared between threads), imported only when a chart is drawn: a process that
never draws one never loads matplotlib. The spec is plain data (see
``digests.experiment_chart``) so it can wait in the outbox and be drawn at send time,
only for platforms that take files.
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from babel.numbers import format_decimal, get_currency_symbol

from commands.render import babel_locale, money
from commands.render import plain_message as message
from commands.reply import File

PLANNED_COLOUR = "#d9e2ec"
SPENT_COLOUR = "#2f6f9f"
OVER_COLOUR = "#c0392b"
STATE_COLOURS = {"done": "#2e8b57", "late": "#c0392b", "open": "#2f6f9f"}
TITLE_LIMIT = 38
DPI = 110


def _short(text: str, limit: int = TITLE_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_chart(spec: dict[str, Any]) -> File | None:
    """The PNG of ``spec``, or None when there is nothing to draw."""
    lines: list[list[Any]] = spec.get("lines") or []
    milestones: list[list[Any]] = spec.get("milestones") or []
    if not lines and not milestones:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    locale = str(spec.get("locale", "fr"))
    panels = [p for p in (lines, milestones) if p]
    heights = [max(1.6, 0.42 * len(p) + 0.9) for p in panels]
    total = sum(heights) + 0.5
    figure = Figure(figsize=(8.5, total), dpi=DPI)
    FigureCanvasAgg(figure)
    # Fixed margins (in inches) rather than a layout engine, which would cost a third of
    # the drawing: the labels are cut short enough to fit.
    figure.subplots_adjust(
        left=2.6 / 8.5, right=0.96, top=1 - 0.75 / total, bottom=0.45 / total, hspace=0.55
    )
    axes = figure.subplots(len(panels), 1, squeeze=False, height_ratios=heights)[:, 0]
    figure.suptitle(_short(str(spec.get("title", "")), 70), fontsize=12, fontweight="bold")
    panel = 0
    if lines:
        _budget(axes[panel], lines, str(spec.get("currency", "EUR")), locale)
        panel += 1
    if milestones:
        _timeline(axes[panel], milestones, date.fromisoformat(str(spec["today"])), locale)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return File(
        filename=str(spec.get("filename", "digest.png")),
        content=buffer.getvalue(),
        title=message("digest.chart_file_title", locale, title=spec.get("title", "")),
        mime_type="image/png",
    )


def _budget(ax: Any, lines: list[list[Any]], currency: str, locale: str) -> None:
    labels = [_short(str(label), 28) for label, _, _ in lines]
    planned = [max(0, int(p)) / 100 for _, p, _ in lines]
    spent = [int(s) / 100 for _, _, s in lines]
    rows = list(range(len(lines)))[::-1]
    ax.barh(rows, planned, color=PLANNED_COLOUR, label=message("digest.chart_planned", locale))
    ax.barh(
        rows,
        spent,
        height=0.5,
        color=[OVER_COLOUR if s > p else SPENT_COLOUR for s, p in zip(spent, planned, strict=True)],
        label=message("digest.chart_spent", locale),
    )
    widest = max([*planned, *spent, 1.0])
    for row, p, s, (_, _, cents) in zip(rows, planned, spent, lines, strict=True):
        share = f" {round(100 * s / p)} %" if p > 0 else ""
        ax.text(
            max(p, s) + widest * 0.01,
            row,
            money(int(cents), currency, locale) + share,
            va="center",
            fontsize=8,
        )
    from matplotlib.ticker import FuncFormatter

    where = babel_locale(locale)
    ax.xaxis.set_major_formatter(
        FuncFormatter(lambda value, _: format_decimal(value, "#,##0", locale=where))
    )
    ax.set_xlabel(get_currency_symbol(currency, locale=where), fontsize=8, loc="right")
    ax.set_yticks(rows, labels, fontsize=9)
    ax.set_xlim(0, widest * 1.35)
    ax.set_title(message("digest.chart_budget_title", locale), fontsize=10, loc="left")
    ax.tick_params(axis="x", labelsize=8)
    ax.legend(fontsize=8, loc="lower right", bbox_to_anchor=(1.0, 1.0), frameon=False, ncols=2)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _timeline(ax: Any, milestones: list[list[Any]], today: date, locale: str) -> None:
    from matplotlib.dates import DateFormatter

    titles = [_short(str(m[0])) for m in milestones]
    days = [date.fromisoformat(str(m[1])) for m in milestones]
    states = [str(m[2]) for m in milestones]
    rows = list(range(len(milestones)))[::-1]
    for state in ("done", "late", "open"):
        picked = [(d, r) for d, r, s in zip(days, rows, states, strict=True) if s == state]
        if picked:
            ax.scatter(
                [d for d, _ in picked],
                [r for _, r in picked],
                s=60,
                color=STATE_COLOURS[state],
                label=message(f"digest.chart_{state}", locale),
                zorder=3,
            )
    for d, r in zip(days, rows, strict=True):
        ax.hlines(r, min(d, today), max(d, today), color="#cccccc", linewidth=1, zorder=1)
    ax.axvline(today, color="#555555", linestyle="--", linewidth=1)
    ax.text(today, max(rows) + 0.6, message("digest.chart_today", locale), fontsize=8, ha="center")
    ax.set_yticks(rows, titles, fontsize=9)
    ax.set_ylim(-0.7, max(rows) + 1.1)
    ax.xaxis.set_major_formatter(DateFormatter("%d/%m"))
    ax.tick_params(axis="x", labelsize=8)
    ax.set_title(message("digest.chart_timeline_title", locale), fontsize=10, loc="left")
    ax.legend(fontsize=8, loc="lower right", bbox_to_anchor=(1.0, 1.0), frameon=False, ncols=3)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
