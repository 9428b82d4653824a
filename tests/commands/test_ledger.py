"""The finance ledger as the team types it, on the demo lab (Tuesday 24 November 2026,
10:00 in Paris; camille coordinates, marie is a member, elu.bondy a partner, in ~bondy)."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from bot.console import Console
from commands.core import Context, ensure_person, ensure_workspace
from commands.services import ledger, reports
from models import (
    Allocation,
    AuditEvent,
    Expense,
    Experiment,
    Funder,
    LedgerEntry,
    Supplier,
)
from tests.chat import converse, normalise
from tests.conftest import NOW


def counts(engine: Engine) -> tuple[int, ...]:
    with Session(engine) as s:
        return tuple(
            s.exec(select(func.count()).select_from(t)).one()
            for t in (Expense, LedgerEntry, Supplier, Funder, Allocation, AuditEvent)
        )


def entry(engine: Engine, expense_id: int) -> LedgerEntry:
    with Session(engine) as s:
        found = s.exec(select(LedgerEntry).where(LedgerEntry.expense_id == expense_id)).one()
        return found


def test_vat_supplier_and_invoice_on_a_logged_expense(
    console: Console, demo_engine: Engine
) -> None:
    converse(
        console,
        """
        > /depense 1 200 € traiteur poste:restauration tva:10 facture:F-123
        Dépense n°15 enregistrée par @camille : 1 200,00 € — traiteur
        HT 1 090,91 € + TVA 109,09 € (10,0 %) = TTC 1 200,00 € · compté TTC
        Facture F-123
        > /expense 120 EUR printing vat:20
        Before VAT €100.00 + VAT €20.00 (20.0%) = €120.00 VAT incl. · counted VAT included
        """,
    )
    first = entry(demo_engine, 15)
    assert (first.ht_cents, first.vat_cents, first.vat_rate) == (109091, 10909, 1000)
    assert (first.status, first.paid_on, first.invoice_number) == (
        "paid",
        date(2026, 11, 24),
        "F-123",
    )
    second = entry(demo_engine, 16)
    assert (second.ht_cents, second.vat_cents) == (10000, 2000)


def test_a_receipt_address_typed_as_facture_stays_the_receipt(
    console: Console, demo_engine: Engine
) -> None:
    console.handle("/depense 42 € café facture:https://drive.example.org/f-42.pdf")
    with Session(demo_engine) as s:
        expense = s.exec(select(Expense).order_by(col(Expense.id).desc())).first()
        assert expense is not None
        assert expense.receipt_url == "https://drive.example.org/f-42.pdf"
    with Session(demo_engine) as s:
        # Logged as before: no ledger entry, so paid on its day with VAT unknown.
        assert s.exec(select(LedgerEntry).where(LedgerEntry.expense_id == 15)).first() is None


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/depense 1 200 € traiteur tva:13", "n'est pas un taux de TVA en vigueur en France"),
        ("/depense 100 € fournitures ht:120", "dépasse le montant payé TTC"),
        ("/depense 120 € fournitures ht:100 tva:10", "ne font pas une TVA à 10,0 %"),
        ("/expense 100 EUR supplies ht:120", "is more than the amount paid with VAT"),
        ("/depense 50 € café fournisseur:73282932000075", "n'est pas un SIRET valide"),
    ],
)
def test_bad_input_gets_a_clear_message_and_writes_nothing(
    console: Console, demo_engine: Engine, command: str, expected: str
) -> None:
    before = counts(demo_engine)
    reply = normalise(console.handle(command))
    assert expected in reply, reply
    assert counts(demo_engine) == before


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        # A step out of order, without a coordinator's word.
        ("/depense payer 15", "il faut d'abord « engagé » avant « payé »"),
        ("/depense service fait 15", "il faut d'abord « engagé » avant « service fait »"),
        # A payment before the invoice (even with the word).
        ("/depense payer 16 le 18/11 forcer", "antérieur à la facture du vendredi 20 novembre"),
        # An allocation over 100 %.
        ("/depense financeur allouer feder 50% poste:logistique", "feraient 110,00 % : 100 %"),
        ("/depense financeur allouer feder 101%", "100 % au plus"),
        # A report or statement for a funder the experiment does not have.
        ("/depense rapport cnes", "« cnes » ne finance pas « Budget participatif de Bondy »"),
        ("/depense etat cnes", "« cnes » ne finance pas « Budget participatif de Bondy »"),
        # A VAT rate that does not exist, HT above TTC, on an expense already logged.
        ("/depense facture 16 tva:19,6", "n'est pas un taux de TVA en vigueur en France"),
        ("/depense facture 16 ht:900", "dépasse le montant payé TTC"),
        # A SIRET that fails its check.
        ('/depense fournisseur ajouter "Dupont" siret:732 829 320 00075', "SIRET valide"),
    ],
)
def test_bad_input_on_an_expense_under_way_writes_nothing(
    console: Console, demo_engine: Engine, command: str, expected: str
) -> None:
    add_funders(console)
    converse(
        console,
        """
        > /depense financeur allouer region 60% poste:logistique
        > /depense prevoir 500 € location poste:logistique
        Dépense n°15 enregistrée
        > /depense prevoir 800 € impression poste:communication date:09/11
        Dépense n°16 enregistrée
        > /depense engager 16 bc:BC-9 le 10/11
        > /depense facture 16 numero:F-77 du:20/11 reçue:21/11
        """,
    )
    before = counts(demo_engine), entry(demo_engine, 15).status, entry(demo_engine, 16).status
    reply = normalise(console.handle(command))
    assert expected in reply, reply
    after = counts(demo_engine), entry(demo_engine, 15).status, entry(demo_engine, 16).status
    assert after == before


def test_the_spending_chain_step_by_step(console: Console, demo_engine: Engine) -> None:
    converse(
        console,
        """
        > /depense prevoir 3 000 € étude de terrain poste:etudes date:18/11
        Dépense n°15 enregistrée
        Étape : prévu
        > /depense payer 15
        il faut d'abord « engagé » avant « payé »
        > /depense engager 15
        avec son numéro de bon de commande
        > /depense engager 15 bc:BC-2026-041 le 20/11
        Dépense n°15 engagée le vendredi 20 novembre 2026 par @camille
        engagement BC-2026-041
        > /depense engagements
        Études : prévu non engagé 0,00 € · engagé non payé 3 000,00 €
        Engagé et non payé (1)
        n°15 3 000,00 € — étude de terrain · engagé · BC-2026-041
        > /depense service fait 15 le 19/11
        serait avant « engagé » du vendredi 20 novembre 2026
        > /depense service fait 15 le 23/11
        Dépense n°15 service fait le lundi 23 novembre 2026
        > /depense mandater 15 mandat:M-877
        Dépense n°15 mandatée le mardi 24 novembre 2026
        mandat M-877
        > /depense engager 15 bc:X
        en est déjà à « mandaté »
        > /expense pay 15 on 24/11
        Expense #15 paid on Tuesday 24 November 2026 by @camille
        > /depense engagements
        Rien d'engagé qui ne soit payé.
        """,
    )
    final = entry(demo_engine, 15)
    assert final.status == "paid"
    assert (final.committed_on, final.done_on, final.ordered_on, final.paid_on) == (
        date(2026, 11, 20),
        date(2026, 11, 23),
        date(2026, 11, 24),
        date(2026, 11, 24),
    )
    assert (final.commitment_ref, final.order_ref, final.forced) == ("BC-2026-041", "M-877", False)
    assert final.committed_by == final.paid_by is not None


def test_paid_before_committed_needs_a_coordinators_word(
    console: Console, demo_engine: Engine
) -> None:
    converse(
        console,
        """
        :user marie
        > /depense prevoir 500 € location poste:logistique
        Dépense n°15 enregistrée par @marie
        > /depense payer 15 forcer
        Seuls les coordinateurs peuvent sauter des étapes
        :user camille
        > /depense payer 15 forcer
        Dépense n°15 payée le mardi 24 novembre 2026 par @camille
        Étapes sautées sur décision d'une coordinatrice ou d'un coordinateur : engagé, service fait, mandaté.
        > /depense annuler
        Annulé : @camille avait modifié le suivi comptable de la dépense « location »
        > /depense engagements
        Logistique : prévu non engagé 500,00 €
        """,
    )
    assert entry(demo_engine, 15).status == "planned"


def test_a_payment_before_its_invoice_is_refused(console: Console, demo_engine: Engine) -> None:
    converse(
        console,
        """
        > /depense prevoir 800 € impression poste:communication date:09/11
        > /depense engager 15 bc:BC-9 le 10/11
        > /depense facture 15 numero:F-77 du:20/11 reçue:21/11 tva:20
        facture F-77 du 20/11/2026, reçue le 21/11/2026
        > /depense service fait 15 le 20/11
        > /depense mandater 15 le 21/11
        > /depense payer 15 le 18/11
        serait avant « mandaté »
        > /depense statut 15 engagé
        ramenée à l'étape engagé
        > /depense payer 15 le 19/11 forcer
        antérieur à la facture du vendredi 20 novembre 2026
        """,
    )


def test_old_expenses_are_paid_and_a_coordinator_may_say_otherwise(
    console: Console, demo_engine: Engine
) -> None:
    converse(
        console,
        """
        :user marie
        > /depense statut 1 engagé
        Action réservée aux coordinateurs
        :user camille
        > /depense statut 1 engagé
        ramenée à l'étape engagé
        > /depense engagements
        Engagé et non payé (1)
        """,
    )


def test_suppliers_are_matched_and_an_invoice_is_entered_once(
    console: Console, demo_engine: Engine
) -> None:
    converse(
        console,
        """
        > /depense fournisseur ajouter "Traiteur Dupont" siret:73282932000074
        Fournisseur enregistré : Traiteur Dupont · SIRET 73282932000074
        > /depense fournisseur ajouter "Autre" siret:73282932000075
        n'est pas un SIRET valide
        > /depense fournisseur ajouter "traiteur dupont"
        est déjà connu
        > /depense 50 € café fournisseur:"Traiteur Dupont" facture:A-1
        Facture A-1
        > /depense 60 € café fournisseur:traiteur facture:a-1
        La facture a-1 de traiteur est déjà enregistrée (dépense n°15)
        > /depense 60 € café fournisseur:73282932000074 facture:A-1
        est déjà enregistrée (dépense n°15)
        > /depense 60 € café fournisseur:"Boulangerie" facture:A-1
        enregistrée par @camille : 60,00 € — café
        > /depense fournisseurs
        Traiteur Dupont · SIRET 73282932000074
        """,
    )
    with Session(demo_engine) as s:
        supplier = s.exec(select(Supplier)).one()
    assert entry(demo_engine, 15).supplier_id == supplier.id
    with Session(demo_engine) as s:
        last = s.exec(select(Expense).order_by(col(Expense.id).desc())).first()
        assert last is not None
        assert last.supplier == "Boulangerie"
    assert entry(demo_engine, last.id or 0).supplier_id is None


def add_funders(console: Console) -> None:
    converse(
        console,
        """
        > /depense financeur ajouter region "Région Île-de-France" 30000 du 01/01/2026 au 31/12/2026 partenaire:@agent.montreuil
        Financeur ajouté à Budget participatif de Bondy : Région Île-de-France (`region`, Région) · 30 000,00 € accordés du 01/01/2026 au 31/12/2026
        > /depense financeur ajouter feder "FEDER" 10000 type:europe
        (`feder`, Fonds européens) · 10 000,00 €
        """,
    )


def test_funders_allocations_and_their_budget(console: Console, demo_engine: Engine) -> None:
    add_funders(console)
    converse(
        console,
        """
        > /depense financeur allouer region 60% poste:logistique
        60,00 % du poste Logistique imputés à Région Île-de-France (parts des financeurs : 60,00 %, le reste en autofinancement)
        > /depense financeur allouer feder 50% poste:logistique
        feraient 110,00 % : 100 % au plus. Rien n'a été enregistré.
        > /depense financeur allouer feder 40% poste:logistique
        (parts des financeurs : 100,00 %)
        > /depense financeur voir region
        Logistique : prévu 0,00 € · engagé non payé 0,00 € · payé 1 362,00 € · reste 5 838,00 € sur 7 200,00 €
        > /depense rapport cnes
        « cnes » ne finance pas « Budget participatif de Bondy »
        """,
    )


def test_funder_shares_add_up_to_the_ledger(console: Console, demo_engine: Engine) -> None:
    """Each expense split among funders pro rata (or by allocation) plus what is left
    self-financed is the ledger's total, to the cent."""
    add_funders(console)
    console.handle("/depense financeur allouer region 60% poste:logistique")
    with Session(demo_engine) as s:
        ctx = context(s, demo_engine)
        experiment = s.exec(select(Experiment).where(Experiment.slug == "bondy-bp")).one()
        rows = ledger.ledger_rows(ctx, experiment)
        whole = ledger.totals(ctx, experiment, rows)
        parts = [
            ledger.totals(ctx, experiment, rows, funder=f) for f in ledger.funders(ctx, experiment)
        ]
        shares = ledger.shares_of(ctx, experiment)
        self_financed = 0
        for row in rows:
            split = shares.split(row, row.ttc)
            assert sum(split.values()) <= row.ttc
            self_financed += row.ttc - sum(split.values())
    assert sum(p.total.sums.paid for p in parts) + self_financed == whole.total.sums.paid


