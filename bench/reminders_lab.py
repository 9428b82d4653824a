"""A big lab for the reminder and digest benchmarks, written with bulk inserts.

``build_lab(engine, experiments=500, milestones=200, meetings=20)`` fills an empty
schema with one Slack workspace, 40 people, and per experiment: 5 budget lines, 30
expenses, a team channel and a partners' channel, ``milestones`` milestones spread over
two years around ``NOW`` (past ones mostly done, one in ten left open and late; future
ones open; one or two owners each) and ``meetings`` meetings over a year around ``NOW``
(one of them a monthly series), with agenda items.

``NOW`` is Tuesday 24 November 2026, 10:00 in Paris: inside working hours, so a scan
finds pings due.
"""

from __future__ import annotations

import random
import uuid
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, insert
from sqlmodel import SQLModel

from models import (
    AgendaItem,
    BudgetLine,
    ChannelBinding,
    Expense,
    Experiment,
    Meeting,
    Membership,
    Milestone,
    MilestoneOwner,
    Person,
    Workspace,
)

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=PARIS)
PEOPLE = 40
LINES = ["logistique", "communication", "restauration", "animation", "etudes"]


def _table(model: type[SQLModel]) -> Any:
    return model.__table__  # type: ignore[attr-defined]


def _bulk(conn: Any, model: type[SQLModel], rows: list[dict[str, Any]]) -> None:
    for i in range(0, len(rows), 5000):
        conn.execute(insert(_table(model)), rows[i : i + 5000])


