"""The dashboard (App Home): one's milestones, next meetings, and for coordinators each
experiment's budget burn and what is late."""

from bot.console import Console
from bot.text import reply_to_text
from commands.home import ACTION
from tests.chat import normalise


def home(console: Console) -> str:
    invocation = console.invocation("", "")
    reply = console.router.act(console.engine, invocation, ACTION, "")
    assert not reply.errors
    assert [b.action for b in reply.buttons] == [ACTION]
    return normalise(reply_to_text(reply))


def test_a_coordinator_sees_her_milestones_meetings_and_every_experiment(console: Console) -> None:
    text = home(console)

    assert "Bonjour Camille Laurent" in text
    assert "Mes jalons\n- Lancer le vote des habitants · Budget participatif de Bondy" in text
    assert (
        "Mes prochaines réunions\n- COTECH de l'assemblée citoyenne · lundi 30 novembre 2026 à 10:00"
        in text
    )
    assert "Expérimentations que je coordonne" in text
    for name in (
        "Budget participatif de Bondy",
        "Assemblée citoyenne de Montreuil",
        "Cantine durable d'Aubervilliers",
    ):
        assert name in text
    assert "Budget : " in text
    assert " sur 45 000,00 € (" in text
    assert "En retard : 1 jalon : Clôturer le dépôt des projets citoyens" in text
    assert "En retard : 1 jalon : Restitution du diagnostic aux élus" in text


def test_a_member_sees_her_own_late_milestone_and_no_budget(console: Console) -> None:
    console.handle(":user marie")

    text = home(console)

    assert "⚠️ Clôturer le dépôt des projets citoyens · Budget participatif de Bondy" in text
    assert "en retard" in text
    assert "Expérimentations que je coordonne" not in text
    assert "Budget :" not in text


def test_a_partner_sees_no_budget_figures_and_english_works(console: Console) -> None:
    console.handle(":user elu.bondy")
    console.handle("/lab language en")

    text = home(console)

    assert "Hello Fatima Diallo" in text
    assert "My milestones\nNo open milestone in your name." in text
    assert "€" not in text


def test_a_milestone_given_to_someone_else_leaves_ones_home(console: Console) -> None:
    console.handle("/jalon reattribuer 4 @marie")

    text = home(console)

    assert "Lancer le vote des habitants" not in text.split("Mes prochaines réunions")[0]
    console.handle(":user marie")
    assert "Lancer le vote des habitants · Budget participatif de Bondy" in home(console)


def test_a_recurring_meeting_shows_its_next_sittings(console: Console) -> None:
    """The lab's monthly committee is a series that began before today: its next sittings
    are on the coordinator's home, and on no member's."""
    text = home(console)
    assert "COPIL du labo · mardi 1er décembre 2026 à 10:00" in text
    assert "COPIL du labo · mardi 5 janvier 2027 à 10:00" in text
    console.handle(":user lucas")
    assert "COPIL du labo" not in home(console)
