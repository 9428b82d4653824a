"""The outbox sender: delivers queued notifications through the platforms' clients.

One pass (``Sender.run_once``):

1. drop the rows whose ``expires_at`` has passed, and claim up to ``batch_size`` due
   rows of the workspaces this sender has a client for (``outbox.claim``: PostgreSQL
   ``FOR UPDATE SKIP LOCKED``, SQLite's single writer), committed at once;
2. send them, one at a time per target (a channel, or a person's direct messages) and
   in their order, several targets at once (``concurrency`` threads). Before each send
   the row is checked again: dropped when no longer worth sending
   (``outbox.skip_reason``: done milestone, muted person…), held until the next opening
   outside the experiment's working hours (``outbox.hold_until``);
3. record each outcome as soon as it is known, in its own transaction: ``sent`` only
   once the platform accepted the message; a rate limit (``RateLimited``) waits
   ``retry_after`` without counting as an attempt, the message staying first in line,
   and holds back the other messages to that target (all of a Mattermost server's,
   whose limit is per token); a failure
   (``TransientError``, or a bug) is retried with backoff; a refusal
   (``PermanentError``) or the last attempt dead-letters the row and tells the
   coordinators.

Pacing: Slack allows about one message per second per channel, so messages to one
Slack target are spaced by ``pacing["slack"]`` seconds rather than sent into a 429.
Waits of up to ``max_wait`` seconds are slept through within a pass (``wait=True``);
longer ones, or any with ``wait=False``, give the row back with its next attempt time.

Restarts: a row is claimed for ``lease`` at most, and a pass starts no send after half its
lease (the rest goes back), so no claim runs out while its worker still means to send
it. ``stop()`` lets the messages being
sent finish and gives every other claimed row back at once, so a restart loses nothing
and sends nothing twice. A process killed outright leaves its rows claimed until the
lease runs out.

Doubt: each send is recorded (``sending_since``) before the platform is called, and the
message carries its outbox key. A row taken up again with that mark — after a timeout,
a 5xx, a database lost before "mark sent", or a worker killed mid-send — is first looked
up in its channel's history (``SentLookup.find_sent``): found, it is marked sent; not
found, it goes. See "Exactly once" in ``docs/design.md``.

Files (``Reply.files``, and the digest chart drawn at send time) go after the message;
the message's platform id is written first, so a retry sends the files only. Each file is
reconciled as a message is: "file i sending since" is written before its share and its
id after (``outbox.mark_file``, in the payload); a retry skips the files done and looks
the one in doubt up (``FileLookup.find_file``) before sharing it again.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import socket
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import Engine
from sqlmodel import Session

from bot.kit.port import (
    ChatPort,
    FileLookup,
    MessageEditor,
    PermanentError,
    PlatformMessage,
    RateLimited,
    SentLookup,
    TokenRevoked,
    TransientError,
)
from bot.text import reply_to_text
from commands.reply import File, Reply
from commands.services import charts, outbox, wording
from commands.services.outbox import Claimed, Destination

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
# A reply rendered for a platform; the second argument is the workspace's platform id
# (a Mattermost team, which buttons in direct messages need).
Renderer = Callable[[Reply, str], PlatformMessage]
Target = tuple[int, str, str]

DEFAULT_PACING = {"slack": 1.05}
# Rows sent this long before a file's share began may hold files its look-up must skip.
FILE_LOOKUP_MARGIN = timedelta(minutes=10)
# How long an edit waits for the message it changes to be sent.
EDIT_WAIT = timedelta(seconds=30)
# A row rate-limited this many times in one pass waits for the next pass.
RATE_LIMITS_PER_PASS = 5
# Platforms whose rate limit is one for the whole token, not per channel.
TOKEN_WIDE_LIMITS = frozenset({"mattermost"})
# A row of a workspace where the app is no longer installed (uninstalled, token revoked)
# waits this long, or until the workspace installs it again (which resumes it), without
# counting an attempt: neither dead-lettered nor retried every few seconds.
NOT_INSTALLED = "not installed in this workspace"
NOT_INSTALLED_HOLD = timedelta(hours=24)


@runtime_checkable
class PortsByWorkspace(Protocol):
    """A platform whose client depends on the workspace: an app installed in many, each
    with its own token. None when the app is not installed in ``workspace``."""

    platform: str

    def for_workspace(self, workspace: str) -> ChatPort | None: ...


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_text(reply: Reply, workspace: str = "") -> PlatformMessage:
    """A reply as plain text (the console); files are sent apart."""
    bare = Reply(text=reply.text, sections=reply.sections, buttons=reply.buttons)
    return PlatformMessage(text=reply_to_text(bare))


def default_renderers() -> dict[str, Renderer]:
    return {
        "console": to_text,
    }


@dataclass
class SendReport:
    """What one pass did."""

    claimed: int = 0
    sent: int = 0
    held: int = 0
    retried: int = 0
    rate_limited: int = 0
    dead: int = 0
    dropped: int = 0
    expired: int = 0
    released: int = 0

    def add(self, status: str) -> None:
        setattr(self, status, getattr(self, status) + 1)


@dataclass(frozen=True)
class Outcome:
    status: str  # sent, held, retried, rate_limited, dead, dropped
    wait: float = 0.0


@dataclass
class _Pass:
    queues: dict[Target, deque[Claimed]]
    platforms: dict[int, tuple[str, str]]
    report: SendReport
    # No new send after this: the rows still waiting go back long before their lease ends.
    deadline: datetime
    heap: list[tuple[datetime, int, Target]] = field(default_factory=list)
    # Rate limits met per row, and the targets left for the next pass.
    limited: dict[int, int] = field(default_factory=dict)
    given_up: set[Target] = field(default_factory=set)
    # Until when a platform asked each target to wait (429 Retry-After).
    limited_until: dict[Target, datetime] = field(default_factory=dict)


class Sender:
    """Delivers outbox rows for the workspaces of the platforms in ``ports``."""

    def __init__(
        self,
        engine: Engine,
        ports: Mapping[str, ChatPort | PortsByWorkspace],
        *,
        renderers: Mapping[str, Renderer] | None = None,
        clock: Clock = utc_now,
        sleep: Callable[[float], None] | None = None,
        worker: str | None = None,
        batch_size: int = 200,
        concurrency: int = 4,
        lease: timedelta = timedelta(minutes=5),
        max_attempts: int = 8,
        retry_base: float = 60.0,
        pacing: Mapping[str, float] | None = None,
        max_wait: float = 30.0,
        draw_chart: Callable[[dict[str, Any]], File | None] = charts.render_chart,
    ) -> None:
        self.engine = engine
        self.ports = dict(ports)
        self.renderers = {**default_renderers(), **(renderers or {})}
        self.clock = clock
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.batch_size = batch_size
        self.concurrency = max(1, concurrency)
        self.lease = lease
        self.max_attempts = max_attempts
        self.retry_base = retry_base
        self.pacing = dict(DEFAULT_PACING if pacing is None else pacing)
        self.max_wait = max_wait
        self.draw_chart = draw_chart
        self._stop = threading.Event()
        self._sleep = sleep or self._stop.wait
        self._lock = threading.Lock()
        # When each target, and each platform with a token-wide limit, may be sent to next.
        self._ready: dict[Target, datetime] = {}
        self._platform_ready: dict[str, datetime] = {}
        self._order = itertools.count()
        missing = [p for p in self.ports if p not in self.renderers]
        if missing:
            raise ValueError(f"no renderer for {missing}")

    # -- control ---------------------------------------------------------------------

    def stop(self) -> None:
        """Finish the sends under way, give the other claimed rows back, stop."""
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def run_once(self, *, wait: bool = True) -> SendReport:
        """One pass over what is due now; see the module's docstring."""
        report = SendReport()
        if self.stopped or not self.ports:
            return report
        now = self.clock()
        with self._lock:
            self._ready = {t: m for t, m in self._ready.items() if m > now}
        platform_names = sorted(self.ports)
        # Reads first, in a session of their own; then each write opens its transaction:
        # on SQLite a transaction that reads before a write commits cannot write after it.
        with self._session() as session:
            expired = outbox.has_expired(session, now)
            due = outbox.has_due(session, now=now, platforms=platform_names, lease=self.lease)
        if expired:
            with self._session() as session:
                report.expired = outbox.drop_expired(session, now)
                session.commit()
        if not due:
            return report
        with self._session() as session:
            rows = outbox.claim(
                session,
                now=now,
                worker=self.worker,
                platforms=platform_names,
                limit=self.batch_size,
                lease=self.lease,
            )
            platforms = outbox.platforms_of(session, {r.workspace_id for r in rows})
            session.commit()
        report.claimed = len(rows)
        if not rows:
            return report
        queues: dict[Target, deque[Claimed]] = {}
        for row in rows:
            queues.setdefault(row.target, deque()).append(row)
        state = _Pass(queues, platforms, report, deadline=now + self.lease / 2)
        for target in queues:
            self._push(state, target)
        try:
            self._dispatch(state, wait)
        finally:
            self._give_back(state)
        return report

    def run_until_idle(self, *, max_passes: int = 1000) -> SendReport:
        """Passes until nothing is left to claim now (tests, benchmarks, ``--once``)."""
        total = SendReport()
        for _ in range(max_passes):
            report = self.run_once(wait=True)
            for name in vars(total):
                setattr(total, name, getattr(total, name) + getattr(report, name))
            if report.claimed == 0 or self.stopped:
                break
        return total

    # -- scheduling ------------------------------------------------------------------

    def _ready_at(self, state: _Pass, target: Target) -> datetime:
        platform = state.platforms[target[0]][0]
        with self._lock:
            moments = [self._ready.get(target), self._platform_ready.get(platform)]
        return max((m for m in moments if m is not None), default=datetime.min.replace(tzinfo=UTC))

    def _push(self, state: _Pass, target: Target) -> None:
        if state.queues[target] and target not in state.given_up:
            heapq.heappush(state.heap, (self._ready_at(state, target), next(self._order), target))

    def _dispatch(self, state: _Pass, wait_allowed: bool) -> None:
        executor = ThreadPoolExecutor(self.concurrency) if self.concurrency > 1 else None
        running: dict[Future[Outcome], tuple[Target, Claimed]] = {}
        try:
            while (state.heap or running) and not self.stopped:
                now = self.clock()
                while state.heap and len(running) < self.concurrency and now < state.deadline:
                    ready, _, target = state.heap[0]
                    if ready > now:
                        break
                    heapq.heappop(state.heap)
                    if self._ready_at(state, target) > now:  # a rate limit came meanwhile
                        self._push(state, target)
                        continue
                    row = state.queues[target].popleft()
                    platform = state.platforms[row.workspace_id]
                    if executor is None:
                        self._settle(state, target, row, self._attempt(row, platform))
                    else:
                        running[executor.submit(self._attempt, row, platform)] = (target, row)
                if running:
                    timeout = None
                    if state.heap and len(running) < self.concurrency:
                        timeout = max(0.0, (state.heap[0][0] - self.clock()).total_seconds())
                    done, _ = wait(running, timeout=timeout, return_when=FIRST_COMPLETED)
                    for future in done:
                        target, row = running.pop(future)
                        self._settle(state, target, row, future.result())
                    continue
                if not state.heap or now >= state.deadline:
                    break
                delay = (state.heap[0][0] - self.clock()).total_seconds()
                if delay <= 0:
                    continue
                if not wait_allowed or delay > self.max_wait:
                    break
                self._sleep(delay)
        finally:
            for future, (target, row) in list(running.items()):
                self._settle(state, target, row, future.result())
            if executor is not None:
                executor.shutdown(wait=True)

    def _settle(self, state: _Pass, target: Target, row: Claimed, outcome: Outcome) -> None:
        state.report.add(outcome.status)
        if outcome.status == "rate_limited":
            state.limited[row.id] = state.limited.get(row.id, 0) + 1
            state.queues[target].appendleft(row)
            if state.limited[row.id] >= RATE_LIMITS_PER_PASS:
                # A platform that keeps saying "later": leave this target for the next pass.
                state.given_up.add(target)
        platform = state.platforms[row.workspace_id][0]
        now = self.clock()
        with self._lock:
            if outcome.status == "rate_limited":
                until = now + timedelta(seconds=outcome.wait)
                self._ready[target] = max(until, self._ready.get(target, until))
                state.limited_until[target] = until
                if platform in TOKEN_WIDE_LIMITS:
                    self._platform_ready[platform] = until
            elif outcome.status == "sent" and self.pacing.get(platform):
                self._ready[target] = now + timedelta(seconds=self.pacing[platform])
        if outcome.status == "rate_limited":
            # The other targets of a token-wide limit wait too: re-sort the heap.
            state.heap = [(self._ready_at(state, t), n, t) for _, n, t in state.heap]
            heapq.heapify(state.heap)
        self._push(state, target)

    def _give_back(self, state: _Pass) -> None:
        """Rows claimed but not tried: back to the queue, with the moment their target
        may be sent to again when it is still waiting. A sender that stops keeps only the
        waits a platform asked for: its own spacing goes with it."""
        now = self.clock()
        waiting: dict[datetime | None, list[int]] = {}
        for target, queue in state.queues.items():
            if not queue:
                continue
            if self.stopped:
                limited = state.limited_until.get(target)
                platform = state.platforms[target[0]][0]
                moments = [limited, self._platform_ready.get(platform)]
                ready = max((m for m in moments if m is not None), default=now)
            else:
                ready = self._ready_at(state, target)
            key = ready if ready > now else None
            waiting.setdefault(key, []).extend(r.id for r in queue)
            state.report.released += len(queue)
            queue.clear()
        if not waiting:
            return
        with self._session() as session:
            for retry_at, ids in waiting.items():
                outbox.release(session, ids, retry_at=retry_at)
            session.commit()

    # -- one message -----------------------------------------------------------------

    def _attempt(self, row: Claimed, platform: tuple[str, str]) -> Outcome:
        """Send one row and record what happened. Never raises for a platform's or a
        message's failure: a bug in rendering a message retries it, then dead-letters it,
        rather than stopping the queue behind it."""
        try:
            return self._deliver(row, platform)
        except Exception as error:  # a bug: logged with its traceback, and retried
            log.exception("sending outbox row %s (%s) failed unexpectedly", row.id, row.key)
            return self._failed(row, f"{type(error).__name__}: {error}")

    def _deliver(self, row: Claimed, platform: tuple[str, str]) -> Outcome:
        name, workspace = platform
        ports = self.ports[name]
        now = self.clock()
        with self._session() as session:
            row = outbox.refresh(session, row)
            reason = outbox.skip_reason(session, row, now)
            hold = outbox.hold_until(session, row, now) if reason is None else None
            destination = outbox.destination(session, row)
            # Relative words ("dans 7 jours") as they read now, not when queued.
            reply = wording.reply_at(session, row, now) if reason is None and hold is None else None
            if reason is None and hold is None and reply is None:
                reason = wording.STALE
        if reason is not None:
            with self._session() as session:
                outbox.mark_dropped(session, row.id, now, reason)
                session.commit()
            log.info("dropped outbox row %s (%s): %s", row.id, row.key, reason)
            return Outcome("dropped")
        if hold is not None:
            with self._session() as session:
                outbox.mark_retry(
                    session, row.id, at=hold, error="outside working hours", count_attempt=False
                )
                session.commit()
            return Outcome("held")
        if isinstance(ports, PortsByWorkspace):
            found = ports.for_workspace(workspace)
            if found is None:
                return self._not_installed(row, name, workspace)
            port: ChatPort = found
        else:
            port = ports
        if destination is None:
            return self._dead(row, "unknown person", self.max_attempts)
        if row.payload.get("edit_of"):
            assert reply is not None
            return self._edit(row, reply, port, name, workspace, destination, now)
        asked = False  # whether the platform was asked to keep the message, in this attempt
        try:
            message_id = row.platform_message_id
            assert reply is not None
            if message_id is None and row.sending_since is not None:
                message_id = self._find_sent(port, row, destination)
            if message_id is None:
                message = replace(self.renderers[name](reply, workspace), key=row.key)
                with self._session() as session:
                    outbox.mark_sending(session, row.id, self.clock())
                    session.commit()
                asked = True
                if destination.direct:
                    message_id = port.direct_message(destination.platform_id, message)
                else:
                    message_id = port.post(destination.platform_id, message)
            note = self._send_files(row, reply, port, destination, message_id)
        except RateLimited as error:
            # Not written: the row goes back to the front of its target's queue, so the
            # messages to a channel keep their order (given back with its next attempt
            # time if the pass ends first).
            if asked:
                # A 429 is an answer: the platform did not keep the message (and any
                # earlier attempt was looked for first), so no doubt is left to look up.
                with self._session() as session:
                    outbox.clear_sending(session, row.id)
                    session.commit()
            return Outcome("rate_limited", error.retry_after)
        except TransientError as error:
            return self._failed(row, str(error))
        except PermanentError as error:
            if isinstance(error, TokenRevoked) and isinstance(ports, PortsByWorkspace):
                return self._not_installed(row, name, workspace)
            return self._dead(row, str(error), row.attempts + 1)
        with self._session() as session:
            outbox.mark_sent(session, row.id, self.clock(), message_id, note)
            session.commit()
        return Outcome("sent")

    def _edit(
        self,
        row: Claimed,
        reply: Reply,
        port: ChatPort,
        name: str,
        workspace: str,
        destination: Destination,
        now: datetime,
    ) -> Outcome:
        """Change a message sent earlier (``payload.edit_of`` is its key) in place. Until
        that message is sent, the edit waits; a port that cannot edit drops it."""
        with self._session() as session:
            message_id = outbox.message_id_of(session, str(row.payload["edit_of"]))
        if not isinstance(port, MessageEditor):
            with self._session() as session:
                outbox.mark_dropped(session, row.id, now, "cannot edit")
                session.commit()
            return Outcome("dropped")
        if message_id is None:
            with self._session() as session:
                outbox.mark_retry(
                    session,
                    row.id,
                    at=now + EDIT_WAIT,
                    error="message to edit not sent yet",
                    count_attempt=False,
                )
                session.commit()
            return Outcome("held")
        message = replace(self.renderers[name](reply, workspace), key=row.key)
        try:
            port.edit(destination.platform_id, message_id, message)
        except RateLimited as error:
            return Outcome("rate_limited", error.retry_after)
        except TransientError as error:
            return self._failed(row, str(error))
        except PermanentError as error:
            return self._dead(row, str(error), row.attempts + 1)
        with self._session() as session:
            outbox.mark_sent(session, row.id, self.clock(), message_id)
            session.commit()
        return Outcome("sent")

    def _find_sent(self, port: ChatPort, row: Claimed, destination: Destination) -> str | None:
        """After an attempt whose outcome is unknown: the message's id if the platform has
        it (then it is marked sent, not sent again), None if it has not. A port that
        keeps no history cannot tell: the message goes again (at least once)."""
        assert row.sending_since is not None
        if not isinstance(port, SentLookup):
            return None
        found = port.find_sent(
            destination.platform_id, row.key, row.sending_since, direct=destination.direct
        )
        if found is not None:
            log.info("outbox row %s (%s) was on the platform already: %s", row.id, row.key, found)
        return found

    def _send_files(
        self,
        row: Claimed,
        reply: Reply,
        port: ChatPort,
        destination: Destination,
        message_id: str,
    ) -> str:
        """Post the row's files after its message; returns a note for the row when they
        could not go (the message itself went)."""
        files = list(reply.files)
        spec = row.chart
        if spec is not None and port.capabilities.files:
            chart = self.draw_chart(spec)
            if chart is not None:
                files.append(chart)
        if not files:
            return ""
        if row.platform_message_id is None:
            with self._session() as session:
                outbox.mark_posted(session, row.id, message_id)
                session.commit()
        channel = destination.platform_id
        if destination.direct:
            opener = getattr(port, "open_direct_channel", None)
            if opener is None:
                return "files left out: no direct channel"
            channel = str(opener(destination.platform_id))
        try:
            for index, file in enumerate(files):
                self._send_file(row, port, channel, message_id, index, file)
        except PermanentError as error:
            log.warning("outbox row %s: files refused: %s", row.id, error)
            return f"files refused: {error}"
        return ""

    def _send_file(
        self, row: Claimed, port: ChatPort, channel: str, message_id: str, index: int, file: File
    ) -> None:
        """Share file ``index`` of the row once: skipped when done; when a share of it
        began before and its outcome is unknown, looked up on the platform first (a port
        that cannot look sends it again: at least once)."""
        entry = outbox.files_sent(row).get(str(index)) or {}
        if "id" in entry:
            return
        lookup = port if isinstance(port, FileLookup) else None
        key = f"{row.key}#file{index}"
        if "since" in entry and lookup is not None:
            since = datetime.fromisoformat(str(entry["since"]))
            # The files already shared, of this row and of the others to this target:
            # a share found by its name alone is none of them.
            with self._session() as session:
                known = outbox.files_of_others(session, row, since - FILE_LOOKUP_MARGIN)
            known |= {str(e["id"]) for e in outbox.files_sent(row).values() if e.get("id")}
            found = lookup.find_file(
                channel, key, file.filename, file.title, since, after=message_id, known=known
            )
            if found is not None:
                log.info("outbox row %s: file %s was on the platform already", row.id, index)
                self._mark_file(row, index, {**entry, "id": found})
                return
        entry = {"since": entry.get("since") or self.clock().isoformat()}
        self._mark_file(row, index, entry)
        try:
            if lookup is not None:
                shared = lookup.upload_tagged_file(
                    channel, file.filename, file.content, file.title, key=key
                )
            else:
                port.upload_file(channel, file.filename, file.content, file.title)
                shared = ""
        except (RateLimited, PermanentError):
            # An answer: the platform did not keep the file, no doubt to look up.
            self._mark_file(row, index, None)
            raise
        self._mark_file(row, index, {**entry, "id": shared})

    def _mark_file(self, row: Claimed, index: int, entry: dict[str, Any] | None) -> None:
        with self._session() as session:
            payload = outbox.mark_file(session, row, index, entry)
            session.commit()
        row.payload[outbox.FILES_SENT] = payload[outbox.FILES_SENT]

    def _not_installed(self, row: Claimed, platform: str, workspace: str) -> Outcome:
        """Hold a row of a workspace without the app: no attempt counted, nothing lost;
        a new installation resumes it (``outbox.resume_held``), its expiry drops it."""
        with self._session() as session:
            outbox.mark_retry(
                session,
                row.id,
                at=self.clock() + NOT_INSTALLED_HOLD,
                error=NOT_INSTALLED,
                count_attempt=False,
            )
            session.commit()
        log.warning(
            "outbox row %s (%s) held: Coordo is not installed in %s workspace %s; it goes "
            "when the workspace installs Coordo again",
            row.id,
            row.key,
            platform,
            workspace,
        )
        return Outcome("held")

    def _failed(self, row: Claimed, error: str) -> Outcome:
        attempts = row.attempts + 1
        if attempts >= self.max_attempts:
            return self._dead(row, error, attempts)
        with self._session() as session:
            outbox.mark_retry(
                session,
                row.id,
                at=self.clock() + outbox.retry_delay(attempts, base=self.retry_base),
                error=error,
                count_attempt=True,
            )
            session.commit()
        log.info("outbox row %s (%s) failed (attempt %s): %s", row.id, row.key, attempts, error)
        return Outcome("retried")

    def _dead(self, row: Claimed, error: str, attempts: int) -> Outcome:
        with self._session() as session:
            told = outbox.mark_dead(session, row, self.clock(), error, attempts)
            session.commit()
        log.warning(
            "outbox row %s (%s) dead after %s attempt(s): %s; %s coordinator(s) told",
            row.id,
            row.key,
            attempts,
            error,
            told,
        )
        return Outcome("dead")

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session
