"""Weekly digests: what they say, to whom, when, and at a fixed number of queries."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, update
from sqlmodel import Session, col, select

from bot.console import Console
from commands.core import Context, ensure_person, ensure_workspace
from commands.services import budget, charts, digests, expenses
from models import AgendaItem, BudgetLine, Expense, Experiment, Meeting, Workspace
from tests.chat import normalise
from tests.conftest import NOW
from tests.lab import PARTNER_CHANNEL, TEAM_CHANNEL, Lab, build_lab, paris

MONDAY = paris(2026, 11, 30, 9)


@pytest.fixture
def lab(engine: Engine) -> Lab:
    lab = build_lab(engine)
    lab.add_milestone("Clôturer le dépôt des projets", date(2026, 11, 20))
    lab.add_milestone(
        "Forum de lancement", date(2026, 11, 26), status="done", created_at=paris(2026, 11, 26, 17)
    )
    lab.add_milestone("Préparer le vote", date(2026, 12, 8), owners=("marie", "karim"))
    lab.add_milestone("Lancer le vote", date(2027, 1, 15))
    with lab.session() as session:
        line_id = session.exec(select(BudgetLine.id).where(BudgetLine.key == "logistique")).one()
        session.add(
            Expense(
                experiment_id=lab.experiment_id,
                budget_line_id=line_id,
                amount_cents=420_00,
                description="Urnes et isoloirs",
                spent_on=date(2026, 11, 25),
                author_id=lab.people["marie"],
            )
        )
        copil = meeting(session, lab, "COPIL n°2", paris(2026, 12, 8, 14), place="Mairie de Bondy")
        for n in range(3):
            session.add(AgendaItem(meeting_id=copil, position=n, title=f"Point {n}"))
        meeting(session, lab, "COTECH", paris(2026, 12, 20, 10))  # beyond two weeks
        session.commit()
    return lab


def meeting(
    session: Session,
    lab: Lab,
    title: str,
    start: Any,
    *,
    experiment: bool = True,
    **values: Any,
) -> int:
    row = Meeting(
        workspace_id=lab.workspace_id,
        experiment_id=lab.experiment_id if experiment else None,
        title=title,
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        uid=f"{title}-{start.isoformat()}@coordo",
        **values,
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    return row.id


@contextmanager
def counting(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(*args: Any) -> None:
        if not args[2].startswith("BEGIN"):
            statements.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def gathered(lab: Lab) -> digests.ExperimentDigest:
    with lab.session() as session:
        experiment = session.get(Experiment, lab.experiment_id)
        assert experiment is not None
        return digests.experiment_digest(session, experiment, MONDAY)


def test_the_team_digest_says_what_matters_this_week(lab: Lab) -> None:
    text = normalise(digests.render_experiment_digest(gathered(lab), "fr", see_budget=True))
    expected = [
        "📰 **Point de la semaine — Budget participatif de Bondy**",
        "_Du lun. 23 nov. au dim. 29 nov., et les deux semaines qui viennent_",
        "🔴 En retard (1) :",
        "- Clôturer le dépôt des projets — prévu le ven. 20 nov., 10 j de retard · @marie",
        "✅ Faits la semaine passée (1) :",
        "- Forum de lancement · @marie",
        "📅 À rendre dans les deux semaines (1) :",
        "- Préparer le vote — mar. 8 déc. · 20 % · @karim, @marie",
        "**Budget** : 2 270,00 € dépensés sur 45 000,00 € (5 %)",
        "- Logistique `██░░░░░░░░` 2 270,00 € / 12 000,00 € (19 %)",
        "Dépenses de la semaine : 1, pour 420,00 €",
        "- mer. 25 nov. · Urnes et isoloirs — 420,00 € (Logistique)",
        "**Réunions des deux semaines à venir**",
        "- COPIL n°2 — mar. 8 déc. à 14:00, Mairie de Bondy · 3 points à l'ordre du jour",
    ]
    position = 0
    for line in expected:
        found = text.find(line, position)
        assert found >= 0, f"{line!r} not in order in:\n{text}"
        position = found + len(line)
    assert "Lancer le vote" not in text
    assert "COTECH" not in text


def test_partners_get_the_digest_without_budget_figures(lab: Lab) -> None:
    facts = gathered(lab)
    text = digests.render_experiment_digest(facts, "fr", see_budget=False)
    assert "Budget" not in text.replace("Budget participatif", "")
    assert "€" not in text
    assert "Préparer le vote" in text
    assert digests.experiment_chart(facts, "fr", see_budget=False)["lines"] == []
    assert digests.experiment_chart(facts, "fr", see_budget=True)["lines"] == [
        ["Logistique", 12_000_00, 2_270_00],
        ["Non réparti", 33_000_00, 0],
    ]


def test_the_english_digest(lab: Lab) -> None:
    text = normalise(digests.render_experiment_digest(gathered(lab), "en", see_budget=True))
    assert "📰 **Weekly digest — Budget participatif de Bondy**" in text
    assert "- Clôturer le dépôt des projets — was due Fri 20 Nov, 10 d late · @marie" in text
    assert "**Budget**: €2,270.00 spent of €45,000.00 (5%)" in text
    assert "- COPIL n°2 — Tue 8 Dec at 14:00, Mairie de Bondy · 3 agenda items" in text


def test_a_digest_costs_the_same_queries_whatever_the_experiment_s_size(lab: Lab) -> None:
    experiment = lab.experiment()
    with lab.session() as session, counting(lab.engine) as small:
        digests.experiment_digest(session, experiment, MONDAY)
    for n in range(40):
        lab.add_milestone(f"Jalon {n}", date(2026, 11, 28) + timedelta(days=n % 20))
    with lab.session() as session:
        for n in range(25):
            session.add(
                Expense(
                    experiment_id=lab.experiment_id,
                    amount_cents=100_00 + n,
                    description=f"Dépense {n}",
                    spent_on=date(2026, 11, 23) + timedelta(days=n % 7),
                    author_id=lab.people["marie"],
                )
            )
            meeting(session, lab, f"Réunion {n}", paris(2026, 12, 1, 9) + timedelta(hours=n))
        meeting(session, lab, "Série", paris(2026, 9, 1, 10), rrule="FREQ=WEEKLY;BYDAY=TU")
        session.commit()
    with lab.session() as session, counting(lab.engine) as big:
        facts = digests.experiment_digest(session, experiment, MONDAY)
    assert len(small) == len(big) == digests.EXPERIMENT_QUERIES
    assert len(facts.meetings) == 28  # the COPIL, 25 more, and two Tuesdays of the series
    assert facts.unassigned == sum(100_00 + n for n in range(25))


def test_digests_gathered_together_are_those_gathered_alone_in_as_many_queries(
    lab: Lab,
) -> None:
    with lab.session() as session:
        other = Experiment(
            workspace_id=lab.workspace_id,
            slug="montreal",
            name="Budget participatif de Montréal",
            timezone="America/Montreal",
            created_at=MONDAY,
        )
        session.add(other)
        session.commit()
        other_id = other.id
    assert other_id is not None
    lab.add_milestone("Consultation", date(2026, 12, 10), experiment_id=other_id)
    lab.add_milestone("Hors période", date(2026, 12, 20), experiment_id=other_id)
    experiments = [lab.experiment()]
    with lab.session() as session:
        found = session.get(Experiment, other_id)
        assert found is not None
        experiments.append(found)
        alone = {e.id: digests.experiment_digest(session, e, MONDAY) for e in experiments}
        with counting(lab.engine) as statements:
            together = digests.experiment_digests(session, experiments, MONDAY)
    assert len(statements) == digests.EXPERIMENT_QUERIES
    assert together == alone
    montreal = together[other_id]
    assert montreal.today == date(2026, 11, 30)
    assert [m.title for m in montreal.due_soon] == ["Consultation"]
    assert montreal.budget.lines == []
    assert montreal.meetings == []


def test_recurring_meetings_with_an_occurrence_moved_and_one_cancelled(lab: Lab) -> None:
    with lab.session() as session:
        series = meeting(
            session,
            lab,
            "COPIL du labo",
            paris(2026, 9, 1, 10),
            experiment=False,
            rrule="FREQ=WEEKLY;BYDAY=TU",
        )
        moved = Meeting(
            workspace_id=lab.workspace_id,
            title="COPIL du labo (décalé)",
            starts_at=paris(2026, 12, 2, 15),
            ends_at=paris(2026, 12, 2, 17),
            uid="moved@coordo",
            series_id=series,
            recurrence_start=paris(2026, 12, 1, 10),
        )
        cancelled = Meeting(
            workspace_id=lab.workspace_id,
            title="COPIL du labo",
            starts_at=paris(2026, 12, 8, 10),
            ends_at=paris(2026, 12, 8, 12),
            uid="cancelled@coordo",
            series_id=series,
            recurrence_start=paris(2026, 12, 8, 10),
            status="cancelled",
        )
        session.add_all([moved, cancelled])
        session.commit()
        items = digests.upcoming_meetings(
            session,
            [Meeting.workspace_id == lab.workspace_id, col(Meeting.experiment_id).is_(None)],
            MONDAY,
            MONDAY + timedelta(days=16),
        )
    assert [(m.title, m.starts_at) for m in items] == [
        ("COPIL du labo (décalé)", paris(2026, 12, 2, 15)),
        ("COPIL du labo", paris(2026, 12, 15, 10)),
    ]


def test_the_lab_digest_across_experiments(lab: Lab) -> None:
    with lab.session() as session:
        other = Experiment(
            workspace_id=lab.workspace_id,
            slug="montreuil-ac",
            name="Assemblée citoyenne de Montreuil",
            created_at=MONDAY,
        )
        session.add(other)
        session.flush()
        assert other.id is not None
        session.add(
            BudgetLine(
                experiment_id=other.id, key="animation", label="Animation", planned_cents=20_000_00
            )
        )
        meeting(session, lab, "COPIL du labo", paris(2026, 12, 1, 10), experiment=False)
        session.commit()
        other_id = other.id
    lab.add_milestone("Tirage au sort", date(2026, 11, 27), experiment_id=other_id)
    with lab.session() as session:
        workspace = session.get(Workspace, lab.workspace_id)
        assert workspace is not None
        with counting(lab.engine) as statements:
            facts = digests.lab_digest(session, workspace, MONDAY)
    assert len(statements) == digests.LAB_QUERIES
    text = normalise(digests.render_lab_digest(facts, "fr"))
    for line in [
        "🧭 **Point du labo — semaine du lun. 30 nov.**",
        "- **Assemblée citoyenne de Montreuil** `montreuil-ac` — 0,00 € / 20 000,00 € (0 %) TTC · 🔴 1 jalon en retard",
        "- **Budget participatif de Bondy** `bondy-bp` — 2 270,00 € / 45 000,00 € (5 %) TTC · 🔴 1 jalon en retard · prochain jalon : Préparer le vote (mar. 8 déc.) · COPIL n°2 le mar. 8 déc.",
        "**En retard** (2)",
        "- `bondy-bp` Clôturer le dépôt des projets — prévu le ven. 20 nov., 10 j de retard · @marie",
        "- `montreuil-ac` Tirage au sort — prévu le ven. 27 nov., 3 j de retard · @marie",
        "**Réunions du labo**",
        "- COPIL du labo — mar. 1er déc. à 10:00 · ordre du jour vide",
    ]:
        assert line in text, f"{line!r} not in:\n{text}"


def test_digests_are_queued_at_the_digest_moment_for_each_channel(lab: Lab) -> None:
    assert lab.scan(MONDAY - timedelta(minutes=1)).digests == 0
    report = lab.scan(MONDAY)
    assert (report.digests, report.lab_digests) == (2, 1)
    rows = {r.target_id: r for r in lab.rows("digest")}
    assert set(rows) == {TEAM_CHANNEL, PARTNER_CHANNEL}
    team, partners = rows[TEAM_CHANNEL], rows[PARTNER_CHANNEL]
    assert "**Budget**" in team.payload["text"]
    assert "**Budget**" not in partners.payload["text"]
    assert team.payload["chart"]["lines"]
    assert not partners.payload["chart"]["lines"]
    assert team.not_before == MONDAY
    assert team.expires_at == MONDAY + timedelta(days=1)
    assert "quiet" not in team.payload  # a digest goes at its own time
    [lab_digest] = lab.rows("lab_digest")
    assert lab_digest.target_id == str(lab.people["camille"])
    assert lab_digest.payload["text"].startswith("🧭 **Point du labo")
    assert lab.scan(MONDAY + timedelta(hours=3)).queued == 0
    assert lab.scan(MONDAY + timedelta(days=1, minutes=1)).digests == 0


def test_an_experiment_that_lets_partners_see_the_budget(lab: Lab) -> None:
    lab.change_experiment(partners_see_budget=True)
    lab.scan(MONDAY)
    assert all("**Budget**" in r.payload["text"] for r in lab.rows("digest"))


def test_after_a_long_downtime_the_week_s_digest_is_not_sent_late(lab: Lab) -> None:
    assert lab.scan(MONDAY + timedelta(days=2)).digests == 0
    assert lab.rows("digest") == []


def test_the_digest_day_and_time_are_the_experiment_s(lab: Lab) -> None:
    lab.change_experiment(digest_weekday=5, digest_time=time(16, 30), locale="en")
    assert lab.scan(MONDAY).digests == 0
    friday = paris(2026, 12, 4, 16, 30)
    assert lab.scan(friday - timedelta(seconds=1)).digests == 0
    assert lab.scan(friday).digests == 2
    [team, _] = lab.rows("digest")
    assert team.key == f"digest:{lab.experiment_id}:2026-12-04:{TEAM_CHANNEL}"
    assert team.payload["text"].startswith("📰 **Weekly digest")


def test_the_chart_is_a_png_of_the_budget_and_the_timeline(lab: Lab) -> None:
    facts = gathered(lab)
    spec = digests.experiment_chart(facts, "fr", see_budget=True)
    chart = charts.render_chart(spec)
    assert chart is not None
    assert chart.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert chart.mime_type == "image/png"
    assert chart.filename == "digest-bondy-bp-2026-11-30.png"
    assert chart.title == "Graphique du point de la semaine — Budget participatif de Bondy"
    timeline_only = charts.render_chart(digests.experiment_chart(facts, "en", see_budget=False))
    assert timeline_only is not None
    assert timeline_only.content != chart.content
    assert timeline_only.filename == "digest-bondy-bp-2026-11-30-partners.png"
    assert charts.render_chart({**spec, "lines": [], "milestones": []}) is None


def test_the_digest_and_the_budget_view_share_one_computation(
    console: Console, demo_engine: Engine
) -> None:
    """Envelope, lines, unallocated part, expenses on no line and projection: the digest
    reads the same figures as ``/depense budget``."""
    console.handle("/labo reglages budget:50000")
    console.handle("/depense 12 € timbres")
    with Session(demo_engine) as s:
        invocation = console.invocation("depense", "")
        workspace = ensure_workspace(s, invocation)
        person = ensure_person(s, workspace, invocation)
        ctx = Context(s, invocation, workspace, person, "fr", str(uuid.uuid4()))
        experiment = ctx.experiment()
        view = expenses.budget_state(ctx, experiment)
        digest = digests.experiment_digest(s, experiment, NOW).budget

    def figures(state: budget.BudgetState) -> list[tuple[str, int, int, int, int | None]]:
        return [
            (g.label, g.planned_cents, g.spent_cents, g.count, g.projected_cents)
            for g in [*state.rows, state.total]
        ]

    assert figures(digest) == figures(view)
    assert digest.projection == view.projection
    assert view.unallocated is not None
    assert (view.unallocated.planned_cents, view.unallocated.spent_cents) == (5_000_00, 12_00)
    assert sum(g.planned_cents for g in view.rows) == view.total.planned_cents == 50_000_00
    assert sum(g.spent_cents for g in view.rows) == view.total.spent_cents


def test_a_limited_pass_reads_the_longest_due_first_by_the_moment_s_index(
    engine: Engine, lab: Lab
) -> None:
    """A pass of ``limit`` experiments takes those whose digest's moment came first, and
    reads them by the index on that moment: on SQLite the statement searches the index
    and never scans the table (ordered by id it walked every experiment, due or not)."""
    # The last one's moment is ahead: not due.
    moments = [MONDAY - timedelta(hours=h) for h in (1, 5, 3, 2, -1)]
    with lab.session() as session:
        for n in range(4):
            session.add(Experiment(workspace_id=lab.workspace_id, slug=f"pass-{n}", name=f"P{n}"))
        session.commit()
        ids = sorted(session.exec(select(Experiment.id)).all())
        table: Any = Experiment.__table__  # type: ignore[attr-defined]
        for experiment_id, moment in zip(ids, moments, strict=True):
            session.exec(
                update(table).where(table.c.id == experiment_id).values(digest_next_at=moment)
            )
        session.commit()
    statements: list[tuple[str, Any]] = []

    def seen(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if "digest_next_at <=" in statement:
            statements.append((statement, params))

    event.listen(engine, "before_cursor_execute", seen)
    try:
        with lab.session() as session:
            taken = [e.id for e in digests.digest_candidates(session, MONDAY, limit=2)]
            session.rollback()
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert taken == [ids[1], ids[2]]
    assert len(statements) == 1
    if engine.dialect.name == "sqlite":
        statement, params = statements[0]
        with engine.connect() as conn:
            plan = " / ".join(
                row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)
            )
        assert "USING INDEX ix_experiment_digest_next_at" in plan, plan
        assert "SCAN experiment" not in plan, plan


def test_the_scan_reads_only_experiments_whose_digest_can_be_due(lab: Lab) -> None:
    """Every experiment whose digest is due is read by the scan while it is due, across
    timezones, a digest day out of range and the night of a clock change; and an
    experiment is read only when its digest's next moment has come (once a week)."""
    settings = [
        ("Pacific/Auckland", 1, time(9)),
        ("America/Martinique", 7, time(23, 30)),
        ("Europe/Paris", 1, time(0, 15)),
        ("Europe/Paris", 9, time(2, 30)),
        ("Indian/Reunion", 3, time(18)),
    ]
    with lab.session() as session:
        for n, (zone, weekday, clock) in enumerate(settings):
            session.add(
                Experiment(
                    workspace_id=lab.workspace_id,
                    slug=f"zone-{n}",
                    name=f"Zone {n}",
                    timezone=zone,
                    digest_weekday=weekday,
                    digest_time=clock,
                )
            )
        session.commit()
        everyone = session.exec(select(Experiment)).all()
    start = paris(2026, 10, 23, 0)  # the clocks go back on Sunday 25 October
    taken: dict[tuple[int | None, datetime], bool] = {}
    reads: dict[int | None, int] = {}
    for step in range(0, 9 * 24 * 60, 37):
        now = start + timedelta(minutes=step)
        with lab.session() as session:
            read = {e.id for e in digests.digest_candidates(session, now)}
            digests.queue_digests(session, now)
            session.commit()
        for e in everyone:
            moment = digests.digest_moment(e, now)
            if moment <= now < moment + digests.VALID_FOR:
                taken[(e.id, moment)] = taken.get((e.id, moment), False) or e.id in read
        for experiment_id in read:
            reads[experiment_id] = reads.get(experiment_id, 0) + 1
    assert taken
    assert all(taken.values()), [k for k, v in taken.items() if not v]
    # Read on the first tick (due at once), then once at each digest moment of the 9 days.
    assert max(reads.values()) <= 3, reads
