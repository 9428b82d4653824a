"""How many Slack payloads the test suite validates against Slack's rules.

Runs pytest (its arguments are passed on: paths, ``-n``) with ``COORDO_SLACK_TALLY`` set;
each test process appends what the fake Slack and ``tests/fakes/slack_rules.py`` checked
(messages, views, refusals, shape fingerprints); this sums them and prints the figures.

    .venv/bin/python bench/slack_payloads.py -n 0 tests/bot tests/platforms tests/fakes
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        tally = Path(tmp) / "tally.jsonl"
        env = {**os.environ, "COORDO_SLACK_TALLY": str(tally)}
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *sys.argv[1:]],
            cwd=ROOT,
            env=env,
            check=False,
        )
        totals = {"messages": 0, "views": 0, "refused": 0}
        shapes: set[str] = set()
        lines = tally.read_text().splitlines() if tally.exists() else []
        for line in lines:
            figures = json.loads(line)
            for key in totals:
                totals[key] += int(figures[key])
            shapes.update(figures["shape_ids"])
    print(
        f"Slack payloads validated: {totals['messages']} messages, {totals['views']} views, "
        f"{len(shapes)} distinct shapes; {totals['refused']} refused on purpose by the "
        f"tests of the rules ({len(lines)} test processes; pytest exit {run.returncode})"
    )
    return run.returncode


if __name__ == "__main__":
    raise SystemExit(main())
