"""What the scan's sources of pings share: loading only the experiments their rows name.

Each source (milestones, digests, invoices) first reads the rows that can be due now,
then loads the experiments of those rows alone, so that a tick over a deployment of
thousands of experiments does not build thousands of objects to find nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, col, select

from models import Experiment

CHUNK = 500


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