def context(session: Session, engine: Engine) -> Context:
    from commands.invocation import ChannelInfo, Invocation, UserRef, WorkspaceRef

    invocation = Invocation(
        workspace=WorkspaceRef("console", "console", ""),
        user=UserRef("camille", "camille"),
        channel=ChannelInfo("bondy", "bondy"),
        command="depense",
        text="",
        now=NOW,
    )
    workspace = ensure_workspace(session, invocation)
    person = ensure_person(session, workspace, invocation)
    return Context(session, invocation, workspace, person, "fr", "test")


def test_account_classes_have_defaults_and_may_be_set(console: Console) -> None:
    converse(
        console,
        """
        > /depense nature
        Logistique : 61 – Services extérieurs
        Communication : 62 – Autres services extérieurs
        Restauration : 60 – Achats
        > /depense nature logistique 99
        n'est pas une classe de charges du CERFA 15059
        > /depense nature logistique 60
        Poste Logistique : 60 – Achats (était 61 – Services extérieurs)
        > /expense nature
        Logistique: 60 – Purchases
        """,
    )


def test_vat_recoverable_counts_ht(console: Console) -> None:
    converse(
        console,
        """
        > /depense tva recuperable oui
        la TVA est récupérable — le budget compte les montants HT
        > /depense 1 200 € traiteur poste:etudes tva:20
        compté HT
        > /depense engagements
        Montants comptés au budget : HT (TVA récupérable) ; 7 dépenses à TVA inconnue, comptées TTC.
        Études : prévu non engagé 0,00 € · engagé non payé 0,00 € · payé 1 000,00 €
        """,
    )


