"""A message the platform accepted is never sent twice, and none is lost, whatever the
timing: the platform answers after the client gave up (slow accept), the database
connection drops between the platform's acceptance and "mark sent", a worker is killed
with SIGKILL mid-send and its lease taken over. Each against both fakes, which keep a
channel history (Slack ``conversations.history`` with metadata, Mattermost
``GET /channels/{id}/posts``) that the sender searches after any doubt."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, text

from bot.kit.port import ChatPort, PlatformMessage
from bot.mattermost.client import MattermostChat, pending_post_id
from bot.mattermost.render import to_mattermost
from bot.sender import Renderer, Sender
from bot.slack.client import SlackChat
from bot.slack.render import to_slack
from commands.reply import File, Reply
from models.db import make_engine
from tests.fakes._server import FakeServer, ManualClock
from tests.fakes.mattermost_api import CREATE_POST, UPLOAD_FILE, FakeMattermost
from tests.fakes.slack_api import FakeSlack
from tests.lab import TEAM_CHANNEL, Lab, build_lab, seat_on_mattermost, slack_workspace
from tests.processes import ROOT, process_env

MM_CHANNEL = "channelaaaaaaaaaaaaaaaaaaaa"
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


class Clock:
    """Our clock and the fake's, moved together."""

    def __init__(self, start: datetime, fake: ManualClock) -> None:
        self.now = start
        self.fake = fake

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        self.fake.advance(seconds)


@dataclass
class Platform:
    """One fake platform, its client, and how to count what it holds."""

    name: str
    fake: FakeServer
    post_call: str
    channel: str

    def client(self, timeout: float = 10) -> ChatPort:
        if isinstance(self.fake, FakeSlack):
            return SlackChat(self.fake.token, base_url=self.fake.api_url, timeout=int(timeout))
        assert isinstance(self.fake, FakeMattermost)
        return MattermostChat(self.fake.url, self.fake.token, timeout=timeout)

    def renderers(self) -> dict[str, Renderer]:
        if self.name == "mattermost":
            return {"mattermost": lambda reply, team: to_mattermost(reply, None, team_id=team)}
        return {"slack": to_slack}

    def texts(self) -> list[str]:
        """Every message the platform holds in the channel, in order."""
        if isinstance(self.fake, FakeSlack):
            return [m.text or "" for m in self.fake.messages_in(self.channel)]
        assert isinstance(self.fake, FakeMattermost)
        return [p["message"] for p in self.fake.posts_in(self.channel)]

    def ids(self) -> list[str]:
        if isinstance(self.fake, FakeSlack):
            return [m.ts for m in self.fake.messages_in(self.channel)]
        assert isinstance(self.fake, FakeMattermost)
        return [p["id"] for p in self.fake.posts_in(self.channel)]


@pytest.fixture(params=["slack", "mattermost"])
def platform(request: pytest.FixtureRequest, manual_clock: ManualClock) -> Iterator[Platform]:
    if request.param == "slack":
        with FakeSlack(clock=manual_clock) as slack:
            slack_workspace(slack)
            yield Platform("slack", slack, "chat.postMessage", TEAM_CHANNEL)
    else:
        with FakeMattermost(clock=manual_clock) as mattermost:
            seat_on_mattermost(mattermost, MM_CHANNEL)
            yield Platform("mattermost", mattermost, CREATE_POST, MM_CHANNEL)


@pytest.fixture
def lab(engine: Engine, platform: Platform) -> Lab:
    return build_lab(engine, platform=platform.name)


@pytest.fixture
def clock(manual_clock: ManualClock) -> Clock:
    return Clock(NOW, manual_clock)


def sender(
    engine: Engine, platform: Platform, clock: Callable[[], datetime], **options: Any
) -> Sender:
    port = platform.client(options.pop("timeout", 10))
    options.setdefault("concurrency", 1)
    options.setdefault("pacing", {})
    return Sender(
        engine, {platform.name: port}, renderers=platform.renderers(), clock=clock, **options
    )


