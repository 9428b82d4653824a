"""The outbox sender against the fake Slack and Mattermost servers (real HTTP on port 0),
with a clock the test moves: nothing is slept through."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import Engine, event
from sqlmodel import Session, select

from bot.console import ConsoleChat
from bot.kit.port import ChatPort, PlatformMessage
from bot.mattermost.client import MattermostChat
from bot.mattermost.render import MattermostSigner, to_mattermost
from bot.sender import Sender
from bot.settings import Settings
from bot.slack.client import SlackChat
from bot.slack.render import to_slack
from commands.reply import Button, Reply
from commands.services import outbox
from models import OutboxMessage, Person, Workspace
from models.db import make_engine
from tests.fakes._server import ManualClock
from tests.fakes.mattermost_api import CREATE_POST, FakeMattermost
from tests.fakes.slack_api import FakeSlack
from tests.lab import (
    LONG_AGO,
    PARTNER_CHANNEL,
    TEAM_CHANNEL,
    Lab,
    build_lab,
    paris,
    seat_on_mattermost,
    slack_workspace,
)

THURSDAY = paris(2026, 12, 3, 10)


class Clock:
    """Our clock, and the fakes' (for their rate limits), moved together."""

    def __init__(self, start: datetime, fake: ManualClock | None = None) -> None:
        self.now = start
        self.fake = fake

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        if self.fake is not None:
            self.fake.advance(seconds)


@pytest.fixture
def lab(engine: Engine) -> Lab:
    return build_lab(engine)


@pytest.fixture(autouse=True)
def workspace(fake_slack: FakeSlack) -> FakeSlack:
    """The lab's people and channels on the fake Slack, and those ``queue_many`` fills."""
    return slack_workspace(fake_slack, "C000A", "C000B", *(f"C{n:04d}" for n in range(20)))


@pytest.fixture
def clock(manual_clock: ManualClock) -> Clock:
    return Clock(THURSDAY, manual_clock)


def slack_sender(lab: Lab, slack: FakeSlack, clock: Clock, **options: object) -> Sender:
    options.setdefault("concurrency", 1)
    options.setdefault("pacing", {})
    return Sender(
        lab.engine,
        {"slack": SlackChat(slack.token, base_url=slack.api_url)},
        renderers={"slack": to_slack, **options.pop("renderers", {})},  # type: ignore[dict-item]
        clock=clock,
        sleep=clock.sleep,
        **options,  # type: ignore[arg-type]
    )


def row(lab: Lab, key: str) -> OutboxMessage:
    with Session(lab.engine) as session:
        return session.exec(select(OutboxMessage).where(OutboxMessage.key == key)).one()


def texts(slack: FakeSlack, channel: str) -> list[str]:
    return [m.text or "" for m in slack.messages_in(channel)]


# -- delivery ------------------------------------------------------------------------------


def test_a_channel_message_goes_once_and_is_marked_sent(
    lab: Lab, fake_slack: FakeSlack, clock: Clock
) -> None:
    lab.queue("news:1", text="**Point de la semaine** : tout va bien")
    sender = slack_sender(lab, fake_slack, clock)
    report = sender.run_once()
    assert (report.claimed, report.sent) == (1, 1)
    [message] = fake_slack.messages_in(TEAM_CHANNEL)
    assert message.text == "*Point de la semaine* : tout va bien"
    assert message.blocks is not None
    assert message.blocks[0]["text"]["text"] == "*Point de la semaine* : tout va bien"
    sent = row(lab, "news:1")
    assert sent.sent_at == THURSDAY
    assert sent.platform_message_id == message.ts
    assert sender.run_once().claimed == 0
    assert len(fake_slack.messages) == 1


