"""The outbox's bookkeeping: queueing, claims and leases, working hours, what is skipped."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from commands.reply import File, Reply
from commands.services import outbox
from commands.usertext import strip as plain
from models import Experiment, Meeting, Membership, Role
from tests.lab import LONG_AGO, TEAM_CHANNEL, Lab, build_lab, paris

NOW = paris(2026, 12, 3, 10)
LEASE = timedelta(minutes=5)


@pytest.fixture
def lab(engine: Engine) -> Lab:
    return build_lab(engine)


def claim(lab: Lab, now: datetime = NOW, worker: str = "w1", limit: int = 100) -> list[str]:
    with lab.session() as session:
        rows = outbox.claim(
            session, now=now, worker=worker, platforms=["slack"], limit=limit, lease=LEASE
        )
        session.commit()
    return [r.key for r in rows]


def test_a_key_is_queued_once(lab: Lab) -> None:
    with lab.session() as session:
        experiment = session.get(Experiment, lab.experiment_id)
        kwargs = {
            "key": "milestone:1:2026-12-04:due-1d:p2",
            "workspace_id": lab.workspace_id,
            "kind": "milestone",
            "target_kind": "person",
            "target_id": "2",
            "reply": Reply(text="Bonjour"),
            "not_before": NOW,
            "experiment": experiment,
        }
        assert outbox.enqueue(session, **kwargs) is True  # type: ignore[arg-type]
        assert outbox.enqueue(session, **kwargs) is False  # type: ignore[arg-type]
        rows = [
            outbox.notification(**{**kwargs, "key": f"k{n}"})  # type: ignore[arg-type]
            for n in range(3)
        ]
        assert outbox.enqueue_many(session, [*rows, rows[0]]) == 3
        assert outbox.enqueue_many(session, rows) == 0
        session.commit()
    assert len(lab.rows()) == 4
    with pytest.raises(ValueError, match="target kind"):
        outbox.notification(**{**kwargs, "target_kind": "everyone"})  # type: ignore[arg-type]


def test_files_ref_and_chart_travel_in_the_payload(lab: Lab) -> None:
    chart = {"title": "x", "lines": [], "milestones": []}
    reply = Reply(text="Export", files=[File("a.csv", b"x;y\n1;2\n", "Export", "text/csv")])
    lab.queue("export:1", reply=reply, ref={"milestone": 1, "due_on": "2026-12-04"}, chart=chart)
    [row] = claim_rows(lab)
    assert row.reply.files == reply.files
    assert row.reply.text == "Export"
    assert row.chart == chart
    assert row.payload["ref"] == {"milestone": 1, "due_on": "2026-12-04"}


def claim_rows(lab: Lab, now: datetime = NOW) -> list[outbox.Claimed]:
    with lab.session() as session:
        rows = outbox.claim(
            session, now=now, worker="w", platforms=["slack"], limit=100, lease=LEASE
        )
        session.commit()
    return rows


def test_a_claim_takes_what_is_due_up_to_its_limit_and_holds_it_for_a_lease(lab: Lab) -> None:
    for n in range(10):
        lab.queue(f"k{n:02d}", not_before=LONG_AGO + timedelta(minutes=n))
    lab.queue("later", not_before=NOW + timedelta(minutes=1))
    assert claim(lab, limit=4) == ["k00", "k01", "k02", "k03"]
    assert claim(lab, worker="w2", limit=4) == ["k04", "k05", "k06", "k07"]
    assert claim(lab, worker="w3") == ["k08", "k09"]
    assert claim(lab, worker="w4") == []
    # A claim whose worker vanished comes back once its lease has run out.
    assert len(claim(lab, now=NOW + LEASE + timedelta(seconds=1), worker="w5")) == 11


def test_released_rows_wait_for_their_next_attempt(lab: Lab) -> None:
    lab.queue("k1")
    [row] = claim_rows(lab)
    with lab.session() as session:
        outbox.release(session, [row.id], retry_at=NOW + timedelta(seconds=30))
        session.commit()
    assert claim(lab) == []
    assert claim(lab, now=NOW + timedelta(seconds=30)) == ["k1"]


def test_sent_dead_and_dropped_rows_are_never_claimed_again(lab: Lab) -> None:
    for key in ("sent", "dead", "dropped", "retry"):
        lab.queue(key)
    rows = {r.key: r for r in claim_rows(lab)}
    with lab.session() as session:
        outbox.mark_sent(session, rows["sent"].id, NOW, "1234.5")
        outbox.mark_dead(session, rows["dead"], NOW, "channel_not_found", 1)
        outbox.mark_dropped(session, rows["dropped"].id, NOW, "muted")
        outbox.mark_retry(session, rows["retry"].id, at=NOW, error="HTTP 500", count_attempt=True)
        session.commit()
    later = NOW + LEASE * 3
    # The dead one's notice to the lab's coordinator is a row of its own.
    assert claim(lab, now=later) == ["retry", f"dead:{rows['dead'].id}:p{lab.people['camille']}"]
    by_key = {r.key: r for r in lab.rows()}
    assert by_key["sent"].platform_message_id == "1234.5"
    assert by_key["retry"].attempts == 1
    assert by_key["dropped"].last_error == "muted"


def test_expired_and_cancelled_rows_are_dropped(lab: Lab) -> None:
    lab.queue("meeting:4:j-1", expires_at=NOW)
    lab.queue("milestone:7:2026-12-04:due-1d:p2")
    lab.queue("milestone:7:2026-12-04:due-0d:p2")
    lab.queue("milestone:70:2026-12-04:due-0d:p2")
    with lab.session() as session:
        assert outbox.drop_expired(session, NOW) == 1
        assert outbox.cancel_pending(session, "milestone:7:", NOW, "milestone done") == 2
        session.commit()
    assert claim(lab) == ["milestone:70:2026-12-04:due-0d:p2"]


def test_keys_at_finds_what_was_queued_for_a_moment(lab: Lab) -> None:
    lab.queue("a", not_before=paris(2026, 12, 3, 9))
    lab.queue("b", not_before=paris(2026, 12, 3, 9))
    lab.queue("c", not_before=paris(2026, 12, 2, 9))
    with lab.session() as session:
        assert outbox.keys_at(session, {paris(2026, 12, 3, 9)}) == {"a", "b"}
        assert outbox.keys_at(session, set()) == set()
        assert outbox.queued_keys(session, ["a", "c", "zz"]) == {"a", "c"}


@pytest.mark.parametrize(
    ("moment", "opening"),
    [
        (paris(2026, 12, 3, 8), paris(2026, 12, 3, 9)),
        (paris(2026, 12, 3, 10), paris(2026, 12, 3, 10)),
        (paris(2026, 12, 3, 18), paris(2026, 12, 4, 9)),
        (paris(2026, 12, 4, 19), paris(2026, 12, 7, 9)),  # Friday evening → Monday
        (paris(2026, 12, 5, 12), paris(2026, 12, 7, 9)),
    ],
)
def test_next_opening(moment: datetime, opening: datetime) -> None:
    experiment = Experiment(workspace_id=1, slug="x", name="X")
    assert outbox.next_opening(experiment, moment) == opening
    assert outbox.next_opening(None, moment) == moment


def test_openings_before_a_day_and_closing_time() -> None:
    experiment = Experiment(
        workspace_id=1, slug="x", name="X", working_days="2,4", working_hours_end=time(17)
    )
    assert outbox.working_days(experiment) == {2, 4}
    assert outbox.opening_on_or_before(experiment, date(2026, 12, 7)) == paris(2026, 12, 3, 9)
    assert outbox.closing_on(experiment, date(2026, 12, 7)) == paris(2026, 12, 7, 17)
    assert outbox.working_days(Experiment(workspace_id=1, slug="y", name="Y", working_days="")) == {
        1,
        2,
        3,
        4,
        5,
        6,
        7,
    }


def test_a_row_held_to_working_hours_waits_at_send_time(lab: Lab) -> None:
    with lab.session() as session:
        experiment = session.get(Experiment, lab.experiment_id)
        outbox.enqueue(
            session,
            key="quiet",
            workspace_id=lab.workspace_id,
            kind="milestone",
            target_kind="channel",
            target_id=TEAM_CHANNEL,
            reply=Reply(text="x"),
            not_before=paris(2026, 12, 3, 10),
            experiment=experiment,
        )
        outbox.enqueue(
            session,
            key="loud",
            workspace_id=lab.workspace_id,
            kind="digest",
            target_kind="channel",
            target_id=TEAM_CHANNEL,
            reply=Reply(text="x"),
            not_before=paris(2026, 12, 3, 10),
            experiment=experiment,
            quiet_hours=False,
        )
        session.commit()
    rows = {r.key: r for r in claim_rows(lab, now=paris(2026, 12, 3, 20))}
    with lab.session() as session:
        assert outbox.hold_until(session, rows["quiet"], paris(2026, 12, 3, 20)) == paris(
            2026, 12, 4, 9
        )
        assert outbox.hold_until(session, rows["quiet"], paris(2026, 12, 4, 9)) is None
        assert outbox.hold_until(session, rows["loud"], paris(2026, 12, 3, 20)) is None


def test_why_a_row_is_skipped(lab: Lab) -> None:
    milestone = lab.add_milestone("Rapport", date(2026, 12, 4), owners=("marie",))
    with lab.session() as session:
        meeting = Meeting(
            workspace_id=lab.workspace_id,
            experiment_id=lab.experiment_id,
            starts_at=paris(2026, 12, 8, 14),
            ends_at=paris(2026, 12, 8, 16),
            uid="m1@coordo",
        )
        session.add(meeting)
        session.commit()
        meeting_id = meeting.id
    ref = {"milestone": milestone, "due_on": "2026-12-04"}
    lab.queue("to-marie", person="marie", ref=ref, kind="milestone")
    lab.queue("to-karim", person="karim", ref=ref, kind="milestone")
    lab.queue(
        "meeting", ref={"meeting": meeting_id, "starts_at": paris(2026, 12, 8, 14).isoformat()}
    )
    lab.queue(
        "meeting-moved",
        ref={"meeting": meeting_id, "starts_at": paris(2026, 12, 9, 14).isoformat()},
    )
    rows = {r.key: r for r in claim_rows(lab)}

    def reason(key: str) -> str | None:
        with lab.session() as session:
            return outbox.skip_reason(session, rows[key], NOW)

    assert reason("to-marie") is None
    assert reason("to-karim") == "no longer an owner"
    assert reason("meeting") is None
    assert reason("meeting-moved") == "meeting moved"
    lab.change_milestone(milestone, acknowledged_at=NOW)
    assert reason("to-marie") == "milestone acknowledged"
    lab.change_milestone(milestone, acknowledged_at=None, deleted_at=NOW)
    assert reason("to-marie") == "milestone deleted"
    with lab.session() as session:
        stored = session.get(Meeting, meeting_id)
        assert stored is not None
        stored.status = "cancelled"
        session.add(stored)
        session.commit()
    assert reason("meeting") == "meeting cancelled"
    lab.prefer("marie", muted_until=NOW + timedelta(hours=1))
    lab.change_milestone(milestone, deleted_at=None)
    assert reason("to-marie") == "muted"
    lab.change_experiment(archived_at=NOW)
    assert reason("to-marie") == "experiment archived"


def test_the_coordinators_told_of_a_failure_are_the_experiment_s_and_the_lab_s(
    lab: Lab,
) -> None:
    with lab.session() as session:
        karim = session.exec(
            select(Membership).where(Membership.person_id == lab.people["karim"])
        ).one()
        karim.role = Role.COORDINATOR
        session.add(karim)
        session.add(
            Membership(
                experiment_id=lab.experiment_id,
                person_id=lab.people["camille"],
                role=Role.COORDINATOR,
            )
        )
        session.commit()
        experiment = session.get(Experiment, lab.experiment_id)
        handles = [p.handle for p in outbox.coordinators(session, lab.workspace_id, experiment)]
    assert handles == ["camille", "karim"]
    lab.queue("news:1", text="Le point " + "très long " * 40)
    [row] = claim_rows(lab)
    with lab.session() as session:
        assert outbox.mark_dead(session, row, NOW, "channel_not_found", 3) == 2
        session.commit()
    notices = lab.rows("dead_letter")
    texts = {n.target_id: plain(n.payload["text"]) for n in notices}
    assert set(texts) == {str(lab.people["camille"]), str(lab.people["karim"])}
    french, english = texts[str(lab.people["camille"])], texts[str(lab.people["karim"])]
    assert "Message non remis" in french
    assert "à ~bondy pour Budget participatif de Bondy, après 3 tentatives" in french
    assert "`channel_not_found`" in french
    assert "…" in french  # the message is quoted, cut short
    assert "Message not delivered" in english


def test_retry_delays_grow_and_are_capped() -> None:
    delays = [outbox.retry_delay(n).total_seconds() for n in range(1, 9)]
    assert delays == [60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_a_person_target_resolves_to_their_platform_id(lab: Lab) -> None:
    lab.queue("dm", person="karim")
    lab.queue("channel")
    rows = {r.key: r for r in claim_rows(lab)}
    with Session(lab.engine) as session:
        assert outbox.destination(session, rows["dm"]) == outbox.Destination(True, "U0KARIM")
        assert outbox.destination(session, rows["channel"]) == outbox.Destination(
            False, TEAM_CHANNEL
        )
        assert plain(outbox.describe_target(session, rows["dm"])) == "@karim"
        assert plain(outbox.describe_target(session, rows["channel"])) == "~bondy"
