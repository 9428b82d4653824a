"""``/depense`` and ``/expense`` as the team types them, on the demo lab (Tuesday 24
November 2026, 10:00 in Paris; camille coordinates, in ~bondy)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, func
from sqlmodel import Session, col, select

from bot.console import Console
from bot.text import markdown_to_text
from commands.core import Context, ensure_person, ensure_workspace
from commands.money import parse_amount
from commands.reply import Reply, Visibility
from commands.services import expenses
from models import AuditEvent, BudgetLine, Expense, Experiment, OutboxMessage
from tests.chat import converse, normalise


def counts(engine: Engine) -> tuple[int, int, int, int]:
    """Expenses, budget lines, audit events and outbox rows: what a command may write."""
    with Session(engine) as s:
        return (
            s.exec(select(func.count()).select_from(Expense)).one(),
            s.exec(select(func.count()).select_from(BudgetLine)).one(),
            s.exec(select(func.count()).select_from(AuditEvent)).one(),
            s.exec(select(func.count()).select_from(OutboxMessage)).one(),
        )


def last_expense(engine: Engine) -> Expense:
    with Session(engine) as s:
        expense = s.exec(select(Expense).order_by(col(Expense.id).desc())).first()
        assert expense is not None
        return expense


def line_key(engine: Engine, line_id: int | None) -> str | None:
    if line_id is None:
        return None
    with Session(engine) as s:
        line = s.get(BudgetLine, line_id)
        assert line is not None
        return line.key


def dispatch(console: Console, command: str) -> Reply:
    """The neutral reply (visibility, buttons, files), not only its text."""
    word, _, text = command.lstrip("/").partition(" ")
    return console.router.dispatch(console.engine, console.invocation(word, text))


# -- logging --------------------------------------------------------------------------


def test_the_three_examples_of_the_issue_work_as_typed(
    console: Console, demo_engine: Engine
) -> None:
    converse(
        console,
        """
        > /depense 1 250,50 € location de salle poste:logistique
        Dépense n°15 enregistrée par @camille : 1 250,50 € — location de salle
        Poste : Logistique · mardi 24 novembre 2026 · Budget participatif de Bondy
        Logistique : 3 520,50 € dépensés sur 12 000,00 € (29 %) `███░░░░░░░` · reste 8 479,50 €
        Total : 15 360,50 € dépensés sur 45 000,00 € (34 %)
        [Annuler]
        > /depense 89.90 impression des affiches poste:communication date:hier
        Dépense n°16 enregistrée par @camille : 89,90 € — impression des affiches
        Poste : Communication · lundi 23 novembre 2026 · Budget participatif de Bondy
        Communication : 4 389,90 € dépensés sur 8 000,00 € (55 %)
        > /expense 42 EUR coffee for the workshop line:catering
        Expense #17 logged by @camille: €42.00 — coffee for the workshop
        Line: Restauration · Tuesday 24 November 2026 · Budget participatif de Bondy
        Restauration: €682.00 spent of €5,000.00 (14%)
        [Undo]
        """,
    )
    with Session(demo_engine) as s:
        rows = s.exec(select(Expense).where(col(Expense.id) >= 15).order_by(col(Expense.id))).all()
        got = [
            (e.amount_cents, e.description, line_key(demo_engine, e.budget_line_id), e.spent_on)
            for e in rows
        ]
    assert got == [
        (125050, "location de salle", "logistique", date(2026, 11, 24)),
        (8990, "impression des affiches", "communication", date(2026, 11, 23)),
        (4200, "coffee for the workshop", "restauration", date(2026, 11, 24)),
    ]


@pytest.mark.parametrize(
    ("typed", "cents"),
    [
        ("1 250,50 €", 125050),
        ("1250,5", 125050),
        ("1.250,50", 125050),
        ("1,250.50", 125050),
        ("€42", 4200),
        ("42 EUR", 4200),
        ("42€", 4200),
        ("0,01", 1),
    ],
)
def test_amounts_in_french_and_english_forms_are_stored_in_cents(
    console: Console, demo_engine: Engine, typed: str, cents: int
) -> None:
    console.handle(f"/depense {typed} fournitures poste:logistique")
    expense = last_expense(demo_engine)
    assert (expense.amount_cents, expense.description) == (cents, "fournitures")
    assert isinstance(expense.amount_cents, int)


def test_supplier_receipt_and_a_spoken_date(console: Console, demo_engine: Engine) -> None:
    converse(
        console,
        """
        > /depense 42 € café de l'atelier poste:restauration date:lundi dernier fournisseur:"Café du Canal" justificatif:https://drive.example.org/ticket-42.pdf
        42,00 € — café de l'atelier
        Poste : Restauration · lundi 23 novembre 2026 · fournisseur : Café du Canal · justificatif (https://drive.example.org/ticket-42.pdf)
        """,
    )
    expense = last_expense(demo_engine)
    assert expense.supplier == "Café du Canal"
    assert expense.receipt_url == "https://drive.example.org/ticket-42.pdf"
    assert expense.spent_on == date(2026, 11, 23)
    # A link as Slack escapes it.
    console.handle("/depense 5 € timbres justificatif:<https://drive.example.org/t.pdf|ticket>")
    assert last_expense(demo_engine).receipt_url == "https://drive.example.org/t.pdf"


def test_an_expense_may_have_no_line(console: Console, demo_engine: Engine) -> None:
    converse(
        console,
        """
        > /depense 12 € timbres
        Poste : sans poste
        _Non réparti_ : rien de prévu hors postes · 12,00 € dépensés sans poste (1) · dépassement de 12,00 €
        Total : 14 122,00 € dépensés sur 45 000,00 € (31 %) `███░░░░░░░` · reste 30 878,00 €
        > /depense budget
        _Non réparti_ : rien de prévu hors postes · 12,00 € dépensés sans poste (1) · dépassement de 12,00 €
        Total : 14 122,00 € dépensés sur 45 000,00 €
        > /labo reglages budget:50000
        > /depense budget
        _Non réparti_ : 5 000,00 € prévus hors postes · 12,00 € dépensés sans poste (1) · reste 4 988,00 €
        Total : 14 122,00 € dépensés sur 50 000,00 € (28 %) `███░░░░░░░` · reste 35 878,00 €
        Enveloppe 50 000,00 € ; les postes en prévoient 45 000,00 €, 5 000,00 € non réparti.
        """,
    )
    assert last_expense(demo_engine).budget_line_id is None


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("logistique", "logistique"),
        ("Logistique", "logistique"),
        ("LOGISTIQUE", "logistique"),
        ("études", "etudes"),
        ("Etudes", "etudes"),
        ("catering", "restauration"),
        ("logistics", "logistique"),
        ("facilitation", "animation"),
        ("studies", "etudes"),
        ("communication", "communication"),
        ("logis", "logistique"),
        ('"Études"', "etudes"),
    ],
)
def test_a_line_is_found_by_key_label_accents_aside_and_synonyms(
    console: Console, demo_engine: Engine, typed: str, key: str
) -> None:
    console.handle(f"/depense 10 € essai poste:{typed}")
    assert line_key(demo_engine, last_expense(demo_engine).budget_line_id) == key


def test_the_reply_goes_to_the_team_channel_only_where_everyone_may_see_amounts(
    console: Console,
) -> None:
    reply = dispatch(console, "/depense 12 € café poste:restauration")
    assert reply.visibility == Visibility.CHANNEL
    assert reply.changed
    assert [b.action for b in reply.buttons] == ["undo"]
    # A channel shared with partners who do not see the budget: only the author is told.
    console.channel = "bondy-partenaires"
    reply = dispatch(console, "/depense 12 € café poste:restauration")
    assert reply.visibility == Visibility.EPHEMERAL
    assert "12,00" in normalise(reply.text)
    # A channel of no experiment, naming one.
    console.channel = "labo"
    reply = dispatch(console, "/depense 12 € café poste:restauration expe:bondy-bp")
    assert reply.visibility == Visibility.EPHEMERAL
    # Once partners may see the budget, the shared channel hears of it too.
    console.channel = "bondy"
    console.handle("/labo reglages budget-partenaires:oui")
    console.channel = "bondy-partenaires"
    reply = dispatch(console, "/depense 12 € café poste:restauration")
    assert reply.visibility == Visibility.CHANNEL


# -- bad input ------------------------------------------------------------------------


BAD_INPUT = [
    ("/depense 0 € café poste:restauration", "Le montant doit être positif (« 0 € »)"),
    ("/depense 0,00 café poste:restauration", "Le montant doit être positif"),
    ("/depense -5 € café poste:restauration", "Le montant doit être positif (« -5 € »)"),
    (
        "/depense 60 000 € café poste:restauration",
        "« 60 000 € » (60 000,00 €) dépasse le plafond d'une dépense (50 000,00 €)",
    ),
    (
        "/depense 12,34,56 € café poste:restauration",
        "Je ne comprends pas le montant « 12,34,56 € »",
    ),
    ("/depense abc € café", "Je ne comprends pas le montant « abc »"),
    ("/depense 1e309 café", "Je ne comprends pas le montant « 1e309 »"),
    ("/depense NaN € café", "Je ne comprends pas le montant « NaN »"),
    ("/depense 100000000000000 € café", "est bien trop élevé pour être un montant réel"),
    (
        "/depense $12 café poste:restauration",
        "« $12 » est en USD, mais ce budget est tenu en EUR",
    ),
    ("/expense 12 GBP coffee", "“12 GBP” is in GBP, but this budget is kept in EUR"),
    (
        "/depense 12 € café poste:restoration",
        "Aucun poste « restoration » dans ce budget. Vouliez-vous dire `poste:restauration` ?",
    ),
    (
        "/expense 12 EUR coffee line:comms-and-events",
        "No budget line “comms-and-events” here.",
    ),
    ("/depense 12 € café date:demain", "« demain », c'est le mercredi 25 novembre 2026"),
    ("/depense 12 € café date:blabla", "Je ne comprends pas la date « blabla »"),
    ("/depense 12 € café date:31/02", "« 31/02 » n'existe pas dans le calendrier"),
    (
        "/depense 12 € café justificatif:ftp://serveur/ticket.pdf",
        "Le justificatif doit être une adresse web (http ou https), pas « ftp://serveur/ticket.pdf »",
    ),
    (
        "/depense 12 € café justificatif:javascript:alert(1)",
        "Le justificatif doit être une adresse web (http ou https)",
    ),
    ("/depense 12 € café justificatif:ticket.pdf", "pas « ticket.pdf »"),
    ("/depense 12 €", "Il manque la description de la dépense."),
    ("/depense 12 € " + "x" * 10_000, "Trop long : le texte fait 10 005 caractères (540 au plus)"),
    (
        "/depense 12 € café justificatif:https://e.org/" + "x" * 10_000,
        "Trop long : le justificatif fait 10 014 caractères (2 000 au plus)",
    ),
    ("/depense 12 € café poste:" + "x" * 10_000, "Trop long : le poste fait 10 000 caractères"),
    # An id from another experiment (8 is Montreuil's) is not there.
    ("/depense voir 8", "Aucune dépense n°8 dans « Budget participatif de Bondy »"),
    ("/depense modifier 8 montant:5", "Aucune dépense n°8 dans « Budget participatif de Bondy »"),
    ("/depense supprimer 8", "Aucune dépense n°8 dans « Budget participatif de Bondy »"),
    ("/depense historique 8", "Aucune dépense n°8"),
    ("/depense voir douze", "« douze » n'est pas un numéro de dépense"),
    ("/depense modifier 5 montant:0", "Le montant doit être positif"),
    ("/depense modifier 5 montant:12 USD", "« 12 USD » est en USD"),
    ("/depense modifier 5 montant:12 tables", "Je ne sais pas quoi faire de « tables »"),
    ("/depense modifier 5 montant:$12", "« $12 » est en USD"),
    ("/depense modifier 5 date:demain", "ce n'est pas encore arrivé"),
    ("/depense modifier 5 poste:restoration", "Vouliez-vous dire `poste:restauration` ?"),
    ("/depense modifier 5 poste:communication", "Rien ne change pour la dépense n°5."),
    ("/depense modifier 5", "Dites quelle dépense corriger et quoi."),
    ("/depense liste mois:brumaire", "Je ne comprends pas la période « brumaire »"),
    ("/depense export xlsx 2026-13", "Je ne comprends pas la période « 2026-13 »"),
    ("/depense postt:logistique 12 €", "Option inconnue `postt:`. Vouliez-vous dire `poste:` ?"),
]


@pytest.mark.parametrize(("command", "message"), BAD_INPUT, ids=[c[:40] for c, _ in BAD_INPUT])
def test_bad_input_is_refused_with_a_reason_and_writes_nothing(
    console: Console, demo_engine: Engine, command: str, message: str
) -> None:
    before = counts(demo_engine)
    reply = dispatch(console, command)
    assert message in normalise(reply.text)
    assert reply.visibility == Visibility.EPHEMERAL
    assert not reply.changed
    assert counts(demo_engine) == before


def test_a_coordinator_raises_the_limit_for_a_real_large_expense(
    console: Console, demo_engine: Engine
) -> None:
    converse(
        console,
        """
        :user karim
        > /depense 60 000 € marché de prestation poste:animation
        dépasse le plafond d'une dépense (50 000,00 €)
        une coordinatrice ou un coordinateur peut relever le plafond : `/labo reglages plafond:60000`
        > /labo reglages plafond:60000
        Action réservée aux coordinateurs
        :user camille
        > /labo reglages plafond:60000
        plafond par dépense 50 000,00 € → 60 000,00 €
        :user karim
        > /depense 60 000 € marché de prestation poste:animation
        Dépense n°15 enregistrée par @karim : 60 000,00 €
        """,
    )
    assert last_expense(demo_engine).amount_cents == 6_000_000


def test_the_limit_guards_a_correction_too(console: Console, demo_engine: Engine) -> None:
    before = counts(demo_engine)
    reply = dispatch(console, "/depense modifier 5 montant:1960000")
    assert "dépasse le plafond" in normalise(reply.text)
    assert counts(demo_engine) == before


# -- who may do what ------------------------------------------------------------------


def test_members_log_and_correct_their_own_coordinators_any(
    console: Console, demo_engine: Engine
) -> None:
    converse(
        console,
        """
        :user karim
        > /depense 30 € rallonges poste:logistique
        Dépense n°15 enregistrée par @karim
        > /depense modifier 15 montant:35
        Dépense n°15 corrigée (montant) : 35,00 €
        > /depense modifier 5 montant:10
        La dépense n°5 a été saisie par @marie : seuls son auteur et les coordinateurs peuvent la corriger
        > /depense supprimer 5
        La dépense n°5 a été saisie par @marie
        :user marie
        > /depense modifier 5 montant:1 900
        Dépense n°5 corrigée (montant) : 1 900,00 €
        :user camille
        > /depense modifier 15 description:"rallonges et multiprises"
        Dépense n°15 corrigée (description) : 35,00 € — rallonges et multiprises
        > /depense supprimer 5
        Dépense n°5 supprimée : 1 900,00 € — Vidéo de présentation des projets
        """,
    )


def test_partners_neither_log_nor_see_amounts_unless_the_experiment_opts_in(
    console: Console, demo_engine: Engine
) -> None:
    before = counts(demo_engine)
    replies = converse(
        console,
        """
        :user elu.bondy
        :channel bondy-partenaires
        > /depense 12 € café poste:restauration
        Action réservée aux membres de l'équipe de « Budget participatif de Bondy ».
        > /depense budget
        Le budget de « Budget participatif de Bondy » n'est pas partagé avec les partenaires.
        > /depense liste
        n'est pas partagé avec les partenaires
        > /depense voir 5
        n'est pas partagé avec les partenaires
        > /depense historique 5
        n'est pas partagé avec les partenaires
        > /depense postes
        n'est pas partagé avec les partenaires
        > /depense export csv
        Action réservée aux membres de l'équipe
        > /depense modifier 5 montant:1
        Action réservée aux membres de l'équipe
        > /depense
        Dépenses et budget
        """,
    )
    assert not any("€" in r for r in replies[1:-1])
    assert counts(demo_engine)[:3] == before[:3]
    converse(
        console,
        """
        :user camille
        :channel bondy
        > /labo reglages budget-partenaires:oui
        :user elu.bondy
        :channel bondy-partenaires
        > /depense budget
        Total : 14 110,00 € dépensés sur 45 000,00 €
        > /depense voir 5
        1 960,00 €
        > /depense 12 € café poste:restauration
        Action réservée aux membres de l'équipe
        """,
    )


def test_nobody_reads_the_budget_of_an_experiment_they_have_no_role_in(
    console: Console,
) -> None:
    converse(
        console,
        """
        :user lucas
        > /depense budget expe:bondy-bp
        Aucune expérimentation `bondy-bp`.
        > /depense liste expe:bondy-bp
        Aucune expérimentation `bondy-bp`.
        > /depense budget
        Vous n'avez pas de rôle dans « Budget participatif de Bondy ».
        > /depense 12 € café
        Vous n'avez pas de rôle dans « Budget participatif de Bondy ».
        > /depense export csv expe:bondy-bp
        Aucune expérimentation `bondy-bp`.
        :channel montreuil
        > /depense budget
        Budget — Assemblée citoyenne de Montreuil
        """,
    )


# -- correct and look -----------------------------------------------------------------


def test_edit_delete_undo_and_history(console: Console, demo_engine: Engine) -> None:
    converse(
        console,
        """
        > /depense 1 250,50 € location de salle poste:logistique
        Dépense n°15 enregistrée
        > /depense modifier 15 montant:95 poste:communication date:hier fournisseur:Mairie
        Dépense n°15 corrigée (montant, fournisseur, poste, date) : 95,00 € — location de salle
        Poste : Communication · lundi 23 novembre 2026 · fournisseur : Mairie
        Communication : 4 395,00 € dépensés sur 8 000,00 €
        [Annuler]
        > /depense voir 15
        Dépense n°15 : 95,00 € — location de salle
        Saisie par @camille le 24/11/2026 à 10:00, corrigée le 24/11/2026
        > /depense supprimer 15
        Dépense n°15 supprimée : 95,00 € — location de salle (23/11/2026).
        Communication : 4 300,00 € dépensés
        > /depense voir 15
        Dépense n°15 _(supprimée le 24/11/2026)_
        > /depense modifier 15 montant:5
        Aucune dépense n°15
        > /depense annuler
        avait supprimé la dépense « location de salle »
        > /depense annuler
        avait modifié la dépense « location de salle »
        > /depense voir 15
        1 250,50 € — location de salle
        Poste : Logistique · mardi 24 novembre 2026
        > /depense historique 15
        Historique de la dépense n°15 (location de salle)
        @camille · création
        @camille · modification _(annulée)_ : montant 1 250,50 € → 95,00 € ; poste « Logistique » → « Communication » ; date 24/11/2026 → 23/11/2026 ; fournisseur _(vide)_ → « Mairie »
        @camille · suppression _(annulée)_
        @camille · annulation
        @camille · annulation : montant 95,00 € → 1 250,50 €
        > /depense annuler
        avait noté la dépense « location de salle »
        > /depense voir 15
        _(supprimée le 24/11/2026)_
        """,
    )
    expense = last_expense(demo_engine)
    assert expense.deleted_at is not None
    assert expense.amount_cents == 125050


def test_an_empty_line_option_takes_the_expense_off_its_line(
    console: Console, demo_engine: Engine
) -> None:
    converse(
        console,
        """
        > /depense modifier 5 poste:
        Dépense n°5 corrigée (poste)
        Poste : sans poste
        """,
    )
    with Session(demo_engine) as s:
        expense = s.get(Expense, 5)
        assert expense is not None
        assert expense.budget_line_id is None


def test_history_in_english(console: Console) -> None:
    converse(
        console,
        """
        > /expense edit 5 amount:2000 supplier:"Studio Ourcq"
        Expense #5 corrected (amount): €2,000.00
        > /expense history 5
        History of expense #5 (Vidéo de présentation des projets)
        @camille · change: amount €1,960.00 → €2,000.00
        """,
    )


def test_the_undo_button_reverts_the_logged_expense(console: Console, demo_engine: Engine) -> None:
    reply = dispatch(console, "/depense 12 € café poste:restauration")
    button = reply.buttons[0]
    undone = console.router.act(
        console.engine, console.invocation("", ""), button.action, button.value
    )
    assert "avait noté la dépense «" in undone.text
    assert last_expense(demo_engine).deleted_at is not None


def test_list_with_filters(console: Console) -> None:
    replies = converse(
        console,
        """
        > /depense liste
        Dépenses de Budget participatif de Bondy
        7 dépenses, 14 110,00 €
        n°7 · 19/11/2026 · 2 100,00 € · Animation · Atelier de co-construction des projets · @camille
        n°6 · 12/11/2026 · 420,00 € · Logistique
        n°1 · 25/09/2026 · 1 850,00 € · Logistique
        > /depense liste poste:communication mois:novembre par:@marie
        Dépenses de Budget participatif de Bondy · poste Communication · novembre 2026 · par @marie
        1 dépense, 1 960,00 €
        n°5 · 04/11/2026 · 1 960,00 € · Communication · Vidéo de présentation des projets · @marie
        > /depense liste @karim
        par @karim
        2 dépenses, 1 060,00 €
        > /depense liste octobre
        octobre 2026
        2 dépenses, 5 440,00 €
        > /depense liste poste:etudes
        Aucune dépense pour ces critères.
        > /expense list line:catering month:2026-10
        Expenses of Budget participatif de Bondy · line Restauration · October 2026
        1 expense, €640.00
        > /depense liste par:@personne
        Je ne connais personne appelé `@personne` ici.
        """,
    )
    assert "Montreuil" not in replies[0]


def test_list_shows_the_most_recent_twenty(console: Console) -> None:
    for n in range(25):
        console.handle(f"/depense {n + 1} € essai {n} poste:logistique")
    reply = normalise(console.handle("/depense liste poste:logistique"))
    assert "27 dépenses" in reply
    assert "(les 20 plus récentes ci-dessous)" in reply
    assert len(re.findall(r"^- n°", reply, re.M)) == 20


# -- the budget view ------------------------------------------------------------------


def test_budget_view_planned_spent_remaining_bar_and_projection(console: Console) -> None:
    converse(
        console,
        """
        > /depense budget
        Budget — Budget participatif de Bondy au mardi 24 novembre 2026
        Logistique : 2 270,00 € dépensés sur 12 000,00 € (19 %) `██░░░░░░░░` · reste 9 730,00 €
        Communication : 4 300,00 € dépensés sur 8 000,00 € (54 %) `█████░░░░░` · reste 3 700,00 €
        Restauration : 640,00 € dépensés sur 5 000,00 € (13 %)
        Animation : 6 900,00 € dépensés sur 15 000,00 € (46 %)
        Études : 0,00 € dépensés sur 5 000,00 € (0 %) `░░░░░░░░░░`
        Total : 14 110,00 € dépensés sur 45 000,00 € (31 %) `███░░░░░░░` · reste 30 890,00 €
        Projection : 40 627,07 € dépensés à la fin, le mercredi 30 juin 2027 (90 % du budget), il resterait 4 372,93 €.
        _Méthode : 14 110,00 € dépensés en 116 jours depuis le samedi 1er août 2026 (3 649,14 € par mois), même rythme sur les 218 jours restants._
        > /expense budget exp:montreuil-ac
        Budget — Assemblée citoyenne de Montreuil on Tuesday 24 November 2026
        Indemnités des citoyens tirés au sort: €3,600.00 spent of €11,000.00 (33%)
        Total: €11,180.00 spent of €50,000.00 (22%)
        """,
    )
    assert "projection" not in normalise(console.handle("/depense budget")).split("Total")[0]


def test_a_projection_only_once_the_pace_means_something(empty_console: Console) -> None:
    """A new experiment, one large expense, mid-period, near the end, after the end date."""
    console = empty_console
    console.fixed_now = datetime(2026, 9, 2, 10, 0, tzinfo=UTC)
    converse(
        console,
        """
        > /labo creer essai "Essai" debut:01/09/2026 fin:30/06/2027 budget:15000
        > /labo lier essai
        > /depense budget
        Projection : trop tôt pour une projection (2 j et 0 dépense ; il en faut 30 j et 5).
        > /depense 9 000 € mobilier
        > /depense budget
        Total : 9 000,00 € dépensés sur 15 000,00 € (60 %)
        Projection : trop tôt pour une projection (2 j et 1 dépense ; il en faut 30 j et 5).
        """,
    )
    # Seven weeks on, still the one expense: a pace of one is no pace.
    console.fixed_now = datetime(2026, 10, 20, 10, 0, tzinfo=UTC)
    reply = normalise(console.handle("/depense budget"))
    assert "trop tôt pour une projection (50 j et 1 dépense" in reply
    assert "Méthode" not in reply
    for n in range(4):
        console.handle(f"/depense 500 € fournitures {n}")
    converse(
        console,
        """
        > /depense budget
        Total : 11 000,00 € dépensés sur 15 000,00 € (73 %)
        Projection : 66 660,00 € dépensés à la fin, le mercredi 30 juin 2027 (444 % du budget) : ⚠️ dépassement de 51 660,00 €.
        _Méthode : 11 000,00 € dépensés en 50 jours depuis le mardi 1er septembre 2026 (6 600,00 € par mois), même rythme sur les 253 jours restants._
        """,
    )
    console.fixed_now = datetime(2027, 6, 25, 10, 0, tzinfo=UTC)
    converse(
        console,
        """
        > /expense budget
        Projection: €11,184.56 spent by the end, on Wednesday 30 June 2027 (75% of the budget), leaving €3,815.44.
        _Method: €11,000.00 spent in 298 days since Tuesday 1 September 2026 (€1,107.38 a month), the same pace over the 5 days left._
        """,
    )
    console.fixed_now = datetime(2027, 7, 5, 10, 0, tzinfo=UTC)
    reply = normalise(console.handle("/depense budget"))
    assert "Période terminée le mercredi 30 juin 2027 : pas de projection." in reply
    assert "Projection" not in reply


def test_budget_view_runs_a_fixed_number_of_queries(console: Console, demo_engine: Engine) -> None:
    statements: list[str] = []

    def on_execute(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(demo_engine, "before_cursor_execute", on_execute)
    try:
        console.handle("/depense budget")
        few = list(statements)
        for n in range(60):
            console.handle(f"/depense {n + 1} € essai poste:{['logistique', 'animation'][n % 2]}")
        statements.clear()
        reply = console.handle("/depense budget")
    finally:
        event.remove(demo_engine, "before_cursor_execute", on_execute)
    assert "Logistique : 3 170,00 €" in normalise(reply)
    assert len(statements) == len(few)
    assert sum("FROM expense" in s for s in statements) == 1


def test_the_state_after_logging_is_the_state_the_database_then_holds(
    console: Console, demo_engine: Engine
) -> None:
    """Logging works out the budget after from the budget before, without a second query:
    it must agree with a fresh look, on a line, on no line, and on a day before any other
    (which moves the start of the projection when the experiment has no start date)."""
    with Session(demo_engine) as s:
        invocation = console.invocation("depense", "")
        workspace = ensure_workspace(s, invocation)
        person = ensure_person(s, workspace, invocation)
        ctx = Context(s, invocation, workspace, person, "fr", str(uuid.uuid4()))
        experiment = ctx.experiment()
        experiment.starts_on = None
        for amount, line, when in [
            ("120", "restauration", None),
            ("35,50", None, None),
            ("80", "logistique", "01/01/2026"),
        ]:
            changed = expenses.log_expense(
                ctx,
                experiment,
                amount=parse_amount(amount),
                amount_text=amount,
                description="essai",
                line_text=line,
                when=when,
            )
            s.flush()
            assert changed.state == expenses.budget_state(ctx, experiment)
        assert changed.state.since == date(2026, 1, 1)


# -- budget lines ---------------------------------------------------------------------


def test_coordinators_define_rename_change_and_remove_lines(
    console: Console, demo_engine: Engine
) -> None:
    converse(
        console,
        """
        > /depense postes
        `logistique` Logistique : 12 000,00 € prévus
        `etudes` Études : 5 000,00 € prévus
        > /depense poste ajouter evaluation "Évaluation" 5000
        Poste Évaluation (`evaluation`) ajouté au budget de Budget participatif de Bondy : 5 000,00 € prévus.
        [Annuler]
        > /depense poste modifier evaluation 6000
        Poste Évaluation : prévu 5 000,00 € → 6 000,00 €.
        > /depense poste renommer evaluation "Évaluation et suivi"
        Poste « Évaluation » renommé Évaluation et suivi (`evaluation`).
        > /depense 300 € questionnaire poste:evaluation
        Évaluation et suivi : 300,00 € dépensés sur 6 000,00 € (5 %)
        > /depense poste supprimer evaluation
        Le poste Évaluation et suivi porte encore 1 dépense
        > /depense annuler
        avait noté la dépense « questionnaire »
        > /depense poste supprimer evaluation
        Poste Évaluation et suivi (`evaluation`) retiré du budget
        > /depense poste ajouter evaluation "Évaluation" 4 000 €
        Poste Évaluation (`evaluation`) ajouté au budget de Budget participatif de Bondy : 4 000,00 € prévus.
        > /expense line add catering "Catering" 100
        The line `restauration` (Restauration) exists already.
        > /depense poste ajouter etudes "Études"
        Le poste `etudes` (Études) existe déjà.
        > /depense poste ajouter Mauvais!Nom
        « mauvais!nom » ne convient pas comme nom court de poste
        > /depense poste renommer restauration "Logistique"
        Le poste `logistique` (Logistique) existe déjà.
        > /depense poste modifier restauration 5000
        Rien ne change pour le poste Restauration.
        > /depense poste envoler restauration
        Exemples : `/depense poste ajouter evaluation
        :user karim
        > /depense poste ajouter autre "Autre" 100
        Action réservée aux coordinateurs de « Budget participatif de Bondy ».
        > /depense poste modifier logistique 1
        Action réservée aux coordinateurs
        > /depense postes
        `logistique` Logistique
        """,
    )
    with Session(demo_engine) as s:
        lines = s.exec(
            select(BudgetLine).where(BudgetLine.key == "evaluation").order_by(col(BudgetLine.id))
        ).all()
    assert [(line.label, line.planned_cents, line.deleted_at) for line in lines] == [
        ("Évaluation", 400_000, None)
    ]


# -- threshold alerts -----------------------------------------------------------------


def outbox(engine: Engine) -> list[OutboxMessage]:
    with Session(engine) as s:
        return list(s.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))))


def ids(engine: Engine) -> tuple[int, dict[str, int]]:
    with Session(engine) as s:
        bondy = s.exec(select(Experiment).where(Experiment.slug == "bondy-bp")).one()
        lines = s.exec(select(BudgetLine).where(BudgetLine.experiment_id == bondy.id)).all()
        return int(bondy.id or 0), {line.key: int(line.id or 0) for line in lines}


def test_crossing_80_and_100_percent_of_a_line_is_told_once(
    console: Console, demo_engine: Engine
) -> None:
    bondy, lines = ids(demo_engine)
    catering = lines["restauration"]
    converse(
        console,
        """
        > /depense 3 300 € traiteur du forum poste:restauration
        Restauration : 3 940,00 € dépensés sur 5 000,00 € (79 %)
        > /depense 100 € boissons poste:restauration
        Restauration : 4 040,00 € dépensés sur 5 000,00 € (81 %)
        ⚠️ Le poste Restauration a passé 80 % de son prévu : 4 040,00 € sur 5 000,00 €, soit 81 %. L'équipe et les coordinateurs sont prévenus.
        """,
    )
    rows = outbox(demo_engine)
    assert [(r.key, r.target_kind, r.target_id, r.kind) for r in rows] == [
        (f"budget:{bondy}:line:{catering}:80", "channel", "bondy", "budget_alert"),
        (f"budget:{bondy}:line:{catering}:80:person:1", "person", "1", "budget_alert"),
    ]
    channel_text = normalise(markdown_to_text(Reply.from_payload(rows[0].payload).text))
    assert (
        "Budget participatif de Bondy : le poste Restauration a passé 80 % de son prévu : "
        "4 040,00 € dépensés (TTC) sur 5 000,00 €, soit 81 %." in channel_text
    )
    # Still above 80%, below 100%: nothing new. Undone and logged again: told once.
    console.handle("/depense 10 € glaçons poste:restauration")
    console.handle("/depense annuler")
    console.handle("/depense annuler")
    replies = converse(
        console,
        """
        > /depense 100 € boissons poste:restauration
        (81 %)
        """,
    )
    assert "⚠️" not in replies[0]
    assert len(outbox(demo_engine)) == 2
    # Past 100% by a correction.
    converse(
        console,
        """
        > /depense modifier 18 montant:1 100
        Restauration : 5 040,00 € dépensés sur 5 000,00 € (101 %) `██████████` · dépassement de 40,00 €
        ⚠️ Le poste Restauration a passé 100 % de son prévu : 5 040,00 € sur 5 000,00 €, soit 101 %.
        """,
    )
    assert [r.key for r in outbox(demo_engine)][2:] == [
        f"budget:{bondy}:line:{catering}:100",
        f"budget:{bondy}:line:{catering}:100:person:1",
    ]


def test_one_expense_past_several_thresholds_is_one_message_per_person(
    console: Console, demo_engine: Engine
) -> None:
    """A line from 27 % to 172 % and the total past 80 %: one message each for the team and
    each coordinator, naming the highest threshold crossed and the figure."""
    converse(
        console,
        """
        :channel montreuil
        > /expense 29 000 EUR second session line:facilitation
        ⚠️ The line Animation has passed 100% of its plan: €34,400.00 of €20,000.00, that is 172%.
        ⚠️ The total budget has passed 80% of its plan: €40,180.00 of €50,000.00, that is 80%. The team and the coordinators are told.
        """,
    )
    with Session(demo_engine) as s:
        montreuil = s.exec(select(Experiment).where(Experiment.slug == "montreuil-ac")).one()
        animation = s.exec(
            select(BudgetLine).where(
                BudgetLine.experiment_id == montreuil.id, BudgetLine.key == "animation"
            )
        ).one()
    rows = outbox(demo_engine)
    base = f"budget:{montreuil.id}:line:{animation.id}:100+total:80"
    # camille (the lab's coordinator, id 1) and sophie (the experiment's, id 4).
    assert sorted(r.key for r in rows) == [base, f"{base}:person:1", f"{base}:person:4"]
    channel_rows = [r for r in rows if r.target_kind == "channel"]
    assert {r.target_id for r in channel_rows} == {"montreuil"}
    text = normalise(markdown_to_text(Reply.from_payload(channel_rows[0].payload).text))
    assert "Animation a passé 80" not in text
    assert (
        "Assemblée citoyenne de Montreuil : le poste Animation a passé 100 % de son prévu : "
        "34 400,00 € dépensés (TTC) sur 20 000,00 €, soit 172 % ; le budget total a passé 80 % de "
        "son prévu : 40 180,00 € dépensés (TTC) sur 50 000,00 €, soit 80 %." in text
    )
    # Messages wait for working hours: it is Tuesday 10:00, so they may go now.
    assert all(r.not_before.isoformat().startswith("2026-11-24T09:00") for r in rows)
    # Undone and back under 80 %, then past 80 % again: 100 % was told, 80 % is not news.
    console.handle("/expense undo exp:montreuil-ac")
    console.handle("/expense 9 000 EUR third session line:facilitation exp:montreuil-ac")
    assert len(outbox(demo_engine)) == 3


def test_alerts_never_go_to_a_channel_shared_with_partners(
    console: Console, demo_engine: Engine
) -> None:
    console.handle("/depense 3 500 € traiteur poste:restauration")
    targets = {(r.target_kind, r.target_id) for r in outbox(demo_engine)}
    assert ("channel", "bondy") in targets
    assert ("channel", "bondy-partenaires") not in targets


def test_an_alert_to_a_person_speaks_their_language(console: Console, demo_engine: Engine) -> None:
    console.handle("/labo langue en")
    console.handle("/depense 3 500 € traiteur poste:restauration")
    by_target = {
        r.target_kind: markdown_to_text(Reply.from_payload(r.payload).text)
        for r in outbox(demo_engine)
    }
    assert "the line Restauration has passed 80% of its plan" in by_target["person"]
    assert "le poste Restauration a passé 80" in normalise(by_target["channel"])


# -- the form -------------------------------------------------------------------------


def test_no_text_opens_a_form_and_its_submission_logs_the_expense(
    console: Console, demo_engine: Engine
) -> None:
    reply = dispatch(console, "/depense")
    assert "Dépenses et budget" in reply.text
    assert reply.form is not None
    assert reply.form.callback == "expense.log"
    line_field = next(f for f in reply.form.fields if f.name == "line")
    assert ("restauration", "Restauration") in line_field.options
    submitted = console.router.submit(
        console.engine,
        console.invocation("", ""),
        "expense.log",
        {"amount": "42,50", "description": "café", "line": "restauration", "date": "2026-11-23"},
    )
    assert "Dépense n°15 enregistrée" in markdown_to_text(submitted.text)
    expense = last_expense(demo_engine)
    assert (expense.amount_cents, expense.spent_on) == (4250, date(2026, 11, 23))
    wrong = console.router.submit(
        console.engine,
        console.invocation("", ""),
        "expense.log",
        {"amount": "abc", "description": "café"},
    )
    assert set(wrong.errors) == {"amount"}
    wrong = console.router.submit(
        console.engine,
        console.invocation("", ""),
        "expense.log",
        {"amount": "12", "description": "café", "date": "2026-12-01"},
    )
    assert set(wrong.errors) == {"date"}


# -- help -----------------------------------------------------------------------------


HELP = Path(__file__).resolve().parents[2] / "commands" / "templates" / "help"
# Every example of the help, and what it answers on the demo, in the order of the help.
HELP_EXAMPLES = {
    "fr": {
        "/depense 1 250,50 € location de salle poste:logistique": "Dépense n°15 enregistrée",
        "/depense 89.90 impression des affiches poste:communication date:hier": "n°16",
        "/depense 42 € café de l'atelier poste:restauration date:lundi dernier": "lundi 23",
        "/depense liste poste:communication mois:novembre par:@marie": "1 dépense",
        "/depense voir 5": "Dépense n°5",
        "/depense historique 5": "Historique de la dépense n°5",
        "/depense modifier 5 montant:95 poste:communication": "Dépense n°5 corrigée",
        "/depense supprimer 5": "Dépense n°5 supprimée",
        "/depense annuler": "avait supprimé la dépense « ",
        "/depense budget": "Budget — Budget participatif de Bondy",
        "/depense postes": "Postes budgétaires",
        '/depense poste ajouter evaluation "Évaluation" 5000': "Poste Évaluation (`evaluation`)",
        "/depense poste modifier evaluation 6000": "prévu 5 000,00 € → 6 000,00 €",
        '/depense poste renommer evaluation "Évaluation et suivi"': "renommé Évaluation et suivi",
        "/depense poste supprimer evaluation": "retiré du budget",
        "/depense export xlsx novembre": "Export XLSX de Budget participatif de Bondy",
    },
    "en": {
        "/expense 42 EUR coffee for the workshop line:catering": "Expense #15 logged",
        "/expense 89.90 poster printing line:communication date:yesterday": "Monday 23",
        "/expense €1,250.50 room hire line:logistics date:last monday": "Line: Logistique",
        "/expense list line:communication month:november by:@marie": "1 expense",
        "/expense show 5": "Expense #5",
        "/expense history 5": "History of expense #5",
        "/expense edit 5 amount:95 line:communication": "Expense #5 corrected",
        "/expense delete 5": "Expense #5 deleted",
        "/expense undo": "had deleted the expense “",
        "/expense budget": "Budget — Budget participatif de Bondy",
        "/expense lines": "Budget lines",
        '/expense line add evaluation "Evaluation" 5000': "Line Evaluation (`evaluation`)",
        "/expense line set evaluation 6000": "planned €5,000.00 → €6,000.00",
        '/expense line rename evaluation "Evaluation and follow-up"': "renamed Evaluation and",
        "/expense line remove evaluation": "removed from the budget",
        "/expense export xlsx november": "XLSX export of Budget participatif de Bondy",
    },
}


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_every_help_example_works_as_typed_on_the_demo(console: Console, locale: str) -> None:
    text = (HELP / f"_expense.{locale}.md.j2").read_text("utf-8")
    examples = [e for e in re.findall(r"`(/(?:depense|expense) [^`]*)`", text) if "…" not in e]
    assert examples == list(HELP_EXAMPLES[locale])
    for example, expected in HELP_EXAMPLES[locale].items():
        reply = normalise(console.handle(example))
        assert expected in reply, f"{example!r} answered:\n{reply}"


def test_help(console: Console) -> None:
    converse(
        console,
        """
        > /depense aide
        Dépenses et budget — `/depense`
        > /expense help
        Expenses and budget — `/expense`
        > /dépense budjet
        Vouliez-vous dire `budget` ?
        """,
    )


def readme_examples(word: str) -> list[str]:
    text = (HELP.parents[2] / "README.md").read_text("utf-8")
    section = text[text.index("### Expenses and budget") :]
    section = section[: section.index("\n### ")]
    return [e for e in re.findall(rf"`(/{word} [^`]*)`", section) if "…" not in e]


@pytest.mark.parametrize("word", ["depense", "expense"])
def test_every_readme_example_works_as_typed_on_the_demo(console: Console, word: str) -> None:
    examples = readme_examples(word)
    assert len(examples) == 14
    for example in examples:
        reply = dispatch(console, example)
        assert not reply.errors, f"{example!r} answered:\n{reply.text}"


def test_the_expense_form_logs_in_the_experiment_it_was_opened_for(console: Console) -> None:
    """Submitted from a channel bound to no experiment, the form's state decides."""
    console.channel = "labo"
    invocation = console.invocation("depense", "")
    reply = console.router.submit(
        console.engine,
        invocation,
        "expense.log",
        {"amount": "12,50", "description": "Café du COTECH", "line": "restauration"},
        "montreuil-ac",
    )
    assert "Assemblée citoyenne de Montreuil" in reply.text, reply.text
    without_state = console.router.submit(
        console.engine, invocation, "expense.log", {"amount": "12,50", "description": "Café"}
    )
    assert "De quelle expérimentation" in without_state.text


def submit(console: Console, values: dict[str, str]) -> Reply:
    invocation = console.invocation("depense", "")
    return console.router.submit(console.engine, invocation, "expense.log", values, "bondy-bp")


def test_the_expense_form_asks_for_vat_supplier_and_invoice(console: Console) -> None:
    form = console.router.dispatch(console.engine, console.invocation("depense", "")).form
    assert form is not None
    fields = {f.name: f for f in form.fields}
    assert {"rate", "ht", "supplier", "invoice"} <= set(fields)
    assert [v for v, _ in fields["rate"].options] == ["20", "10", "5,5", "2,1", "0"]
    assert not any(fields[name].required for name in ("rate", "ht", "supplier", "invoice"))


def test_the_form_writes_vat_supplier_and_invoice_as_the_typed_command_does(
    console: Console, demo_engine: Engine
) -> None:
    from models import LedgerEntry

    reply = submit(
        console,
        {
            "amount": "1 200",
            "description": "traiteur",
            "line": "restauration",
            "rate": "10",
            "supplier": "Traiteur Dupont",
            "invoice": "F-123",
        },
    )
    assert not reply.errors, reply.text
    text = normalise(reply.text)
    assert "HT 1 090,91 € + TVA 109,09 € (10,0 %) = TTC 1 200,00 €" in text
    assert "Facture F-123" in text
    with Session(demo_engine) as s:
        entry = s.exec(select(LedgerEntry).where(LedgerEntry.expense_id == 15)).one()
        expense = s.get(Expense, 15)
        assert expense is not None
        assert expense.supplier == "Traiteur Dupont"
    assert (entry.ht_cents, entry.vat_cents, entry.vat_rate, entry.invoice_number) == (
        109091,
        10909,
        1000,
        "F-123",
    )
    reply = submit(console, {"amount": "120", "description": "affiches", "ht": "100"})
    assert "HT 100,00 € + TVA 20,00 € (20,0 %) = TTC 120,00 €" in normalise(reply.text)


@pytest.mark.parametrize(
    ("values", "field", "expected"),
    [
        ({"rate": "13"}, "rate", "n'est pas un taux de TVA en vigueur en France"),
        ({"ht": "150"}, "ht", "dépasse le montant payé TTC"),
        ({"ht": "100", "rate": "10"}, "ht", "ne font pas une TVA à 10,0 %"),
        ({"supplier": "73282932000075"}, "supplier", "n'est pas un SIRET valide"),
        ({"invoice": "F" * 80}, "invoice", "ne convient pas comme numéro de facture"),
    ],
)
def test_a_bad_vat_supplier_or_invoice_in_the_form_is_refused_at_its_field(
    console: Console, demo_engine: Engine, values: dict[str, str], field: str, expected: str
) -> None:
    from models import LedgerEntry

    def written() -> tuple[tuple[int, int, int, int], int]:
        with Session(demo_engine) as s:
            entries = s.exec(select(func.count()).select_from(LedgerEntry)).one()
        return counts(demo_engine), entries

    before = written()
    reply = submit(console, {"amount": "120", "description": "fournitures", **values})
    assert set(reply.errors) == {field}, reply.errors
    assert expected in normalise(reply.errors[field])
    assert written() == before


# -- amounts and dates never silently misread --------------------------------------------


def test_an_operator_or_a_second_amount_after_the_amount_is_asked_back(
    console: Console, demo_engine: Engine
) -> None:
    before = counts(demo_engine)
    converse(
        console,
        """
        > /depense 3 x 12 € pizzas
        « 3 x 12 € pizzas » : 3 × 12 € = 36,00 € ? Coordo ne calcule pas à votre place et n'a rien enregistré : tapez `/depense 36 € pizzas`.
        > /depense 12,50 € + 3 € pourboire
        12,50 € + 3 € = 15,50 € ? Coordo ne calcule pas à votre place et n'a rien enregistré : tapez `/depense 15,50 € pourboire`.
        > /depense 3 pizzas à 12 € pièce
        « 3 pizzas à 12 € pièce » contient deux montants (3 et 12 €) : Coordo n'a rien enregistré plutôt que de deviner. Tapez un seul montant, par exemple `/depense 12 € pizzas à pièce`.
        > /expense 3 x 12 EUR pizzas
        3 × 12 EUR = €36.00? Coordo does not do the sum for you and logged nothing: type `/expense 36 € pizzas`.
        """,
    )
    assert counts(demo_engine) == before
    converse(
        console,
        """
        > /depense 36 € pizzas pour 12 personnes
        Dépense n°15 enregistrée
        """,
    )


def test_the_same_expense_twice_is_logged_and_said_to_look_like_the_first(
    console: Console, demo_engine: Engine
) -> None:
    converse(
        console,
        """
        > /depense 42 € café de l'atelier
        Dépense n°15 enregistrée
        > /depense 42 € Café de l'atelier
        Dépense n°16 enregistrée
        Ressemble à la dépense n°15 (42,00 € — café de l'atelier, le 24/11/2026) : si c'est un doublon, annulez-la.
        [Annuler]
        > /depense 120 € buffet fournisseur:"Traiteur Saveurs" date:hier
        Dépense n°17 enregistrée
        > /depense 120 € repas du forum fournisseur:"traiteur saveurs"
        Ressemble à la dépense n°17 (120,00 € — buffet, le 23/11/2026)
        > /depense 43 € café de l'atelier
        Dépense n°19 enregistrée
        """,
    )
    assert "Ressemble" not in console.handle("/depense 44 € café de l'atelier")
    assert counts(demo_engine)[0] == 14 + 6
    reply = dispatch(console, "/depense 44 € café de l'atelier")
    assert "n°20" in normalise(reply.text)
    assert [b.action for b in reply.buttons] == ["undo"]


def test_a_date_outside_the_experiment_s_period_is_refused_with_the_period(
    console: Console, demo_engine: Engine
) -> None:
    before = counts(demo_engine)
    converse(
        console,
        """
        > /depense 10 € café date:15/03/2024
        « 15/03/2024 », c'est le vendredi 15 mars 2024, en dehors de la période de Budget participatif de Bondy (du 01/08/2026 au 30/06/2027). Rien n'est enregistré.
        /labo reglages debut:… fin:…
        > /depense 10 € café date:12/12
        c'est le vendredi 12 décembre 2025, en dehors de la période de Budget participatif de Bondy
        > /depense modifier 1 date:01/01/2026
        en dehors de la période
        > /labo reglages debut:01/01/2026
        > /depense 10 € café date:02/01/2026
        Dépense n°15 enregistrée
        """,
    )
    assert counts(demo_engine)[0] == before[0] + 1