def test_a_ping_goes_by_direct_message_with_its_buttons(
    lab: Lab, fake_slack: FakeSlack, clock: Clock
) -> None:
    reply = Reply(
        text="⏰ Jalon à rendre demain",
        buttons=[
            Button("Fait", "milestone.done", "7", "primary"),
            Button("Reporter", "milestone.postpone", "7"),
        ],
    )
    lab.queue("ping:1", person="marie", reply=reply)
    slack_sender(lab, fake_slack, clock).run_once()
    assert fake_slack.calls.last("conversations.open").body["users"] == "U0MARIE"
    [message] = fake_slack.messages_in(fake_slack.dm_channel_for("U0MARIE"))
    assert message.blocks is not None
    actions = next(b for b in message.blocks if b["type"] == "actions")["elements"]
    assert [(a["action_id"], a["value"]) for a in actions] == [
        ("milestone.done#0", "7"),
        ("milestone.postpone#1", "7"),
    ]


def test_500_then_429_with_retry_after_then_200_delivers_once(
    lab: Lab, fake_slack: FakeSlack, clock: Clock
) -> None:
    fake_slack.fail_next("chat.postMessage", status=500)
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=7)
    lab.queue("news:1")
    sender = slack_sender(lab, fake_slack, clock, retry_base=60.0)

    assert sender.run_once(wait=False).retried == 1
    failed = row(lab, "news:1")
    assert (failed.attempts, failed.next_attempt_at, failed.sent_at) == (
        1,
        THURSDAY + timedelta(seconds=60),
        None,
    )
    assert "HTTP 500" in failed.last_error
    clock.advance(30)
    assert sender.run_once(wait=False).claimed == 0  # backing off

    clock.advance(30)
    assert sender.run_once(wait=False).rate_limited == 1
    limited = row(lab, "news:1")
    assert limited.attempts == 1  # a rate limit is not a failed attempt
    assert limited.next_attempt_at == clock.now + timedelta(seconds=7)
    clock.advance(6)
    assert sender.run_once(wait=False).claimed == 0  # Retry-After honoured

    clock.advance(1)
    assert sender.run_once(wait=False).sent == 1
    assert fake_slack.calls.count("chat.postMessage") == 3
    assert texts(fake_slack, TEAM_CHANNEL) == ["Bonjour"]
    assert sender.run_once(wait=False).claimed == 0


def test_mattermost_500_then_429_then_201_delivers_once(
    mattermost_lab: Lab, fake_mattermost: FakeMattermost, clock: Clock
) -> None:
    lab = mattermost_lab
    fake_mattermost.fail_next(CREATE_POST, status=500)
    fake_mattermost.fail_next(CREATE_POST, status=429, retry_after=4)
    lab.queue("news:1", target="channelaaaaaaaaaaaaaaaaaaaa", text="**Point** de la semaine")
    sender = Sender(
        lab.engine,
        {"mattermost": MattermostChat(fake_mattermost.url, fake_mattermost.token)},
        renderers={"mattermost": lambda reply, team: to_mattermost(reply, None, team_id=team)},
        clock=clock,
        concurrency=1,
        retry_base=30.0,
    )
    assert sender.run_once(wait=False).retried == 1
    clock.advance(30)
    assert sender.run_once(wait=False).rate_limited == 1
    clock.advance(3)
    assert sender.run_once(wait=False).claimed == 0
    clock.advance(1)
    assert sender.run_once(wait=False).sent == 1
    assert [p["message"] for p in fake_mattermost.posts] == ["**Point** de la semaine"]
    assert fake_mattermost.calls.count(CREATE_POST) == 3


def test_a_refusal_dead_letters_at_once_and_tells_the_coordinators(
    lab: Lab, fake_slack: FakeSlack, clock: Clock
) -> None:
    fake_slack.fail_next("chat.postMessage", status=200, error="channel_not_found")
    lab.queue("news:1", text="Le point de la semaine")
    sender = slack_sender(lab, fake_slack, clock)
    assert sender.run_once().dead == 1
    dead = row(lab, "news:1")
    assert dead.dead_at == THURSDAY
    assert "channel_not_found" in dead.last_error
    notices = lab.rows("dead_letter")
    assert [(n.target_kind, n.target_id) for n in notices] == [
        ("person", str(lab.people["camille"]))
    ]
    assert sender.run_once().sent == 1
    [notice] = fake_slack.messages_in(fake_slack.dm_channel_for("U0CAMILLE"))
    assert notice.text is not None
    assert "*Message non remis*" in notice.text
    assert "~bondy" in notice.text or "#bondy" in notice.text
    assert "channel_not_found" in notice.text


