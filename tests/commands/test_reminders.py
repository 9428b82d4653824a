"""``/labo rappels`` and ``/labo digest``, as people type them, on the demo lab."""

from __future__ import annotations

import re
from datetime import time, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.console import Console
from commands.errors import UserError
from commands.reminders import (
    parse_days,
    parse_digest,
    parse_hours,
    parse_leads,
    parse_mute,
)
from commands.render import render
from models import Experiment, NotificationPreference, Person
from tests.chat import converse
from tests.conftest import NOW


def preference(console: Console, handle: str = "camille") -> NotificationPreference | None:
    with Session(console.engine) as session:
        person = session.exec(select(Person).where(Person.handle == handle)).one()
        return session.exec(
            select(NotificationPreference).where(NotificationPreference.person_id == person.id)
        ).first()


def bondy(console: Console) -> Experiment:
    with Session(console.engine) as session:
        return session.exec(select(Experiment).where(Experiment.slug == "bondy-bp")).one()


def test_what_one_gets_and_how_to_change_it(console: Console) -> None:
    converse(
        console,
        """
        > /labo rappels
        🔔 Vos rappels pour Budget participatif de Bondy
        - Messages privés : oui
        - Rappels de jalons : 7 jours, 1 jour, le jour même avant l'échéance
        - Jours et heures ouvrés : lundi, mardi, mercredi, jeudi, vendredi, de 09:00 à 18:00 (Europe/Paris)
        - Point de la semaine : le lundi à 09:00 dans ~bondy, ~bondy-partenaires
        Changer : `/labo rappels mp:non`
        Pour toute l'équipe (coordination) : `/labo rappels delais:7,1,0
        > /lab reminders
        🔔 Your reminders for Budget participatif de Bondy
        - Direct messages: yes
        - Milestone reminders: 7 days, 1 day, the day itself before the deadline
        """,
    )


def test_direct_messages_off_then_undone(console: Console) -> None:
    converse(
        console,
        """
        > /labo rappels mp:non
        🔔 Rappels de Budget participatif de Bondy :
        - messages privés : non (vous ne recevrez plus de rappels en message privé pour cette expérimentation)
        [Annuler]
        > /labo rappels
        - Messages privés : non
        """,
    )
    stored = preference(console)
    assert stored is not None
    assert stored.direct_messages is False
    converse(
        console,
        """
        > /labo annuler
        Annulé
        > /labo rappels mp:oui
        - messages privés : oui
        """,
    )


def test_mute_for_a_while_and_resume(console: Console) -> None:
    converse(
        console,
        """
        > /labo rappels pause 2 semaines
        - rappels en pause jusqu'au mardi 8 décembre 2026 à 10:00
        > /labo rappels
        - Messages privés : oui · en pause jusqu'au mardi 8 décembre 2026 à 10:00
        > /labo rappels reprendre
        - rappels repris
        > /labo rappels reprendre
        Vos rappels pour « Budget participatif de Bondy » ne sont pas en pause.
        > /labo rappels pause
        Pour combien de temps ? Exemples : `/labo rappels pause 2 semaines`
        > /labo rappels pause longtemps
        Je ne comprends pas la durée « longtemps ». Exemples : `2 semaines`, `3j`, `48h`, `15/12`
        > /lab reminders mute until friday
        - reminders muted until Friday 27 November 2026 at 00:00
        > /labo rappels dodo
        Je ne connais pas « dodo » ici.
        """,
    )
    stored = preference(console)
    assert stored is not None
    assert stored.muted_until is not None


