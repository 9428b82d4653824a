"""How many Mattermost payloads the test suite puts through the server's ported rules.

Runs the tests that talk to the fake Mattermost server (or check what Coordo answers a
Mattermost server) in this process, then prints how many posts, dialogs, command
responses (answers to slash commands and to response_urls), click answers and dialog
answers went through ``tests/fakes/mattermost_rules.py``, and how many the fake refused
(the tests that expect a refusal).

    python bench/mattermost_strictness.py [pytest arguments…]
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fakes import mattermost_rules

TESTS = [
    "tests/fakes/test_fakes.py",
    "tests/platforms/test_mattermost_client.py",
    "tests/bot/test_mattermost_app.py",
    "tests/bot/test_sender.py",
    "tests/bot/test_exactly_once.py",
]


def main() -> int:
    args = sys.argv[1:] or ["-q", "-p", "no:randomly", "-n", "0", *TESTS]
    status = pytest.main(args)
    checked = mattermost_rules.CHECKED
    print()
    for shape in ("post", "dialog", "command response", "action response", "dialog response"):
        print(f"{shape:<17} {checked[shape]:>6}")
    print(f"{'total':<17} {sum(checked.values()):>6}")
    return int(status)


if __name__ == "__main__":
    raise SystemExit(main())
