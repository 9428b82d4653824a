"""``/labo``: experiments and people, as a user types them."""

from sqlalchemy import Engine, func
from sqlmodel import Session, select

from bot.console import Console
from models import AuditEvent, ChannelBinding, Experiment, Membership
from tests.chat import converse


def counts(engine: Engine) -> tuple[int, int, int, int]:
    with Session(engine) as s:
        return (
            s.exec(select(func.count()).select_from(Experiment)).one(),
            s.exec(select(func.count()).select_from(Membership)).one(),
            s.exec(select(func.count()).select_from(ChannelBinding)).one(),
            s.exec(select(func.count()).select_from(AuditEvent)).one(),
        )


def test_a_new_lab_starts_from_nothing(empty_console: Console) -> None:
    converse(
        empty_console,
        """
        > /labo liste
        Aucune expérimentation pour vous
        > /labo creer bondy-bp "Budget participatif de Bondy" territoire:Bondy debut:01/09/2026 fin:30/06/2027 budget:45000
        Expérimentation Budget participatif de Bondy créée (`bondy-bp`) à Bondy
        du mardi 1er septembre 2026 au mercredi 30 juin 2027, enveloppe 45 000,00 €
        > /labo lier bondy-bp
        Ce canal (~labo) est lié à Budget participatif de Bondy
        > /labo voir
        Budget participatif de Bondy `bondy-bp`
        Budget : 0,00 € dépensés sur 45 000,00 €
        Équipe : coordination : @camille
        """,
    )


def test_the_first_person_coordinates_the_lab_and_others_need_a_role(
    empty_console: Console,
) -> None:
    converse(
        empty_console,
        """
        > /labo creer bondy-bp "Budget participatif de Bondy"
        créée
        :user marie
        > /labo creer autre "Autre"
        Action réservée aux coordinateurs du labo.
        > /labo voir bondy-bp
        Aucune expérimentation `bondy-bp`.
        :user camille
        > /labo role @marie membre expe:bondy-bp
        @marie : membre de Budget participatif de Bondy
        :user marie
        > /labo voir bondy-bp
        Équipe : coordination : @camille · membre : @marie
        > /labo role @marie coordinateur expe:bondy-bp
        Action réservée aux coordinateurs de « Budget participatif de Bondy ».
        """,
    )


def test_overview_in_english_and_roles(console: Console) -> None:
    converse(
        console,
        """
        > /lab show
        Budget participatif de Bondy `bondy-bp`
        Budget: €14,110.00 spent of €45,000.00 (31%)
        Milestones: 4 open, 1 late
        Next meeting: COPIL on Tuesday 8 December 2026 at 14:00, Mairie de Bondy
        > /labo equipe
        Coordination : @camille (Camille Laurent)
        Membre : @karim (Karim Benali), @marie (Marie Dubois)
        Partenaire : @elu.bondy
        """,
    )


def test_partners_see_no_budget_unless_the_experiment_opts_in(console: Console) -> None:
    replies = converse(
        console,
        """
        :user elu.bondy
        :channel bondy-partenaires
        > /labo voir
        Budget participatif de Bondy
        Jalons : 4 en cours
        """,
    )
    assert "Budget :" not in replies[-1]
    converse(
        console,
        """
        :user camille
        :channel bondy
        > /labo reglages budget-partenaires:oui
        les partenaires voient le budget non → oui
        :user elu.bondy
        :channel bondy-partenaires
        > /labo voir
        Budget : 14 110,00 € dépensés
        > /labo reglages budget-partenaires:non
        Action réservée aux coordinateurs
        """,
    )


def test_a_partner_sees_only_their_experiments(console: Console) -> None:
    replies = converse(
        console,
        """
        :user elu.bondy
        > /labo liste
        Budget participatif de Bondy
        > /labo voir montreuil-ac
        Aucune expérimentation `montreuil-ac`.
        """,
    )
    assert "Montreuil" not in replies[1]


def test_undo_reverts_the_last_change_and_is_logged(console: Console, demo_engine: Engine) -> None:
    before = counts(demo_engine)
    converse(
        console,
        """
        > /labo role @lucas membre
        @lucas : membre de Budget participatif de Bondy
        [Annuler]
        > /labo annuler
        Annulé : @camille avait donné à @lucas le rôle de membre
        > /labo annuler
        Rien à annuler.
        > /labo historique
        @camille a défait un changement du rôle de @lucas dans « Budget participatif de Bondy »
        @camille a donné à @lucas le rôle de membre dans « Budget participatif de Bondy » _(annulé)_
        """,
    )
    experiments, memberships, bindings, events = counts(demo_engine)
    assert (experiments, bindings) == (*before[0::2][:1], before[2])
    assert memberships == before[1] + 1  # kept, soft-removed: nothing logged is lost
    assert events == before[3] + 2
    with Session(demo_engine) as s:
        lucas_membership = s.exec(select(Membership).order_by(Membership.id.desc())).first()  # type: ignore[union-attr]
        assert lucas_membership is not None
        assert lucas_membership.removed_at is not None


