"""The runner: one pool for the core's commands, one ack budget, one error handler.

A command runs in the pool; the adapter waits for it up to ``ack_budget`` seconds. When it
is in time the reply goes in the platform's acknowledgement (or at once); when it is not,
the adapter acknowledges and delivers the reply when the future completes. Unexpected
errors are logged here with their context and become an apology in the user's language:
never a stack trace.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from sqlalchemy import Engine

from bot.kit.directory import LookupFailed
from commands.core import Router, apology
from commands.invocation import Invocation
from commands.render import message
from commands.reply import Reply

log = logging.getLogger(__name__)

# Four threads: more only fight over the interpreter lock (docs/design.md, throughput).
CORE_THREADS = 4
# Slack and Mattermost ask for an answer within 3 s; keep a margin for the network.
ACK_BUDGET = 2.5


class Runner:
    def __init__(
        self,
        engine: Engine,
        router: Router,
        *,
        threads: int = CORE_THREADS,
        ack_budget: float = ACK_BUDGET,
        name: str = "coordo-core",
    ) -> None:
        self.engine = engine
        self.router = router
        self.ack_budget = ack_budget
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=name)

    def run(self, locale: str | None, call: Callable[[], Reply], what: str) -> Future[Reply]:
        """Run ``call`` in the pool; its future always holds a reply."""

        def guarded() -> Reply:
            try:
                return call()
            except LookupFailed as failed:
                log.warning("%s: %s", what, failed)
                return Reply(text=message("kit.directory_unavailable", locale or "fr"))
            except Exception:
                log.exception("%s failed", what)
                return apology(locale)

        return self.pool.submit(guarded)

    def dispatch(self, make: Callable[[], Invocation], locale: str | None = None) -> Future[Reply]:
        """A typed command; ``make`` builds the invocation in the pool (it may look the
        person up). ``locale``: the language of an apology, from the command's word."""

        def call() -> Reply:
            return self.router.dispatch(self.engine, make())

        return self.run(locale, call, "command")

    def act(
        self, make: Callable[[], Invocation], action: str, value: str, locale: str | None = None
    ) -> Future[Reply]:
        """A button (or what stands for one: a reaction, a numbered answer)."""

        def call() -> Reply:
            return self.router.act(self.engine, make(), action, value)

        return self.run(locale, call, f"action {action}")

    def within_budget(self, future: Future[Reply]) -> Reply | None:
        """The reply if it came within the ack budget, else None (deliver it later)."""
        try:
            return future.result(timeout=self.ack_budget)
        except FutureTimeout:
            return None

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        with _SHARED_LOCK:
            for key in [k for k, runner in _SHARED.items() if runner is self]:
                del _SHARED[key]


# One runner per engine and router in a process, whatever platforms it serves. The
# cache holds them, so their ids cannot be reused by new objects while they are cached.
_SHARED: dict[tuple[int, int], Runner] = {}
_SHARED_LOCK = threading.Lock()


def shared_runner(engine: Engine, router: Router) -> Runner:
    """The process's runner for ``engine`` and ``router``: every platform served by one
    process runs its commands in the same four threads. ``close`` takes it out."""
    with _SHARED_LOCK:
        key = (id(engine), id(router))
        runner = _SHARED.get(key)
        if runner is None:
            runner = _SHARED[key] = Runner(engine, router)
        return runner
