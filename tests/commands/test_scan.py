"""The scan tick: which ping is due when, with the clock given, never slept through."""

from __future__ import annotations

import sys
import types
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from commands.services import scan as scan_module
from commands.services.scan import Schedule, lead_days, milestone_ping
from commands.usertext import strip as plain
from models import Experiment, MilestoneOwner
from tests.lab import LONG_AGO, PARIS, Lab, build_lab, paris

FRIDAY = date(2026, 12, 4)


def experiment(**values: object) -> Experiment:
    return Experiment(workspace_id=1, slug="x", name="X", **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("now", "label"),
    [
        (paris(2026, 11, 26, 18), None),
        (paris(2026, 11, 27, 8, 59), None),
        (paris(2026, 11, 27, 9), "due-7d"),
        (paris(2026, 11, 30, 10), "due-7d"),  # still the current one after a weekend
        (paris(2026, 12, 3, 8, 59), "due-7d"),
        (paris(2026, 12, 3, 9), "due-1d"),
        (paris(2026, 12, 4, 8, 59), "due-1d"),
        (paris(2026, 12, 4, 9), "due-0d"),
        (paris(2026, 12, 4, 17, 59), "due-0d"),
        (paris(2026, 12, 4, 18), None),
        (paris(2026, 12, 5, 10), None),  # Saturday: no ping
        (paris(2026, 12, 7, 8, 59), None),
        (paris(2026, 12, 7, 9), "late-2026-12-07"),
        (paris(2026, 12, 7, 17, 59), "late-2026-12-07"),
        (paris(2026, 12, 7, 18), None),
        (paris(2026, 12, 8, 9, 30), "late-2026-12-08"),
    ],
)
def test_the_ping_current_at_each_moment(now: datetime, label: str | None) -> None:
    ping = milestone_ping(experiment(), FRIDAY, LONG_AGO, now)
    assert (ping.label if ping else None) == label


def test_days_left_and_days_late() -> None:
    e = experiment()
    ping = milestone_ping(e, FRIDAY, LONG_AGO, paris(2026, 11, 30, 10))
    assert ping is not None
    assert ping.days == 4
    assert ping.moment == paris(2026, 11, 27, 9)
    assert ping.expires_at == paris(2026, 12, 3, 9)
    late = milestone_ping(e, FRIDAY, LONG_AGO, paris(2026, 12, 8, 10))
    assert late is not None
    assert (late.days, late.moment, late.expires_at) == (
        -4,
        paris(2026, 12, 8),
        paris(2026, 12, 8, 18),
    )


def test_a_deadline_on_a_sunday_is_pinged_on_the_friday_before() -> None:
    sunday = date(2026, 12, 6)
    e = experiment()
    ping = milestone_ping(e, sunday, LONG_AGO, paris(2026, 12, 4, 9))
    assert ping is not None
    # The 1-day and the same-day pings both fall on Friday: one ping, the later lead.
    assert (ping.label, ping.days) == ("due-0d", 2)
    assert ping.expires_at == paris(2026, 12, 6, 18)


def test_lead_times_working_days_and_hours_are_the_experiment_s() -> None:
    e = experiment(
        reminder_lead_days="14,2",
        working_days="1,2,3,4",
        working_hours_start=time(10),
        working_hours_end=time(16),
        timezone="America/Montreal",
    )
    assert lead_days(e) == [14, 2]
    # 9:59 in Montreal on Wednesday: the 14-day ping is still the current one...
    ping = milestone_ping(e, FRIDAY, LONG_AGO, datetime(2026, 12, 2, 15, 59, tzinfo=PARIS))
    assert ping is not None
    assert ping.label == "due-14d"
    # ... until 10:00 there, the 2-day ping's moment, which lasts until the end of the
    # due day (Friday is not a working day: nothing comes on the day itself).
    ping = milestone_ping(e, FRIDAY, LONG_AGO, datetime(2026, 12, 2, 16, 0, tzinfo=PARIS))
    assert ping is not None
    assert ping.label == "due-2d"
    montreal = ZoneInfo("America/Montreal")
    assert ping.moment == datetime(2026, 12, 2, 10, 0, tzinfo=montreal)
    assert ping.expires_at == datetime(2026, 12, 4, 16, 0, tzinfo=montreal)
    # Late on a Friday: not a working day, no ping.
    assert milestone_ping(e, FRIDAY, LONG_AGO, datetime(2026, 12, 11, 17, tzinfo=PARIS)) is None


