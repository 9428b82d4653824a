"""The digest's picture: budget consumption per line and a milestone timeline, as a PNG.

Drawn with Pillow on an image of its own (no global state shared between threads), in
the DejaVu Sans that matplotlib ships (found without importing matplotlib), and imported
only when a chart is drawn. The spec is plain data (see ``digests.experiment_chart``) so
it can wait in the outbox and be drawn at send time, only for platforms that take files.

Made to be read in a chat's preview, about 360 pixels wide: the picture is 480 pixels
wide, its text 9 to 13 points at 100 dots per inch; each row's name stands on its own line
above its bar or its date (a long name is cut to the width with an ellipsis, never at the
picture's edge), its amount on the right of that line; the time axis has a few dates in
words, none over another. A late milestone has a line from its deadline to today (its
delay), one coming a dotted line to its date, one done none. The layout is worked out
by hand in pixels (``layout``); the shapes are painted at twice the size and halved, so
that they are smooth, and the texts drawn on the halved picture at their own size (the
font engine smooths them): a few milliseconds a chart, where a plotting library's figure, axes
and text engine took a quarter of a second.
"""

from __future__ import annotations

import functools
import importlib.util
import io
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal, get_currency_symbol

from commands.render import babel_locale
from commands.render import plain_message as message
from commands.reply import File

PLANNED_COLOUR = "#d9e2ec"
SPENT_COLOUR = "#2f6f9f"
OVER_COLOUR = "#c0392b"
STATE_COLOURS = {"done": "#2e8b57", "late": "#c0392b", "open": "#2f6f9f"}
TEXT_COLOUR = "#222222"
MUTED_COLOUR = "#555555"
AXIS_COLOUR = "#999999"

WIDTH = 480  # pixels, at 100 dots per inch
MARGIN = 14
TITLE_LINE = 22
HEADER = 52  # a panel's subtitle and legend
ROW = 46
AXIS = 30  # the time axis's dates
GAP = 22
BOTTOM = 10
SCALE = 2  # the shapes are painted at twice the size, then halved

# Sizes in pixels at 100 dots per inch: 13, 11, 10 and 9 points.
TITLE_SIZE = 18
SUBTITLE_SIZE = 15
LABEL_SIZE = 14
SMALL_SIZE = 12.5


@dataclass
class Text:
    """A text of the chart, its box in pixels (left, top, right, bottom)."""

    role: str  # title, subtitle, legend, label, amount, tick
    text: str
    box: tuple[float, float, float, float]
    colour: str = TEXT_COLOUR
    size: float = LABEL_SIZE
    bold: bool = False
    anchor: str = "ls"
    at: tuple[float, float] = (0.0, 0.0)


@dataclass
class Layout:
    """What is drawn where: texts, and shapes as ``(kind, colour, coordinates, width)``."""

    width: int
    height: int
    texts: list[Text] = field(default_factory=list)
    shapes: list[tuple[str, str, tuple[float, ...], float]] = field(default_factory=list)


def render_chart(spec: dict[str, Any]) -> File | None:
    """The PNG of ``spec``, or None when there is nothing to draw."""
    chart = layout(spec)
    if chart is None:
        return None
    locale = str(spec.get("locale", "fr"))
    return File(
        filename=str(spec.get("filename", "digest.png")),
        content=paint(chart),
        title=message("digest.chart_file_title", locale, title=spec.get("title", "")),
        mime_type="image/png",
    )


# -- fonts ------------------------------------------------------------------------------


def _font_dir() -> Path:
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or spec.origin is None:
        raise RuntimeError("matplotlib, which ships the charts' font, is not installed")
    return Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf"


@functools.lru_cache(maxsize=32)
def _font(size: float, bold: bool) -> Any:
    """The font at ``size`` pixels: the layout measures with it, the painter draws with it."""
    from PIL import ImageFont

    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    # The basic layout (kerning, no shaping) is all Latin text needs, and is much faster.
    return ImageFont.truetype(
        str(_font_dir() / name), size=size, layout_engine=ImageFont.Layout.BASIC
    )


