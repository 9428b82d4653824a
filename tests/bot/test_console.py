"""The console as a new user meets it: a real process reading a pipe."""

import os
import subprocess
import sys
from pathlib import Path

from tests.chat import normalise

ROOT = Path(__file__).resolve().parents[2]


def run_console(tmp_path: Path, script: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'coordo.db'}",
        "EXPORTS_DIR": str(tmp_path),
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", "console", *args],
        input=script,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=False,
    )


def test_demo_session_from_a_pipe(tmp_path: Path) -> None:
    result = run_console(
        tmp_path, "/labo aide\n/labo voir\n", "--demo", "--now", "2026-11-24T10:00"
    )
    assert result.returncode == 0, result.stderr
    out = normalise(result.stdout)
    assert "Expérimentations et équipe — `/labo`" in out
    assert "Budget participatif de Bondy `bondy-bp`" in out
    assert "Budget : 14 110,00 € dépensés sur 45 000,00 €" in out
    assert "Traceback" not in out + result.stderr


def test_demo_is_kept_when_the_console_starts_again(tmp_path: Path) -> None:
    first = run_console(
        tmp_path, "/labo role @lucas membre\n", "--demo", "--now", "2026-11-24T10:00"
    )
    assert "@lucas\u202f: membre" in first.stdout, first.stderr
    again = run_console(tmp_path, "/labo equipe\n", "--demo", "--now", "2026-11-24T10:00")
    assert "@lucas" in again.stdout.split("Membre")[1]


def test_user_and_channel_switches_and_a_broken_line(tmp_path: Path) -> None:
    script = ":user elu.bondy\n:channel bondy-partenaires\n/labo voir\nbonjour\n/labo creer x\n"
    result = run_console(tmp_path, script, "--demo")
    assert result.returncode == 0
    assert "(vous êtes @elu.bondy)" in result.stdout
    assert "Budget :" not in result.stdout
    assert "Tapez une commande" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
