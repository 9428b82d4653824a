"""Who a platform user is: name, guest or not, other organisation or not.

One policy when a look-up fails, for every platform, since it decides permissions: an
answer cached earlier is used, whatever its age; with none, the command is refused with a
message asking to try again (``LookupFailed``), and nothing is written. Neither a member's
rights nor a partner's mark are ever guessed (a partner's mark sticks to the person).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.kit.port import ChatError, PlatformUser

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


class LookupFailed(Exception):
    """The platform could not say who the person is, and nobody remembers."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Directory:
    def __init__(
        self,
        look_up: Callable[[str], PlatformUser],
        *,
        ttl: timedelta = timedelta(hours=1),
        clock: Clock = _utc_now,
    ) -> None:
        self.look_up = look_up
        self.ttl = ttl
        self.clock = clock
        self._known: dict[str, tuple[datetime, PlatformUser]] = {}
        self._lock = threading.Lock()

    def get(self, user_id: str) -> PlatformUser:
        now = self.clock()
        with self._lock:
            cached = self._known.get(user_id)
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1]
        try:
            user = self.look_up(user_id)
        except ChatError as error:
            if cached is not None:
                log.info("look-up of %s failed (%s): using what was known", user_id, error)
                return cached[1]
            raise LookupFailed(f"look-up of {user_id} failed: {error}") from error
        with self._lock:
            self._known[user_id] = (now, user)
        return user

    def last_known(self, user_id: str) -> PlatformUser | None:
        """What was last heard of ``user_id``, never asking the platform (the language
        of an "on it" or of an apology, before the person is looked up)."""
        with self._lock:
            cached = self._known.get(user_id)
        return cached[1] if cached is not None else None
