"""``/jalon`` (``/milestone``): the plan of an experiment, as a user types it, and the
services the reminders and the chat adapters rely on."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from bot.console import Console
from commands.core import Context, ensure_person, ensure_workspace
from commands.milestones import milestone_buttons, parse_id
from commands.reply import Reply, Visibility
from commands.services import milestones as service
from commands.services.outbox import enqueue
from models import AuditEvent, Experiment, Milestone, MilestoneOwner, OutboxMessage, Person
from tests.chat import converse, normalise
from tests.conftest import NOW

TEMPLATES = Path(__file__).parents[2] / "commands" / "templates"


def counts(engine: Engine) -> tuple[int, int, int, int]:
    with Session(engine) as s:
        return (
            s.exec(select(func.count()).select_from(Milestone)).one(),
            s.exec(select(func.count()).select_from(MilestoneOwner)).one(),
            s.exec(select(func.count()).select_from(AuditEvent)).one(),
            s.exec(select(func.count()).select_from(Person)).one(),
        )


def milestone(engine: Engine, milestone_id: int) -> Milestone:
    with Session(engine) as s:
        row = s.get(Milestone, milestone_id)
        assert row is not None
        return row


def owners(engine: Engine, milestone_id: int) -> list[str]:
    with Session(engine) as s:
        return list(
            s.exec(
                select(Person.handle)
                .join(MilestoneOwner, col(MilestoneOwner.person_id) == Person.id)
                .where(
                    MilestoneOwner.milestone_id == milestone_id,
                    col(MilestoneOwner.removed_at).is_(None),
                )
                .order_by(col(Person.handle))
            )
        )


def click(console: Console, action: str, value: str) -> Reply:
    return console.router.act(console.engine, console.invocation("jalon", ""), action, value)


# -- creating -------------------------------------------------------------------------------


def test_the_three_ways_to_write_a_milestone(console: Console, demo_engine: Engine) -> None:
    converse(
        console,
        """
        > /jalon Lancer l'appel à projets vendredi prochain @marie
        📌 Jalon n°11 ajouté à Budget participatif de Bondy (`bondy-bp`) : Lancer l'appel à projets
        Échéance : vendredi 4 décembre 2026 (dans 10 jours)
        Responsable : @marie
        [Annuler]
        > /jalon Envoyer le bilan intermédiaire pour:15/01 resp:@karim
        Jalon n°12 ajouté à Budget participatif de Bondy (`bondy-bp`) : Envoyer le bilan intermédiaire
        Échéance : vendredi 15 janvier 2027 (dans 52 jours)
        Responsable : @karim
        [Annuler]
        > /milestone Publish the call for projects next friday @marie
        📌 Milestone #13 added to Budget participatif de Bondy (`bondy-bp`): Publish the call for projects
        Due: Friday 4 December 2026 (in 10 days)
        Owner: @marie
        [Undo]
        """,
    )
    first = milestone(demo_engine, 11)
    assert (first.title, first.due_on, first.original_due_on, first.due_at) == (
        "Lancer l'appel à projets",
        date(2026, 12, 4),
        date(2026, 12, 4),
        None,
    )
    assert (first.status, first.progress, first.acknowledged_at) == ("open", 0, None)
    assert owners(demo_engine, 11) == ["marie"]
    assert owners(demo_engine, 12) == ["karim"]
    assert milestone(demo_engine, 12).due_on == date(2027, 1, 15)


def test_the_reply_goes_to_the_channel_with_the_undo_button(console: Console) -> None:
    reply = console.router.dispatch(
        console.engine,
        console.invocation("jalon", "Lancer l'appel à projets vendredi prochain @marie"),
    )
    assert reply.visibility == Visibility.CHANNEL
    assert reply.changed
    assert [b.action for b in reply.buttons] == ["undo"]


def test_a_time_of_day_is_kept_in_utc_and_echoed_in_local_time(
    console: Console, demo_engine: Engine
) -> None:
    converse(
        console,
        """
        > /jalon Envoyer le bilan demain 14h
        Échéance : mercredi 25 novembre 2026 à 14:00 (demain)
        Responsable : @camille (par défaut
        """,
    )
    created = milestone(demo_engine, 11)
    assert created.due_on == date(2026, 11, 25)
    assert created.due_at == datetime(2026, 11, 25, 13, 0, tzinfo=UTC)


def test_the_explicit_form_reads_a_date_of_several_words_and_several_owners(
    console: Console, demo_engine: Engine
) -> None:
    converse(
        console,
        """
        > /jalon Envoyer pour:15 janvier le bilan resp:@karim
        (`bondy-bp`) : Envoyer le bilan
        vendredi 15 janvier 2027
        > /jalon Relancer les porteurs de projets pour:"fin du mois" resp:@karim,@marie
        (`bondy-bp`) : Relancer les porteurs de projets
        lundi 30 novembre 2026
        Responsables : @karim, @marie
        """,
    )
    assert owners(demo_engine, 12) == ["karim", "marie"]


def test_a_title_may_begin_with_a_subcommand_word(console: Console, demo_engine: Engine) -> None:
    converse(
        console,
        """
        > /jalon Supprimer les doublons du fichier vendredi
        (`bondy-bp`) : Supprimer les doublons du fichier
        vendredi 27 novembre 2026
        > /jalon Liste des lauréats à publier le 15/01
        (`bondy-bp`) : Liste des lauréats à publier
        > /jalon Annuler la réservation de la salle demain
        (`bondy-bp`) : Annuler la réservation de la salle
        > /jalon supprimer les doublons
        Dites quel jalon supprimer, par son numéro
        """,
    )
    assert counts(demo_engine)[0] == 13


def test_with_no_owner_named_the_author_owns_it(console: Console, demo_engine: Engine) -> None:
    converse(
        console,
        """
        :user marie
        > /jalon Réserver la salle des fêtes fin du mois
        Responsable : @marie (par défaut ; `/jalon reattribuer 11 @marie` pour changer)
        """,
    )
    assert owners(demo_engine, 11) == ["marie"]
    assert milestone(demo_engine, 11).created_by_id is not None


# -- listing --------------------------------------------------------------------------------


def test_the_list_shows_late_ones_first_then_by_deadline_with_slippage(console: Console) -> None:
    (reply,) = converse(
        console,
        """
        > /jalon liste
        Jalons de Budget participatif de Bondy (en cours) : 4, dont 1 en retard
        ⚠️ n°1 Clôturer le dépôt des projets citoyens — 20 nov. 2026, en retard de 4 jours · @marie · 80 %
        n°2 Analyse de recevabilité des projets — 25 nov. 2026, demain · @karim · 40 % · _reporté, prévu au départ le 18 nov. 2026 (+7 j)_
        n°3 Préparer le vote en ligne et les urnes — 1er déc. 2026, dans 7 jours · @karim, @marie · 10 %
        n°4 Lancer le vote des habitants — 24 déc. 2026, dans 30 jours · @camille · 0 %
        """,
    )
    assert "Forum de lancement" not in reply  # done: not in the default list


def test_the_list_filters_by_owner_status_and_experiment(console: Console) -> None:
    replies = converse(
        console,
        """
        > /jalon liste @marie statut:retard
        Jalons de Budget participatif de Bondy (en retard · @marie) : 1
        n°1 Clôturer le dépôt des projets citoyens
        > /jalon liste fait
        (faits) : 1
        ✅ n°5 Forum de lancement — 5 oct. 2026, fait le 24 nov. 2026 · @camille
        > /jalon liste tous expe:montreuil-ac
        Jalons d'Assemblée citoyenne de Montreuil (tous) : 3
        ✅ n°6 Tirage au sort des 50 citoyens
        n°7 Deuxième session de l'assemblée
        n°8 Rapport d'étape au conseil municipal
        :channel labo
        > /jalon liste
        Jalons (en cours) : 8, dont 2 en retard
        ⚠️ n°1 Clôturer le dépôt des projets citoyens
        `bondy-bp`
        ⚠️ n°9 Restitution du diagnostic aux élus
        `aubervilliers-cantine`
        n°2 Analyse de recevabilité
        > /milestone list @marie all
        Milestones (all · @marie): 3, 1 late
        #1 Clôturer le dépôt des projets citoyens
        #3 Préparer le vote en ligne et les urnes
        #10 Charte d'approvisionnement local
        > /milestone list mine
        Milestones (open · @camille): 1
        #4 Lancer le vote des habitants
        """,
    )
    assert "Aubervilliers" not in replies[0]
    assert "Forum" not in replies[0]


def test_the_list_caps_its_length(console: Console) -> None:
    for n in range(32):
        console.handle(f"/jalon Atelier de quartier {n} vendredi prochain")
    reply = normalise(console.handle("/jalon liste"))
    assert "(en cours) : 36, dont 1 en retard" in reply
    assert len(re.findall(r"^- ", reply, re.MULTILINE)) == 30
    assert "… et 6 de plus" in reply


# -- changing -------------------------------------------------------------------------------


def test_done_progress_and_undo(console: Console, demo_engine: Engine) -> None:
    converse(
        console,
        """
        > /jalon avancement 3 60%
        📈 Jalon n°3 Préparer le vote en ligne et les urnes : avancement 60 % `██████░░░░`
        > /jalon fait 1
        ✅ Jalon n°1 Clôturer le dépôt des projets citoyens fait (Budget participatif de Bondy), 4 jours après l'échéance. Responsable : @marie.
        [Annuler]
        > /jalon fait 1
        Le jalon n°1 « Clôturer le dépôt des projets citoyens » est déjà fait
        `/jalon rouvrir 1`
        > /jalon liste
        (en cours) : 3
        """,
    )
    done = milestone(demo_engine, 1)
    assert (done.status, done.progress, done.done_at) == ("done", 100, NOW)
    assert milestone(demo_engine, 3).progress == 60
    converse(
        console,
        """
        > /jalon annuler
        Annulé : @camille avait marqué le jalon « Clôturer le dépôt des projets citoyens » comme fait
        > /jalon annuler
        avait modifié le jalon «
        """,
    )
    back = milestone(demo_engine, 1)
    assert (back.status, back.progress, back.done_at) == ("open", 80, None)
    assert milestone(demo_engine, 3).progress == 10


def test_reopen_a_milestone_done_by_mistake(console: Console, demo_engine: Engine) -> None:
    converse(
        console,
        """
        > /jalon rouvrir 5
        🔄 Jalon n°5 Forum de lancement rouvert
        > /milestone reopen 5
        Milestone #5 “Forum de lancement” is not done: nothing to reopen.
        """,
    )
    assert milestone(demo_engine, 5).status == "open"


def test_reschedule_keeps_the_original_deadline_and_shows_the_slippage(
    console: Console, demo_engine: Engine
) -> None:
    converse(
        console,
        """
        > /jalon reporter 3 au 15 janvier
        📅 Jalon n°3 Préparer le vote en ligne et les urnes reporté au vendredi 15 janvier 2027 (dans 52 jours), au lieu du mardi 1er décembre 2026.
        Glissement depuis l'échéance d'origine (mardi 1er décembre 2026) : +45 jours.
        [Annuler]
        > /milestone move 3 by 2 weeks
        moved to Friday 29 January 2027 (in 66 days), from Friday 15 January 2027.
        Slippage since the original deadline (Tuesday 1 December 2026): +59 days.
        > /jalon reporter 3 au 15/12
        avancé au mardi 15 décembre 2026
        +14 jours
        > /jalon liste
        n°3 Préparer le vote en ligne et les urnes — 15 déc. 2026, dans 21 jours · @karim, @marie · 10 % · _reporté, prévu au départ le 1er déc. 2026 (+14 j)_
        > /milestone move 3 to December 1
        That is the original deadline.
        > /jalon reporter 3 au 1er décembre
        Le jalon n°3 est déjà prévu le mardi 1er décembre 2026.
        """,
    )
    moved = milestone(demo_engine, 3)
    assert (moved.due_on, moved.original_due_on) == (date(2026, 12, 1), date(2026, 12, 1))


def test_reschedule_keeps_the_time_of_day_when_shifting(
    console: Console, demo_engine: Engine
) -> None:
    console.handle("/jalon Rendre le rapport mardi 8 décembre 17h")
    converse(
        console,
        """
        > /jalon reporter 11 d'une semaine
        reporté au mardi 15 décembre 2026 à 17:00
        """,
    )
    assert milestone(demo_engine, 11).due_at == datetime(2026, 12, 15, 16, 0, tzinfo=UTC)


def test_reassign_rename_delete_and_undo_each(console: Console, demo_engine: Engine) -> None:
    converse(
        console,
        """
        > /jalon reattribuer 3 @karim
        👤 Jalon n°3 Préparer le vote en ligne et les urnes : responsable @karim (avant : @karim, @marie).
        """,
    )
    assert owners(demo_engine, 3) == ["karim"]
    converse(
        console,
        """
        > /jalon reattribuer 3 @marie @sophie
        @sophie ne fait pas partie de l'équipe de « Budget participatif de Bondy ».
        > /jalon reattribuer 3 @karim
        @karim est déjà responsable du jalon n°3.
        > /jalon annuler
        Annulé
        """,
    )
    assert owners(demo_engine, 3) == ["karim", "marie"]
    converse(
        console,
        """
        > /jalon reattribuer 3 @camille
        responsable @camille (avant : @karim, @marie)
        > /jalon reattribuer 3 @marie
        responsable @marie (avant : @camille)
        """,
    )
    assert owners(demo_engine, 3) == ["marie"]
    converse(
        console,
        """
        > /jalon renommer 3 "Préparer le vote"
        ✏️ Jalon n°3 renommé : Préparer le vote (avant : « Préparer le vote en ligne et les urnes »).
        > /jalon supprimer 3
        🗑️ Jalon n°3 Préparer le vote supprimé de Budget participatif de Bondy (il était prévu le mardi 1er décembre 2026).
        > /jalon fait 3
        Aucun jalon n°3 ici.
        > /jalon annuler
        avait supprimé le jalon «
        > /jalon annuler
        avait modifié le jalon «
        """,
    )
    back = milestone(demo_engine, 3)
    assert (back.title, back.deleted_at) == ("Préparer le vote en ligne et les urnes", None)


def test_undo_of_a_creation_soft_deletes_the_milestone_and_its_owners(
    console: Console, demo_engine: Engine
) -> None:
    before = counts(demo_engine)
    converse(
        console,
        """
        > /jalon Lancer l'appel à projets vendredi prochain @marie
        n°11
        > /jalon annuler
        responsable du jalon « Lancer l'appel à projets »
        > /jalon liste
        (en cours) : 4, dont 1 en retard
        """,
    )
    assert counts(demo_engine)[:2] == (before[0] + 1, before[1] + 1)
    assert milestone(demo_engine, 11).deleted_at is not None
    assert owners(demo_engine, 11) == []


def test_undo_reverts_the_last_milestone_change_not_another_familys(
    console: Console, demo_engine: Engine
) -> None:
    converse(
        console,
        """
        > /jalon avancement 2 50%
        avancement 50 %
        > /labo role @lucas membre
        @lucas : membre
        > /jalon annuler
        avait modifié le jalon «
        > /jalon annuler
        Rien à annuler.
        > /labo equipe
        @lucas
        """,
    )
    assert milestone(demo_engine, 2).progress == 40


def test_numbers_may_be_written_with_a_hash_or_n_degree() -> None:
    assert [parse_id(w) for w in ("12", "#12", "n°12", "N°12", "no12", "douze", "12a")] == [
        12,
        12,
        12,
        12,
        12,
        None,
        None,
    ]


# -- who may --------------------------------------------------------------------------------


def test_partners_see_the_milestones_but_change_nothing(
    console: Console, demo_engine: Engine
) -> None:
    before = counts(demo_engine)
    converse(
        console,
        """
        :user elu.bondy
        :channel bondy-partenaires
        > /jalon liste
        Jalons de Budget participatif de Bondy (en cours) : 4, dont 1 en retard
        > /jalon fait 2
        Action réservée aux membres de l'équipe de « Budget participatif de Bondy ».
        > /jalon Valider la liste des projets vendredi
        Action réservée aux membres de l'équipe
        > /jalon reporter 2 au 15 janvier
        Action réservée aux membres de l'équipe
        > /jalon supprimer 2
        Action réservée aux membres de l'équipe
        > /jalon liste expe:montreuil-ac
        Aucune expérimentation `montreuil-ac`.
        """,
    )
    assert counts(demo_engine) == (before[0], before[1], before[2], before[3])
    assert click_as(console, "elu.bondy", "milestone.done", "2").text.startswith("Action réservée")


def click_as(console: Console, user: str, action: str, value: str) -> Reply:
    console.handle(f":user {user}")
    return click(console, action, value)


def test_members_change_milestones_of_their_experiments_only(
    console: Console, demo_engine: Engine
) -> None:
    converse(
        console,
        """
        :user marie
        > /jalon Réserver la salle des fêtes vendredi
        Jalon n°11 ajouté
        > /jalon avancement 2 50%
        avancement 50 %
        > /jalon reporter 2 au 2 décembre
        reporté au mercredi 2 décembre 2026
        > /jalon supprimer 2
        Seuls les coordinateurs et la personne qui a créé le jalon n°2 peuvent le supprimer.
        > /jalon supprimer 11
        supprimé
        > /jalon Préparer la session vendredi expe:montreuil-ac
        Aucune expérimentation `montreuil-ac`.
        :user lucas
        :channel montreuil
        > /jalon fait 2
        Aucun jalon n°2 ici.
        > /jalon fait 2 expe:bondy-bp
        Aucune expérimentation `bondy-bp`.
        > /jalon avancement 7 50%
        avancement 50 %
        """,
    )
    assert milestone(demo_engine, 2).status == "open"


# -- bad input ------------------------------------------------------------------------------

BAD_INPUT = [
    pytest.param("/jalon pour:15/01", "Il manque le titre du jalon. Exemple", id="no-title"),
    pytest.param("/jalon vendredi prochain @marie", "Il manque le titre du jalon", id="date-only"),
    pytest.param(
        "/jalon " + "Préparer " * 560 + "vendredi",
        "Titre trop long (5048 caractères ; 300 au plus). Gardez l'essentiel, par exemple",
        id="title-of-5000-characters",
    ),
    pytest.param(
        "/jalon " + "x" * 301 + " pour:15/01",
        "Titre trop long (301 caractères ; 300 au plus)",
        id="title-just-too-long",
    ),
    pytest.param(
        "/jalon renommer 3 " + "x" * 5000, "Titre trop long (5000 caractères", id="rename-5000"
    ),
    pytest.param(
        "/jalon Envoyer le bilan vendredi @personne",
        "Je ne connais personne appelé `@personne` ici.",
        id="owner-unknown",
    ),
    pytest.param(
        "/jalon Envoyer le bilan vendredi @lucs",
        "Vouliez-vous dire `@lucas` ?",
        id="owner-misspelt",
    ),
    pytest.param(
        "/jalon Envoyer le bilan vendredi <@U999|nouvelle>",
        "@nouvelle ne fait pas partie de l'équipe de « Budget participatif de Bondy ». Ajoutez @nouvelle à l'équipe d'abord (`/labo role @nouvelle membre expe:bondy-bp`)",
        id="owner-not-in-the-workspace-yet",
    ),
    pytest.param(
        "/jalon Envoyer le bilan vendredi @lucas",
        "@lucas ne fait pas partie de l'équipe",
        id="owner-not-on-the-team",
    ),
    pytest.param(
        "/jalon Envoyer le bilan vendredi resp:@elu.bondy",
        "@elu.bondy est partenaire de « Budget participatif de Bondy »",
        id="owner-partner",
    ),
    pytest.param("/jalon reattribuer 3 @personne", "Je ne connais personne", id="reassign-unknown"),
    pytest.param(
        "/jalon fait 9",
        "Le jalon n°9 est dans « Cantine durable d'Aubervilliers », pas dans « Budget participatif de Bondy ». Si c'est bien lui, ajoutez `expe:aubervilliers-cantine`, par exemple `/jalon fait 9 expe:aubervilliers-cantine`.",
        id="id-of-another-experiment",
    ),
    pytest.param(
        "/jalon reporter 6 au 15 janvier expe:bondy-bp",
        "Le jalon n°6 est dans « Assemblée citoyenne de Montreuil »",
        id="id-of-another-experiment-named",
    ),
    pytest.param("/jalon fait 999", "Aucun jalon n°999 ici", id="unknown-id"),
    pytest.param("/jalon fait", "Dites quel jalon est fait", id="no-id"),
    pytest.param(
        "/jalon Envoyer le bilan pour:01/01/2026",
        "« 01/01/2026 », c'est le jeudi 1er janvier 2026 : c'est déjà passé.",
        id="past-date",
    ),
    pytest.param(
        "/jalon Envoyer le bilan hier", "« hier », c'est le lundi 23 novembre 2026", id="past-day"
    ),
    pytest.param(
        "/jalon Envoyer le bilan aujourd'hui 9h", "c'est déjà passé", id="past-hour-today"
    ),
    pytest.param("/jalon reporter 3 hier", "c'est déjà passé", id="reschedule-to-the-past"),
    pytest.param(
        "/jalon Envoyer le bilan pour:31/02",
        "« 31/02 » n'existe pas dans le calendrier",
        id="31/02",
    ),
    pytest.param(
        "/jalon Envoyer le bilan le 31/02", "n'existe pas dans le calendrier", id="31/02-in-text"
    ),
    pytest.param(
        "/jalon reporter 3 au 31/02", "n'existe pas dans le calendrier", id="reschedule-31/02"
    ),
    pytest.param(
        "/jalon Envoyer le bilan pour:banana",
        "Je ne comprends pas la date « banana ». Exemples de dates que je comprends",
        id="banana",
    ),
    pytest.param(
        "/jalon Envoyer le bilan banana",
        "Je ne trouve pas de date dans « Envoyer le bilan banana ». Ajoutez-la à la fin",
        id="banana-in-text",
    ),
    pytest.param(
        "/jalon reporter 3 banana", "Je ne comprends pas la date « banana »", id="reschedule-banana"
    ),
    pytest.param(
        "/jalon Envoyer le bilan lundi 8 décembre",
        "le 8 décembre 2026 est un mardi, pas un lundi",
        id="weekday-contradicts-date",
    ),
    pytest.param(
        "/jalon Réunion d'équipe tous les lundis",
        "Un jalon a une seule échéance",
        id="recurrence",
    ),
    pytest.param(
        "/jalon avancement 3 150%",
        "L'avancement s'écrit en pourcentage, de 0 à 100 % : « 150% » ne convient pas. Exemple : `/jalon avancement 3 60%`",
        id="percent-over-100",
    ),
    pytest.param("/jalon avancement 3 -5%", "« -5% » ne convient pas", id="percent-negative"),
    pytest.param("/jalon avancement 3 beaucoup", "« beaucoup » ne convient pas", id="percent-word"),
    pytest.param("/jalon avancement 3 10%", "Le jalon n°3 est déjà à 10 %", id="percent-same"),
    pytest.param("/jalon avancement 5 50%", "est déjà fait", id="progress-of-done"),
    pytest.param("/jalon reporter 3", "Dites quel jalon et à quand", id="reschedule-no-date"),
    pytest.param("/jalon liste statut:bof", "Statut inconnu « bof »", id="bad-status"),
    pytest.param(
        "/jalon liste n'importe", "Je ne comprends pas « n'importe »", id="bad-list-filter"
    ),
    pytest.param(
        "/jalon annuler 3", "pour supprimer le jalon n°3 : `/jalon supprimer 3`", id="undo-an-id"
    ),
    pytest.param(
        "/jalon Envoyer le bilan pour:15/01 due:16/01",
        "est donnée deux fois",
        id="two-due-dates",
    ),
    pytest.param(
        "/milestone Send the report due:31/02", '"31/02" is not on the calendar', id="en-31/02"
    ),
    pytest.param(
        "/milestone progress 3 150%",
        "Progress is a percentage from 0 to 100%: “150%” won't do. Example: `/milestone progress 3 60%`",
        id="en-percent",
    ),
    pytest.param("/milestone Send the report", "I can't find a date in", id="en-no-date"),
]


@pytest.mark.parametrize(("command", "expected"), BAD_INPUT)
def test_bad_input_is_refused_clearly_and_writes_nothing(
    console: Console, demo_engine: Engine, command: str, expected: str
) -> None:
    before = counts(demo_engine)
    with Session(demo_engine) as s:
        states = [snapshot_of(m) for m in s.exec(select(Milestone).order_by(col(Milestone.id)))]
    reply = normalise(console.handle(command))
    assert normalise(expected) in reply
    assert "[Annuler]" not in reply
    assert counts(demo_engine) == before
    with Session(demo_engine) as s:
        after = [snapshot_of(m) for m in s.exec(select(Milestone).order_by(col(Milestone.id)))]
    assert after == states


def snapshot_of(m: Milestone) -> tuple[object, ...]:
    return (m.id, m.title, m.due_on, m.due_at, m.status, m.progress, m.deleted_at)


# -- buttons, form, help --------------------------------------------------------------------


def test_the_buttons_of_a_ping(console: Console, demo_engine: Engine) -> None:
    with Session(demo_engine) as s:
        row = s.get(Milestone, 2)
        assert row is not None
        fr, en = milestone_buttons("fr", row), milestone_buttons("en", row)
    assert [(b.label, b.action, b.value) for b in fr] == [
        ("✅ Fait", "milestone.done", "2"),
        ("⏭️ Une semaine de plus", "milestone.postpone", "2"),
    ]
    assert [b.label for b in en] == ["✅ Done", "⏭️ One more week"]
    postponed = click(console, "milestone.postpone", "2")
    assert "reporté au **mercredi 2 décembre 2026** (dans 8 jours)" in normalise(postponed.text)
    assert postponed.visibility == Visibility.CHANNEL
    assert milestone(demo_engine, 2).due_on == date(2026, 12, 2)
    done = click(console, "milestone.done", "2")
    assert "✅ Jalon n°2 **Analyse de recevabilité des projets** fait" in normalise(done.text)
    assert milestone(demo_engine, 2).status == "done"
    again = click(console, "milestone.done", "2")
    assert "est déjà fait" in again.text
    assert "n'est plus valable" in click(console, "milestone.done", "abc").text


def test_postponing_a_long_late_milestone_gives_a_week_from_today(
    console: Console, demo_engine: Engine
) -> None:
    console.handle(":now 2026-12-10T10:00:00+01:00")  # milestone 1 is 20 days late
    reply = click(console, "milestone.postpone", "1")
    assert "reporté au **jeudi 17 décembre 2026**" in normalise(reply.text)
    assert milestone(demo_engine, 1).original_due_on == date(2026, 11, 20)


def test_a_command_with_no_text_opens_a_form(console: Console, demo_engine: Engine) -> None:
    reply = console.router.dispatch(console.engine, console.invocation("jalon", ""))
    assert "`/jalon Lancer l'appel à projets vendredi prochain @marie`" in reply.text
    assert reply.form is not None
    assert reply.form.callback == "milestone.create"
    assert [f.name for f in reply.form.fields] == ["title", "due", "owner"]
    console.handle(":channel labo")
    unbound = console.router.dispatch(console.engine, console.invocation("jalon", ""))
    assert unbound.form is not None
    assert [slug for slug, _ in unbound.form.fields[-1].options] == [
        "montreuil-ac",
        "bondy-bp",
        "aubervilliers-cantine",
    ]
    created = console.router.submit(
        console.engine,
        console.invocation("jalon", ""),
        "milestone.create",
        {"title": "Rendre le rapport", "due": "15/01", "owner": "karim", "experiment": "bondy-bp"},
    )
    assert "Jalon n°11 ajouté à **Budget participatif de Bondy**" in normalise(created.text)
    assert "vendredi 15 janvier 2027" in normalise(created.text)
    assert owners(demo_engine, 11) == ["karim"]
    refused = console.router.submit(
        console.engine,
        console.invocation("jalon", ""),
        "milestone.create",
        {"title": "Rendre le rapport", "due": "31/02", "experiment": "bondy-bp"},
    )
    assert "n'existe pas dans le calendrier" in refused.text
    assert refused.errors == {"due": refused.text}
    for values, field in [
        ({"title": "", "due": "15/01"}, "title"),
        ({"title": "Rendre le rapport", "due": ""}, "due"),
        ({"title": "Rendre le rapport", "due": "15/01", "owner": "@lucas"}, "owner"),
        ({"title": "Rendre le rapport", "due": "15/01", "experiment": "bondi"}, "experiment"),
        ({"title": "Rendre le rapport", "due": "15/01"}, "experiment"),  # ~labo: unbound
    ]:
        if field != "experiment":
            values.setdefault("experiment", "bondy-bp")
        reply = console.router.submit(
            console.engine, console.invocation("jalon", ""), "milestone.create", values
        )
        assert list(reply.errors) == [field], reply.text
    assert counts(demo_engine)[0] == 11


def help_examples(locale: str) -> list[str]:
    text = (TEMPLATES / "help" / f"_milestone.{locale}.md.j2").read_text("utf-8")
    return re.findall(r"`(/(?:jalon|milestone) [^`]*)`", text)


def readme_examples() -> list[str]:
    text = (TEMPLATES.parents[1] / "README.md").read_text("utf-8")
    section = text[text.index("### Milestones") :]
    section = section[: section.index("\n## ")]
    return re.findall(r"`(/(?:jalon|milestone) [^`]*)`", section)


EXAMPLES = sorted(set(help_examples("fr") + help_examples("en") + readme_examples()))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e[:40])
def test_every_help_example_works_on_the_demo_as_typed(console: Console, example: str) -> None:
    command, _, text = example[1:].partition(" ")
    reply = console.router.dispatch(console.engine, console.invocation(command, text))
    if text.split(" ")[0] in ("liste", "list"):
        assert reply.text.startswith(("**Jalons", "**Milestones")), reply.text
    elif text in ("annuler", "undo"):
        assert "Rien à annuler" in reply.text or "Nothing to undo" in reply.text
    else:
        assert reply.changed, reply.text


# -- what the reminders rely on -------------------------------------------------------------


def queue_ping(session: Session, experiment: Experiment, key: str) -> None:
    assert enqueue(
        session,
        key=key,
        workspace_id=experiment.workspace_id,
        kind="milestone",
        target_kind="person",
        target_id="1",
        reply=Reply(text="Rappel"),
        not_before=NOW + timedelta(days=1),
        experiment=experiment,
    )


@pytest.mark.parametrize(
    "command",
    ["/jalon reporter 3 au 15 janvier", "/jalon fait 3", "/jalon supprimer 3"],
    ids=["reschedule", "done", "delete"],
)
def test_rescheduling_done_or_deleting_stops_pending_pings(
    console: Console, demo_engine: Engine, command: str
) -> None:
    with Session(demo_engine) as s:
        experiment = s.exec(select(Experiment).where(Experiment.slug == "bondy-bp")).one()
        queue_ping(s, experiment, "milestone:3:2026-12-01:due-1d")
        queue_ping(s, experiment, "milestone:3:2026-12-01:due-0d")
        queue_ping(s, experiment, "milestone:30:2026-12-01:due-1d")
        queue_ping(s, experiment, "milestone:3:2026-11-24:due-7d")
        sent = s.exec(
            select(OutboxMessage).where(OutboxMessage.key == "milestone:3:2026-11-24:due-7d")
        ).one()
        sent.sent_at = NOW
        row = s.get(Milestone, 3)
        assert row is not None
        row.acknowledged_at = NOW
        s.commit()
    assert "[Annuler]" in console.handle(command)
    with Session(demo_engine) as s:
        rows = {m.key: m for m in s.exec(select(OutboxMessage))}
        changed = s.get(Milestone, 3)
        assert changed is not None
    assert rows["milestone:3:2026-12-01:due-1d"].dropped_at == NOW
    assert rows["milestone:3:2026-12-01:due-0d"].dropped_at == NOW
    assert rows["milestone:30:2026-12-01:due-1d"].dropped_at is None
    assert rows["milestone:3:2026-11-24:due-7d"].dropped_at is None  # sent already
    if command.startswith("/jalon supprimer"):
        assert changed.deleted_at == NOW
    else:
        assert changed.acknowledged_at is None


def context(engine: Engine, console: Console, session: Session) -> Context:
    invocation = console.invocation("jalon", "")
    workspace = ensure_workspace(session, invocation)
    person = ensure_person(session, workspace, invocation)
    return Context(session, invocation, workspace, person, "fr", str(uuid.uuid4()))


def test_the_listing_service_orders_and_filters(console: Console, demo_engine: Engine) -> None:
    with Session(demo_engine) as s:
        ctx = context(demo_engine, console, s)
        experiments = ctx.visible_experiments()
        lines = service.listing(ctx, experiments)
        assert [line.milestone.id for line in lines] == [1, 9, 2, 3, 7, 10, 4, 8]
        assert [line.late for line in lines[:3]] == [True, True, False]
        assert [line.days_left for line in lines[:3]] == [-4, -2, 1]
        assert lines[2].slipped_days == 7
        late = service.listing(ctx, experiments, status="late")
        assert [line.milestone.id for line in late] == [1, 9]
        marie = s.exec(select(Person).where(Person.handle == "marie")).one()
        mine = service.listing(ctx, experiments, status="all", owners=[marie])
        assert [line.milestone.id for line in mine] == [1, 3, 10]
        done = service.listing(ctx, experiments, status="done")
        assert {line.milestone.id for line in done} == {5, 6}


def test_a_deadline_with_a_time_is_late_once_the_time_has_passed(
    console: Console, demo_engine: Engine
) -> None:
    with Session(demo_engine) as s:
        ctx = context(demo_engine, console, s)
        experiment = ctx.experiment()
        timed, _ = service.create(
            ctx,
            experiment,
            title="Rendre le dossier",
            deadline=service.Deadline(
                date(2026, 11, 24), datetime(2026, 11, 24, 11, 0, tzinfo=UTC)
            ),
        )
        assert not service.is_late(timed, experiment, NOW)
        assert service.is_late(timed, experiment, datetime(2026, 11, 24, 11, 1, tzinfo=UTC))
        with pytest.raises(Exception, match="past_deadline"):
            service.create(
                ctx, experiment, title="Trop tard", deadline=service.Deadline(date(2026, 11, 23))
            )
        s.rollback()