def read_xlsx(path: Path) -> list[list[object]]:
    book = load_workbook(path, data_only=True)
    sheet = book.worksheets[0]
    assert sheet.page_setup.paperSize == 9  # A4
    return [list(r) for r in sheet.iter_rows(values_only=True)]


def pdf_text(path: Path) -> str:
    reader = PdfReader(io.BytesIO(path.read_bytes()))
    for page in reader.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert {round(width), round(height)} == {595, 842}  # A4 in points
    return normalise("\n".join(page.extract_text() for page in reader.pages))


def test_the_report_and_the_statement_match_the_ledger(
    console: Console, demo_engine: Engine, tmp_path: Path
) -> None:
    add_funders(console)
    console.handle("/depense prevoir 2 000 € étude poste:etudes")  # planned: not realised
    console.handle(
        "/depense 1 200 € traiteur poste:restauration tva:10 facture:F-9 fournisseur:Dupont"
    )
    reply = normalise(console.handle("/depense rapport region"))
    assert "Compte rendu financier pour Région Île-de-France" in reply
    normalise(console.handle("/depense etat region"))
    files = {p.name: p for p in (tmp_path / "exports").iterdir()}
    report_x = next(
        p for n, p in files.items() if n.startswith("compte-rendu") and n.endswith(".xlsx")
    )
    report_p = next(
        p for n, p in files.items() if n.startswith("compte-rendu") and n.endswith(".pdf")
    )
    state_x = next(p for n, p in files.items() if n.startswith("etat") and n.endswith(".xlsx"))
    state_p = next(p for n, p in files.items() if n.startswith("etat") and n.endswith(".pdf"))

    with Session(demo_engine) as s:
        ctx = context(s, demo_engine)
        experiment = s.exec(select(Experiment).where(Experiment.slug == "bondy-bp")).one()
        region = ledger.find_funder(ctx, experiment, "region")
        period = ledger.funder_period(region)
        rows = ledger.ledger_rows(ctx, experiment, period)
        realised = [r for r in rows if r.status in ledger.REALISED]
        report = reports.compute(ctx, experiment, region, period)
        shares = ledger.shares_of(ctx, experiment)
    realised_total = sum(r.ttc for r in realised)
    charged = sum(shares.split(r, r.ttc).get(region.id or 0, 0) for r in realised)
    assert report.actual == realised_total
    assert report.charged == charged
    assert sum(x.actual for x in report.resources) == realised_total

    sheet = read_xlsx(report_x)
    labels = {row[0]: row for row in sheet if row and row[0]}
    total_charges = labels["Total des charges"]
    assert round(float(total_charges[2]) * 100) == realised_total  # a value, not text
    assert round(float(labels["Total des produits"][2]) * 100) == realised_total
    assert round(float(labels["Dépenses imputées à la subvention"][1]) * 100) == charged
    assert "61 – Services extérieurs" in labels
    assert "Subvention Région Île-de-France" in labels

    statement = read_xlsx(state_x)
    header = statement.index(next(r for r in statement if r[0] == "N°"))
    body = [r for r in statement[header + 1 :] if isinstance(r[0], int)]
    assert len(body) == len([r for r in realised if shares.split(r, r.ttc).get(region.id or 0)])
    assert round(sum(float(r[14]) for r in body) * 100) == charged
    assert statement[-1][0] == "Total"
    assert round(float(statement[-1][14]) * 100) == charged
    dupont = next(r for r in body if r[7] == "F-9")
    assert (dupont[5], round(float(dupont[11]) * 100), round(float(dupont[12]) * 100)) == (
        "Dupont",
        109091,
        10909,
    )

    text = pdf_text(report_p)
    assert "Compte rendu financier de subvention (CERFA n°15059)" in text
    assert "Total des charges" in text
    from commands.render import money

    assert normalise(money(realised_total, "EUR", "fr")) in text
    assert normalise(money(charged, "EUR", "fr")) in text
    statement_text = pdf_text(state_p)
    assert "État récapitulatif des dépenses" in statement_text
    assert "F-9" in statement_text
    assert normalise(money(charged, "EUR", "fr")) in statement_text