def queue(lab: Lab, platform: Platform, count: int) -> list[str]:
    texts = [f"Message n°{n}" for n in range(count)]
    for n, body in enumerate(texts):
        lab.queue(f"news:{n}", target=platform.channel, text=body)
    return texts


def assert_exactly_once(lab: Lab, platform: Platform, texts: list[str]) -> None:
    """Every message on the platform once (0 duplicates, 0 lost), every row sent with the
    id of its one message."""
    held = Counter(platform.texts())
    assert {t: n for t, n in held.items() if n > 1} == {}, "duplicates"
    assert sorted(held) == sorted(texts), "lost or extra"
    rows = lab.rows()
    assert all(r.sent_at is not None for r in rows), [r.key for r in rows if r.sent_at is None]
    assert sorted(r.platform_message_id or "" for r in rows) == sorted(platform.ids())


# -- slow accept ---------------------------------------------------------------------------


def test_a_slow_accept_is_found_in_the_history_not_sent_again(
    lab: Lab, platform: Platform, clock: Clock
) -> None:
    """The platform keeps the message but answers after the client's timeout: the sender
    cannot tell, retries later, and finds it in the channel's history."""
    texts = queue(lab, platform, 6)
    platform.fake.accept_slowly(platform.post_call, 2.5, times=2)  # the first two
    send = sender(lab.engine, platform, clock, timeout=1, retry_base=60)
    first = send.run_once(wait=False)
    assert (first.sent, first.retried) == (4, 2)
    assert len(platform.texts()) == 6  # the platform has all six already
    clock.advance(61)
    second = send.run_once(wait=False)
    assert (second.sent, second.retried) == (2, 0)
    assert platform.fake.calls.count(platform.post_call) == 6  # none posted again
    assert_exactly_once(lab, platform, texts)


def test_a_timeout_before_the_platform_took_it_sends_it_after_looking(
    lab: Lab, platform: Platform, clock: Clock
) -> None:
    """Doubt that turns out to be a loss: not in the history, so it goes again, once."""
    texts = queue(lab, platform, 1)
    platform.fake.fail_next(platform.post_call, status=504)  # refused before keeping it
    send = sender(lab.engine, platform, clock, retry_base=60)
    assert send.run_once(wait=False).retried == 1
    assert lab.rows()[0].sending_since == NOW
    clock.advance(61)
    assert send.run_once(wait=False).sent == 1
    assert_exactly_once(lab, platform, texts)


# -- the database lost after the platform accepted -----------------------------------------


