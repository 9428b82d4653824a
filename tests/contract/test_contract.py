"""The contract every platform keeps, each case run on Slack, Mattermost and Matrix through
its real wire (``tests/contract/harness.py``): a command delivered twice writes once, a late
reply still arrives, an undo undoes once, files reach the person, a guest is a partner, a
failure is an apology in the person's language, and an answer to an invitation may change."""

from __future__ import annotations

import io
import time

import openpyxl
import pytest
from sqlalchemy import func
from sqlmodel import Session, col, select

from models import AuditEvent, Expense, Invitation, Person
from tests.contract.harness import DONE_LATE, Platform


def open_lab(platform: Platform) -> None:
    """Camille opens the lab: an experiment with a budget, bound to the channel."""
    said = platform.command(
        "camille",
        '/labo creer bondy-bp "Budget participatif de Bondy" budget:45000',
        expect="Budget participatif de Bondy",
    )
    assert any("45 000" in s for s in said), said
    platform.command("camille", "/labo lier bondy-bp", expect="lié")


def count(platform: Platform, *where: object, table: type = AuditEvent) -> int:
    with Session(platform.engine) as session:
        query = select(func.count()).select_from(table)
        for condition in where:
            query = query.where(condition)  # type: ignore[arg-type]
        return int(session.exec(query).one())


def live_expenses(platform: Platform) -> list[str]:
    with Session(platform.engine) as session:
        rows = session.exec(select(Expense).where(col(Expense.deleted_at).is_(None)))
        return sorted(e.description for e in rows)


def test_a_command_delivered_twice_writes_once_and_is_answered_once(platform: Platform) -> None:
    open_lab(platform)

    platform.command("camille", "/depense 12,50 € café", expect="café")
    platform.deliver_again("camille")
    # A later command is answered: the second delivery has been dealt with by then.
    platform.command("camille", "/depense 3 € timbres", expect="timbres")

    assert live_expenses(platform) == ["café", "timbres"]
    assert count(platform, AuditEvent.entity == "expense", AuditEvent.action == "create") == 2
    answers = [s for s in platform.seen("camille") if "café" in s]
    assert len(answers) == 1, answers


def test_a_reply_later_than_the_ack_budget_still_reaches_the_person(platform: Platform) -> None:
    with platform.slow_core() as finish:
        platform.send("camille", "/essai lent")
        assert not any(DONE_LATE in s for s in platform.seen("camille"))
        finish()
        platform.wait_seen("camille", DONE_LATE)

    time.sleep(0.5)  # nothing else comes after it
    done = [s for s in platform.seen("camille") if DONE_LATE in s]
    assert len(done) == 1, done


def test_an_undo_undoes_once_and_a_second_undoes_nothing_unannounced(platform: Platform) -> None:
    open_lab(platform)
    platform.command("camille", "/depense 12,50 € café", expect="café")
    platform.command("camille", "/depense 30 € papeterie", expect="papeterie")

    undone = platform.click("camille", "Annuler", on="papeterie")
    platform.pause(5)
    again = platform.click("camille", "Annuler", on="papeterie")

    assert any("Annulé" in s and "papeterie" in s for s in undone), undone
    assert live_expenses(platform) == ["café"]
    assert any("déjà" in s for s in again), again  # already undone (or already handled)
    assert not any("Annulé" in s for s in again), again
    # A typed undo now undoes the one before, and says which.
    typed = platform.command("camille", "/depense annuler", expect="Annulé")
    assert any("café" in s for s in typed if "Annulé" in s), typed
    assert live_expenses(platform) == []


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_an_export_reaches_the_person_as_a_file(platform: Platform, kind: str) -> None:
    open_lab(platform)
    platform.command("camille", "/depense 42,50 € location de salle", expect="location")

    platform.send("camille", f"/depense export {kind}")

    deadline = time.monotonic() + 30
    while not (files := [f for f in platform.files_seen("camille") if f[0].endswith(kind)]):
        assert time.monotonic() < deadline, platform.seen("camille")
        time.sleep(0.1)
    [(_, content)] = files
    if kind == "csv":
        assert "location de salle" in content.decode("utf-8-sig")
    else:
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
        cells = [str(c) for sheet in book for row in sheet.iter_rows(values_only=True) for c in row]
        assert "location de salle" in cells


def test_a_guest_is_a_partner_who_sees_no_budget_figures(platform: Platform) -> None:
    platform.make_partner("pat")
    open_lab(platform)
    coordinator = platform.command("camille", "/labo voir", expect="Budget participatif")

    partner = platform.command("pat", "/labo voir", expect="Budget participatif")

    assert any("45 000" in s for s in coordinator), coordinator
    assert not any("45 000" in s or "€" in s for s in partner), partner
    with Session(platform.engine) as session:
        pat = session.exec(select(Person).where(col(Person.handle).startswith("pat"))).one()
    assert pat.is_guest
    assert pat.lab_role is None
    # Nor may a partner log an expense.
    platform.command("pat", "/depense 5 € café")
    assert live_expenses(platform) == []


@pytest.mark.parametrize(
    ("person", "line", "apology"),
    [
        ("camille", "/essai panne", "Désolé, quelque chose s'est mal passé"),
        ("marie", "/trial crash", "Sorry, something went wrong"),
    ],
)
def test_a_failure_is_an_apology_in_the_persons_language(
    platform: Platform, person: str, line: str, apology: str
) -> None:
    said = platform.command(person, line, expect=apology)

    assert not any("Traceback" in s or "RuntimeError" in s for s in said), said


INVITATION = "réunion n°1"


def answers(platform: Platform) -> tuple[str | None, int]:
    """Camille's answer to the meeting, and how many answers were recorded."""
    with Session(platform.engine) as session:
        invitation = session.exec(select(Invitation)).one_or_none()
    recorded = count(platform, AuditEvent.entity == "invitation", AuditEvent.action == "respond")
    return (invitation.response if invitation else None), recorded


def test_yes_no_yes_on_one_invitation_counts_three_times(platform: Platform) -> None:
    open_lab(platform)
    platform.command("camille", "/copil jeudi 10h", expect=INVITATION)

    for choice in ("Je viens", "Je ne viens pas", "Je viens"):
        said = platform.click("camille", choice, on=INVITATION, expect="C'est noté")
        assert not any("déjà été traitée" in s for s in said), said
        platform.pause(5)

    assert answers(platform) == ("yes", 3)


def test_a_double_click_on_an_answer_counts_once(platform: Platform) -> None:
    open_lab(platform)
    platform.command("camille", "/copil jeudi 10h", expect=INVITATION)

    platform.double_click("camille", "Je viens", on=INVITATION)
    platform.wait_seen("camille", "C'est noté")
    time.sleep(1)  # the second click's effect, if any, has landed by then

    assert answers(platform) == ("yes", 1)


def test_answers_a_second_apart_each_count(platform: Platform) -> None:
    """Someone who misclicks and corrects at once: yes, no, then yes again, a second apart."""
    open_lab(platform)
    platform.command("camille", "/copil jeudi 10h", expect=INVITATION)

    said = []
    for choice in ("Je viens", "Je ne viens pas", "Je viens"):
        said += platform.click("camille", choice, on=INVITATION)
        platform.pause(1)

    assert not any("déjà été traitée" in s for s in said), said
    assert answers(platform) == ("yes", 3)