def test_archive_then_undo_brings_it_back(console: Console) -> None:
    converse(
        console,
        """
        > /labo archiver aubervilliers-cantine
        Cantine durable d'Aubervilliers est archivée
        > /labo liste
        Expérimentations (2)
        > /labo annuler
        Annulé : @camille avait archivé l'expérimentation « Cantine durable d'Aubervilliers »
        > /labo liste
        Expérimentations (3)
        """,
    )


def test_settings_and_personal_language(console: Console) -> None:
    converse(
        console,
        """
        > /labo reglages
        Réglages de Budget participatif de Bondy
        Langue des messages d'équipe : `fr` · fuseau : `Europe/Paris`
        > /labo reglages fuseau:Europe/Pari
        Fuseau horaire inconnu « Europe/Pari ». Vouliez-vous dire `Europe/Paris` ?
        > /labo reglages langue:de
        Langue inconnue « de »
        > /labo langue en
        I will answer you in English
        > /labo voir
        Milestones: 4 open
        """,
    )


def test_bad_input_writes_nothing(console: Console, demo_engine: Engine) -> None:
    before = counts(demo_engine)
    converse(
        console,
        """
        > /labo creer Bondy!
        ne convient pas comme nom court
        > /labo creer bondy-bp "Encore"
        Le nom court `bondy-bp` est déjà pris
        > /labo creer nouveau "Nouveau" debut:01/09/2027 fin:01/01/2027
        La fin (2027-01-01) est avant le début (2027-09-01)
        > /labo creer nouveau "Nouveau" debut:31/02/2027
        « 31/02/2027 » n'existe pas dans le calendrier
        > /labo creer nouveau "Nouveau" debut:bientot
        Je ne comprends pas la date « bientot »
        > /labo creer nouveau "Nouveau" budget:12,34,56
        Je ne comprends pas le montant « 12,34,56 »
        > /labo creer nouveau "Nouveau" terrritoire:Bondy
        Option inconnue `terrritoire:`. Vouliez-vous dire `territoire:` ?
        > /labo role @personne membre
        Je ne connais personne appelé `@personne` ici.
        > /labo role @marie chef
        Rôle inconnu « chef »
        > /labo role @lucs membre
        Vouliez-vous dire `@lucas` ?
        > /labo lier bondi-bp
        Aucune expérimentation `bondi-bp`. Vouliez-vous dire `bondy-bp` ?
        > /labo lsite
        Vouliez-vous dire `liste` ?
        > /labz aide
        Commande inconnue `/labz`. Vouliez-vous dire `/lab` ?
        > /labo retirer @camille
        @camille est la seule personne qui coordonne
        > /labo delier
        Ce canal n'est plus lié
        """,
    )
    after = counts(demo_engine)
    # Only the last command (unbind) wrote: the binding is gone, one audit event more.
    assert after == (before[0], before[1], before[2] - 1, before[3] + 1)


def test_which_experiment_when_the_channel_is_not_bound(console: Console) -> None:
    converse(
        console,
        """
        :channel labo
        > /labo equipe
        De quelle expérimentation s'agit-il ? Ajoutez `expe:<nom>`
        > /labo equipe expe:montreuil-ac
        Équipe d'Assemblée citoyenne de Montreuil
        """,
    )


def test_help_in_both_languages(console: Console) -> None:
    fr, en = converse(
        console,
        """
        > /labo aide
        Expérimentations et équipe
        Dépenses et budget
        Jalons
        Réunions (COPIL, COTECH)
        > /lab help
        Experiments and team
        Expenses and budget
        Milestones
        Meetings (COPIL, COTECH)
        """,
    )
    assert "/depense 1 250,50 € location de salle poste:logistique" in fr
    assert "/expense 42 EUR coffee for the workshop line:catering" in en


def test_unbind_then_undo_binds_the_channel_again(console: Console) -> None:
    converse(
        console,
        """
        > /labo delier
        Ce canal n'est plus lié à Budget participatif de Bondy
        > /labo equipe
        De quelle expérimentation s'agit-il ?
        > /labo annuler
        Annulé : @camille avait délié le canal ~bondy
        > /labo equipe
        Équipe de Budget participatif de Bondy
        """,
    )


def test_undo_of_an_unbind_refused_when_the_channel_was_bound_again(console: Console) -> None:
    converse(
        console,
        """
        > /labo delier
        n'est plus lié
        :user sophie
        > /labo lier montreuil-ac
        est lié à Assemblée citoyenne de Montreuil
        :user camille
        > /labo annuler
        Impossible d'annuler : cet élément a été modifié depuis.
        > /labo equipe
        Équipe d'Assemblée citoyenne de Montreuil
        """,
    )