def drop_connections(engine: Engine, database_url: str) -> Callable[[], None]:
    """What drops the sender's database connections at the moment the platform accepts:
    on PostgreSQL the server ends their backends; SQLite has no connection to lose, so
    the driver's next statement fails as a lost disk would."""
    if engine.dialect.name == "postgresql":
        name = engine.url.query.get("application_name")
        admin = make_engine(database_url)

        def terminate() -> None:
            with admin.begin() as conn:
                ended = conn.execute(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE application_name = :name"
                    ),
                    {"name": name},
                ).scalar()
            assert ended, "no connection of the sender to drop"

        return terminate
    armed = threading.Event()

    def fail_next_statement(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if armed.is_set() and "outbox_message" in statement:
            armed.clear()
            import sqlite3

            raise sqlite3.OperationalError("disk I/O error")

    event.listen(engine, "before_cursor_execute", fail_next_statement)
    return armed.set


def sender_engine(database_url: str) -> Engine:
    """The sender's own engine; on PostgreSQL its connections carry a name to find them by."""
    if database_url.startswith("postgresql"):
        name = f"sender-{uuid.uuid4().hex[:8]}"
        return make_engine(f"{database_url}&application_name={name}")
    return make_engine(database_url)


def test_a_connection_lost_after_the_platform_accepted_sends_nothing_twice(
    lab: Lab, platform: Platform, clock: Clock, database_url: str
) -> None:
    texts = queue(lab, platform, 3)
    engine = sender_engine(database_url)
    platform.fake.after_next(platform.post_call, drop_connections(engine, database_url))
    send = sender(engine, platform, clock, retry_base=60)
    first = send.run_once(wait=False)
    assert (first.sent, first.retried) == (2, 1)  # the first was kept, not marked sent
    clock.advance(61)
    assert send.run_once(wait=False).sent == 1
    assert platform.fake.calls.count(platform.post_call) == 3
    assert_exactly_once(lab, platform, texts)
    engine.dispose()


# -- a worker killed mid-send --------------------------------------------------------------


def test_a_worker_killed_mid_send_loses_nothing_and_sends_nothing_twice(
    lab: Lab, platform: Platform, database_url: str
) -> None:
    """A worker in a process of its own sends the first of three messages; the platform
    keeps it and the worker is killed (SIGKILL) before the answer. Once its lease runs
    out another worker takes the rows over: the first is found in the history, the two
    others (never tried) go."""
    texts = queue(lab, platform, 3)
    platform.fake.accept_slowly(platform.post_call, 60)
    api_url = platform.fake.api_url if isinstance(platform.fake, FakeSlack) else platform.fake.url
    token = platform.fake.token  # type: ignore[attr-defined]
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.bot.outbox_child",
            database_url,
            platform.name,
            api_url,
            token,
        ],
        cwd=ROOT,
        env=process_env({}),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while not platform.texts():
            assert child.poll() is None, child.communicate()[0]
            assert time.monotonic() < deadline, "the worker sent nothing"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
    assert child.returncode == -signal.SIGKILL
    [held] = [r for r in lab.rows() if r.claimed_by is not None and r.sending_since is not None]
    assert held.sent_at is None  # accepted by the platform, never marked sent
    later = datetime.now(UTC) + timedelta(minutes=6)  # past the dead worker's lease
    report = sender(lab.engine, platform, lambda: later).run_once(wait=False)
    assert (report.claimed, report.sent) == (3, 3)
    assert platform.fake.calls.count(platform.post_call) == 3
    assert_exactly_once(lab, platform, texts)


# -- the wire -----------------------------------------------------------------------------


def test_messages_carry_their_outbox_key(lab: Lab, platform: Platform, clock: Clock) -> None:
    queue(lab, platform, 1)
    sender(lab.engine, platform, clock).run_once(wait=False)
    body = platform.fake.calls.last(platform.post_call).body
    if platform.name == "slack":
        assert body["metadata"] == {
            "event_type": "coordo_outbox",
            "event_payload": {"key": "news:0"},
        }
    else:
        assert body["props"]["coordo_outbox_key"] == "news:0"
        assert body["pending_post_id"] == pending_post_id("news:0")


def test_mattermost_drops_a_repeat_with_the_same_pending_post_id(
    fake_mattermost: FakeMattermost, manual_clock: ManualClock
) -> None:
    seat_on_mattermost(fake_mattermost, MM_CHANNEL)
    client = MattermostChat(fake_mattermost.url, fake_mattermost.token)
    message = PlatformMessage(text="Bonjour", key="news:1")
    first = client.post(MM_CHANNEL, message)
    assert client.post(MM_CHANNEL, message) == first  # within the server's window
    manual_clock.advance(31)
    assert client.post(MM_CHANNEL, message) != first
    assert len(fake_mattermost.posts_in(MM_CHANNEL)) == 2
    found = client.find_sent(MM_CHANNEL, "news:1", NOW - timedelta(days=30), direct=False)
    assert found == first  # the earliest
    assert client.find_sent(MM_CHANNEL, "news:2", NOW - timedelta(days=30), direct=False) is None


def test_slack_history_is_searched_page_by_page(fake_slack: FakeSlack) -> None:
    slack_workspace(fake_slack)
    client = SlackChat(fake_slack.token, base_url=fake_slack.api_url)
    wanted = client.post(TEAM_CHANNEL, PlatformMessage(text="cherché", key="news:1"))
    for n in range(450):  # three pages of newer messages above it
        client.post(TEAM_CHANNEL, PlatformMessage(text=f"après {n}", key=f"other:{n}"))
    since = datetime.now(UTC) - timedelta(minutes=1)
    assert client.find_sent(TEAM_CHANNEL, "news:1", since, direct=False) == wanted
    assert fake_slack.calls.count("conversations.history") == 3
    assert client.find_sent(TEAM_CHANNEL, "news:404", since, direct=False) is None
    history = fake_slack.calls.last("conversations.history").body
    assert history["include_all_metadata"] in ("1", "true", "True")


