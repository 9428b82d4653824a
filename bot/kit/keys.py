"""Request keys: what makes a retried delivery or a double click write once.

A platform that numbers its deliveries (a Matrix event id, a Slack event id) gives a key
of its own: ``delivery_key``. A click that brings no id of its own is keyed by who clicked
what, where, within a time window (``click_key``): a double click is one click, and the
same answer given again later (yes → no → yes) is a new one.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from datetime import datetime, timedelta

# A receipt's key holds at most this many characters (``RequestReceipt.key``).
KEY_LIMIT = 200
# A double click lands within a fraction of a second; a person changing their answer
# (yes → no → yes) takes longer than this. One window for every platform.
CLICK_WINDOW = timedelta(seconds=2)


def _fit(key: str) -> str:
    if len(key) <= KEY_LIMIT:
        return key
    head = key.split(":", 1)[0]
    return f"{head}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"


def delivery_key(platform: str, workspace: str, delivery_id: str) -> str:
    return _fit(f"{platform}:{workspace}:{delivery_id}")


def click_key(
    platform: str,
    workspace: str,
    user_id: str,
    message_id: str,
    action: str,
    value: str,
    now: datetime,
    window: timedelta = CLICK_WINDOW,
) -> str:
    bucket = int(now.timestamp() // window.total_seconds())
    return _fit(f"{platform}:{workspace}:click:{user_id}:{message_id}:{action}:{value}:{bucket}")


# A click repeating the person's previous click on the same message this soon after is a
# double click.
DOUBLE_CLICK = timedelta(seconds=2)
REMEMBERED_CLICKS = 1000


class RecentClicks:
    """Each person's last click on each message, to tell a double click from a new answer.

    A click that repeats the person's previous click on the same message (the same choice,
    within ``window``) is a double click: it takes that click's request key, so it writes
    once even when both requests run at once. Any other click keeps the key of its own
    delivery, so yes → no → yes, however quick, counts three times. Kept in memory: the
    two requests of a double click come within a second, to the same process."""

    def __init__(self, window: timedelta = DOUBLE_CLICK, size: int = REMEMBERED_CLICKS) -> None:
        self.window = window
        self.size = size
        self._last: OrderedDict[tuple[str, str], tuple[str, datetime, str]] = OrderedDict()
        self._lock = threading.Lock()

    def key(self, person: str, message: str, choice: str, now: datetime, own_key: str) -> str:
        """The request key of a click whose own delivery key is ``own_key``."""
        place = (person, message)
        with self._lock:
            last = self._last.get(place)
            key = own_key
            if last is not None and last[0] == choice and abs(now - last[1]) < self.window:
                key = last[2]
            self._last[place] = (choice, now, key)
            self._last.move_to_end(place)
            while len(self._last) > self.size:
                self._last.popitem(last=False)
        return key