def test_a_rate_limit_answered_with_http_200_waits_and_is_sent_not_dead_lettered(
    lab: Lab, fake_slack: FakeSlack, clock: Clock
) -> None:
    """Slack's ``rate_limited`` comes as HTTP 200 ``ok: false``, without Retry-After: the
    reminder waits and goes, it is not a refusal."""
    fake_slack.enable_rate_limit(per_channel_interval=60.0, burst=1, as_ok_false=True)
    lab.queue("news:1", text="un")
    lab.queue("news:2", text="deux")
    sender = slack_sender(lab, fake_slack, clock)

    first = sender.run_once(wait=False)
    limited = row(lab, "news:2")

    assert (first.sent, first.rate_limited, first.dead) == (1, 1, 0)
    assert (limited.dead_at, limited.attempts) == (None, 0)
    assert limited.next_attempt_at is not None
    assert limited.next_attempt_at > clock.now
    assert lab.rows("dead_letter") == []
    clock.advance(60)
    assert sender.run_once(wait=False).sent == 1
    assert texts(fake_slack, TEAM_CHANNEL) == ["un", "deux"]


def test_after_the_last_attempt_the_row_is_dead_and_a_dead_notice_tells_no_one(
    lab: Lab, fake_slack: FakeSlack, clock: Clock
) -> None:
    fake_slack.fail_next("chat.postMessage", status=503, times=4)
    lab.queue("news:1")
    sender = slack_sender(lab, fake_slack, clock, max_attempts=2, retry_base=10.0)
    assert sender.run_once().retried == 1
    clock.advance(10)
    assert sender.run_once().dead == 1
    assert row(lab, "news:1").attempts == 2
    [notice] = lab.rows("dead_letter")
    # The notice fails for good too: nobody is told about it, no loop.
    assert sender.run_once().retried == 1
    clock.advance(10)
    assert sender.run_once().dead == 1
    assert [r.key for r in lab.rows("dead_letter")] == [notice.key]


def test_a_ping_is_dropped_once_done_muted_or_direct_messages_off(
    lab: Lab, fake_slack: FakeSlack, clock: Clock
) -> None:
    # Each ping on its own (not gathered in a daily summary), to follow each one.
    with lab.session() as session:
        for person in session.exec(select(Person)):
            person.daily_summary = False
            session.add(person)
        session.commit()
    done = lab.add_milestone("Fait entre-temps", date(2026, 12, 4))
    moved = lab.add_milestone("Reporté", date(2026, 12, 4))
    kept = lab.add_milestone("À faire", date(2026, 12, 4), owners=("marie", "karim"))
    assert lab.scan(THURSDAY).milestone_pings == 4
    lab.change_milestone(done, status="done", done_at=THURSDAY)
    lab.change_milestone(moved, due_on=date(2026, 12, 11))
    lab.prefer("karim", direct_messages=False)
    report = slack_sender(lab, fake_slack, clock).run_once()
    assert (report.sent, report.dropped) == (1, 3)
    reasons = {
        r.key.split(":")[1] + r.key.split(":")[4]: r.last_error for r in lab.rows("milestone")
    }
    assert reasons == {
        f"{done}p{lab.people['marie']}": "milestone done",
        f"{moved}p{lab.people['marie']}": "milestone rescheduled",
        f"{kept}p{lab.people['karim']}": "direct messages off",
        f"{kept}p{lab.people['marie']}": "",
    }
    lab.add_milestone("Autre", date(2026, 12, 4))
    lab.prefer("marie", muted_until=THURSDAY + timedelta(days=7))
    lab.scan(THURSDAY)
    assert slack_sender(lab, fake_slack, clock).run_once().dropped == 1
    assert [r.last_error for r in lab.rows("milestone")][-1] == "muted"
    assert len(fake_slack.messages) == 1


