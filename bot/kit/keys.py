"""Request keys: what makes a retried delivery or a double click write once.

A platform that numbers its deliveries (a Matrix event id, a Slack event id) gives a key
of its own: ``delivery_key``. A click that brings no id of its own is keyed by who clicked
what, where, within a time window (``click_key``): a double click is one click, and the
same answer given again later (yes → no → yes) is a new one.
"""

from __future__ import annotations

import hashlib
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
