"""What the scan's sources of pings share: loading only the experiments their rows name.

Each source (milestones, digests, invoices) first reads the rows that can be due now,
then loads the experiments of those rows alone, so that a tick over a deployment of
thousands of experiments does not build thousands of objects to find nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, update
from sqlmodel import Session, col, select

from models import Experiment

CHUNK = 500
# A moment shared by this many rows or more is written in one statement for them all.
SHARED = 8


def active_experiments(session: Session, ids: Iterable[int | None]) -> dict[int | None, Experiment]:
    """The experiments among ``ids`` that are not archived, by id."""
    wanted = sorted({i for i in ids if i is not None})
    found: dict[int | None, Experiment] = {}
    for i in range(0, len(wanted), CHUNK):
        for experiment in session.exec(
            select(Experiment).where(
                col(Experiment.id).in_(wanted[i : i + CHUNK]),
                col(Experiment.archived_at).is_(None),
            )
        ):
            found[experiment.id] = experiment
    return found


def write_moments(session: Session, table: Any, column: str, moments: dict[Any, Any]) -> None:
    """Write each row's next moment (``moments``: row id → moment or None). Rows of many
    experiments share their moments (the same lead times before the same days): those
    go in one statement per moment and chunk of ids, the rest in one statement with a
    row of parameters each; so a first scan over thousands of rows does not convert and
    send a moment per row."""
    by_moment: dict[Any, list[Any]] = {}
    for row_id, moment in moments.items():
        by_moment.setdefault(moment, []).append(row_id)
    connection = session.connection()
    single = []
    for moment, ids in by_moment.items():
        if len(ids) < SHARED:
            single += [{"row_id": row_id, "moment": moment} for row_id in ids]
            continue
        ids.sort()
        for i in range(0, len(ids), CHUNK):
            connection.execute(
                update(table).where(table.c.id.in_(ids[i : i + CHUNK])).values({column: moment})
            )
    if single:
        connection.execute(
            update(table)
            .where(table.c.id == bindparam("row_id"))
            .values({column: bindparam("moment")}),
            single,
        )