def test_outside_working_hours_a_ping_waits_for_the_next_opening(
    lab: Lab, fake_slack: FakeSlack, clock: Clock
) -> None:
    lab.add_milestone("Rendu vendredi", date(2026, 12, 4))
    clock.now = paris(2026, 12, 3, 20)
    # Caught up at 20:00 (the scan was down at 9:00): queued, but held till Friday 9:00.
    assert lab.scan(clock.now).milestone_pings == 1
    sender = slack_sender(lab, fake_slack, clock)
    assert sender.run_once().held == 1
    [ping] = lab.rows("milestone")
    assert ping.next_attempt_at == paris(2026, 12, 4, 9)
    assert ping.attempts == 0
    clock.now = paris(2026, 12, 4, 8, 59)
    assert sender.run_once().claimed == 0
    # The 1-day ping expired at 9:00 Friday, when the same-day one took over.
    clock.now = paris(2026, 12, 4, 9)
    report = sender.run_once()
    assert (report.expired, report.sent) == (1, 0)
    lab.scan(clock.now)
    assert sender.run_once().sent == 1
    [message] = fake_slack.messages
    assert "aujourd'hui" in (message.text or "")


def test_expired_rows_are_dropped_not_sent(lab: Lab, fake_slack: FakeSlack, clock: Clock) -> None:
    lab.queue("meeting:1:soon", expires_at=THURSDAY - timedelta(minutes=1))
    report = slack_sender(lab, fake_slack, clock).run_once()
    assert (report.expired, report.claimed) == (1, 0)
    gone = row(lab, "meeting:1:soon")
    assert (gone.dropped_at, gone.last_error) == (THURSDAY, "expired")
    assert fake_slack.messages == []


def test_an_idle_sender_only_reads(lab: Lab, fake_slack: FakeSlack, clock: Clock) -> None:
    """Nothing due, nothing written: on SQLite a write would take the lock a command in
    the web app may be waiting on."""
    lab.queue("later", not_before=THURSDAY + timedelta(hours=1))
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(lab.engine, "before_cursor_execute", listener)
    try:
        assert slack_sender(lab, fake_slack, clock).run_once().claimed == 0
    finally:
        event.remove(lab.engine, "before_cursor_execute", listener)
    assert statements
    assert not [s for s in statements if not s.lstrip().upper().startswith(("SELECT", "BEGIN"))]


def test_rows_of_a_platform_without_a_client_are_left_alone(
    lab: Lab, fake_slack: FakeSlack, clock: Clock
) -> None:
    with Session(lab.engine) as session:
        workspace = session.get(Workspace, lab.workspace_id)
        assert workspace is not None
        workspace.platform = "mattermost"
        session.add(workspace)
        session.commit()
    lab.queue("news:1")
    assert slack_sender(lab, fake_slack, clock).run_once().claimed == 0
    assert row(lab, "news:1").claimed_at is None


# -- restarts and several workers ---------------------------------------------------------


class StopAfter:
    """A platform client that asks the sender to stop after ``count`` messages: what a
    SIGTERM in the middle of a batch does."""

    platform = "slack"

    def __init__(self, port: ChatPort, count: int) -> None:
        self.port = port
        self.count = count
        self.sender: Sender | None = None
        self.sent = 0

    def post(self, channel_id: str, message: PlatformMessage) -> str:
        result = self.port.post(channel_id, message)
        self.sent += 1
        if self.sent == self.count and self.sender is not None:
            self.sender.stop()
        return result

    def direct_message(self, user_id: str, message: PlatformMessage) -> str:
        return self.port.direct_message(user_id, message)

    def upload_file(
        self, channel_id: str, filename: str, content: bytes, title: str, comment: str | None = None
    ) -> None:
        self.port.upload_file(channel_id, filename, content, title, comment)


class CrashOn:
    """A platform client whose process dies (``KeyboardInterrupt``) while sending the
    ``count``-th message, before the platform got it."""

    platform = "slack"

    def __init__(self, port: ChatPort, count: int) -> None:
        self.port = port
        self.count = count
        self.calls = 0

    def post(self, channel_id: str, message: PlatformMessage) -> str:
        self.calls += 1
        if self.calls == self.count:
            raise KeyboardInterrupt
        return self.port.post(channel_id, message)

    def direct_message(self, user_id: str, message: PlatformMessage) -> str:
        return self.port.direct_message(user_id, message)

    def upload_file(
        self, channel_id: str, filename: str, content: bytes, title: str, comment: str | None = None
    ) -> None:
        self.port.upload_file(channel_id, filename, content, title, comment)


