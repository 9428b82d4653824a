"""What both fake chat platforms share: a real HTTP server on 127.0.0.1 port 0 in a thread,
a thread-safe log of every call, queues of canned failures, and an injectable clock.

A fake is started with ``with FakeSlack() as slack:`` (or the ``fake_slack`` fixture) and
answers until the block ends. Handlers run in the server's threads; every piece of state
they touch is guarded by the fake's lock, so tests can read it while calls arrive.
"""

from __future__ import annotations

import json
import logging
import math
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

logger = logging.getLogger(__name__)

Clock = Callable[[], float]


class ManualClock:
    """A clock that moves only when told to: rate limits and expiries without sleeping."""

    def __init__(self, start: float = 1_000.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def content_type(self) -> str:
        return (self.header("content-type") or "").split(";")[0].strip().lower()


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return cls(status, json.dumps(data).encode(), headers=dict(headers or {}))

    @classmethod
    def text(cls, text: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return cls(status, text.encode(), "text/plain; charset=utf-8", dict(headers or {}))


@dataclass(frozen=True)
class RecordedCall:
    """One request the fake answered.

    ``name`` is the Slack method (``chat.postMessage``) or the Mattermost route
    (``POST /api/v4/posts``); ``body`` is the parsed body (a dict for forms and JSON
    objects, a list for JSON arrays, ``{"fields": …, "files": …}`` for multipart);
    ``at`` is the wall-clock time of arrival; ``status`` what the fake answered.
    """

    name: str
    http_method: str
    path: str
    body: Any
    headers: dict[str, str]
    raw: bytes
    at: float
    status: int


class CallLog:
    """Every call, in arrival order, safe to read from the test thread while calls arrive."""

    def __init__(self) -> None:
        self._calls: list[RecordedCall] = []
        self._changed = threading.Condition()

    def append(self, call: RecordedCall) -> None:
        with self._changed:
            self._calls.append(call)
            self._changed.notify_all()

    def __call__(self, name: str | None = None) -> list[RecordedCall]:
        with self._changed:
            return [c for c in self._calls if name is None or c.name == name]

    def __iter__(self) -> Iterator[RecordedCall]:
        return iter(self())

    def __len__(self) -> int:
        return len(self())

    def count(self, name: str | None = None) -> int:
        return len(self(name))

    def last(self, name: str | None = None) -> RecordedCall:
        calls = self(name)
        if not calls:
            raise AssertionError(f"no call to {name or 'any method'}; calls: {self.names()}")
        return calls[-1]

    def names(self) -> list[str]:
        return [c.name for c in self()]

    def clear(self) -> None:
        with self._changed:
            self._calls.clear()

    def wait_for(
        self, name: str | None = None, count: int = 1, timeout: float = 5.0
    ) -> list[RecordedCall]:
        """Block until ``count`` calls to ``name`` have arrived (for work done after an ack).

        Wakes on each arrival rather than polling; fails the test after ``timeout``.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                calls = [c for c in self._calls if name is None or c.name == name]
                if len(calls) >= count:
                    return calls
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"waited {timeout} s for {count} call(s) to {name or 'any method'}, "
                        f"got {len(calls)}; calls: {[c.name for c in self._calls]}"
                    )
                self._changed.wait(remaining)


@dataclass(frozen=True)
class CannedFailure:
    """An answer queued for the next call to one method or route.

    ``status`` 200 with ``error`` is a Slack ``ok: false``; 429 carries ``retry_after``
    seconds; ``body`` (bytes) replaces the default body when given; ``headers`` are laid
    over the default ones, a ``None`` value removing the header.
    """

    status: int = 500
    error: str | None = None
    retry_after: int | None = None
    body: bytes | None = None
    content_type: str | None = None
    headers: tuple[tuple[str, str | None], ...] = ()

    def apply_headers(self, defaults: dict[str, str]) -> dict[str, str]:
        merged: dict[str, str | None] = {**defaults, **dict(self.headers)}
        return {k: v for k, v in merged.items() if v is not None}


class TokenBucket:
    """``capacity`` calls at once, refilled at ``rate`` per second, on the fake's clock."""

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.updated = now

    def _refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def take(self, now: float) -> float:
        """Take one token; return 0 when granted, else the seconds until one is available."""
        self._refill(now)
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate

    def seconds_until_full(self, now: float) -> float:
        self._refill(now)
        return (self.capacity - self.tokens) / self.rate


def ceil_seconds(seconds: float) -> int:
    """Whole seconds as the platforms send them in headers, never 0 for a real wait."""
    return max(1, math.ceil(seconds - 1e-9)) if seconds > 0 else 0


def parse_query(raw: str) -> dict[str, str]:
    return dict(parse_qsl(raw, keep_blank_values=True))


class FakeServer(ABC):
    """Base of the fakes: subclasses implement ``route(request) -> (name, Response)``."""

    def __init__(self, *, clock: Clock = time.monotonic) -> None:
        self.clock = clock
        self.calls = CallLog()
        self._lock = threading.RLock()
        self._failures: dict[str, deque[CannedFailure]] = {}
        self._after: dict[str, deque[Callable[[], None]]] = {}
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> Self:
        if self._httpd is not None:
            return self
        httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        httpd.fake = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the fake is not started")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Root of the server, without a trailing slash: ``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    # -- scripting ---------------------------------------------------------------------

    def fail_next(
        self,
        name: str,
        *,
        status: int = 500,
        error: str | None = None,
        retry_after: int | None = None,
        body: bytes | None = None,
        content_type: str | None = None,
        headers: dict[str, str | None] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls to ``name`` with a failure instead of handling them."""
        failure = CannedFailure(
            status, error, retry_after, body, content_type, tuple((headers or {}).items())
        )
        with self._lock:
            self._failures.setdefault(name, deque()).extend([failure] * times)

    def pending_failures(self, name: str) -> int:
        with self._lock:
            return len(self._failures.get(name, ()))

    def after_next(self, name: str, action: Callable[[], None], *, times: int = 1) -> None:
        """Run ``action`` once the next ``times`` calls to ``name`` are handled (a post is
        accepted and kept) and before they are answered: a fault that strikes after the
        platform accepted."""
        with self._lock:
            self._after.setdefault(name, deque()).extend([action] * times)

    def accept_slowly(self, name: str, seconds: float, *, times: int = 1) -> None:
        """Handle the next ``times`` calls to ``name`` at once, but answer them only after
        ``seconds`` (real time): a client that gives up sooner does not know they landed."""
        self.after_next(name, lambda: time.sleep(seconds), times=times)

    def _pop_after(self, name: str) -> Callable[[], None] | None:
        with self._lock:
            queue = self._after.get(name)
            return queue.popleft() if queue else None

    def _pop_failure(self, name: str) -> CannedFailure | None:
        with self._lock:
            queue = self._failures.get(name)
            return queue.popleft() if queue else None

    # -- dispatch ----------------------------------------------------------------------

    @abstractmethod
    def route(self, request: Request) -> tuple[str, Any, Response]:
        """Return (call name, parsed body, response)."""

    def dispatch(self, request: Request) -> Response:
        arrived = time.time()
        try:
            name, body, response = self.route(request)
        except Exception:  # a bug in the fake must show as a 500 and in the log, not hang
            logger.exception(
                "fake %s failed on %s %s", type(self).__name__, request.method, request.path
            )
            name, body, response = "error", None, Response.text("fake crashed", 500)
        self.calls.append(
            RecordedCall(
                name=name,
                http_method=request.method,
                path=request.path,
                body=body,
                headers=dict(request.headers),
                raw=request.body,
                at=arrived,
                status=response.status,
            )
        )
        if response.status < 300 and (after := self._pop_after(name)) is not None:
            after()
        return response


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up before the answer (a slow accept) is expected, not an error.
        if isinstance(sys.exc_info()[1], BrokenPipeError | ConnectionResetError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"
    timeout = 10  # an idle keep-alive connection closes after this, freeing its thread
    disable_nagle_algorithm = True  # headers and body go in two writes: do not wait for an ACK

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=parts.path,
            query=parse_query(parts.query),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        response = self.server.fake.dispatch(request)
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s - %s", self.address_string(), format % args)