def test_a_lead_time_passed_before_the_milestone_existed_is_skipped() -> None:
    e = experiment()
    created = paris(2026, 12, 1, 15)  # after the 7-day ping's moment
    assert milestone_ping(e, FRIDAY, created, paris(2026, 12, 1, 16)) is None
    ping = milestone_ping(e, FRIDAY, created, paris(2026, 12, 3, 9))
    assert ping is not None
    assert ping.label == "due-1d"


def test_unreadable_or_absurd_lead_times_are_ignored() -> None:
    assert lead_days(experiment(reminder_lead_days="7, 1,x,,0,400,1")) == [7, 1, 0]
    assert lead_days(experiment(reminder_lead_days="")) == []
    schedule = Schedule(experiment(reminder_lead_days=""), paris(2026, 12, 3, 10))
    assert schedule.ping(FRIDAY, LONG_AGO) is None


# -- against the database -----------------------------------------------------------------


@pytest.fixture
def lab(engine: Engine) -> Lab:
    return build_lab(engine)


def first_seen(lab: Lab, start: datetime, end: datetime, step: timedelta) -> dict[str, datetime]:
    """Scan every ``step`` from ``start`` to ``end``; when each key was first queued."""
    seen: dict[str, datetime] = {}
    moment = start
    while moment <= end:
        lab.scan(moment)
        for key in lab.keys("milestone"):
            seen.setdefault(key, moment)
        moment += step
    return seen


def test_every_ping_is_queued_at_its_moment_and_stops_once_done(lab: Lab) -> None:
    milestone = lab.add_milestone("Clôturer le dépôt des projets", FRIDAY)
    start, step = paris(2026, 11, 26, 0), timedelta(minutes=30)
    seen = first_seen(lab, start, paris(2026, 12, 8, 12), step)
    prefix = f"milestone:{milestone}:2026-12-04"
    marie = f"p{lab.people['marie']}"
    assert seen == {
        f"{prefix}:due-7d:{marie}": paris(2026, 11, 27, 9),
        f"{prefix}:due-1d:{marie}": paris(2026, 12, 3, 9),
        f"{prefix}:due-0d:{marie}": paris(2026, 12, 4, 9),
        f"{prefix}:late-2026-12-07:{marie}": paris(2026, 12, 7, 9),
        f"{prefix}:late-2026-12-08:{marie}": paris(2026, 12, 8, 9),
    }
    lab.change_milestone(milestone, status="done", done_at=paris(2026, 12, 8, 12))
    after = first_seen(lab, paris(2026, 12, 8, 12), paris(2026, 12, 10, 12), timedelta(hours=1))
    assert set(after) == set(seen)


def test_the_ping_carries_the_milestone_and_its_buttons(lab: Lab) -> None:
    milestone = lab.add_milestone("Analyse de recevabilité", FRIDAY, owners=("marie", "karim"))
    report = lab.scan(paris(2026, 12, 3, 9, 1))
    assert report.milestone_pings == 2
    rows = {r.target_id: r for r in lab.rows("milestone")}
    french = rows[str(lab.people["marie"])]
    assert french.target_kind == "person"
    assert french.not_before == paris(2026, 12, 3, 9)
    assert french.expires_at == paris(2026, 12, 4, 9)
    assert french.payload["ref"] == {"milestone": milestone, "due_on": "2026-12-04"}
    assert plain(french.payload["text"]).startswith(
        "⏰ **Jalon à rendre demain**\u202f: Analyse de recevabilité"
    )
    assert "vendredi 4 décembre 2026" in plain(french.payload["text"])
    assert french.payload["buttons"] == [
        ["✅ Fait", "milestone.done", str(milestone), "primary"],
        ["⏭️ Une semaine de plus", "milestone.postpone", str(milestone), None],
    ]
    english = rows[str(lab.people["karim"])]
    assert plain(english.payload["text"]).startswith(
        "⏰ **Milestone due tomorrow**: Analyse de recevabilité"
    )
    assert english.payload["buttons"][0][0] == "✅ Done"


def test_a_repeated_scan_queues_nothing_more(lab: Lab) -> None:
    lab.add_milestone("Un", FRIDAY)
    lab.add_milestone("Deux", date(2026, 11, 20))
    now = paris(2026, 12, 3, 10)
    first = lab.scan(now)
    # Two pings to one owner: kept under their keys, gathered into one daily summary.
    assert first.milestone_pings == 3
    for _ in range(3):
        assert lab.scan(now).milestone_pings == 0
    assert len(lab.rows("milestone")) == 2
    assert len(lab.rows("summary")) == 1