def queue_many(lab: Lab, count: int, channels: int) -> list[str]:
    keys = []
    for n in range(count):
        key = f"news:{n}"
        lab.queue(key, target=f"C{n % channels:04d}", text=key)
        keys.append(key)
    return keys


def delivered(slack: FakeSlack) -> Counter[str]:
    return Counter(m.text or "" for m in slack.messages)


def test_a_stop_in_the_middle_of_sending_loses_nothing_and_sends_nothing_twice(
    lab: Lab, fake_slack: FakeSlack, clock: Clock
) -> None:
    keys = queue_many(lab, 24, channels=4)
    stopping = StopAfter(SlackChat(fake_slack.token, base_url=fake_slack.api_url), 5)
    first = Sender(
        lab.engine,
        {"slack": stopping},
        clock=clock,
        sleep=clock.sleep,
        concurrency=3,
        pacing={"slack": 1.05},
        renderers={"slack": to_slack},
    )
    stopping.sender = first
    report = first.run_once()
    assert 5 <= report.sent < 24
    assert report.released == 24 - report.sent
    unsent = [r for r in lab.rows() if r.sent_at is None]
    assert all(r.claimed_at is None for r in unsent)  # given back at once, not leased
    assert all(r.next_attempt_at is None for r in unsent)  # due at once for the next one
    second = slack_sender(lab, fake_slack, clock, concurrency=3)
    assert second.run_until_idle().sent == 24 - report.sent
    assert delivered(fake_slack) == Counter(keys)


def test_a_long_pass_gives_its_rows_back_well_before_their_lease_ends(
    lab: Lab, fake_slack: FakeSlack, clock: Clock
) -> None:
    for n in range(6):
        lab.queue(f"a:{n}", target="C000A", text=f"a{n}")
    sender = slack_sender(
        lab, fake_slack, clock, pacing={"slack": 3.0}, lease=timedelta(seconds=10)
    )
    report = sender.run_once(wait=True)
    # Sends at 0 s and 3 s; at 6 s half the lease is gone: the other four go back.
    assert (report.sent, report.released) == (2, 4)
    assert all(r.claimed_at is None for r in lab.rows() if r.sent_at is None)
    assert sender.run_until_idle().sent == 4
    assert texts(fake_slack, "C000A") == [f"a{n}" for n in range(6)]


def test_a_crash_in_the_middle_of_sending_is_recovered_after_the_lease(
    lab: Lab, fake_slack: FakeSlack, clock: Clock
) -> None:
    keys = queue_many(lab, 6, channels=2)
    crashing = CrashOn(SlackChat(fake_slack.token, base_url=fake_slack.api_url), 3)
    lease = timedelta(minutes=5)
    first = Sender(
        lab.engine,
        {"slack": crashing},
        clock=clock,
        concurrency=1,
        pacing={},
        lease=lease,
        renderers={"slack": to_slack},
    )
    with pytest.raises(KeyboardInterrupt):
        first.run_once()
    assert len(fake_slack.messages) == 2
    in_flight = [r for r in lab.rows() if r.claimed_at is not None and r.sent_at is None]
    assert [r.key for r in in_flight] == ["news:2"]  # the others were given back
    restarted = slack_sender(lab, fake_slack, clock, lease=lease)
    assert restarted.run_until_idle().sent == 3
    assert "news:2" not in delivered(fake_slack)  # its claim still holds
    clock.advance(lease.total_seconds() + 1)
    assert restarted.run_until_idle().sent == 1
    assert delivered(fake_slack) == Counter(keys)