def test_coordinators_set_the_team_s_reminders(console: Console) -> None:
    converse(
        console,
        """
        > /labo rappels delais:14,2,0 jours:lun-jeu heures:8h30-17h digest:vendredi-16h
        - délais des rappels de jalons : 14 jours, 2 jours, le jour même
        - jours ouvrés : lundi, mardi, mercredi, jeudi
        - heures ouvrées : de 08:30 à 17:00
        - point hebdo : le vendredi à 16:00
        [Annuler]
        > /lab reminders lead:none days:mon,wed hours:9-17:30 digest:monday-9am
        - milestone reminder lead times: none
        - working days: Monday, Wednesday
        - working hours: 09:00 to 17:30
        - weekly digest: Monday at 09:00
        """,
    )
    experiment = bondy(console)
    assert experiment.reminder_lead_days == ""
    assert experiment.working_days == "1,3"
    assert (experiment.working_hours_start, experiment.working_hours_end) == (time(9), time(17, 30))
    assert (experiment.digest_weekday, experiment.digest_time) == (1, time(9))
    converse(
        console,
        """
        > /labo annuler
        Annulé
        """,
    )
    assert bondy(console).working_days == "1,2,3,4"


def test_members_set_their_own_reminders_only(console: Console) -> None:
    converse(
        console,
        """
        :user marie
        > /labo rappels mp:non
        - messages privés : non
        > /labo rappels delais:1
        Action réservée aux coordinateurs de « Budget participatif de Bondy ».
        > /labo rappels
        - Messages privés : non
        """,
    )
    assert bondy(console).reminder_lead_days == "7,1,0"
    reply = console.handle("/labo rappels")
    assert "Pour toute l'équipe" not in reply


def test_mistakes_get_an_example(console: Console) -> None:
    converse(
        console,
        """
        > /labo rappels jours:lundi-funday
        Je ne comprends pas les jours « lundi-funday ». Exemples : `jours:lun-ven`
        > /labo rappels heures:18h-9h
        Je ne comprends pas les heures « 18h-9h ». Exemples : `heures:9h-18h`
        > /labo rappels delais:7,100
        Je ne comprends pas les délais « 7,100 »
        > /labo rappels digest:lundi
        Je ne comprends pas « lundi » pour le point hebdo : un jour et une heure. Exemples : `digest:lundi-9h`
        > /labo rappels mp:peut-être
        « peut-être » : répondez `oui` ou `non`.
        """,
    )
    assert preference(console) is None  # nothing written


def test_the_digest_preview_is_for_the_one_who_asks(console: Console, tmp_path: Path) -> None:
    converse(
        console,
        """
        > /labo digest
        Aperçu, pour vous seul : voici le point que recevra le canal ~bondy lundi 30 novembre 2026 à 09:00.
        📰 Point de la semaine — Budget participatif de Bondy
        Du lun. 23 nov. au dim. 29 nov.
        🔴 En retard (2) :
        Budget : 14 110,00 € dépensés sur 45 000,00 € (31 %)
        📎 Graphique du point de la semaine — Budget participatif de Bondy →
        > /lab digest lab
        Preview, for you only: the lab digest its coordinators get every Monday at 9:00.
        🧭 Lab digest
        - Assemblée citoyenne de Montreuil `montreuil-ac`
        📎 Chart of the weekly digest
        :user elu.bondy
        :channel bondy-partenaires
        > /labo digest
        le canal ~bondy-partenaires
        Réunions des deux semaines à venir
        > /labo digest labo
        Le point du labo est réservé aux coordinateurs du labo.
        :user marie
        :channel bondy
        > /labo digest expe:montreuil-ac
        Aucune expérimentation `montreuil-ac`.
        > /labo digest truc
        Exemples : `/labo digest`
        """,
    )
    console.handle(":user elu.bondy")
    console.handle(":channel bondy-partenaires")
    text = console.handle("/labo digest")
    assert "€" not in text
    assert (
        (tmp_path / "exports" / "digest-bondy-bp-2026-11-30.png")
        .read_bytes()
        .startswith(b"\x89PNG")
    )


def test_help_lists_reminders_and_digest(console: Console) -> None:
    converse(
        console,
        """
        > /labo aide
        `/labo rappels` — vos rappels
        `/labo digest` — aperçu du point de la semaine
        > /lab help
        `/lab reminders` — your reminders
        `/lab digest` — preview of the weekly digest
        """,
    )


