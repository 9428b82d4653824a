"""The lab digest of a network of labs: 2,000 experiments in one workspace.

Its message says the totals and the ten experiments to look at first, within every
platform's limits (checked by the strict fakes' own rules); every experiment is in the
attached CSV, one line each; the chart shows the largest budgets, not two thousand bars.
A lab of a few experiments still lists each of them, with no file.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time

from sqlalchemy import Engine, insert
from sqlmodel import Session, select

from bot.mattermost.render import to_mattermost
from bot.slack.render import to_slack
from commands.services import charts, digests
from commands.services.outbox import TABLE, Claimed, _claimed
from models import BudgetLine, Expense, Experiment, Milestone, Person, Workspace
from tests.chat import normalise
from tests.fakes import mattermost_rules, slack_rules
from tests.lab import paris

EXPERIMENTS = 2000
MONDAY = paris(2026, 11, 30, 9)
CREATED = datetime(2025, 1, 1, tzinfo=UTC)


def seed(engine: Engine) -> None:
    """2,000 experiments, each with a budget line and an expense; every 7th has late
    milestones (as many as its number's last digit), every 11th is over budget."""
    with Session(engine) as session:
        workspace = Workspace(
            platform="slack", external_id="T0NET", name="Réseau des labos", created_at=CREATED
        )
        session.add(workspace)
        session.flush()
        coordinator = Person(
            workspace_id=workspace.id,
            external_id="U0COORD",
            handle="coord",
            display_name="Coord",
            lab_role="coordinator",
            created_at=CREATED,
        )
        session.add(coordinator)
        session.commit()
        ws, author = workspace.id, coordinator.id
    experiments, lines, expenses, stones = [], [], [], []
    for n in range(1, EXPERIMENTS + 1):
        experiments.append(
            {
                "id": n,
                "workspace_id": ws,
                "slug": f"exp-{n}",
                "name": f"Expérimentation {n:04d}",
                "territory": "",
                "timezone": "Europe/Paris",
                "locale": "fr",
                "currency": "EUR",
                "partners_see_budget": False,
                "working_days": "1,2,3,4,5",
                "working_hours_start": time(9),
                "working_hours_end": time(18),
                "reminder_lead_days": "7,1,0",
                "digest_weekday": 1,
                "digest_time": time(9),
                "created_at": CREATED,
            }
        )
        lines.append(
            {
                "id": n,
                "experiment_id": n,
                "key": "animation",
                "label": "Animation",
                "planned_cents": 10_000_00,
                "position": 0,
                "created_at": CREATED,
            }
        )
        expenses.append(
            {
                "experiment_id": n,
                "budget_line_id": n,
                "amount_cents": 12_000_00 if n % 11 == 0 else 1_000_00,
                "currency": "EUR",
                "description": "Dépense",
                "spent_on": date(2026, 11, 2),
                "supplier": "",
                "receipt_url": "",
                "author_id": author,
                "created_at": CREATED,
            }
        )
        if n % 7 == 0:
            for k in range(n % 10):
                stones.append(
                    {
                        "experiment_id": n,
                        "title": f"Jalon {n}-{k}",
                        "due_on": date(2026, 11, 2),
                        "original_due_on": date(2026, 11, 2),
                        "status": "open",
                        "progress": 0,
                        "created_at": CREATED,
                    }
                )
    with engine.begin() as conn:
        for model, rows in (
            (Experiment, experiments),
            (BudgetLine, lines),
            (Expense, expenses),
            (Milestone, stones),
        ):
            table = model.__table__  # type: ignore[attr-defined]
            for i in range(0, len(rows), 1000):
                conn.execute(insert(table), rows[i : i + 1000])
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            for table in ("experiment", "budget_line"):
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {EXPERIMENTS})"
                )


def queued_lab_digest(engine: Engine) -> Claimed:
    with Session(engine) as session:
        assert digests.queue_lab_digests(session, MONDAY) == 1
        session.commit()
        row = session.connection().execute(TABLE.select().where(TABLE.c.kind == "lab_digest")).one()
    return _claimed(row)


def test_the_lab_digest_of_two_thousand_experiments_fits_every_platform(engine: Engine) -> None:
    seed(engine)
    row = queued_lab_digest(engine)
    reply = row.reply
    # Within Slack's limits (50 blocks, 3,000 characters a section, 40,000 the text)
    # and Mattermost's (16,383 characters a post), as the strict fakes check them.
    message = to_slack(reply)
    slack_rules.check_message_blocks(message.blocks)
    slack_rules.check_text(message.text)
    post = to_mattermost(reply)
    props = {"attachments": post.attachments} if post.attachments else {}
    assert mattermost_rules.post_problems(post.text, props, []) is None
    assert len(reply.text) < 6000, "a summary, not a list of two thousand"
    # Nothing was left out: the digest's last line is in the message's last block.
    last = normalise(reply.text).strip().splitlines()[-1]
    assert last.startswith("- … et ")
    assert last.endswith(" autres")
    assert last.removeprefix("- ") in str(message.blocks[-1])
    text = normalise(reply.text)
    assert "**2000 expérimentations en cours**" in text
    late = sum(1 for n in range(7, EXPERIMENTS + 1, 7) if n % 10)
    over = sum(1 for n in range(11, EXPERIMENTS + 1, 11))
    assert f"{late} avec des jalons en retard" in text
    assert f"{over} au-delà de leur budget" in text
    # The ten to look at first: the most late milestones (9, from experiments whose
    # number ends in 9), then the furthest over budget.
    listed = [line for line in text.splitlines() if line.startswith("- **Expérimentation")]
    assert len(listed) == digests.LIST_LIMIT
    assert all("🔴 9 jalons en retard" in line for line in listed)
    # Every experiment is in the file, one line each, in the export's French convention.
    (file,) = reply.files
    assert file.filename == "point-labo-2026-11-30.csv"
    rows = list(csv.reader(io.StringIO(file.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:5] == ["Identifiant", "Expérimentation", "Devise", "Dépensé", "Prévu"]
    assert len(rows) == 1 + EXPERIMENTS
    by_slug = {r[0]: r for r in rows[1:]}
    assert by_slug["exp-11"][3:8] == ["12000,00", "10000,00", "120", "0,00", "0"]
    assert by_slug["exp-49"][7] == "9"


def test_the_lab_chart_of_many_experiments_shows_the_largest_budgets(engine: Engine) -> None:
    seed(engine)
    with Session(engine) as session:
        workspace = session.exec(select(Workspace)).one()
        facts = digests.lab_digest(session, workspace, MONDAY)
    spec = digests.lab_chart(facts, "fr")
    assert len(spec["lines"]) == digests.CHART_BARS
    assert spec["by"] == "largest"
    chart = charts.layout(spec)
    assert chart is not None
    assert chart.height < 3000
    assert "Les plus gros budgets du labo" in [t.text for t in chart.texts]
    assert charts.render_chart(spec) is not None


def test_a_small_lab_s_digest_lists_each_experiment_with_no_file(engine: Engine) -> None:
    from tests.lab import build_lab

    lab = build_lab(engine)
    with Session(engine) as session:
        workspace = session.get(Workspace, lab.workspace_id)
        assert workspace is not None
        facts = digests.lab_digest(session, workspace, MONDAY)
    reply = digests.lab_digest_reply(facts, "fr")
    assert not facts.summarised
    assert reply.files == []
    assert "**Où en est chaque expérimentation**" in reply.text
    assert digests.lab_chart(facts, "fr")["by"] == "experiment"