def test_two_workers_send_each_notification_exactly_once(
    lab: Lab, fake_slack: FakeSlack, database_url: str
) -> None:
    keys = queue_many(lab, 200, channels=20)
    engines = [make_engine(database_url), make_engine(database_url)]
    start = threading.Barrier(2)
    reports = []

    def work(engine: Engine) -> None:
        sender = Sender(
            engine,
            {"slack": SlackChat(fake_slack.token, base_url=fake_slack.api_url)},
            clock=lambda: THURSDAY,
            concurrency=3,
            batch_size=7,
            pacing={},
            renderers={"slack": to_slack},
        )
        start.wait()
        reports.append(sender.run_until_idle())

    threads = [threading.Thread(target=work, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for engine in engines:
        engine.dispose()
    assert delivered(fake_slack) == Counter(keys)
    assert sum(r.sent for r in reports) == 200
    assert all(r.sent > 0 for r in reports), reports
    workers = {r.claimed_by for r in lab.rows()}
    assert len(workers) == 2


# -- rate limits ---------------------------------------------------------------------------


def test_pacing_keeps_to_one_message_per_second_per_slack_channel(
    lab: Lab, fake_slack: FakeSlack, clock: Clock
) -> None:
    fake_slack.enable_rate_limit(per_channel_interval=1.0)
    for n in range(3):
        lab.queue(f"a:{n}", target="C000A", text=f"a{n}")
    for n in range(2):
        lab.queue(f"b:{n}", target="C000B", text=f"b{n}")
    sender = slack_sender(lab, fake_slack, clock, pacing={"slack": 1.05})
    report = sender.run_once()
    assert report.sent == 5
    assert [c.status for c in fake_slack.calls("chat.postMessage")] == [200] * 5
    assert texts(fake_slack, "C000A") == ["a0", "a1", "a2"]
    assert clock.now - THURSDAY == timedelta(seconds=2.1)


def test_a_429_holds_back_that_channel_only(lab: Lab, fake_slack: FakeSlack, clock: Clock) -> None:
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=5)
    lab.queue("a:0", target="C000A", text="a0")
    lab.queue("a:1", target="C000A", text="a1")
    lab.queue("b:0", target="C000B", text="b0")
    sender = slack_sender(lab, fake_slack, clock)
    report = sender.run_once(wait=False)
    assert (report.rate_limited, report.sent, report.released) == (1, 1, 2)
    assert texts(fake_slack, "C000B") == ["b0"]
    assert row(lab, "a:0").next_attempt_at == THURSDAY + timedelta(seconds=5)
    assert row(lab, "a:1").next_attempt_at == THURSDAY + timedelta(seconds=5)
    assert row(lab, "a:0").attempts == 0
    clock.advance(5)
    assert sender.run_once(wait=False).sent == 2
    assert texts(fake_slack, "C000A") == ["a0", "a1"]  # still in order


def test_within_a_short_wait_the_pass_sleeps_through_a_rate_limit(
    lab: Lab, fake_slack: FakeSlack, clock: Clock
) -> None:
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=2)
    lab.queue("a:0", target="C000A", text="a0")
    lab.queue("a:1", target="C000A", text="a1")
    report = slack_sender(lab, fake_slack, clock, max_wait=30).run_once(wait=True)
    assert (report.rate_limited, report.sent) == (1, 2)
    assert texts(fake_slack, "C000A") == ["a0", "a1"]  # in order
    assert clock.now == THURSDAY + timedelta(seconds=2)


def test_a_platform_that_keeps_saying_later_is_left_for_the_next_pass(
    lab: Lab, fake_slack: FakeSlack, clock: Clock
) -> None:
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=1, times=50)
    lab.queue("a:0", target="C000A", text="a0")
    report = slack_sender(lab, fake_slack, clock, max_wait=30).run_once(wait=True)
    assert (report.rate_limited, report.sent, report.released) == (5, 0, 1)
    assert row(lab, "a:0").next_attempt_at == clock.now + timedelta(seconds=1)


@pytest.fixture
def mattermost_lab(engine: Engine, fake_mattermost: FakeMattermost) -> Lab:
    lab = build_lab(engine, platform="mattermost")
    seat_on_mattermost(
        fake_mattermost, "channelaaaaaaaaaaaaaaaaaaaa", "channelbbbbbbbbbbbbbbbbbbbb"
    )
    return lab