def test_who_sees_the_reports(console: Console, demo_engine: Engine) -> None:
    add_funders(console)
    converse(
        console,
        """
        :channel bondy-partenaires
        :user elu.bondy
        > /depense engagements
        n'est pas partagé avec les partenaires
        > /depense rapport region
        ne sont pas partagés avec les partenaires
        :user agent.montreuil
        > /depense rapport region expe:bondy-bp
        Compte rendu financier pour Région Île-de-France
        > /depense rapport feder expe:bondy-bp
        ne sont pas partagés avec les partenaires
        :channel labo
        > /depense rapport region expe:bondy-bp
        Compte rendu financier pour Région Île-de-France
        > /depense engagements expe:bondy-bp
        Aucune expérimentation `bondy-bp`
        """,
    )


def test_the_lab_digest_shows_what_is_committed_and_not_paid(
    console: Console, demo_engine: Engine
) -> None:
    """The digest's figure and the ledger view's are the same, HT when VAT is recoverable."""
    from commands.services import digests
    from models import Workspace

    converse(
        console,
        """
        > /depense tva recuperable oui
        > /depense prevoir 1 200 € traiteur poste:restauration tva:20 date:20/11
        > /depense engager 15 bc:BC-7
        > /depense prevoir 300 € affiches poste:communication date:20/11
        > /depense engager 16 bc:BC-8
        > /depense service fait 16
        > /depense prevoir 999 € encore prévu poste:communication
        > /depense engagements
        Total : prévu non engagé 999,00 € · engagé non payé 1 300,00 €
        """,
    )
    with Session(demo_engine) as s:
        workspace = s.exec(select(Workspace)).one()
        digest = digests.lab_digest(s, workspace, NOW)
        bondy = next(x for x in digest.standings if x.experiment.slug == "bondy-bp")
        assert bondy.committed_unpaid == 130000
        others = [x.committed_unpaid for x in digest.standings if x is not bondy]
        assert set(others) == {0}
        text = normalise(digests.render_lab_digest(digest, "fr"))
    assert "engagé non payé 1 300,00 €" in text