def test_a_rate_limit_leaves_no_doubt_to_look_up(
    lab: Lab, platform: Platform, clock: Clock
) -> None:
    """A 429 is an answer (the platform kept nothing): the retry posts without a look-up."""
    texts = queue(lab, platform, 1)
    platform.fake.fail_next(platform.post_call, status=429, retry_after=2)
    send = sender(lab.engine, platform, clock)
    assert send.run_once(wait=False).rate_limited == 1
    assert lab.rows()[0].sending_since is None
    clock.advance(3)
    assert send.run_once(wait=False).sent == 1
    looked = ("conversations.history", "GET /api/v4/channels/{id}/posts")
    assert sum(platform.fake.calls.count(name) for name in looked) == 0
    assert_exactly_once(lab, platform, texts)


# -- files -----------------------------------------------------------------------------
# A message's files are shared after it, each once: "file i sending since" is written
# before its share and its id after; a retry skips the files done and looks the one in
# doubt up (Slack: the bot's share of that name and title after the message; Mattermost:
# the bot's post carrying the file, tagged with the row's key and the file's place).

FILE_NAMES = ["budget.csv", "jalons.ics", "graphique.png"]


def queue_with_files(lab: Lab, platform: Platform, count: int = len(FILE_NAMES)) -> None:
    files = [File(name, f"contenu {name}".encode(), f"Pièce {name}") for name in FILE_NAMES]
    lab.queue(
        "news:files",
        target=platform.channel,
        reply=Reply(text="Le point de la semaine", files=files[:count]),
    )


def shared_files(platform: Platform) -> list[str]:
    """The names of the files shared in the channel, in order, each share counted."""
    if isinstance(platform.fake, FakeSlack):
        fake = platform.fake
        return [fake.files[f].filename for m in fake.messages_in(platform.channel) for f in m.files]
    assert isinstance(platform.fake, FakeMattermost)
    return [
        platform.fake.files[f].name
        for p in platform.fake.posts_in(platform.channel)
        for f in p["file_ids"]
    ]


def share_call(platform: Platform) -> str:
    """The call by which the platform keeps a shared file."""
    return "files.completeUploadExternal" if platform.name == "slack" else CREATE_POST


def on_the_nth_share(platform: Platform, n: int, action: Callable[[], None]) -> None:
    """Run ``action`` once the platform kept the ``n``-th file share (from 1), before it
    answers. On Mattermost the message itself is the first ``POST /posts``."""
    skip = n - 1 if platform.name == "slack" else n
    for _ in range(skip):
        platform.fake.after_next(share_call(platform), lambda: None)
    platform.fake.after_next(share_call(platform), action)


def assert_files_once(lab: Lab, platform: Platform) -> None:
    assert shared_files(platform) == FILE_NAMES, "a file twice, lost, or out of order"
    assert platform.texts().count("Le point de la semaine") == 1, "the message twice"
    [row] = lab.rows()
    assert row.sent_at is not None
    assert row.last_error == ""
    progress = row.payload["files_sent"]
    assert sorted(progress) == ["0", "1", "2"]
    assert all(e["id"] for e in progress.values())


def test_a_file_share_that_timed_out_after_the_platform_kept_it_is_not_sent_twice(
    lab: Lab, platform: Platform, clock: Clock
) -> None:
    queue_with_files(lab, platform)
    on_the_nth_share(platform, 2, lambda: time.sleep(2.5))  # kept, answered too late
    send = sender(lab.engine, platform, clock, timeout=1, retry_base=60)
    assert send.run_once(wait=False).retried == 1
    assert shared_files(platform) == FILE_NAMES[:2]  # the platform has the second already
    [row] = lab.rows()
    assert row.platform_message_id is not None
    assert row.sent_at is None
    assert "id" in row.payload["files_sent"]["0"]
    assert "id" not in row.payload["files_sent"]["1"]
    clock.advance(61)
    assert send.run_once(wait=False).sent == 1
    assert_files_once(lab, platform)