@functools.lru_cache(maxsize=4096)
def _text_mask(text: str, size: float, bold: bool, anchor: str) -> tuple[Any, tuple[int, int]]:
    """A text's coverage, drawn once and kept: the legends, subtitles, dates and budget
    lines' names come back in chart after chart (the masks are only read after)."""
    from PIL import Image, ImageDraw

    font = _font(size, bold)
    left, top, right, bottom = font.getbbox(text, anchor=anchor)
    mask = Image.new("L", (max(1, right - left), max(1, bottom - top)), 0)
    ImageDraw.Draw(mask).text((-left, -top), text, font=font, fill=255, anchor=anchor)
    return mask, (left, top)


def _width(text: str, size: float, bold: bool = False) -> float:
    return float(_font(size, bold).getlength(text))


def _fit(text: str, room: float, size: float, bold: bool = False) -> str:
    """``text``, cut with an ellipsis to fit ``room`` pixels."""
    if _width(text, size, bold) <= room:
        return text
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if _width(text[:middle].rstrip() + "…", size, bold) <= room:
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + "…"


def _wrap(text: str, room: float, size: float, bold: bool, lines: int) -> list[str]:
    """``text`` on at most ``lines`` lines of ``room`` pixels, the last cut if need be."""
    out: list[str] = []
    words = text.split()
    while words and len(out) < lines - 1:
        line = words.pop(0)
        while words and _width(f"{line} {words[0]}", size, bold) <= room:
            line += " " + words.pop(0)
        if _width(line, size, bold) > room:
            words.insert(0, line)
            break
        out.append(line)
    if words:
        out.append(_fit(" ".join(words), room, size, bold))
    return out


# -- layout -----------------------------------------------------------------------------


class _Builder:
    def __init__(self, chart: Layout) -> None:
        self.chart = chart

    def text(
        self,
        role: str,
        x: float,
        baseline: float,
        text: str,
        size: float,
        *,
        colour: str = TEXT_COLOUR,
        bold: bool = False,
        right: bool = False,
    ) -> Text:
        width = _width(text, size, bold)
        left = x - width if right else x
        ascent, descent = _font(size, bold).getmetrics()
        box = (left, baseline - ascent, left + width, baseline + descent)
        placed = Text(role, text, box, colour, size, bold, "rs" if right else "ls", (x, baseline))
        self.chart.texts.append(placed)
        return placed

    def shape(self, kind: str, colour: str, points: tuple[float, ...], width: float = 0) -> None:
        self.chart.shapes.append((kind, colour, points, width))

    def legend(self, baseline: float, items: list[tuple[str, str, str]]) -> None:
        x = float(MARGIN)
        for mark, colour, label in items:
            self.text("legend", x, baseline, mark, SMALL_SIZE, colour=colour)
            x += _width(mark, SMALL_SIZE) + 4
            self.text("legend", x, baseline, label, SMALL_SIZE, colour=MUTED_COLOUR)
            x += _width(label, SMALL_SIZE) + 14


def layout(spec: dict[str, Any]) -> Layout | None:
    """Where everything of the chart of ``spec`` goes; None when there is nothing to draw."""
    lines: list[list[Any]] = spec.get("lines") or []
    milestones: list[list[Any]] = spec.get("milestones") or []
    if not lines and not milestones:
        return None
    locale = str(spec.get("locale", "fr"))
    room = WIDTH - 2 * MARGIN
    title = _wrap(str(spec.get("title", "")), room, TITLE_SIZE, True, 2)
    heights = []
    if lines:
        heights.append(HEADER + ROW * len(lines))
    if milestones:
        heights.append(HEADER + ROW * len(milestones) + AXIS)
    top = 12 + TITLE_LINE * len(title) + 12
    total = top + sum(heights) + GAP * (len(heights) - 1) + BOTTOM
    chart = Layout(WIDTH, int(total))
    build = _Builder(chart)
    for n, line in enumerate(title):
        build.text("title", MARGIN, 12 + 17 + TITLE_LINE * n, line, TITLE_SIZE, bold=True)
    if lines:
        by = {
            "experiment": "digest.chart_budget_lab_title",
            "largest": "digest.chart_budget_largest_title",
        }.get(str(spec.get("by")))
        _budget(build, top, lines, str(spec.get("currency", "EUR")), locale, by)
        top += heights[0] + GAP
    if milestones:
        _timeline(build, top, milestones, date.fromisoformat(str(spec["today"])), locale)
    return chart