def test_shares_split_to_the_cent_on_random_amounts() -> None:
    import random

    rng = random.Random(5)
    for _ in range(5_000):
        cents = rng.randint(0, 10**8)
        weights = [(i, rng.randint(1, 5_000)) for i in range(rng.randint(1, 4))]
        pro_rata = ledger.distribute(cents, weights, sum(w for _, w in weights))
        assert sum(pro_rata.values()) == cents
        assert all(
            abs(pro_rata[k] - cents * w / sum(x for _, x in weights)) < 1 for k, w in weights
        )
        if sum(w for _, w in weights) <= ledger.WHOLE:
            shares = ledger.distribute(cents, weights, ledger.WHOLE)
            due = cents * sum(w for _, w in weights) / ledger.WHOLE
            assert abs(sum(shares.values()) - due) <= 0.5


def test_members_log_and_follow_the_chain_coordinators_shape_the_ledger(console: Console) -> None:
    converse(
        console,
        """
        :user marie
        > /depense financeur ajouter region "Région" 1000
        Action réservée aux coordinateurs
        > /depense nature logistique 60
        Action réservée aux coordinateurs
        > /depense tva recuperable oui
        Action réservée aux coordinateurs
        > /expense plan 300 EUR posters line:communication date:20/11
        Expense #15 logged by @marie
        Step: planned
        > /expense commit 15 po:PO-1
        Expense #15 committed on Tuesday 24 November 2026 by @marie
        > /expense delivered 15
        Expense #15 service done
        > /expense order 15 order:M-2
        Expense #15 ordered for payment
        > /expense commitments
        Communication: planned, not committed €0.00 · committed, unpaid €300.00
        :user camille
        > /expense funders
        None yet
        > /expense report region
        does not fund
        """,
    )


