"""A double click from a new answer: ``RecentClicks`` (the platforms' own, end to end, in
``tests/contract``)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from bot.kit.keys import RecentClicks

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def test_a_double_click_takes_the_first_clicks_key_and_a_new_answer_its_own() -> None:
    clicks = RecentClicks()
    second = timedelta(seconds=1)

    first = clicks.key("camille", "post1", "rsvp:yes", NOW, "k1")
    double = clicks.key("camille", "post1", "rsvp:yes", NOW + second / 3, "k2")
    no = clicks.key("camille", "post1", "rsvp:no", NOW + second, "k3")
    yes_again = clicks.key("camille", "post1", "rsvp:yes", NOW + 2 * second, "k4")
    later = clicks.key("camille", "post1", "rsvp:yes", NOW + 10 * second, "k5")
    elsewhere = clicks.key("camille", "post2", "rsvp:yes", NOW + 10 * second, "k6")
    someone_else = clicks.key("marie", "post2", "rsvp:yes", NOW + 10 * second, "k7")

    assert (first, double) == ("k1", "k1")
    assert (no, yes_again) == ("k3", "k4")  # yes → no → yes: three answers
    assert later == "k5"  # the same answer again, seconds later: a click of its own
    assert (elsewhere, someone_else) == ("k6", "k7")


def test_two_clicks_at_once_share_one_key_and_the_memory_stays_small() -> None:
    clicks = RecentClicks(size=10)
    keys: list[str] = []
    start = threading.Barrier(8)

    def click(number: int) -> None:
        start.wait()
        keys.append(clicks.key("camille", "post1", "undo:b1", NOW, f"k{number}"))

    threads = [threading.Thread(target=click, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for number in range(50):
        clicks.key(f"person{number}", "post1", "undo:b1", NOW, f"p{number}")

    assert len(set(keys)) == 1
    assert len(clicks._last) == 10