def test_a_file_the_platform_did_not_keep_is_sent_again(
    lab: Lab, platform: Platform, clock: Clock
) -> None:
    queue_with_files(lab, platform)
    if platform.name == "slack":  # refused before the platform kept anything
        platform.fake.fail_next(share_call(platform), status=504)
    else:
        platform.fake.fail_next(UPLOAD_FILE, status=504)
    send = sender(lab.engine, platform, clock, retry_base=60)
    assert send.run_once(wait=False).retried == 1
    assert shared_files(platform) == []
    assert "since" in lab.rows()[0].payload["files_sent"]["0"]
    clock.advance(61)
    looked = ("conversations.history", "GET /api/v4/channels/{id}/posts")
    before = sum(platform.fake.calls.count(name) for name in looked)
    assert send.run_once(wait=False).sent == 1
    assert sum(platform.fake.calls.count(name) for name in looked) == before + 1
    assert_files_once(lab, platform)


def test_a_connection_lost_after_a_file_was_kept_sends_it_once(
    lab: Lab, platform: Platform, clock: Clock, database_url: str
) -> None:
    queue_with_files(lab, platform)
    engine = sender_engine(database_url)
    on_the_nth_share(platform, 1, drop_connections(engine, database_url))
    send = sender(engine, platform, clock, retry_base=60)
    assert send.run_once(wait=False).retried == 1
    clock.advance(61)
    assert send.run_once(wait=False).sent == 1
    assert_files_once(lab, platform)
    engine.dispose()


def test_a_worker_killed_between_two_files_sends_the_rest_once(
    lab: Lab, platform: Platform, database_url: str, manual_clock: ManualClock
) -> None:
    """The worker shares the first file, the platform keeps the second and the worker is
    killed before the answer; the one that takes the row over finds the second in the
    history and shares the third, the message and the first untouched."""
    queue_with_files(lab, platform)
    on_the_nth_share(platform, 2, lambda: time.sleep(60))
    api_url = platform.fake.api_url if isinstance(platform.fake, FakeSlack) else platform.fake.url
    token = platform.fake.token  # type: ignore[attr-defined]
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.bot.outbox_child",
            database_url,
            platform.name,
            api_url,
            token,
        ],
        cwd=ROOT,
        env=process_env({}),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while len(shared_files(platform)) < 2:
            assert child.poll() is None, child.communicate()[0]
            assert time.monotonic() < deadline, "the worker shared no second file"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
    assert child.returncode == -signal.SIGKILL
    [row] = lab.rows()
    assert row.sent_at is None
    assert row.platform_message_id is not None
    assert "id" not in row.payload["files_sent"]["1"]
    later = datetime.now(UTC) + timedelta(minutes=6)  # past the dead worker's lease
    manual_clock.advance(360)  # and past Mattermost's pending_post_id window
    report = sender(lab.engine, platform, lambda: later).run_once(wait=False)
    assert (report.claimed, report.sent) == (1, 1)
    assert_files_once(lab, platform)


def test_a_rate_limited_file_share_leaves_no_doubt_and_the_message_is_not_posted_again(
    lab: Lab, platform: Platform, clock: Clock
) -> None:
    """A 429 on a file is an answer: within the same pass the row waits and goes on with
    that file, its message (already posted) not posted again, nothing looked up."""
    queue_with_files(lab, platform)
    limited = "files.getUploadURLExternal" if platform.name == "slack" else UPLOAD_FILE
    platform.fake.fail_next(limited, status=429, retry_after=1)
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds)

    send = sender(lab.engine, platform, clock, sleep=sleep)
    report = send.run_once(wait=True)
    assert (report.rate_limited, report.sent) == (1, 1)
    assert waits == [1.0]
    looked = ("conversations.history", "GET /api/v4/channels/{id}/posts")
    assert sum(platform.fake.calls.count(name) for name in looked) == 0
    assert_files_once(lab, platform)


