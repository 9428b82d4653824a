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
from commands.errors import UserError
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

    def guard(self, locale: str | None, call: Callable[[], Reply], what: str) -> Reply:
        """``call`` in the calling thread (one of the pool's already, for an adapter whose
        request is served there); always a reply."""
        try:
            return call()
        except LookupFailed as failed:
            log.warning("%s: %s", what, failed)
            return Reply(text=message("kit.directory_unavailable", locale or "fr"))
        except Exception:
            log.exception("%s failed", what)
            return apology(locale)

    def run(self, locale: str | None, call: Callable[[], Reply], what: str) -> Future[Reply]:
        """Run ``call`` in the pool; its future always holds a reply."""
        return self.pool.submit(self.guard, locale, call, what)

    def word_locale(self, word: str) -> str | None:
        """The language of a command's word (``/depense`` French, ``/expense`` English), in
        which a failure is apologised for; None for a word that is not Coordo's."""
        try:
            return self.router.resolve(word)[1]
        except UserError:
            return None

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
        with _shared_lock:
            for key in [key for key, runner in _shared.items() if runner is self]:
                del _shared[key]
        self.pool.shutdown(wait=True)


_shared: dict[tuple[int, int], Runner] = {}
_shared_lock = threading.Lock()


def shared_runner(engine: Engine, router: Router) -> Runner:
    """The process's one runner for ``engine`` and ``router``: every platform served by
    the process asks here and shares its pool of four threads. Closing it (with the first
    platform to stop) forgets it; whoever asks next gets a new one."""
    with _shared_lock:
        key = (id(engine), id(router))
        runner = _shared.get(key)
        if runner is None:
            runner = _shared[key] = Runner(engine, router)
        return runner