def test_mattermost_rate_limit_holds_back_every_channel(
    mattermost_lab: Lab, fake_mattermost: FakeMattermost, clock: Clock
) -> None:
    lab = mattermost_lab
    fake_mattermost.fail_next(CREATE_POST, status=429, retry_after=3)
    lab.queue("a:0", target="channelaaaaaaaaaaaaaaaaaaaa", text="a0")
    lab.queue("b:0", target="channelbbbbbbbbbbbbbbbbbbbb", text="b0")
    signer = MattermostSigner.from_settings(
        Settings(
            mattermost_bot_token=fake_mattermost.token, public_url="https://coordo.example.org"
        )
    )
    sender = Sender(
        lab.engine,
        {"mattermost": MattermostChat(fake_mattermost.url, fake_mattermost.token)},
        renderers={"mattermost": lambda reply, team: to_mattermost(reply, signer, team_id=team)},
        clock=clock,
        concurrency=1,
        pacing={},
    )
    report = sender.run_once(wait=False)
    assert (report.rate_limited, report.sent, report.released) == (1, 0, 2)
    assert fake_mattermost.calls.count(CREATE_POST) == 1
    clock.advance(3)
    assert sender.run_once(wait=False).sent == 2
    lab.queue(
        "ping:1",
        person="marie",
        reply=Reply(text="⏰ Jalon", buttons=[Button("Fait", "milestone.done", "7")]),
    )
    assert sender.run_once(wait=False).sent == 1
    post = fake_mattermost.posts[-1]
    action = post["props"]["attachments"][-1]["actions"][0]
    assert action["integration"]["url"] == "https://coordo.example.org/mattermost/actions"
    assert action["integration"]["context"]["action"] == "milestone.done"
    assert action["integration"]["context"]["team_id"] == "T0LAB"
    assert signer is not None
    assert signer.verify_button(action["integration"]["context"]) is not None


# -- files ---------------------------------------------------------------------------------


CHART = {
    "locale": "fr",
    "title": "Budget participatif de Bondy",
    "currency": "EUR",
    "today": "2026-11-30",
    "lines": [["Logistique", 1_200_000, 185_000]],
    "milestones": [["Clôturer le dépôt", "2026-11-20", "late"]],
    "filename": "digest-bondy-bp.png",
}


def test_the_chart_follows_the_message_and_a_retry_sends_only_the_file(
    lab: Lab, fake_slack: FakeSlack, clock: Clock
) -> None:
    fake_slack.fail_next("files.getUploadURLExternal", status=500)
    lab.queue("digest:1", text="Point de la semaine", chart=CHART)
    sender = slack_sender(lab, fake_slack, clock, retry_base=10.0)
    assert sender.run_once().retried == 1
    assert texts(fake_slack, TEAM_CHANNEL) == ["Point de la semaine"]
    assert row(lab, "digest:1").platform_message_id is not None
    clock.advance(10)
    assert sender.run_once().sent == 1
    assert fake_slack.calls.count("chat.postMessage") == 1
    [chart] = [f for f in fake_slack.files.values() if f.completed]
    assert chart.filename == "digest-bondy-bp.png"
    assert chart.content is not None
    assert chart.content.startswith(b"\x89PNG")
    assert chart.channels == [TEAM_CHANNEL]


def test_a_bug_while_rendering_is_retried_then_dead_lettered(
    lab: Lab, fake_slack: FakeSlack, clock: Clock
) -> None:
    def broken(reply: Reply, workspace: str) -> PlatformMessage:
        raise ValueError("no such block")

    lab.queue("news:1")
    lab.queue("news:2", target=PARTNER_CHANNEL)
    sender = slack_sender(
        lab, fake_slack, clock, renderers={"slack": broken}, max_attempts=2, retry_base=1.0
    )
    assert sender.run_once().retried == 2  # the queue behind it is not stuck
    clock.advance(1)
    assert sender.run_once().dead == 2
    assert "ValueError: no such block" in row(lab, "news:1").last_error


# -- the console ---------------------------------------------------------------------------


