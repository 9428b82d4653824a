"""Lines of each platform's adapter and of the shared adapter kit, at a git revision and in
the working tree: how much each platform costs, before and after the kit.

    python bench/platform_lines.py [--before d6291ed]

Counted: non-blank lines that are not comments (docstrings count: they are read).
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {
    # Before the move the adapters were single files beside a shared renderer.
    "slack": ["bot/slack_app.py", "bot/platforms/slack_client.py", "bot/slack/"],
    "mattermost": [
        "bot/mattermost_app.py",
        "bot/platforms/mattermost_client.py",
        "bot/mattermost/",
    ],
    "matrix": ["bot/matrix/"],
    "kit (shared)": ["bot/kit/", "bot/platforms/port.py", "bot/platforms/render.py"],
}


def files_at(revision: str | None) -> list[str]:
    if revision is None:
        found = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "bot"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
    else:
        found = subprocess.run(
            ["git", "ls-tree", "-r", "--name-only", revision, "bot"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
    return [f for f in found.stdout.split() if f.endswith(".py")]


def text_of(path: str, revision: str | None) -> str:
    if revision is None:
        return (ROOT / path).read_text()
    return subprocess.run(
        ["git", "show", f"{revision}:{path}"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout


def count(text: str) -> int:
    return sum(1 for line in text.splitlines() if line.strip() and not line.strip().startswith("#"))


def lines(revision: str | None) -> dict[str, int]:
    files = files_at(revision)
    totals = {}
    for name, patterns in PACKAGES.items():
        chosen = [
            f
            for f in files
            if any(f == p or (p.endswith("/") and f.startswith(p)) for p in patterns)
        ]
        totals[name] = sum(count(text_of(f, revision)) for f in chosen)
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="d6291ed", help="the revision before the kit")
    args = parser.parse_args()
    before, after = lines(args.before), lines(None)
    print(f"{'package':<14} {'before':>7} {'after':>7}")
    for name in PACKAGES:
        print(f"{name:<14} {before[name]:>7} {after[name]:>7}")


if __name__ == "__main__":
    main()
