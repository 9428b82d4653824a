"""Every kind of change in the audit log, and every setting, told as people write: who,
what, which thing by its name, from → to in the reader's units; never a column name, a
code value, a raw date or a row number in place of a name."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import Engine, func
from sqlmodel import Session, SQLModel, col, select

from bot.console import Console
from commands.narration import Narrator
from commands.services.experiments import SettingChange
from models import AuditEvent, Expense, Experiment, Meeting, Milestone
from tests.chat import normalise
from tests.conftest import NOW

# Every (action, table) the services record; a new kind must be told too.
KINDS = {
    ("create", "experiment"),
    ("update", "experiment"),
    ("archive", "experiment"),
    ("bind", "channel_binding"),
    ("unbind", "channel_binding"),
    ("create", "membership"),
    ("update", "membership"),
    ("delete", "membership"),
    ("update", "person"),
    ("create", "budget_line"),
    ("update", "budget_line"),
    ("delete", "budget_line"),
    ("create", "expense"),
    ("update", "expense"),
    ("delete", "expense"),
    ("create", "milestone"),
    ("update", "milestone"),
    ("reschedule", "milestone"),
    ("done", "milestone"),
    ("delete", "milestone"),
    ("create", "milestone_owner"),
    ("update", "milestone_owner"),
    ("create", "meeting"),
    ("update", "meeting"),
    ("reschedule", "meeting"),
    ("cancel", "meeting"),
    ("create", "agenda_item"),
    ("update", "agenda_item"),
    ("delete", "agenda_item"),
    ("create", "invitation"),
    ("respond", "invitation"),
    ("create", "decision"),
    ("create", "notification_preference"),
    ("update", "notification_preference"),
}

SNAKE = re.compile(r"\b[a-z]+_[a-z_]+\b")
ROW_NUMBER = re.compile(r"(n°|#)\s?\d")
MACHINE = re.compile(r"\b(True|False|None)\b|\d{4}-\d{2}-\d{2}|\d{2}:\d{2}:\d{2}")
# Stored codes that must not reach a French reader as they are.
CODES = re.compile(r"\b(pending|scheduled|cancelled|open|done|maybe|coordinator|member|partner)\b")


def refuse_machine_words(text: str, locale: str = "fr") -> None:
    assert not SNAKE.search(text), text
    assert not ROW_NUMBER.search(text), text
    assert not MACHINE.search(text), text
    if locale == "fr":
        assert not CODES.search(text), text


def newest(engine: Engine, model: type[SQLModel]) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.max(model.id))).one())  # type: ignore[attr-defined]


def play(console: Console, *lines: str) -> None:
    for line in lines:
        reply = console.handle(line)
        assert "Désolé" not in reply, (line, reply)


def test_every_kind_of_change_is_told_in_both_languages(console: Console) -> None:
    engine = console.engine
    play(
        console,
        '/labo creer essai "Essai de quartier" territoire:Pantin debut:01/12/2026 fin:30/06/2027 budget:1000',
        ":channel essai",
        "/labo lier essai",
        "/labo delier",
        "/labo lier essai",
        '/labo reglages nom:"Essai du quartier" territoire:Bobigny fuseau:Europe/London '
        "langue:en budget-partenaires:oui plafond:800 budget:1200 debut:02/12/2026 fin:31/07/2027",
        "/labo rappels jours:lun-jeu heures:8h-17h delais:3,0 digest:mardi-10h",
        "/labo rappels mp:non",
        "/labo rappels pause 2 semaines",
        "/labo role @lucas membre",
        "/labo role @lucas coordinateur",
        "/labo retirer @lucas",
        "/labo role @marie membre",
        "/labo role @karim membre",
        "/labo langue en",
        "/lab language fr",
        '/depense poste ajouter suivi "Suivi" 500',
        "/depense poste modifier suivi 600",
        '/depense poste renommer suivi "Suivi et évaluation"',
        "/depense 12 café poste:suivi",
    )
    expense = newest(engine, Expense)
    play(
        console,
        f"/depense modifier {expense} montant:15",
        f"/depense supprimer {expense}",
        "/depense poste supprimer suivi",
        "/jalon Rédiger la charte vendredi @marie",
    )
    milestone = newest(engine, Milestone)
    play(
        console,
        f"/jalon avancement {milestone} 50%",
        f"/jalon reporter {milestone} de 1 semaine",
        f"/jalon reattribuer {milestone} @karim",
        f"/jalon fait {milestone}",
        f"/jalon supprimer {milestone}",
        '/copil mardi 8 décembre 14h-16h lieu:"Mairie de Pantin"',
    )
    meeting = newest(engine, Meeting)
    play(
        console,
        f'/copil deplacer {meeting} lieu:"Salle B"',
        f"/copil deplacer {meeting} jeudi 10 décembre 10h",
        f'/copil odj {meeting} ajouter "Point budget"',
        f'/copil odj {meeting} ajouter "Calendrier"',
        f"/copil odj {meeting} monter 2",
        f"/copil odj {meeting} retirer 1",
        f"/copil inviter {meeting} @marie",
        ":user marie",
        f"/copil reponse {meeting} oui",
        ":user camille",
        "/copil calendrier nouveau",
        ":now " + (NOW + timedelta(days=16, hours=1)).isoformat(),
        f"/copil decision {meeting} Charte adoptée",
        "/copil 15 janvier 2027 14h",
    )
    play(console, f"/copil decommander {newest(engine, Meeting)}", "/labo archiver essai")

    with Session(engine) as session:
        events = list(session.exec(select(AuditEvent).order_by(col(AuditEvent.id))))
        assert {(e.action, e.entity) for e in events} >= KINDS
        for locale in ("fr", "en"):
            narrator = Narrator(session, locale)
            for event in events:
                refuse_machine_words(narrator.sentence(event), locale)
            refuse_machine_words(narrator.undone(events[-5:]), locale)

    # Undo: every batch of the session, told as it was done; the undo events told too.
    for _ in range(8):
        reply = console.handle("/labo annuler")
        # A file sent with the reply (a new calendar file) is named by the console's path.
        refuse_machine_words("\n".join(x for x in reply.splitlines() if not x.startswith("📎")))
    with Session(engine) as session:
        undos = list(session.exec(select(AuditEvent).where(AuditEvent.action == "undo")))
        assert undos
        for locale in ("fr", "en"):
            for event in undos:
                refuse_machine_words(Narrator(session, locale).sentence(event), locale)


def test_a_change_is_told_with_its_names_and_units(console: Console) -> None:
    play(console, "/labo reglages plafond:10000 budget-partenaires:oui fin:31/07/2027")
    with Session(console.engine) as session:
        event = session.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc())).first()
        assert event is not None
        fr = normalise(Narrator(session, "fr").sentence(event))
        en = normalise(Narrator(session, "en").sentence(event))
    assert fr.startswith("@camille a modifié l'expérimentation « Budget participatif de Bondy »")
    assert "plafond par dépense 50 000,00 € → 10 000,00 €" in fr
    assert "les partenaires voient le budget non → oui" in fr
    assert "fin mercredi 30 juin 2027 → samedi 31 juillet 2027" in fr
    assert en.startswith("@camille changed the experiment “Budget participatif de Bondy”")
    assert "limit per expense €50,000.00 → €10,000.00" in en
    assert "Wednesday 30 June 2027 → Saturday 31 July 2027" in en
    reply = normalise(console.handle("/labo annuler"))
    assert "@camille avait modifié l'expérimentation « Budget participatif de Bondy »" in reply


def test_every_setting_is_told_in_words_in_both_languages(console: Console) -> None:
    """Each column a coordinator can change, before and after, in both languages."""
    with Session(console.engine) as session:
        experiment = session.exec(select(Experiment)).first()
        assert experiment is not None
        settings = [
            SettingChange(column, getattr(experiment, column), value)
            for column, value in {
                "name": "Autre nom",
                "territory": "Bobigny",
                "starts_on": experiment.starts_on,
                "ends_on": experiment.ends_on,
                "timezone": "Europe/London",
                "locale": "en",
                "budget_envelope_cents": 100_000,
                "partners_see_budget": True,
                "expense_limit_cents": 80_000,
                "working_days": "1,2,3,4",
                "working_hours_start": experiment.working_hours_end,
                "working_hours_end": experiment.working_hours_start,
                "reminder_lead_days": "3,0",
                "digest_weekday": 2,
                "digest_time": experiment.working_hours_end,
                "calendar_token": "x",
            }.items()
        ]
        for locale in ("fr", "en"):
            narrator = Narrator(session, locale)
            for change in settings:
                told = narrator.change(Experiment, change.name, change.before, change.after)
                assert told, change
                refuse_machine_words(told, locale)


def test_an_undo_of_several_changes_tells_them_apart(console: Console) -> None:
    # One command, two changes (the milestone and its owner): the undo tells both, with the
    # separator's spaces kept (a rendered message is stripped, its separator must not be).
    console.handle("/jalon Lancer l'appel à projets vendredi prochain @marie")
    reply = normalise(console.handle("/jalon annuler"))
    assert "projets » ; @camille avait créé le jalon" in reply, reply
    console.handle("/labo reglages langue:en")
    console.handle("/milestone Open the call for projects next friday @marie")
    reply = normalise(console.handle("/milestone undo"))
    assert "projects”; @camille had created the milestone" in reply, reply
