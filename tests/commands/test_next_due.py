"""Next-due moments (``models.due``): the scan reads only what its moment has come for,
so every change that can bring a ping earlier must set the moment back. Each test lets
the scan work out a moment, changes the thing through a command (or its undo), and checks
that the ping of the new schedule comes at its time, once.

The demo lab at Tuesday 24 November 2026 10:00: milestone n°3 due Tuesday 1 December;
n°3 Bondy's COPIL on Tuesday 8 December 14:00; n°4 the lab's COPIL, first Tuesday of the
month at 10:00."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.console import Console
from commands.services.scan import scan as full_scan
from models import Experiment, Meeting, Milestone, OutboxMessage

PARIS = ZoneInfo("Europe/Paris")


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def scan(engine: Engine, now: datetime) -> int:
    with Session(engine) as session:
        queued = full_scan(session, now).queued
        session.commit()
        return queued


def keys(engine: Engine, prefix: str) -> list[str]:
    with Session(engine) as session:
        return sorted(k for k in session.exec(select(OutboxMessage.key)) if k.startswith(prefix))


def milestone_due(engine: Engine, row_id: int) -> datetime | None:
    with Session(engine) as session:
        row = session.get(Milestone, row_id)
        assert row is not None
        return row.next_due_at


def meeting_due(engine: Engine, row_id: int) -> datetime | None:
    with Session(engine) as session:
        row = session.get(Meeting, row_id)
        assert row is not None
        return row.next_due_at


def test_the_scan_writes_the_next_moment_and_reads_nothing_before_it(console: Console) -> None:
    engine = console.engine
    scan(engine, paris(2026, 11, 24, 10))
    # Milestone n°3, due 1 December: the 7-day ping went today; the 1-day one is Monday's.
    assert milestone_due(engine, 3) == paris(2026, 11, 30, 9)
    # The COPIL of 8 December: its call for items a week before.
    assert meeting_due(engine, 3) == paris(2026, 12, 1, 14)
    assert scan(engine, paris(2026, 11, 24, 10, 1)) == 0
    assert scan(engine, paris(2026, 11, 30, 9)) > 0
    assert keys(engine, "milestone:3:2026-12-01:due-1d:")


def test_a_milestone_moved_earlier_is_pinged_at_its_new_time_once(console: Console) -> None:
    engine = console.engine
    scan(engine, paris(2026, 11, 24, 10))
    assert milestone_due(engine, 3) == paris(2026, 11, 30, 9)
    console.handle("/jalon reporter 3 au 26 novembre")
    scan(engine, paris(2026, 11, 25, 9, 30))
    assert keys(engine, "milestone:3:2026-11-26:due-1d:")
    before = keys(engine, "milestone:3:")
    assert scan(engine, paris(2026, 11, 25, 9, 31)) == 0
    assert keys(engine, "milestone:3:") == before


def test_an_undone_move_brings_the_old_deadline_s_pings_back(console: Console) -> None:
    engine = console.engine
    console.handle("/jalon reporter 3 au 15 janvier")
    scan(engine, paris(2026, 11, 24, 10, 1))
    assert milestone_due(engine, 3) == paris(2027, 1, 8, 9)
    console.handle("/jalon annuler")
    scan(engine, paris(2026, 11, 30, 9))
    assert keys(engine, "milestone:3:2026-12-01:due-1d:")
    assert not keys(engine, "milestone:3:2027-01-15:")


def test_a_milestone_done_is_never_read_again_until_reopened(console: Console) -> None:
    engine = console.engine
    console.handle("/jalon fait 3")
    scan(engine, paris(2026, 11, 24, 10, 1))
    assert milestone_due(engine, 3) is None
    scan(engine, paris(2026, 11, 30, 9))
    assert not keys(engine, "milestone:3:2026-12-01:due-1d:")
    console.handle("/jalon annuler")
    scan(engine, paris(2026, 11, 30, 9, 1))
    assert keys(engine, "milestone:3:2026-12-01:due-1d:")


def test_a_new_owner_gets_the_current_ping(console: Console) -> None:
    engine = console.engine
    # Milestone n°1 is late: one ping each working day, the next one tomorrow.
    scan(engine, paris(2026, 11, 24, 10))
    before = keys(engine, "milestone:1:2026-11-20:late-2026-11-24:")
    assert len(before) == 1
    assert milestone_due(engine, 1) == paris(2026, 11, 25, 9)
    console.fixed_now = paris(2026, 11, 24, 10, 5)
    console.handle("/jalon reattribuer 1 @karim")
    scan(engine, paris(2026, 11, 24, 10, 6))
    after = keys(engine, "milestone:1:2026-11-20:late-2026-11-24:")
    assert len(after) == 2
    assert set(before) < set(after)


def test_a_meeting_moved_earlier_is_reminded_at_its_new_time(console: Console) -> None:
    engine = console.engine
    scan(engine, paris(2026, 11, 24, 10))
    assert meeting_due(engine, 3) == paris(2026, 12, 1, 14)
    console.handle("/copil deplacer 3 jeudi 26 novembre 14h")
    scan(engine, paris(2026, 11, 25, 14))
    assert keys(engine, "meeting:3:2026-11-26:remind-1d")
    assert scan(engine, paris(2026, 11, 25, 14, 1)) == 0


def test_a_cancelled_meeting_is_not_read_again(console: Console) -> None:
    engine = console.engine
    scan(engine, paris(2026, 11, 24, 10))
    console.handle("/copil decommander 3")
    scan(engine, paris(2026, 11, 24, 10, 1))
    assert meeting_due(engine, 3) is None
    scan(engine, paris(2026, 12, 7, 14))
    assert not keys(engine, "meeting:3:2026-12-08:")


def test_a_series_given_a_new_rhythm_is_reminded_on_it(console: Console) -> None:
    engine = console.engine
    scan(engine, paris(2026, 11, 24, 10))
    # Its sitting of 1 December: the day-before reminder next.
    assert meeting_due(engine, 4) == paris(2026, 11, 30, 10)
    console.handle("/copil deplacer 4 tous les premiers jeudis du mois à 14h")
    scan(engine, paris(2026, 11, 26, 14))
    assert keys(engine, "meeting:4:2026-12-03:agenda-call")
    assert scan(engine, paris(2026, 11, 26, 14, 1)) == 0


def test_one_sitting_of_a_series_moved_earlier(console: Console) -> None:
    engine = console.engine
    scan(engine, paris(2026, 11, 24, 10))
    console.handle("/copil deplacer 4 seance:01/12 jeudi 26 novembre 2026 10h")
    scan(engine, paris(2026, 11, 25, 10))
    assert keys(engine, "meeting:4:2026-11-26:remind-1d")
    assert not keys(engine, "meeting:4:2026-12-01:")


def test_new_lead_times_bring_a_ping_earlier(console: Console) -> None:
    engine = console.engine
    scan(engine, paris(2026, 11, 24, 10))
    assert milestone_due(engine, 3) == paris(2026, 11, 30, 9)
    console.handle("/labo rappels delais:7,3,1,0")
    # Three days before Tuesday 1 December is a Saturday: the Friday before.
    scan(engine, paris(2026, 11, 27, 9))
    assert keys(engine, "milestone:3:2026-12-01:due-3d:")
    assert milestone_due(engine, 3) == paris(2026, 11, 30, 9)


def test_an_experiment_whose_digest_is_queued_is_not_read_again_that_day(console: Console) -> None:
    from commands.services import digests

    engine = console.engine
    monday = paris(2026, 11, 30, 9, 1)
    with Session(engine) as session:
        before = {e.id for e in digests.digest_candidates(session, monday)}
    assert before
    scan(engine, monday)
    assert keys(engine, "digest:1:2026-11-30:")
    with Session(engine) as session:
        after = {e.id for e in digests.digest_candidates(session, monday.replace(minute=2))}
    assert not before & after


# -- the weekly digest's next moment (``Experiment.digest_next_at``) ---------------------


def digest_due(engine: Engine, experiment_id: int = 1) -> datetime | None:
    with Session(engine) as session:
        row = session.get(Experiment, experiment_id)
        assert row is not None
        return row.digest_next_at


def test_a_digest_goes_at_its_moment_once_and_the_next_is_a_week_on(console: Console) -> None:
    engine = console.engine
    scan(engine, paris(2026, 11, 24, 10))
    assert digest_due(engine) == paris(2026, 11, 30, 9)
    scan(engine, paris(2026, 11, 30, 8, 59))
    assert not keys(engine, "digest:1:")
    scan(engine, paris(2026, 11, 30, 9, 1))
    sent = keys(engine, "digest:1:2026-11-30:")
    assert sent
    assert digest_due(engine) == paris(2026, 12, 7, 9)
    scan(engine, paris(2026, 11, 30, 9, 2))
    assert keys(engine, "digest:1:") == sent


def test_a_digest_moved_earlier_is_sent_on_its_new_day_and_the_undo_brings_back_the_old(
    console: Console,
) -> None:
    engine = console.engine
    scan(engine, paris(2026, 11, 24, 10))
    assert digest_due(engine) == paris(2026, 11, 30, 9)
    console.handle("/labo rappels digest:mercredi-9h")
    scan(engine, paris(2026, 11, 25, 9, 1))
    wednesday = keys(engine, "digest:1:2026-11-25:")
    assert wednesday
    assert digest_due(engine) == paris(2026, 12, 2, 9)
    scan(engine, paris(2026, 11, 25, 9, 30))
    assert keys(engine, "digest:1:") == wednesday
    assert "annul" in console.handle("/labo annuler").lower()
    scan(engine, paris(2026, 11, 25, 10))
    assert digest_due(engine) == paris(2026, 11, 30, 9)
    scan(engine, paris(2026, 11, 30, 9, 1))
    assert keys(engine, "digest:1:2026-11-30:")
    assert keys(engine, "digest:1:2026-11-25:") == wednesday


def test_a_time_zone_change_brings_the_digest_to_its_new_moment(console: Console) -> None:
    engine = console.engine
    scan(engine, paris(2026, 11, 24, 10))
    assert digest_due(engine) == paris(2026, 11, 30, 9)
    # Monday 9:00 at UTC+14 is Sunday 20:00 in Paris.
    console.handle("/labo reglages fuseau:Pacific/Kiritimati")
    scan(engine, paris(2026, 11, 29, 20, 1))
    assert keys(engine, "digest:1:2026-11-30:")
    assert digest_due(engine) == paris(2026, 12, 6, 20)


def test_an_archived_experiment_gets_no_digest_until_the_archiving_is_undone(
    console: Console,
) -> None:
    engine = console.engine
    scan(engine, paris(2026, 11, 24, 10))
    console.handle("/labo archiver bondy-bp")
    assert digest_due(engine) is None
    scan(engine, paris(2026, 11, 30, 9, 1))
    assert not keys(engine, "digest:1:")
    assert "annul" in console.handle("/labo annuler").lower()
    assert digest_due(engine) is not None
    scan(engine, paris(2026, 11, 30, 9, 2))
    assert keys(engine, "digest:1:2026-11-30:")


def test_a_channel_bound_after_the_digest_went_gets_that_day_s_digest_once(
    console: Console,
) -> None:
    engine = console.engine
    scan(engine, paris(2026, 11, 30, 9, 1))
    before = keys(engine, "digest:1:2026-11-30:")
    assert before
    console.handle(":channel atelier")
    console.handle("/labo lier bondy-bp")
    scan(engine, paris(2026, 11, 30, 9, 30))
    after = keys(engine, "digest:1:2026-11-30:")
    assert after == sorted([*before, "digest:1:2026-11-30:atelier"])
    scan(engine, paris(2026, 11, 30, 9, 31))
    assert keys(engine, "digest:1:2026-11-30:") == after


def test_a_new_experiment_bound_to_a_channel_gets_its_first_digest(console: Console) -> None:
    engine = console.engine
    scan(engine, paris(2026, 11, 24, 10))
    console.handle('/labo creer essai "Essai de quartier" territoire:Pantin')
    console.handle(":channel essai")
    console.handle("/labo lier essai")
    with Session(engine) as session:
        made = session.exec(select(Experiment).where(Experiment.slug == "essai")).one()
        assert made.digest_next_at is not None
        made_id = made.id
    scan(engine, paris(2026, 11, 24, 10, 1))
    assert digest_due(engine, made_id or 0) == paris(2026, 11, 30, 9)
    scan(engine, paris(2026, 11, 30, 9, 1))
    assert keys(engine, f"digest:{made_id}:2026-11-30:essai")
