"""The daily summary: a person's routine reminders of a day in one message at the start
of their working day, urgent ones apart; each at once for who chose so."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from bot.console import Console
from bot.scheduler import attach_to_console
from commands.registry import build_router
from tests.chat import normalise
from tests.conftest import NOW


def console_with_scheduler(engine: Engine, tmp_path: Path) -> Console:
    console = Console(
        engine, build_router(), user="camille", channel="bondy", now=NOW, files_dir=tmp_path
    )
    attach_to_console(console, engine)
    return console


def messages_to(output: str, handle: str) -> list[str]:
    """The direct messages to ``handle`` in what the console printed."""
    parts = normalise(output).split("📨 Coordo → @")
    return [p.split("\n", 1)[1] for p in parts[1:] if p.startswith(handle + "\n")]


def test_routine_pings_of_a_day_come_as_one_summary_and_urgent_ones_apart(
    demo_engine: Engine, tmp_path: Path
) -> None:
    console = console_with_scheduler(demo_engine, tmp_path)
    for line in (
        "/jalon Réserver la salle mercredi @marie",
        "/jalon Envoyer les convocations vendredi @marie",
        "/jalon Imprimer les bulletins jeudi @marie",
    ):
        assert "ajouté" in console.handle(line)
    # Thursday 26 November, the start of the working day.
    output = console.handle(":now 2026-11-26T09:00")
    output += console.handle("/labo aide")
    to_marie = messages_to(output, "marie")
    assert len(to_marie) == 2, to_marie
    summary = next(m for m in to_marie if "Vos jalons à suivre" in m)
    assert "jeudi 26 novembre 2026" in summary
    assert "Réserver la salle : en retard de 1 jour" in summary
    assert "Envoyer les convocations : à rendre demain" in summary
    assert "Clôturer le dépôt des projets citoyens : en retard de 6 jours" in summary
    # Late first, the latest first.
    assert summary.index("Clôturer") < summary.index("Réserver") < summary.index("Envoyer")
    assert "[✅ Réserver la salle]" in summary
    assert "[⏭️ Envoyer les convocations]" in summary
    urgent = next(m for m in to_marie if "Vos jalons" not in m)
    assert "Jalon à rendre aujourd'hui : Imprimer les bulletins" in urgent
    # A later scan of the same day queues nothing again.
    assert messages_to(console.handle("/labo aide"), "marie") == []


def test_who_chose_each_at_once_gets_each_ping(demo_engine: Engine, tmp_path: Path) -> None:
    console = console_with_scheduler(demo_engine, tmp_path)
    console.handle("/jalon Réserver la salle mercredi @marie")
    console.handle("/jalon Envoyer les convocations vendredi @marie")
    console.handle(":user marie")
    reply = console.handle("/labo rappels tout-de-suite")
    assert "tout de suite : chaque rappel arrive à son heure" in normalise(reply)
    output = console.handle(":now 2026-11-26T09:00") + console.handle("/labo aide")
    to_marie = messages_to(output, "marie")
    assert len(to_marie) == 3, to_marie
    assert not any("Vos jalons à suivre" in m for m in to_marie)
    # And back to the summary, undone by /labo annuler like any change.
    assert "un résumé par jour" in normalise(console.handle("/labo rappels resume"))
    assert "avait changé les préférences de @marie" in normalise(console.handle("/labo annuler"))


def test_a_lone_routine_ping_goes_as_it_is(demo_engine: Engine, tmp_path: Path) -> None:
    console = console_with_scheduler(demo_engine, tmp_path)
    output = console.handle(":now 2026-11-25T09:00") + console.handle("/labo aide")
    to_karim = messages_to(output, "karim")
    assert to_karim
    assert not any("Vos jalons à suivre" in m for m in to_karim)


def test_the_summary_tells_the_day_s_meetings_and_the_polls_awaiting_an_answer(
    demo_engine: Engine, tmp_path: Path
) -> None:
    console = console_with_scheduler(demo_engine, tmp_path)
    for line in (
        "/jalon Réserver la salle mercredi @karim",
        "/jalon Envoyer les convocations vendredi @karim",
        '/copil jeudi 26 novembre 14h-15h30 titre:"Point d\'étape" lieu:"Salle B" @karim',
        '/copil vendredi 27 novembre 14h titre:"Le lendemain" @karim',
    ):
        console.handle(line)
    output = console.handle(":now 2026-11-26T09:00") + console.handle("/labo aide")
    (summary,) = [m for m in messages_to(output, "karim") if "Vos jalons à suivre" in m]
    assert "Vos réunions du jour" in summary
    assert "14:00–15:30 Point d'étape, Salle B" in summary
    assert "Le lendemain" not in summary
    # Demo poll n°1 asked karim, who has not answered; marie has.
    assert "Sondages de date qui attendent votre réponse" in summary
    assert "COPIL de printemps · `/copil sondage voir 1`" in summary


def test_who_paused_the_pings_of_an_experiment_gets_no_summary_of_them(
    demo_engine: Engine, tmp_path: Path
) -> None:
    console = console_with_scheduler(demo_engine, tmp_path)
    console.handle("/jalon Réserver la salle mercredi @marie")
    console.handle("/jalon Envoyer les convocations vendredi @marie")
    console.handle(":user marie")
    assert "pause" in normalise(console.handle("/labo rappels pause 1 semaine"))
    output = console.handle(":now 2026-11-26T09:00") + console.handle("/labo aide")
    assert not any("Vos jalons à suivre" in m for m in messages_to(output, "marie"))