def build_lab(
    engine: Engine,
    *,
    experiments: int = 500,
    milestones: int = 200,
    meetings: int = 20,
    seed: int = 7,
) -> None:
    rng = random.Random(seed)
    today = NOW.date()
    created = NOW - timedelta(days=400)
    with engine.begin() as conn:
        conn.execute(
            insert(_table(Workspace)),
            [
                {
                    "id": 1,
                    "platform": "slack",
                    "external_id": "T0LAB",
                    "name": "Labo",
                    "locale": "fr",
                    "timezone": "Europe/Paris",
                    "created_at": created,
                }
            ],
        )
        _bulk(
            conn,
            Person,
            [
                {
                    "id": p,
                    "workspace_id": 1,
                    "external_id": f"U{p:05d}",
                    "handle": f"person{p}",
                    "display_name": f"Person {p}",
                    "lab_role": "coordinator" if p <= 2 else None,
                    "is_guest": False,
                    "created_at": created,
                }
                for p in range(1, PEOPLE + 1)
            ],
        )
        exp_rows, members, lines, expenses, bindings = [], [], [], [], []
        stones, owners, meeting_rows, agenda = [], [], [], []
        line_id = expense_id = milestone_id = owner_id = meeting_id = agenda_id = 0
        for e in range(1, experiments + 1):
            exp_rows.append(
                {
                    "id": e,
                    "workspace_id": 1,
                    "slug": f"exp-{e}",
                    "name": f"Expérimentation {e}",
                    "territory": "Seine-Saint-Denis",
                    "timezone": "Europe/Paris",
                    "locale": "fr" if e % 3 else "en",
                    "currency": "EUR",
                    "budget_envelope_cents": None,
                    "partners_see_budget": e % 5 == 0,
                    "expense_limit_cents": 5_000_000,
                    "working_days": "1,2,3,4,5",
                    "working_hours_start": time(9),
                    "working_hours_end": time(18),
                    "reminder_lead_days": "7,1,0",
                    "digest_weekday": 1,
                    "digest_time": time(9),
                    "created_at": created,
                }
            )
            team = rng.sample(range(3, PEOPLE + 1), 4)
            for n, person in enumerate(team):
                members.append(
                    {
                        "experiment_id": e,
                        "person_id": person,
                        "role": "coordinator" if n == 0 else "member",
                        "created_at": created,
                    }
                )
            first_line = line_id + 1
            for position, key in enumerate(LINES):
                line_id += 1
                lines.append(
                    {
                        "id": line_id,
                        "experiment_id": e,
                        "key": key,
                        "label": key.capitalize(),
                        "planned_cents": rng.randrange(2_000_00, 20_000_00, 100),
                        "position": position,
                        "created_at": created,
                    }
                )
            for _ in range(30):
                expense_id += 1
                expenses.append(
                    {
                        "id": expense_id,
                        "experiment_id": e,
                        "budget_line_id": rng.randrange(first_line, line_id + 1),
                        "amount_cents": rng.randrange(50_00, 2_000_00, 10),
                        "currency": "EUR",
                        "description": "Dépense de fonctionnement",
                        "spent_on": today - timedelta(days=rng.randrange(0, 300)),
                        "supplier": "",
                        "receipt_url": "",
                        "author_id": team[0],
                        "created_at": created,
                    }
                )
            for shared in (False, True):
                bindings.append(
                    {
                        "workspace_id": 1,
                        "channel_id": f"C{e:05d}{'P' if shared else 'T'}",
                        "channel_name": f"exp-{e}{'-partenaires' if shared else ''}",
                        "experiment_id": e,
                        "is_shared": shared,
                        "created_at": created,
                    }
                )
            for _ in range(milestones):
                milestone_id += 1
                due = today + timedelta(days=rng.randrange(-365, 366))
                past = due < today
                done = past and rng.random() < 0.9
                stones.append(
                    {
                        "id": milestone_id,
                        "experiment_id": e,
                        "title": f"Jalon {milestone_id}",
                        "due_on": due,
                        "original_due_on": due,
                        "status": "done" if done else "open",
                        "progress": 100 if done else rng.randrange(0, 100, 10),
                        "done_at": datetime.combine(due, time(17), PARIS) if done else None,
                        "created_at": created,
                    }
                )
                for person in rng.sample(team, rng.choice((1, 1, 2))):
                    owner_id += 1
                    owners.append(
                        {"id": owner_id, "milestone_id": milestone_id, "person_id": person}
                    )
            for m in range(meetings):
                meeting_id += 1
                day = today + timedelta(days=rng.randrange(-180, 181))
                start = datetime.combine(day, time(rng.choice((9, 10, 14, 16))), PARIS)
                meeting_rows.append(
                    {
                        "id": meeting_id,
                        "workspace_id": 1,
                        "experiment_id": e,
                        "kind": "copil" if m % 3 == 0 else "cotech",
                        "title": f"Réunion {meeting_id}",
                        "starts_at": start,
                        "ends_at": start + timedelta(hours=2),
                        "timezone": "Europe/Paris",
                        "place": "Mairie",
                        "video_url": "",
                        "rrule": "FREQ=MONTHLY;BYDAY=1TU" if m == 0 else None,
                        "status": "scheduled",
                        "minutes": "",
                        "uid": f"{uuid.UUID(int=rng.getrandbits(128))}@coordo",
                        "sequence": 0,
                        "created_at": created,
                    }
                )
                for position in range(rng.randrange(0, 4)):
                    agenda_id += 1
                    agenda.append(
                        {
                            "id": agenda_id,
                            "meeting_id": meeting_id,
                            "position": position,
                            "title": f"Point {position + 1}",
                            "created_at": created,
                        }
                    )
        _bulk(conn, Experiment, exp_rows)
        _bulk(conn, Membership, members)
        _bulk(conn, BudgetLine, lines)
        _bulk(conn, Expense, expenses)
        _bulk(conn, ChannelBinding, bindings)
        _bulk(conn, Milestone, stones)
        _bulk(conn, MilestoneOwner, owners)
        _bulk(conn, Meeting, meeting_rows)
        _bulk(conn, AgendaItem, agenda)
        if engine.dialect.name == "postgresql":
            for model in (
                Workspace,
                Person,
                Experiment,
                BudgetLine,
                Expense,
                Milestone,
                MilestoneOwner,
                Meeting,
                AgendaItem,
            ):
                name = _table(model).name
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"(SELECT max(id) FROM {name}))"
                )
            conn.exec_driver_sql("ANALYZE")


def day(offset: int) -> date:
    return NOW.date() + timedelta(days=offset)