def test_after_downtime_only_the_ping_relevant_now_is_sent(lab: Lab) -> None:
    """Down from before the 7-day ping until the day before the deadline: the scan that
    comes back queues the 1-day ping only, never the stale 7-day one."""
    lab.add_milestone("Préparer le vote", FRIDAY)
    lab.scan(paris(2026, 11, 26, 10))
    assert lab.keys("milestone") == []
    lab.scan(paris(2026, 12, 3, 15))
    assert [k.split(":")[3] for k in lab.keys("milestone")] == ["due-1d"]


def test_a_rescheduled_milestone_starts_its_pings_again(lab: Lab) -> None:
    milestone = lab.add_milestone("Rapport", FRIDAY)
    lab.scan(paris(2026, 12, 3, 9))
    lab.change_milestone(milestone, due_on=date(2026, 12, 18), updated_at=paris(2026, 12, 3, 11))
    # The 7-day moment of the new deadline (Friday 11th) is still to come: nothing yet.
    lab.scan(paris(2026, 12, 3, 12))
    lab.scan(paris(2026, 12, 11, 9))
    assert [k.split(":")[2:4] for k in lab.keys("milestone")] == [
        ["2026-12-04", "due-1d"],
        ["2026-12-18", "due-7d"],
    ]


def test_acknowledged_deleted_archived_and_reassigned_are_not_pinged(lab: Lab) -> None:
    now = paris(2026, 12, 3, 10)
    acknowledged = lab.add_milestone("Vu", FRIDAY)
    lab.change_milestone(acknowledged, acknowledged_at=paris(2026, 12, 1))
    deleted = lab.add_milestone("Supprimé", FRIDAY)
    lab.change_milestone(deleted, deleted_at=paris(2026, 12, 1))
    lab.add_milestone("Déjà fait", FRIDAY, status="done")
    reassigned = lab.add_milestone("Réattribué", FRIDAY, owners=("marie", "karim"))
    with lab.session() as session:
        owner = session.exec(
            select(MilestoneOwner).where(
                MilestoneOwner.milestone_id == reassigned,
                MilestoneOwner.person_id == lab.people["karim"],
            )
        ).one()
        owner.removed_at = paris(2026, 12, 1)
        session.add(owner)
        session.commit()
    lab.scan(now)
    assert [(k.split(":")[1], k.split(":")[4]) for k in lab.keys("milestone")] == [
        (str(reassigned), f"p{lab.people['marie']}")
    ]
    lab.change_experiment(archived_at=paris(2026, 12, 3, 11))
    lab.add_milestone("Après l'archivage", FRIDAY)
    assert lab.scan(paris(2026, 12, 3, 12)).milestone_pings == 0


def test_quiet_hours_are_the_experiment_s(lab: Lab) -> None:
    lab.change_experiment(
        working_days="1,2,3,4", working_hours_start=time(10), working_hours_end=time(16)
    )
    lab.add_milestone("Vendredi chômé", FRIDAY)
    seen = first_seen(lab, paris(2026, 11, 25, 0), paris(2026, 12, 8, 0), timedelta(minutes=30))
    assert sorted((k.split(":")[3], v) for k, v in seen.items()) == [
        # The 1-day ping falls on Thursday; so does the same-day one: the later lead wins.
        ("due-0d", paris(2026, 12, 3, 10)),
        # The 7-day ping's Friday is not worked: Thursday before, at opening time.
        ("due-7d", paris(2026, 11, 26, 10)),
        ("late-2026-12-07", paris(2026, 12, 7, 10)),
    ]


def test_the_meetings_scan_is_called_when_installed(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[Session, datetime]] = []

    def scan_meetings(session: Session, now: datetime) -> int:
        calls.append((session, now))
        return 3

    module = types.ModuleType(scan_module.MEETINGS_SCAN)
    module.scan_meetings = scan_meetings  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, scan_module.MEETINGS_SCAN, module)
    now = paris(2026, 12, 3, 10)
    report = lab.scan(now)
    assert report.meeting_reminders == 3
    assert report.queued == 3
    assert [c[1] for c in calls] == [now]


def test_a_broken_meetings_module_is_not_mistaken_for_a_missing_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(name: str) -> types.ModuleType:
        raise ModuleNotFoundError("No module named 'icalendar_missing'", name="icalendar_missing")

    monkeypatch.setattr(scan_module.importlib, "import_module", broken)
    with pytest.raises(ModuleNotFoundError):
        scan_module.meeting_scan()

    def absent(name: str) -> types.ModuleType:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)

    monkeypatch.setattr(scan_module.importlib, "import_module", absent)
    assert scan_module.meeting_scan() is None