# -- parsing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("lun-ven", [1, 2, 3, 4, 5]),
        ("mon-fri", [1, 2, 3, 4, 5]),
        ("Lundi,Mercredi", [1, 3]),
        ("1-3,5", [1, 2, 3, 5]),
        ("dim-mar", [1, 2, 7]),
        ("samedi", [6]),
    ],
)
def test_days(text: str, days: list[int]) -> None:
    assert parse_days(text) == days


@pytest.mark.parametrize("text", ["", "lu", "lun-xyz", "8", ","])
def test_days_refused(text: str) -> None:
    with pytest.raises(UserError):
        parse_days(text)


@pytest.mark.parametrize(
    ("text", "hours"),
    [
        ("9h-18h", (time(9), time(18))),
        ("8h30-17h", (time(8, 30), time(17))),
        ("9-18", (time(9), time(18))),
        ("9:00-17:45", (time(9), time(17, 45))),
        ("9am-5pm", (time(9), time(17))),
    ],
)
def test_hours(text: str, hours: tuple[time, time]) -> None:
    assert parse_hours(text) == hours


@pytest.mark.parametrize("text", ["18h-9h", "9h", "25h-26h", "9h-9h", "matin-soir"])
def test_hours_refused(text: str) -> None:
    with pytest.raises(UserError):
        parse_hours(text)


def test_leads_and_digest_moments() -> None:
    assert parse_leads("7,1,0") == [7, 1, 0]
    assert parse_leads("1j, 14j ,3") == [14, 3, 1]
    assert parse_leads("aucun") == []
    for bad in ("", "demain", "91", "-1"):
        with pytest.raises(UserError):
            parse_leads(bad)
    assert parse_digest("lundi-9h") == (1, time(9))
    assert parse_digest("Friday 4:30pm") == (5, time(16, 30))
    assert parse_digest("ven à 16h30") == (5, time(16, 30))
    for bad in ("lundi", "9h", "lundi-9h-10h", "jour-9h"):
        with pytest.raises(UserError):
            parse_digest(bad)


@pytest.mark.parametrize(
    ("words", "until"),
    [
        (["2", "semaines"], NOW + timedelta(weeks=2)),
        (["3j"], NOW + timedelta(days=3)),
        (["48h"], NOW + timedelta(hours=48)),
        (["1", "week"], NOW + timedelta(weeks=1)),
        (["1", "mois"], NOW + timedelta(days=30)),
    ],
)
def test_mute_spans(words: list[str], until: object) -> None:
    assert parse_mute(words, NOW, "Europe/Paris", "fr") == until


def test_mute_until_a_date() -> None:
    until = parse_mute(["jusqu'au", "15/12"], NOW, "Europe/Paris", "fr")
    assert until.isoformat() == "2026-12-15T00:00:00+01:00"
    assert parse_mute(["au", "lundi"], NOW, "Europe/Paris", "fr").isoformat() == (
        "2026-11-30T00:00:00+01:00"
    )
    for bad in (["0j"], ["500", "jours"], ["tous", "les", "lundis"], ["hier"]):
        with pytest.raises(UserError):
            parse_mute(bad, NOW, "Europe/Paris", "fr")


def readme_examples() -> list[str]:
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text("utf-8")
    section = text[text.index("## Reminders and digests") :]
    section = section[: section.index("\n## ")]
    return re.findall(r"`(/(?:labo|lab) (?:rappels|reminders|digest)[^`]*)`", section)


def help_examples() -> list[str]:
    found = []
    for locale in ("fr", "en"):
        text = render("help/_lab", locale)
        found += re.findall(r"`(/(?:labo|lab) (?:rappels|reminders|digest)[^`]*)`", text)
    return found


@pytest.mark.parametrize("example", sorted(set(readme_examples() + help_examples())))
def test_every_readme_and_help_example_works_on_the_demo(console: Console, example: str) -> None:
    if example.split()[-1] in ("reprendre", "resume"):
        console.handle("/labo rappels pause 1 semaine")
    reply = console.handle(example)
    assert reply.startswith(("🔔", "_Aperçu", "_Preview", "Aperçu", "Preview")), reply


def test_the_examples_are_found() -> None:
    assert len(readme_examples()) >= 16
    assert len(help_examples()) >= 4
