"""The digest's chart, checked at a chat preview's size: what it says, and where every
text lands (the layout's boxes, the same the painter uses), in French and English, with
long names."""

from __future__ import annotations

import io
from itertools import combinations, pairwise
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import Engine
from sqlmodel import Session, select

from commands.services import charts, digests
from models import Experiment, Workspace
from tests.conftest import NOW

PREVIEW = 360
LONG = "Saint-Denis : cantines bio et circuits courts dans les écoles élémentaires du quartier"


def spec(locale: str, *, lab: bool) -> dict[str, Any]:
    lines = [
        [LONG, 5_200_000, 2_600_000],
        ["Montreuil : tiers-lieu numérique", 2_500_000, 2_700_000],
        ["Pantin", 900_000, 850_000],
        ["Bobigny", 0, 120_000],
    ]
    milestones = [
        [
            "bondy-bp · Clôturer le dépôt des projets citoyens de la deuxième édition",
            "2026-11-20",
            "late",
        ],
        ["pantin · Bilan", "2026-10-29", "done"],
        ["montreuil-tl · Ouverture", "2026-11-29", "open"],
        [LONG, "2026-12-28", "open"],
        ["aubervilliers · Étude", "2026-11-27", "late"],
    ]
    return {
        "locale": locale,
        "title": "Laboratoire d'innovation territoriale de Seine-Saint-Denis et de ses communes",
        "currency": "EUR",
        "today": "2026-11-30",
        "lines": lines,
        "milestones": milestones,
        "filename": "x.png",
        **({"by": "experiment"} if lab else {}),
    }


def placed(spec_: dict[str, Any]) -> charts.Layout:
    chart = charts.layout(spec_)
    assert chart is not None
    return chart


@pytest.mark.parametrize(
    ("locale", "lab", "subtitle"),
    [
        ("fr", True, "Consommation du budget par expérimentation"),
        ("fr", False, "Consommation du budget par poste"),
        ("en", True, "Budget consumption per experiment"),
        ("en", False, "Budget consumption per line"),
    ],
)
def test_the_lab_s_bars_are_called_experiments(locale: str, lab: bool, subtitle: str) -> None:
    texts = [t.text for t in placed(spec(locale, lab=lab)).texts if t.role == "subtitle"]
    assert texts[0] == subtitle


def test_the_lab_digest_s_chart_says_its_bars_are_experiments(demo_engine: Engine) -> None:
    with Session(demo_engine) as session:
        workspace = session.exec(select(Workspace)).first()
        assert workspace is not None
        lab = digests.lab_digest(session, workspace, NOW)
        experiment = session.exec(select(Experiment)).first()
        assert experiment is not None
        one = digests.experiment_digest(session, experiment, NOW)
    lab_spec = digests.lab_chart(lab, "fr")
    subtitles = [t.text for t in placed(lab_spec).texts if t.role == "subtitle"]
    assert subtitles[0] == "Consommation du budget par expérimentation"
    one_spec = digests.experiment_chart(one, "fr", see_budget=True)
    subtitles = [t.text for t in placed(one_spec).texts if t.role == "subtitle"]
    assert subtitles[0] == "Consommation du budget par poste"


@pytest.mark.parametrize("locale", ["fr", "en"])
@pytest.mark.parametrize("lab", [True, False])
def test_every_text_is_inside_the_picture_and_none_over_another(locale: str, lab: bool) -> None:
    chart = placed(spec(locale, lab=lab))
    for t in chart.texts:
        left, top, right, bottom = t.box
        assert left >= 0, t
        assert right <= chart.width, t
        assert top >= 0, t
        assert bottom <= chart.height, t
    for a, b in combinations(chart.texts, 2):
        overlap_x = min(a.box[2], b.box[2]) - max(a.box[0], b.box[0])
        overlap_y = min(a.box[3], b.box[3]) - max(a.box[1], b.box[1])
        assert overlap_x <= 0 or overlap_y <= 0, (a.text, b.text)
    # The long names were cut to the width, with an ellipsis, not at the edge.
    labels = [t.text for t in chart.texts if t.role == "label"]
    assert any(text.endswith("…") and text[:-1] in LONG for text in labels)


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_readable_at_a_preview_s_width(locale: str) -> None:
    chart = placed(spec(locale, lab=True))
    shrink = PREVIEW / chart.width
    # Every text at least 9 pixels high once the picture is 360 pixels wide.
    assert min(t.size for t in chart.texts) * shrink >= 9
    png = charts.render_chart(spec(locale, lab=True))
    assert png is not None
    image = Image.open(io.BytesIO(png.content))
    assert image.size == (chart.width, chart.height)


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_the_dates_are_few_in_words_and_apart(locale: str) -> None:
    ticks = [t for t in placed(spec(locale, lab=False)).texts if t.role == "tick"]
    assert 3 <= len(ticks) <= 5
    assert all("/" not in t.text for t in ticks)
    assert len({t.text for t in ticks}) == len(ticks)
    for a, b in pairwise(ticks):
        assert a.box[2] + 8 <= b.box[0]


def test_a_done_milestone_has_no_line_a_late_one_its_delay() -> None:
    chart = placed(spec("fr", lab=False))
    today_x = max(p[0] for kind, _, p, _ in chart.shapes if kind == "dash")
    dots = [(p[0], p[1], colour) for kind, colour, p, _ in chart.shapes if kind == "dot"]
    lines = [p for kind, _, p, _ in chart.shapes if kind == "line" and p[1] == p[3]]
    done = [d for d in dots if d[2] == charts.STATE_COLOURS["done"]]
    late = [d for d in dots if d[2] == charts.STATE_COLOURS["late"]]
    assert len(done) == 1
    assert len(late) == 2
    assert not [p for p in lines if p[1] == done[0][1]]
    for x, y, _ in late:
        assert [p for p in lines if p[1] == y] == [(x, y, today_x, y)]


def test_a_bar_of_a_few_cents_beside_millions_or_below_zero_is_drawn() -> None:
    # Found by the fuzzer: a bar narrower than a pixel made Pillow refuse the rectangle.
    tiny = spec("fr", lab=True)
    tiny["lines"] = [["Grand", 1_000_000_000, 900_000_000], ["Petit", 1, 1], ["Négatif", 0, -500]]
    chart = charts.render_chart(tiny)
    assert chart is not None
    assert Image.open(io.BytesIO(chart.content)).size[0] > 0