def _amount(cents: int, currency: str, locale: str) -> str:
    """Whole units, as people glance at them: ``9 500 €``, ``€9,500``."""
    where = babel_locale(locale)
    pattern = where.currency_formats["standard"].pattern.split(";")[0]
    number = format_decimal(round(cents / 100), "#,##0", locale=where)
    symbol = get_currency_symbol(currency, locale=where)
    return pattern.replace("#,##0.00", number).replace("¤", symbol).strip()


def _share(spent: int, planned: int, locale: str) -> str:
    if planned <= 0:
        return ""
    number = round(100 * spent / planned)
    # French puts a narrow no-break space before %.
    return f" · {number}\u202f%" if locale.startswith("fr") else f" · {number}%"


def _budget(
    build: _Builder,
    top: float,
    lines: list[list[Any]],
    currency: str,
    locale: str,
    title_key: str | None,
) -> None:
    subtitle = message(title_key or "digest.chart_budget_title", locale)
    build.text("subtitle", MARGIN, top + 20, subtitle, SUBTITLE_SIZE, bold=True)
    build.legend(
        top + 42,
        [
            ("■", PLANNED_COLOUR, message("digest.chart_planned", locale)),
            ("■", SPENT_COLOUR, message("digest.chart_spent", locale)),
            ("■", OVER_COLOUR, message("digest.chart_over", locale)),
        ],
    )
    planned = [max(0, int(p)) for _, p, _ in lines]
    spent = [max(0, int(s)) for _, _, s in lines]
    widest = max([*planned, *spent, 1])
    room = WIDTH - 2 * MARGIN

    def x(value: int) -> float:
        return MARGIN + room * value / widest

    for i, (label, p, s) in enumerate(
        zip([str(row[0]) for row in lines], planned, spent, strict=True)
    ):
        row = top + HEADER + ROW * i
        over = s > p
        amount = _amount(s, currency, locale) + _share(s, p, locale)
        build.text(
            "amount",
            WIDTH - MARGIN,
            row + 17,
            amount,
            LABEL_SIZE,
            colour=OVER_COLOUR if over else TEXT_COLOUR,
            right=True,
        )
        left = room - _width(amount, LABEL_SIZE) - 14
        build.text("label", MARGIN, row + 17, _fit(label, left, LABEL_SIZE), LABEL_SIZE)
        middle = row + 32
        if p > 0:
            build.shape("rect", PLANNED_COLOUR, (MARGIN, middle - 9, x(p), middle + 9))
        if s > 0:
            colour = OVER_COLOUR if over else SPENT_COLOUR
            build.shape("rect", colour, (MARGIN, middle - 5.5, x(s), middle + 5.5))


def _blend(colour: str, alpha: float) -> str:
    """``colour`` at ``alpha`` over white."""
    rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    mixed = [round(alpha * c + (1 - alpha) * 255) for c in rgb]
    return "#" + "".join(f"{c:02x}" for c in mixed)


