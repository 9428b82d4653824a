"""What people read says what is true: the agenda call counts the real days, the digest
preview shows the week it will send, an unknown /copil word gets advice about meetings,
an unknown person gets a way in, and /labo voir says what it leaves out."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from bot.console import Console
from bot.scheduler import attach_to_console
from commands.registry import build_router
from tests.chat import converse, normalise
from tests.conftest import NOW


def test_the_call_for_agenda_items_says_the_real_delay(demo_engine: Engine, tmp_path: Path) -> None:
    console = Console(
        demo_engine, build_router(), user="camille", channel="bondy", now=NOW, files_dir=tmp_path
    )
    attach_to_console(console, demo_engine)
    output = normalise(
        console.handle('/copil vendredi 27 novembre 14h-16h titre:"COPIL de rentrée"')
    )
    assert "📣 COPIL de rentrée dans 3 jours : vendredi 27 novembre 2026" in output
    # The lab's committee, a week ahead, is still "in a week".
    assert "COPIL du labo dans une semaine" in output


def test_the_digest_preview_shows_the_week_it_will_send(console: Console) -> None:
    converse(
        console,
        """
        > /labo digest
        le canal ~bondy lundi 30 novembre 2026 à 09:00
        Du lun. 23 nov. au dim. 29 nov.
        """,
    )


def test_an_unknown_meeting_word_gets_meeting_advice(console: Console) -> None:
    converse(
        console,
        """
        > /copil blabla
        Je ne connais pas « blabla » pour `/copil`
        `/copil aide`
        > /meeting frobnicate
        I don't know “frobnicate” for `/meeting`
        """,
    )


def test_someone_coordo_has_not_met_gets_a_way_in(console: Console) -> None:
    converse(
        console,
        """
        > /labo role @agent.stdenis partenaire
        Je ne connais personne appelé `@agent.stdenis` ici.
        Dans la console, `:user agent.stdenis` fait entrer cette personne, puis `:user camille` vous ramène.
        :user agent.stdenis
        :user camille
        > /labo role @agent.stdenis partenaire
        @agent.stdenis : partenaire de Budget participatif de Bondy
        """,
    )


def test_the_overview_says_how_many_late_milestones_it_leaves_out(console: Console) -> None:
    console.handle("/jalon Réserver la salle demain @marie")
    console.handle("/jalon Envoyer les convocations demain @marie")
    console.handle(":now 2026-12-20T10:00")
    reply = normalise(console.handle("/labo voir"))
    late = int(reply.split("Jalons : ")[1].split(", ")[1].split(" en retard")[0])
    listed = reply.count("- ⚠️ ")
    assert late > 3
    assert listed == 3
    assert f"- … et {late - 3} autres en retard" in reply
    # A blank line after the list, so that Mattermost does not join the next line to it.
    assert "\n\nProchaine réunion" in reply or "\n\nÉquipe" in reply
