"""The README's first five minutes work as printed: its console session, typed into the
demo console (on the demo's own clock, whatever today is), prints what the README shows."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROMPT = re.compile(r"^@[\w.-]+ ~[\w.-]+ > (.*)$")


def spaces(line: str) -> str:
    """The README writes plain spaces where Coordo prints no-break ones."""
    return line.replace("\u202f", " ").replace("\xa0", " ").rstrip()


def readme_session() -> tuple[list[str], list[str]]:
    """The commands typed in the README's console session, and the lines it shows
    (without ``…`` and the notes after ``←``)."""
    text = (ROOT / "README.md").read_text("utf-8")
    block = text.split("A console session", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    commands, shown = [], []
    for line in block.splitlines():
        typed = PROMPT.match(line)
        if typed:
            commands.append(typed.group(1))
            continue
        line = line.split("   ←", 1)[0].rstrip()
        if line and line != "…":
            shown.append(spaces(line))
    return commands, shown


def test_the_readme_console_session_prints_what_the_readme_shows(tmp_path: Path) -> None:
    commands, shown = readme_session()
    assert len(commands) >= 4
    assert len(shown) >= 8
    result = subprocess.run(
        [sys.executable, "-m", "bot", "console", "--demo", "--db", f"sqlite:///{tmp_path}/d.db"],
        input="".join(c + "\n" for c in commands),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
        timeout=120,
        check=True,
    )
    printed = [spaces(line) for line in result.stdout.splitlines()]
    # Every line the README shows is printed, in the README's order.
    at = 0
    for line in shown:
        assert line in printed[at:], f"{line!r} not printed after line {at}:\n{result.stdout}"
        at = printed.index(line, at) + 1