def test_the_console_platform_prints_what_is_sent(
    engine: Engine, clock: Clock, tmp_path: object
) -> None:
    from pathlib import Path

    lab = build_lab(engine, platform="console")
    chat = ConsoleChat(Path(str(tmp_path)))
    lab.queue("digest:1", text="**Point** de la semaine", chart=CHART)
    lab.queue("ping:1", person="marie", text="⏰ Jalon")
    sender = Sender(lab.engine, {"console": chat}, clock=clock, concurrency=1, pacing={})
    assert sender.run_once().sent == 2
    lines = chat.drain()
    assert lines[0] == f"📣 Coordo → ~{TEAM_CHANNEL}\nPoint de la semaine"
    assert lines[1].startswith(f"📎 Coordo → ~{TEAM_CHANNEL} : Graphique du point de la semaine")
    assert lines[2] == "📨 Coordo → @U0MARIE\n⏰ Jalon"
    assert chat.drain() == []


@pytest.fixture(autouse=True)
def _no_leftover_threads() -> Iterator[None]:
    before = threading.active_count()
    yield
    assert threading.active_count() <= before + 2


# -- edits in place (a date poll's message) ------------------------------------------------


def queue_edit(lab: Lab, key: str, of: str, text: str, target: str = TEAM_CHANNEL) -> None:
    with lab.session() as session:
        row = outbox.notification(
            key=key,
            workspace_id=lab.workspace_id,
            kind="poll.edit",
            target_kind="channel",
            target_id=target,
            reply=Reply(text=text, buttons=[Button("1 · Oui", "poll.answer", "1:1:yes")]),
            not_before=LONG_AGO,
            quiet_hours=False,
        )
        row["payload"]["edit_of"] = of
        outbox.enqueue_many(session, [row])
        session.commit()


def test_an_edit_waits_for_its_message_then_changes_it_in_place_on_slack(
    lab: Lab, fake_slack: FakeSlack, clock: Clock
) -> None:
    queue_edit(lab, "poll:1:edit:1", "poll:1:message", "✅ 1 oui")
    sender = slack_sender(lab, fake_slack, clock)
    assert sender.run_once(wait=False).sent == 0  # its message is not sent yet: it waits
    assert row(lab, "poll:1:edit:1").attempts == 0
    lab.queue("poll:1:message", text="✅ 0 oui")
    assert sender.run_once(wait=False).sent == 1
    clock.advance(31)
    assert sender.run_once(wait=False).sent == 1
    [message] = fake_slack.messages_in(TEAM_CHANNEL)
    assert (message.text, message.edited) == ("✅ 1 oui", True)
    assert message.blocks is not None
    assert [
        e["value"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]
    ] == ["1:1:yes"]
    assert row(lab, "poll:1:edit:1").platform_message_id == message.ts


def test_an_edit_patches_the_mattermost_post(
    mattermost_lab: Lab, fake_mattermost: FakeMattermost, clock: Clock
) -> None:
    lab = mattermost_lab
    channel = "channelaaaaaaaaaaaaaaaaaaaa"
    lab.queue("poll:1:message", target=channel, text="✅ 0 oui")
    queue_edit(lab, "poll:1:edit:1", "poll:1:message", "✅ 1 oui", target=channel)
    signer = MattermostSigner("https://coordo.example.org", b"k" * 32)
    sender = Sender(
        lab.engine,
        {"mattermost": MattermostChat(fake_mattermost.url, fake_mattermost.token)},
        renderers={"mattermost": lambda reply, team: to_mattermost(reply, signer, team_id=team)},
        clock=clock,
        concurrency=1,
    )
    sender.run_until_idle()
    clock.advance(31)
    sender.run_until_idle()
    [post] = fake_mattermost.posts
    assert post["message"] == "✅ 1 oui"
    assert post["edit_at"] > 0
    [actions] = [a["actions"] for a in post["props"]["attachments"] if "actions" in a]
    assert [a["integration"]["context"]["value"] for a in actions] == ["1:1:yes"]
    assert row(lab, "poll:1:edit:1").sent_at is not None