def test_the_ledger_has_its_help(console: Console) -> None:
    converse(
        console,
        """
        > /depense compta
        Comptabilité (service financier)
        /depense engager 12 bc:BC-2026-041
        > /expense ledger
        Ledger (finance department)
        """,
    )


def test_a_corrected_amount_keeps_ht_plus_vat_equal_to_ttc(
    console: Console, demo_engine: Engine
) -> None:
    console.handle("/depense 120 € affiches poste:communication tva:20")
    console.handle("/depense 50 € café ht:45")
    console.handle("/depense modifier 15 montant:240")
    console.handle("/depense modifier 16 montant:60")
    first, second = entry(demo_engine, 15), entry(demo_engine, 16)
    assert (first.ht_cents, first.vat_cents, first.vat_rate) == (20000, 4000, 2000)
    assert (second.ht_cents, second.vat_cents) == (None, None)
    converse(
        console,
        """
        > /depense annuler
        > /depense voir 16
        50,00 €
        """,
    )
    assert (entry(demo_engine, 16).ht_cents, entry(demo_engine, 16).vat_cents) == (4500, 500)


def test_a_corrected_amount_is_counted_at_its_new_ht_at_once(console: Console) -> None:
    """The reply to a correction (and its alerts) count the new HT, not the old one."""
    converse(
        console,
        """
        > /depense tva recuperable oui
        > /depense 1 200 € traiteur poste:restauration tva:20
        Restauration : 1 640,00 € dépensés sur 5 000,00 €
        > /depense modifier 15 montant:4 800
        Restauration : 4 640,00 € dépensés sur 5 000,00 €
        """,
    )


@pytest.mark.parametrize(("currency", "locale"), [("EUR", "fr"), ("EUR", "en"), ("USD", "en")])
def test_the_statements_amounts_are_written_as_money_writes_them(
    currency: str, locale: str
) -> None:
    """The statement's PDF formats its many amounts without babel each time: the same
    text, on 10,000 random amounts of every size and sign."""
    import random

    from commands.render import money

    rng = random.Random(15059)
    fast = reports.MoneyText(currency, locale)
    for cents in [0, 1, -1, 99, 100, -100, 99_999, 100_000, *range(-3, 4)]:
        assert fast(cents) == money(cents, currency, locale), cents
    for _ in range(10_000):
        cents = rng.randint(-(10 ** rng.randint(1, 12)), 10 ** rng.randint(1, 12))
        assert fast(cents) == money(cents, currency, locale), cents