def test_slack_finds_a_file_share_after_the_message_only(
    fake_slack: FakeSlack, manual_clock: ManualClock
) -> None:
    slack_workspace(fake_slack)
    client = SlackChat(fake_slack.token, base_url=fake_slack.api_url)
    earlier = client.upload_tagged_file(TEAM_CHANNEL, "digest.png", b"old", "Digest", key="a#0")
    message = client.post(TEAM_CHANNEL, PlatformMessage(text="Le point", key="b"))
    since = datetime.now(UTC) - timedelta(minutes=1)
    find = client.find_file
    assert find(TEAM_CHANNEL, "b#0", "digest.png", "Digest", since, after=message) is None
    first = client.upload_tagged_file(TEAM_CHANNEL, "digest.png", b"new", "Digest", key="b#0")
    second = client.upload_tagged_file(TEAM_CHANNEL, "digest.png", b"new", "Digest", key="b#1")
    assert earlier not in (first, second)
    assert find(TEAM_CHANNEL, "b#0", "digest.png", "Digest", since, after=message) == first
    known = frozenset({first})
    assert find(TEAM_CHANNEL, "b#1", "digest.png", "Digest", since, after=message, known=known) == (
        second
    )
    assert find(TEAM_CHANNEL, "b#0", "digest.png", "Autre titre", since, after=message) is None
    assert find(TEAM_CHANNEL, "b#0", "autre.png", "Digest", since, after=message) is None


def test_mattermost_finds_a_file_post_by_its_tag(
    fake_mattermost: FakeMattermost, manual_clock: ManualClock
) -> None:
    seat_on_mattermost(fake_mattermost, MM_CHANNEL)
    client = MattermostChat(fake_mattermost.url, fake_mattermost.token)
    message = client.post(MM_CHANNEL, PlatformMessage(text="Le point", key="b"))
    since = NOW - timedelta(days=30)
    assert client.find_file(MM_CHANNEL, "b#0", "d.png", "Digest", since, after=message) is None
    shared = client.upload_tagged_file(MM_CHANNEL, "d.png", b"png", "Digest", key="b#0")
    assert client.find_file(MM_CHANNEL, "b#0", "d.png", "Digest", since, after=message) == shared
    assert client.find_file(MM_CHANNEL, "b#1", "d.png", "Digest", since, after=message) is None
    [post] = [p for p in fake_mattermost.posts_in(MM_CHANNEL) if p["id"] == shared]
    assert post["props"]["coordo_outbox_key"] == "b#0"
    assert [f["name"] for f in post["metadata"]["files"]] == ["d.png"]
    assert post["metadata"]["files"][0]["post_id"] == shared


def test_a_lost_file_is_not_taken_for_the_same_file_of_a_later_message(
    lab: Lab, platform: Platform, clock: Clock
) -> None:
    """Two messages to one channel, each with a file of the same name and title: the
    first one's share is lost (a 504 before the platform kept it), the second message
    goes in full; the first's look-up (on Slack, by name and title) does not take the
    second's file for its own, and shares it again."""
    for n in range(2):
        reply = Reply(text=f"Digest {n}", files=[File("digest.png", b"png", "Digest")])
        lab.queue(f"digest:{n}", target=platform.channel, reply=reply)
    lost = "files.completeUploadExternal" if platform.name == "slack" else UPLOAD_FILE
    platform.fake.fail_next(lost, status=504)
    send = sender(lab.engine, platform, clock, retry_base=60)
    assert send.run_once(wait=False).sent == 1  # the second; the first is retried
    assert shared_files(platform) == ["digest.png"]
    clock.advance(61)
    assert send.run_once(wait=False).sent == 1
    assert shared_files(platform) == ["digest.png", "digest.png"]
    first, second = lab.rows()
    ids = [r.payload["files_sent"]["0"]["id"] for r in (first, second)]
    assert ids[0] != ids[1]
