from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from bot.parse_date_cli import add_parser, run

ROOT = Path(__file__).resolve().parents[2]
NOW = "2026-11-24T10:00"


def cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="bot")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    assert args.handler is run
    code = args.handler(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("argv", "printed"),
    [
        (["demain 14h"], "2026-11-25T14:00:00+01:00\n"),
        (["demain", "14h"], "2026-11-25T14:00:00+01:00\n"),
        (["vendredi prochain"], "2026-12-04\n"),
        (["mardi 8 décembre 14h-16h"], "2026-12-08T14:00:00+01:00/2026-12-08T16:00:00+01:00\n"),
        (
            ["le premier mardi du mois à 14h"],
            "RRULE:FREQ=MONTHLY;BYDAY=1TU;BYHOUR=14;BYMINUTE=0\n2026-12-01T14:00:00+01:00\n",
        ),
        (["tous les lundis"], "RRULE:FREQ=WEEKLY;BYDAY=MO\n2026-11-30\n"),
        (["next friday 2pm", "--lang", "en"], "2026-12-04T14:00:00+01:00\n"),
        (["hier", "--past-ok"], "2026-11-23\n"),
        (["hier", "--mode", "any"], "2026-11-23\n"),
        (["demain 9h", "--tz", "America/Montreal"], "2026-11-25T09:00:00-05:00\n"),
    ],
)
def test_prints_iso_8601_in_local_time(
    argv: list[str], printed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(["parse-date", *argv, "--now", NOW], capsys)
    assert (code, out, err) == (0, printed, "")


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["hier"], "« hier », c'est le lundi 23 novembre 2026 : c'est déjà passé."),
        (["demain", "--past-ok"], "ce n'est pas encore arrivé"),
        (["31/02"], "« 31/02 » n'existe pas dans le calendrier"),
        (["banana", "--lang", "en"], 'I don\'t understand the date "banana".'),
        (["lundi 8 décembre"], "le 8 décembre 2026 est un mardi, pas un lundi"),
        (["03/04", "--lang", "en"], "Thursday 4 March 2027, or Saturday 3 April 2027"),
    ],
)
def test_prints_the_reason_and_exits_2(
    argv: list[str], reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(["parse-date", *argv, "--now", NOW], capsys)
    assert code == 2
    assert out == ""
    assert reason in err


def test_now_with_an_offset_is_read_in_the_zone(capsys: pytest.CaptureFixture[str]) -> None:
    # 23:30 UTC is already the 25th in Paris
    code, out, _ = cli(["parse-date", "demain", "--now", "2026-11-24T23:30+00:00"], capsys)
    assert (code, out) == (0, "2026-11-26\n")


def test_without_now_it_reads_at_the_current_time(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(["parse-date", "dans 3 jours"], capsys)
    assert code == 0
    assert len(out.strip()) == len("2026-11-27")


@pytest.mark.parametrize(
    "argv",
    [
        ["parse-date", "demain", "--now", "mardi"],
        ["parse-date", "demain", "--tz", "Mars/Olympus"],
        ["parse-date", "demain", "--lang", "de"],
        ["parse-date", "hier", "--past-ok", "--mode", "any"],
    ],
)
def test_bad_options_are_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="bot")
    add_parser(parser.add_subparsers(dest="command", required=True))
    with pytest.raises(SystemExit) as caught:
        parser.parse_args(argv)
    assert caught.value.code == 2
    assert "error" in capsys.readouterr().err


@pytest.mark.slow
def test_python_m_bot_parse_date() -> None:
    ok = subprocess.run(
        [sys.executable, "-m", "bot", "parse-date", "demain 14h", "--now", NOW],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (ok.returncode, ok.stdout) == (0, "2026-11-25T14:00:00+01:00\n")
    refused = subprocess.run(
        [sys.executable, "-m", "bot", "parse-date", "31/02", "--now", NOW, "--lang", "en"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode == 2
    assert '"31/02" is not on the calendar' in refused.stderr


@pytest.mark.slow
def test_parse_date_loads_only_what_it_needs() -> None:
    """No database, settings, web or chat library: a fresh process answers at once."""
    code = (
        "import sys\n"
        "from bot.__main__ import main\n"
        f"code = main(['parse-date', 'samedi vers l aube', '--now', '{NOW}'])\n"
        "heavy = ['sqlalchemy', 'sqlmodel', 'alembic', 'pydantic', 'pydantic_settings',\n"
        "         'dateparser', 'slack_bolt', 'httpx', 'starlette', 'apscheduler',\n"
        "         'commands.core', 'models']\n"
        "print(code, sorted(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout == "2 []\n"
    assert "samedi" in out.stderr