def _timeline(
    build: _Builder, top: float, milestones: list[list[Any]], today: date, locale: str
) -> None:
    build.text(
        "subtitle",
        MARGIN,
        top + 20,
        message("digest.chart_timeline_title", locale),
        SUBTITLE_SIZE,
        bold=True,
    )
    items = [
        ("●", STATE_COLOURS[state], message(f"digest.chart_{state}", locale))
        for state in ("done", "late", "open")
    ]
    build.legend(top + 42, [*items, ("┆", MUTED_COLOUR, message("digest.chart_today", locale))])
    days = [date.fromisoformat(str(m[1])) for m in milestones]
    states = [str(m[2]) for m in milestones]
    first, last = min([*days, today]), max([*days, today])
    pad = max(2, round((last - first).days * 0.06))
    start, end = first - timedelta(days=pad), last + timedelta(days=pad)
    span = (end - start).days
    room = WIDTH - 2 * MARGIN

    def x(day: date) -> float:
        return MARGIN + room * (day - start).days / span

    rows_top = top + HEADER
    axis = rows_top + ROW * len(milestones) + 4
    now = x(today)
    for i, (m, day, state) in enumerate(zip(milestones, days, states, strict=True)):
        row = rows_top + ROW * i
        build.text("label", MARGIN, row + 17, _fit(str(m[0]), room, LABEL_SIZE), LABEL_SIZE)
        middle = row + 32
        # Today's line runs through the dates' band of each row, never over a name.
        build.shape("dash", MUTED_COLOUR, (now, row + 23, now, row + ROW), 1)
        if state == "late":
            build.shape(
                "line", _blend(STATE_COLOURS["late"], 0.35), (x(day), middle, now, middle), 3
            )
        elif state == "open" and day > today:
            build.shape(
                "dots", _blend(STATE_COLOURS["open"], 0.6), (now, middle, x(day), middle), 1
            )
        build.shape("dot", STATE_COLOURS[state], (x(day), middle, 4.8))
    build.shape("line", AXIS_COLOUR, (MARGIN, axis, WIDTH - MARGIN, axis), 1)
    # A few dates in words, evenly spaced; one that would touch another is left out.
    where = babel_locale(locale)
    step = max(1, -(-span // 4))
    right = float("-inf")
    for k in range(5):
        day = start + timedelta(days=step // 2 + step * k)
        if day > end:
            break
        words = format_date(day, "d MMM", locale=where)
        half = _width(words, SMALL_SIZE) / 2
        centre = x(day)
        if centre - half < right + 8 or centre + half > WIDTH - 2:
            continue
        build.shape("line", AXIS_COLOUR, (centre, axis, centre, axis + 3), 1)
        placed = build.text(
            "tick", centre - half, axis + 17, words, SMALL_SIZE, colour=MUTED_COLOUR
        )
        right = placed.box[2]


# -- painting ---------------------------------------------------------------------------


def paint(chart: Layout) -> bytes:
    """The PNG of a layout: painted at ``SCALE`` times its size, then reduced."""
    from PIL import Image, ImageDraw

    s = SCALE
    image = Image.new("RGB", (chart.width * s, chart.height * s), "white")
    pen = ImageDraw.Draw(image)
    for kind, colour, p, width in chart.shapes:
        if kind == "rect":
            # A bar of a few cents beside millions is narrower than a pixel: at least one.
            x0, y0 = p[0] * s, p[1] * s
            pen.rectangle([x0, y0, max(x0, p[2] * s - 1), max(y0, p[3] * s - 1)], fill=colour)
        elif kind == "line":
            pen.line([p[0] * s, p[1] * s, p[2] * s, p[3] * s], fill=colour, width=round(width * s))
        elif kind == "dot":
            cx, cy, r = p[0] * s, p[1] * s, p[2] * s
            pen.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
        elif kind in ("dash", "dots"):
            on, off = (3, 2) if kind == "dash" else (1, 2)
            x0, y0, x1, y1 = (v * s for v in p)
            length = max(abs(x1 - x0), abs(y1 - y0))
            steps = int(length // ((on + off) * s)) + 1
            for n in range(steps):
                a = n * (on + off) * s / length if length else 0
                b = min(1.0, a + on * s / length) if length else 0
                pen.line(
                    [
                        x0 + (x1 - x0) * a,
                        y0 + (y1 - y0) * a,
                        x0 + (x1 - x0) * b,
                        y0 + (y1 - y0) * b,
                    ],
                    fill=colour,
                    width=round(width * s),
                )
    # The texts on the halved picture, at their own size: the font engine smooths them
    # itself, and a quarter of the pixels to rasterise made them most of a chart's cost.
    image = image.reduce(s)
    pen = ImageDraw.Draw(image)
    for t in chart.texts:
        mask, (left, top) = _text_mask(t.text, t.size, t.bold, t.anchor)
        pen.bitmap((round(t.at[0]) + left, round(t.at[1]) + top), mask, fill=t.colour)
    # The fastest compression: as small a file within a few per cent, in half the time.
    # (A palette would be smaller still, but greys the anti-aliased text.)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
