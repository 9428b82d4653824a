"""``/copil`` (``/meeting``): steering meetings as people type them, on the demo lab at
Tuesday 24 November 2026, 10:00 in Paris. Demo meetings: n°1 COPIL held in October
(minutes, decisions), n°2 Montreuil's COTECH on Monday 30 November, n°3 Bondy's COPIL n°2
on Tuesday 8 December 14:00, n°4 the lab's monthly COPIL (first Tuesday, 10:00)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from bot.console import Console
from commands.errors import UserError
from commands.meetings import parse_duration, parse_kind, parse_ref, rule_parts
from commands.render import environment, render
from commands.reply import Reply
from models import (
    AgendaItem,
    AuditEvent,
    Decision,
    Experiment,
    Invitation,
    Meeting,
    Milestone,
    MilestoneOwner,
    OutboxMessage,
    Person,
)
from tests.chat import converse, normalise

PARIS = ZoneInfo("Europe/Paris")


def run(console: Console, line: str) -> Reply:
    """One command, returning the neutral reply (files and buttons included)."""
    command, _, text = line.lstrip("/").partition(" ")
    return console.router.dispatch(console.engine, console.invocation(command, text))


def click(console: Console, action: str, value: str) -> Reply:
    return console.router.act(console.engine, console.invocation("copil", ""), action, value)


def meeting(engine: Engine, meeting_id: int) -> Meeting:
    with Session(engine) as s:
        row = s.get(Meeting, meeting_id)
        assert row is not None
        return row


def last_meeting(engine: Engine) -> Meeting:
    with Session(engine) as s:
        return s.exec(select(Meeting).order_by(col(Meeting.id).desc())).first()  # type: ignore[return-value]


def count(engine: Engine, model: type) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def calendar_of(reply: Reply) -> Calendar:
    (file,) = reply.files
    assert file.mime_type == "text/calendar"
    assert file.filename.endswith(".ics")
    return Calendar.from_ical(file.content)


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


# --------------------------------------------------------------------------- scheduling


def test_schedule_a_copil_in_french_as_the_help_shows(console: Console) -> None:
    reply = run(console, '/copil mardi 8 décembre 14h-16h lieu:"Mairie de Bondy" @karim')
    text = normalise(reply.text)
    assert "📅 **COPIL — Budget participatif de Bondy** · réunion n°5" in text
    assert "🗓️ mardi 8 décembre 2026 à 14:00–16:00" in text
    assert "📍 Mairie de Bondy" in text
    assert "Invitation envoyée à <@karim|karim>" in text
    # The demo's COPIL n°2 is at the same time: a warning, not a refusal.
    assert "⚠️ Chevauche « COPIL n°2 du budget participatif » (réf. 3)" in text
    assert reply.visibility == "channel"
    assert [b.action for b in reply.buttons] == ["meeting.rsvp"] * 3 + ["undo"]
    assert reply.buttons[0].value == "5:yes"
    created = meeting(console.engine, 5)
    assert (created.starts_at, created.ends_at) == (
        paris(2026, 12, 8, 14).astimezone(UTC),
        paris(2026, 12, 8, 16).astimezone(UTC),
    )
    assert (created.kind, created.place, created.experiment_id, created.channel_id) == (
        "copil",
        "Mairie de Bondy",
        1,
        "bondy",
    )
    (event,) = calendar_of(reply).walk("VEVENT")
    assert str(event["UID"]) == created.uid
    assert event.decoded("DTSTART") == paris(2026, 12, 8, 14)
    assert str(event["LOCATION"]) == "Mairie de Bondy"
    # Karim was invited at once, and will get a direct message.
    with Session(console.engine) as s:
        invited = s.exec(select(Invitation).where(Invitation.meeting_id == 5)).one()
        assert invited.response == "pending"
        notice = s.exec(select(OutboxMessage).where(OutboxMessage.kind == "meeting.invite")).one()
        karim = s.exec(select(Person).where(Person.handle == "karim")).one()
        assert (notice.target_kind, notice.target_id) == ("person", str(karim.id))
        assert "vous invite à **COPIL — Budget participatif de Bondy**" in normalise(
            notice.payload["text"]
        )
        assert [b[1] for b in notice.payload["buttons"]] == ["meeting.rsvp"] * 3


def test_schedule_in_english_with_a_duration_and_a_video_link(console: Console) -> None:
    reply = run(
        console,
        "/meeting next thursday 10:00 duration:90min video:https://visio.example.org/cotech",
    )
    text = normalise(reply.text)
    assert "🗓️ Thursday 3 December 2026 at 10:00–11:30" in text
    assert "🎥 https://visio.example.org/cotech" in text
    created = last_meeting(console.engine)
    assert created.ends_at - created.starts_at == timedelta(minutes=90)
    assert created.video_url == "https://visio.example.org/cotech"
    event = calendar_of(reply).walk("VEVENT")[0]
    assert str(event["URL"]) == "https://visio.example.org/cotech"
    assert "https://visio.example.org/cotech" in str(event["DESCRIPTION"])


def test_a_title_and_a_type(console: Console) -> None:
    converse(
        console,
        """
        > /copil jeudi 10h Point d'étape sur le vote type:autre
        📅 Point d'étape sur le vote · Réunion · Budget participatif de Bondy
        🗓️ jeudi 26 novembre 2026 à 10:00–11:00
        > /copil vendredi 14h type:cotech
        📅 COTECH — Budget participatif de Bondy · réunion n°6
        🗓️ vendredi 27 novembre 2026 à 14:00–15:30
        """,
    )
    assert meeting(console.engine, 5).kind == "autre"
    assert meeting(console.engine, 6).kind == "cotech"


def test_bad_input_is_refused_and_nothing_is_written(console: Console) -> None:
    before = (count(console.engine, Meeting), count(console.engine, AuditEvent))
    converse(
        console,
        """
        > /copil hier 14h
        c'est déjà passé
        > /copil aujourd'hui 9h
        c'est déjà passé
        > /copil jeudi 10h durée:13h
        Une réunion de 13 h ? Au plus 12 heures.
        > /copil jeudi 10h fin:9h
        La réunion finirait (jeudi 26 novembre 2026 à 09:00) avant de commencer (jeudi 26 novembre 2026 à 10:00).
        > /copil jeudi 20h-10h
        l'heure de fin doit venir après l'heure de début
        > /copil jeudi 8h fin:"vendredi 9h"
        Une réunion de 25 h ?
        > /copil jeudi 10h visio:ftp://visio.example.org/copil
        n'est pas un lien de visio : il doit commencer par `https://`
        > /copil jeudi 10h visio:javascript:alert(1)
        n'est pas un lien de visio
        > /copil jeudi 10h expe:nantes
        Aucune expérimentation `nantes`.
        > /copil jeudi
        il manque l'heure de la réunion. Exemple : `/copil mardi 8 décembre 14h-16h`
        > /copil jeudi 10h durée:longtemps
        Je ne comprends pas la durée « longtemps ». Exemples : `durée:2h`
        > /copil jeudi 10h durée:2h fin:12h
        Donnez la durée ou l'heure de fin, pas les deux.
        > /copil jeudi 10h type:atelier
        Type de réunion inconnu « atelier ».
        > /copil jeudi 10h type:copil-labo expe:bondy-bp
        Le COPIL du labo ne dépend d'aucune expérimentation
        > /meeting thursday 10am duration:13h
        A 13-hour meeting? 12 hours at most.
        :user elu.bondy
        > /copil jeudi 10h
        Action réservée aux membres de l'équipe de « Budget participatif de Bondy ».
        > /copil jeudi 10h type:copil-labo
        Action réservée aux coordinateurs du labo.
        """,
    )
    assert (count(console.engine, Meeting), count(console.engine, AuditEvent)) == before


def test_a_french_public_holiday_is_a_warning(console: Console) -> None:
    converse(
        console,
        """
        > /copil vendredi 25 décembre 10h
        🗓️ vendredi 25 décembre 2026 à 10:00–12:00
        ⚠️ Le vendredi 25 décembre 2026 est un jour férié (Noël).
        > /meeting Friday 1 January 2027 10am
        ⚠️ Friday 1 January 2027 is a public holiday (New Year's Day).
        """,
    )
    assert count(console.engine, Meeting) == 6


def test_the_form_when_typed_alone_and_its_submission(console: Console) -> None:
    reply = run(console, "/copil")
    assert reply.form is not None
    assert reply.form.callback == "meeting.schedule"
    assert [f.name for f in reply.form.fields] == ["when", "duration", "place", "video", "kind"]
    assert "Réunions (COPIL, COTECH)" in reply.text  # the console shows the help
    submitted = console.router.submit(
        console.engine,
        console.invocation("copil", ""),
        "meeting.schedule",
        {
            "when": "jeudi 10h",
            "duration": "1h30",
            "place": "Salle B",
            "video": "",
            "kind": "cotech",
        },
    )
    assert "🗓️ jeudi 26 novembre 2026 à 10:00–11:30" in normalise(submitted.text)
    created = last_meeting(console.engine)
    assert (created.kind, created.place) == ("cotech", "Salle B")


# --------------------------------------------------------------------------- series


def test_a_recurring_lab_committee_with_one_sitting_moved_and_one_cancelled(
    console: Console,
) -> None:
    reply = run(console, "/copil planifier tous les premiers mardis du mois à 10h type:copil-labo")
    text = normalise(reply.text)
    assert "📅 **COPIL du labo** · réunion n°5" in text
    assert "🔁 Le premier mardi de chaque mois, 10:00–12:00" in text
    assert (
        "Prochaines séances : mardi 1er décembre 2026, mardi 5 janvier 2027, mardi 2 février 2027"
        in text
    )
    # The demo's own lab committee sits at the same time every month: one warning.
    assert (
        "⚠️ Chevauche « COPIL du labo » (réf. 4), mardi 1er décembre 2026 à 10:00, et 11 autres séances."
        in text
    )
    series = meeting(console.engine, 5)
    assert (series.experiment_id, series.rrule) == (
        None,
        "FREQ=MONTHLY;BYDAY=1TU;BYHOUR=10;BYMINUTE=0",
    )
    converse(
        console,
        """
        > /copil deplacer 5 seance:05/01 mercredi 6 janvier 2027 14h
        🔄 COPIL du labo (réf. 6) est déplacé
        🗓️ mercredi 6 janvier 2027 à 14:00–16:00 (au lieu du mardi 5 janvier 2027 à 10:00)
        > /copil decommander 5 seance:02/02/2027
        COPIL du labo (réf. 7) du mardi 2 février 2027 à 10:00 est décommandé.
        > /copil voir 5
        🔁 Le premier mardi de chaque mois, 10:00–12:00
        - mardi 1er décembre 2026 à 10:00–12:00
        - mercredi 6 janvier 2027 à 14:00–16:00 · séance n°6
        - mardi 2 février 2027 à 10:00–12:00 · ❌ décommandée
        - mardi 2 mars 2027 à 10:00–12:00
        > /copil deplacer 5 jeudi 10h
        La réunion n°5 est récurrente. Pour déplacer une seule séance, ajoutez `seance:`
        > /copil decommander 5 seance:03/02/2027
        La réunion n°5 n'a pas de séance le mercredi 3 février 2027. Les prochaines : 01/12/2026, 06/01/2027, 02/02/2027.
        """,
    )
    moved, cancelled = meeting(console.engine, 6), meeting(console.engine, 7)
    assert (moved.series_id, moved.recurrence_start) == (5, paris(2027, 1, 5, 10).astimezone(UTC))
    assert moved.sequence == 1
    assert (cancelled.status, cancelled.recurrence_start) == (
        "cancelled",
        paris(2027, 2, 2, 10).astimezone(UTC),
    )
    # The series' file: its RRULE, an EXDATE for the cancelled sitting, and the moved one
    # under the same UID with its RECURRENCE-ID.
    shown = run(console, "/copil voir 5")
    master, override = calendar_of(shown).walk("VEVENT")
    assert master.decoded("RRULE")["FREQ"] == ["MONTHLY"]
    assert [d.dt for d in master["EXDATE"].dts] == [paris(2027, 2, 2, 10)]
    assert str(override["UID"]) == str(master["UID"]) == series.uid
    assert override.decoded("RECURRENCE-ID") == paris(2027, 1, 5, 10)
    assert override.decoded("DTSTART") == paris(2027, 1, 6, 14)


def test_a_whole_series_changes_rhythm_and_is_cancelled(console: Console) -> None:
    converse(
        console,
        """
        > /copil odj 4 ajouter "Bilan des expérimentations"
        📋 Ordre du jour — COPIL du labo (réf. 5), mardi 1er décembre 2026 à 10:00 · séance de la réunion récurrente n°4
        1. Bilan des expérimentations
        > /copil deplacer 4 tous les premiers jeudis du mois à 14h
        🔁 Le premier jeudi de chaque mois, 14:00–16:00, à partir du jeudi 3 décembre 2026
        > /copil voir 4
        - jeudi 3 décembre 2026 à 14:00–16:00
        - jeudi 7 janvier 2027 à 14:00–16:00
        > /copil decommander 4
        La réunion récurrente COPIL du labo (réf. 4, le premier jeudi de chaque mois) est décommandée : plus aucune séance.
        :channel labo
        > /copil liste
        - `5` mardi 1er décembre 2026 à 10:00 · COPIL du labo · Locaux du labo, Pantin · labo
        - `3` mardi 8 décembre 2026 à 14:00
        """,
    )
    # The sitting prepared alone (its agenda) did not follow to Thursday: it became a
    # meeting of its own, kept with its agenda, and is cancelled with the series.
    prepared = meeting(console.engine, 5)
    assert (prepared.series_id, prepared.recurrence_start) == (None, None)
    assert prepared.starts_at == paris(2026, 12, 1, 10).astimezone(UTC)
    assert prepared.status == "scheduled"
    series = meeting(console.engine, 4)
    assert series.status == "cancelled"
    assert series.sequence == 2
    reply = run(console, "/copil voir 4")
    assert "❌ **décommandée**" in reply.text


# --------------------------------------------------------------------------- reading


def test_list_and_show(console: Console) -> None:
    converse(
        console,
        """
        > /copil liste
        Réunions à venir — Budget participatif de Bondy
        - `3` mardi 8 décembre 2026 à 14:00 · COPIL n°2 du budget participatif · Mairie de Bondy, salle du conseil
        > /copil liste passees
        - `1` lundi 12 octobre 2026 à 14:00 · COPIL n°1 du budget participatif · 📝 compte-rendu
        > /copil voir 3
        📅 COPIL n°2 du budget participatif · Budget participatif de Bondy · réunion n°3
        🗓️ mardi 8 décembre 2026 à 14:00–16:00
        Organisé par @camille
        Invités : 1 oui, 0 peut-être, 1 non, 1 sans réponse
        ✅ Oui : @marie
        ❌ Non : @sophie
        ⏳ Sans réponse : @karim
        Ordre du jour
        1. Bilan du dépôt des projets
        > /copil voir 4 seance:05/01
        🗓️ mardi 5 janvier 2027 à 10:00–12:00 · séance de la réunion récurrente n°4 (le premier mardi de chaque mois)
        Ordre du jour vide : `/copil odj 4 seance:05/01/2027 ajouter "Point budget"`
        > /copil voir 99
        Aucune réunion n°99 pour vous.
        :channel labo
        > /copil liste
        - `2` lundi 30 novembre 2026 à 10:00 · COTECH de l'assemblée citoyenne · `montreuil-ac`
        - `4 seance:01/12/2026` mardi 1er décembre 2026 à 10:00 · COPIL du labo 🔁 · Locaux du labo, Pantin · labo
        - `3` mardi 8 décembre 2026 à 14:00 · COPIL n°2 du budget participatif · Mairie de Bondy, salle du conseil · `bondy-bp`
        > /meeting list
        - `4 occurrence:2027-01-05` Tuesday 5 January 2027 at 10:00 · COPIL du labo 🔁
        """,
    )


def test_a_partner_reads_their_experiment_only_and_adds_agenda_items(console: Console) -> None:
    before = count(console.engine, AuditEvent)
    converse(
        console,
        """
        :user elu.bondy
        :channel bondy-partenaires
        > /copil liste
        - `3` mardi 8 décembre 2026 à 14:00 · COPIL n°2 du budget participatif
        > /copil voir 2
        Aucune réunion n°2 pour vous.
        > /copil liste expe:montreuil-ac
        Aucune expérimentation `montreuil-ac`.
        > /copil voir 4
        Aucune réunion n°4 pour vous.
        > /copil decisions expe:montreuil-ac
        Aucune expérimentation `montreuil-ac`.
        > /copil deplacer 3 jeudi 10h
        Action réservée aux membres de l'équipe de « Budget participatif de Bondy ».
        > /copil inviter 3 @karim
        Action réservée aux membres de l'équipe
        > /copil decision 1 Tout est validé
        Action réservée aux membres de l'équipe
        > /copil odj 3 ajouter "Question des habitants de la cité"
        4. Question des habitants de la cité _(elu.bondy)_
        > /copil odj 3 retirer 1
        Action réservée aux membres de l'équipe
        > /copil odj 3 retirer 4
        Ordre du jour
        > /copil reponse 3 oui
        👍 C'est noté : vous venez à COPIL n°2 du budget participatif (réf. 3)
        """,
    )
    with Session(console.engine) as s:
        partner = s.exec(select(Person).where(Person.handle == "elu.bondy")).one()
        items = s.exec(select(AgendaItem).where(AgendaItem.author_id == partner.id)).all()
        assert [(i.title, i.deleted_at is not None) for i in items] == [
            ("Question des habitants de la cité", True)
        ]
        answer = s.exec(
            select(Invitation).where(Invitation.person_id == partner.id, Invitation.meeting_id == 3)
        ).one()
        assert answer.response == "yes"
    assert count(console.engine, AuditEvent) == before + 3


def test_someone_invited_from_outside_the_experiment_reads_that_meeting(
    console: Console,
) -> None:
    converse(
        console,
        """
        :user sophie
        :channel montreuil
        > /copil voir 3
        📅 COPIL n°2 du budget participatif
        > /copil voir 1
        Aucune réunion n°1 pour vous.
        > /copil reponse 3 peut-être
        vous viendrez peut-être
        """,
    )


# --------------------------------------------------------------------------- agenda


def test_agenda_add_reorder_remove_and_undo(console: Console) -> None:
    converse(
        console,
        """
        > /copil odj 3 ajouter "Point budget"
        4. Point budget _(camille)_
        > /copil odj 3 monter 4
        3. Point budget
        4. Organisation du vote
        > /copil odj 3 descendre 1
        1. Recevabilité : critères et calendrier
        2. Bilan du dépôt des projets
        > /copil odj 3 retirer 2
        1. Recevabilité : critères et calendrier
        2. Point budget
        3. Organisation du vote
        > /copil annuler
        ↩️ Annulé : @camille avait retiré «
        > /copil odj
        1. Recevabilité : critères et calendrier
        2. Bilan du dépôt des projets
        3. Point budget
        > /copil odj 3 retirer 9
        Pas de point n°9 à l'ordre du jour de la réunion n°3 (4 points).
        > /copil odj 3 monter 1
        Le point 1 est déjà à ce bout de l'ordre du jour.
        > /copil odj 3 ranger 1
        Exemples : `/copil odj 3 ajouter "Point budget"`
        > /meeting agenda 3 add "Budget review"
        5. Budget review _(camille)_
        """,
    )


# --------------------------------------------------------------------------- invitations


def test_invitations_answers_and_who_comes(console: Console) -> None:
    reply = run(console, "/copil inviter 3 @marie @elu.bondy")
    text = normalise(reply.text)
    assert (
        "Invitation envoyée à <@elu.bondy|elu.bondy> pour **COPIL n°2 du budget participatif** (réf. 3)"
        in text
    )
    # Already invited: left as she was, and said so.
    assert "marie" not in text.split("\n")[0]
    assert "Déjà sur la liste des invités : @marie." in text
    event = calendar_of(reply).walk("VEVENT")[0]
    assert "ATTENDEE" not in event  # answers are given in chat, never shown in a file
    converse(
        console,
        """
        > /copil inviter 3 @marie
        Déjà sur la liste des invités : @marie.
        > /copil inviter 3
        Dites qui inviter.
        > /copil inviter 3 @inconnu
        Je ne connais personne appelé `@inconnu` ici.
        > /copil reponse 3 bof
        Réponse inconnue « bof ». Répondez `oui`, `non` ou `peut-être`.
        """,
    )
    # The buttons: karim answers from his direct message.
    console.handle(":user karim")
    answered = click(console, "meeting.rsvp", "3:no")
    assert "C'est noté : vous ne venez pas" in normalise(answered.text)
    assert "Réponses :" in normalise(answered.text)  # a member of the team sees who comes
    console.handle(":user elu.bondy")
    assert "Réponses :" not in normalise(click(console, "meeting.rsvp", "3:maybe").text)
    assert "n'est plus valable" in click(console, "meeting.rsvp", "3:perhaps").text
    assert "Aucune réunion n°2 pour vous" in normalise(click(console, "meeting.rsvp", "2:yes").text)
    console.handle(":user camille")
    converse(
        console,
        """
        > /copil voir 3
        Invités : 1 oui, 1 peut-être, 2 non, 0 sans réponse
        ✅ Oui : @marie
        ❔ Peut-être : @elu.bondy
        ❌ Non : @karim, @sophie
        > /copil inviter 3 equipe
        ✉️ Invitation envoyée à @camille
        """,
    )
    with Session(console.engine) as s:
        notices = s.exec(
            select(OutboxMessage.target_id).where(OutboxMessage.kind == "meeting.invite")
        ).all()
        elu = s.exec(select(Person).where(Person.handle == "elu.bondy")).one()
        # Camille invited herself with the team: no message to herself.
        assert list(notices) == [str(elu.id)]


def test_an_answer_for_one_sitting_of_a_series(console: Console) -> None:
    console.handle(":user karim")
    reply = click(console, "meeting.rsvp", "4:2027-01-05:yes")
    assert "mardi 5 janvier 2027 à 10:00" in normalise(reply.text)
    with Session(console.engine) as s:
        sitting = s.exec(select(Meeting).where(Meeting.series_id == 4)).one()
        answers = {
            i.meeting_id: i.response
            for i in s.exec(select(Invitation).where(Invitation.person_id == 3))
        }
    assert sitting.recurrence_start == paris(2027, 1, 5, 10).astimezone(UTC)
    # Karim's answer to the series stays pending; this sitting's says yes.
    assert answers[4] == "pending"
    assert answers[sitting.id] == "yes"


# --------------------------------------------------------------------------- after


def test_minutes_decisions_actions_and_the_summary(console: Console) -> None:
    converse(
        console,
        """
        > /copil compte-rendu 1 Les critères de recevabilité sont adoptés.
        📝 Relevé — COPIL n°1 du budget participatif (réf. 1), lundi 12 octobre 2026 à 14:00
        Attendus : @camille, @elu.bondy, @karim, @marie
        Lancement validé ; 45 000 € d'enveloppe ; vote au printemps.
        Les critères de recevabilité sont adoptés.
        > /copil decision 1 Le vote aura lieu en ligne et dans trois urnes
        ⚖️ Décision de COPIL n°1 du budget participatif (réf. 1, lundi 12 octobre 2026) : Le vote aura lieu en ligne et dans trois urnes
        > /copil action 1 Envoyer le devis vendredi @karim
        ☑️ Action de COPIL n°1 du budget participatif (réf. 1) : Envoyer le devis pour le vendredi 27 novembre 2026, @karim
        > /copil action 1 Réserver les urnes 15/01 14h
        Réserver les urnes pour le vendredi 15 janvier 2027 à 14:00, @camille
        > /copil resume 1
        Décisions
        - Enveloppe du budget participatif fixée à 45 000 €
        - Les projets devront être portés par au moins trois habitants
        - Le vote aura lieu en ligne et dans trois urnes
        Actions
        - Envoyer le devis — vendredi 27 novembre 2026 @karim
        - Réserver les urnes — vendredi 15 janvier 2027 @camille
        > /copil decisions
        ⚖️ Décisions — Budget participatif de Bondy
        - 12 oct. 2026 · Le vote aura lieu en ligne et dans trois urnes _(COPIL n°1 du budget participatif, n°1)_
        > /copil decision 3 Trop tôt
        La réunion n°3 n'a pas encore eu lieu (elle commence le mardi 8 décembre 2026 à 14:00)
        > /copil compte-rendu 3 Trop tôt
        La réunion n°3 n'a pas encore eu lieu
        > /copil action 1 Envoyer le devis @karim
        Je ne trouve pas de date dans « Envoyer le devis ».
        > /copil action 1 Envoyer le devis hier @karim
        c'est déjà passé
        > /copil action 1 Relire la délibération vendredi @elu.bondy
        @elu.bondy est partenaire de « Budget participatif de Bondy » : un jalon a pour responsable un membre de l'équipe.
        """,
    )
    with Session(console.engine) as s:
        milestone = s.exec(select(Milestone).where(Milestone.title == "Envoyer le devis")).one()
        assert (milestone.meeting_id, milestone.experiment_id, milestone.due_on) == (
            1,
            1,
            date(2026, 11, 27),
        )
        assert milestone.due_at is None
        karim = s.exec(select(Person).where(Person.handle == "karim")).one()
        owner = s.exec(
            select(MilestoneOwner).where(MilestoneOwner.milestone_id == milestone.id)
        ).one()
        assert owner.person_id == karim.id
        timed = s.exec(select(Milestone).where(Milestone.title == "Réserver les urnes")).one()
        assert timed.due_at == paris(2027, 1, 15, 14).astimezone(UTC)
        entities = [
            e.entity
            for e in s.exec(
                select(AuditEvent).where(col(AuditEvent.command).contains("Envoyer le devis"))
            )
        ]
        assert entities == ["milestone", "milestone_owner"]
        assert s.exec(select(func.count()).select_from(Decision)).one() == 3


def test_minutes_keep_mentions_and_default_to_the_last_meeting_held(console: Console) -> None:
    converse(
        console,
        """
        > /copil decision @karim présentera le budget au conseil
        Décision de COPIL n°1 du budget participatif (réf. 1
        @karim présentera le budget au conseil
        > /copil compte-rendu
        📝 Relevé — COPIL n°1 du budget participatif
        """,
    )


def test_an_action_from_the_lab_committee_names_its_experiment(console: Console) -> None:
    console.fixed_now = paris(2026, 12, 1, 12)
    converse(
        console,
        """
        > /copil action 4 Relancer la mairie vendredi @karim
        Le COPIL du labo ne dépend d'aucune expérimentation
        > /copil action 4 Relancer la mairie vendredi @karim expe:bondy-bp
        ☑️ Action de COPIL du labo (réf. 5)
        Relancer la mairie pour le vendredi 4 décembre 2026, @karim · jalon n°11 de Budget participatif de Bondy
        """,
    )
    with Session(console.engine) as s:
        sitting = s.exec(select(Meeting).where(Meeting.series_id == 4)).one()
        assert sitting.recurrence_start == paris(2026, 12, 1, 10).astimezone(UTC)
        milestone = s.exec(select(Milestone).where(Milestone.meeting_id == sitting.id)).one()
        assert milestone.experiment_id == 1


# --------------------------------------------------------------------------- changes


def test_move_bumps_the_sequence_tells_the_invitees_and_drops_queued_reminders(
    console: Console,
) -> None:
    with Session(console.engine) as s:
        s.add(
            OutboxMessage(
                key="meeting:3:2026-12-08:remind-1d",
                workspace_id=1,
                kind="meeting.remind-1d",
                target_kind="channel",
                target_id="bondy",
                not_before=paris(2026, 12, 7, 14),
            )
        )
        s.commit()
    reply = run(console, '/copil deplacer 3 jeudi 3 décembre 10h lieu:"Salle des fêtes"')
    text = normalise(reply.text)
    assert (
        "🗓️ jeudi 3 décembre 2026 à 10:00–12:00 (au lieu du mardi 8 décembre 2026 à 14:00)" in text
    )
    assert "📍 Salle des fêtes" in text
    event = calendar_of(reply).walk("VEVENT")[0]
    assert (event["SEQUENCE"], event.decoded("DTSTART")) == (1, paris(2026, 12, 3, 10))
    with Session(console.engine) as s:
        keys = set(s.exec(select(OutboxMessage.key)))
        people = {p.id: p.handle for p in s.exec(select(Person))}
        moved = s.exec(select(OutboxMessage).where(OutboxMessage.kind == "meeting.moved")).all()
    assert "meeting:3:2026-12-08:remind-1d" not in keys
    # A new date: everyone invited is told, Sophie who had declined too.
    assert sorted(people[int(m.target_id)] for m in moved) == ["karim", "marie", "sophie"]
    converse(
        console,
        """
        > /copil deplacer 3 lieu:"Salle des fêtes"
        Rien ne change pour la réunion n°3.
        > /copil deplacer 3 durée:3h
        🗓️ jeudi 3 décembre 2026 à 10:00–13:00
        > /copil deplacer 3 vendredi 4 décembre
        🗓️ vendredi 4 décembre 2026 à 10:00–13:00
        > /copil deplacer 3 vendredi 10h salle B
        Je ne sais pas quoi faire de « salle B ».
        > /copil deplacer 3 hier 10h
        c'est déjà passé
        > /copil deplacer jeudi 10h
        Dites quelle réunion déplacer et quand.
        """,
    )
    assert meeting(console.engine, 3).sequence == 3


def test_cancel_sends_a_cancellation_and_undo_brings_it_back(console: Console) -> None:
    reply = run(console, "/copil decommander 3")
    assert (
        "**COPIL n°2 du budget participatif** (réf. 3, Budget participatif de Bondy) du mardi 8 décembre 2026 à 14:00 est décommandé."
        in normalise(reply.text)
    )
    cal = calendar_of(reply)
    assert str(cal["METHOD"]) == "PUBLISH"
    event = cal.walk("VEVENT")[0]
    assert (str(event["STATUS"]), event["SEQUENCE"]) == ("CANCELLED", 1)
    assert not event.walk("VALARM")
    converse(
        console,
        """
        > /copil decommander 3
        La réunion n°3 est décommandée.
        > /copil reponse 3 oui
        La réunion n°3 est décommandée.
        > /copil annuler
        avait décommandé
        > /copil voir 3
        🗓️ mardi 8 décembre 2026 à 14:00–16:00
        """,
    )
    assert meeting(console.engine, 3).status == "scheduled"


def test_undo_a_scheduling_removes_the_meeting(console: Console) -> None:
    converse(
        console,
        """
        > /meeting thursday 10am @karim
        meeting #5
        > /meeting undo
        had invited @karim to
        > /meeting show 5
        No meeting #5 for you.
        """,
    )


# --------------------------------------------------------------------------- calendars


def test_the_calendar_address_and_its_rotation(console: Console) -> None:
    with Session(console.engine) as s:
        shared = s.get(Experiment, 1).calendar_token  # type: ignore[union-attr]
    first, *_ = converse(
        console,
        """
        > /copil calendrier
        📆 Agenda de Budget participatif de Bondy (2 réunions) :
        http://localhost:8000/calendar/
        Cette adresse est la vôtre et secrète
        Pour en changer : `/copil calendrier nouveau`.
        > /copil calendrier nouveau
        📆 Nouvelle adresse de l'agenda de Budget participatif de Bondy
        L'ancienne ne marche plus.
        > /copil calendrier demain
        `/copil calendrier` donne l'adresse de l'agenda
        :user marie
        > /copil calendrier nouveau
        📆 Nouvelle adresse de l'agenda de Budget participatif de Bondy
        > /meeting calendar
        This address is yours and secret
        :user agent.montreuil
        > /copil calendrier expe:bondy-bp
        est réservée à son équipe
        """,
    )
    with Session(console.engine) as s:
        # Personal addresses: the shared one (from before) is left as it was.
        assert s.get(Experiment, 1).calendar_token == shared  # type: ignore[union-attr]
    assert shared not in first


# --------------------------------------------------------------------------- the help


HELP_EXAMPLES = [
    (
        '/copil mardi 8 décembre 14h-16h lieu:"Mairie de Bondy"',
        "🗓️ mardi 8 décembre 2026 à 14:00–16:00",
    ),
    (
        "/copil planifier tous les premiers mardis du mois à 10h type:copil-labo",
        "🔁 Le premier mardi",
    ),
    ("/copil liste", "Réunions à venir"),
    ("/copil liste passees", "Réunions passées"),
    ("/copil voir 3", "COPIL n°2 du budget participatif"),
    ("/copil deplacer 3 jeudi 10h", "est déplacé"),
    ('/copil deplacer 3 lieu:"Salle B"', "est modifié"),
    ("/copil decommander 3", "est décommandé"),
    ("/copil deplacer 4 seance:01/12 mercredi 2 décembre 10h", "est déplacé"),
    ("/copil decommander 4 seance:05/01", "est décommandé"),
    ('/copil odj 3 ajouter "Point budget"', "4. Point budget"),
    ("/copil odj 3 monter 2", "Ordre du jour"),
    ("/copil odj 3 retirer 2", "Ordre du jour"),
    ("/copil inviter 3 @marie @elu.bondy", "Invitation envoyée à"),
    ("/copil inviter 3 equipe", "Invitation envoyée à"),
    ("/copil reponse 3 oui", "C'est noté"),
    ("/copil compte-rendu 1 …", "Relevé"),
    ("/copil decision 1 …", "Décision de"),
    ("/copil action 1 Envoyer le devis vendredi @karim", "Action de"),
    ("/copil resume 1", "Relevé"),
    ("/copil presents 1 @marie @karim excuses:@sophie", "Excusés : @sophie"),
    ("/copil compte-rendu 1 docx", "en DOCX"),
    ("/meeting attendance 1 @marie @karim excused:@sophie", "Excused: @sophie"),
    ("/meeting minutes 1 docx", "as DOCX"),
    ("/copil decisions", "Décisions"),
    (
        '/copil sondage "COPIL de janvier" 12/01 14h, 14/01 10h, 19/01 14h durée:2h @marie @elu.bondy',
        "Sondage n°2 créé, demandé à 2 personnes",
    ),
    ("/copil sondage repondre 1 oui non si-besoin", "C'est noté pour COPIL de printemps"),
    ("/copil sondage clore 1", "Sondage n°1 clos : date n°1 retenue"),
    ("/copil sondage clore 1 2", "Sondage n°1 clos : date n°2 retenue"),
    ("/copil sondage", "Sondages de date ouverts"),
    ("/copil odj 3 traite 2", "2. Recevabilité : critères et calendrier _(camille)_ ✔️ traité"),
    ("/copil reporter 4", "La réunion n°4 n'a pas encore eu lieu"),
    ("/copil reporter 4 2 3", "La réunion n°4 n'a pas encore eu lieu"),
    ("/copil calendrier", "/calendar/"),
    ("/meeting next thursday 10:00 duration:90min video:https://visio.example.org/cotech", "🎥"),
    (
        "/meeting schedule every first Tuesday at 10:00 type:copil-labo",
        "On the first Tuesday of every month",
    ),
    ("/meeting list", "Meetings ahead"),
    ("/meeting list past", "Past meetings"),
    ("/meeting show 3", "Invitees"),
    ("/meeting move 3 thursday 10am", "is moved"),
    ('/meeting move 3 place:"Room B"', "is changed"),
    ("/meeting cancel 3", "is cancelled"),
    ("/meeting move 4 occurrence:2026-12-01 Wednesday Dec 2 10am", "is moved"),
    ("/meeting cancel 4 occurrence:2027-01-05", "is cancelled"),
    ('/meeting agenda 3 add "Budget review"', "4. Budget review"),
    ("/meeting agenda 3 up 2", "Agenda"),
    ("/meeting agenda 3 remove 2", "Agenda"),
    ("/meeting invite 3 @marie @elu.bondy", "is invited"),
    ("/meeting invite 3 team", "are invited"),
    ("/meeting rsvp 3 yes", "Noted"),
    ("/meeting minutes 1 …", "Summary"),
    ("/meeting decision 1 …", "Decision of"),
    ("/meeting action 1 Send the quote friday @karim", "Action from"),
    ("/meeting summary 1", "Summary"),
    ("/meeting decisions", "Decisions"),
    (
        '/meeting poll "January steering" Jan 12 2pm, Jan 14 10am, Jan 19 2pm duration:2h'
        " @marie @elu.bondy",
        "Poll #2 created, asked of 2 people",
    ),
    ("/meeting poll answer 1 yes no if-need-be", "Noted for COPIL de printemps"),
    ("/meeting poll close 1", "Poll #1 closed: date 1 chosen"),
    ("/meeting poll close 1 2", "Poll #1 closed: date 2 chosen"),
    ("/meeting poll", "Open date polls"),
    (
        "/meeting agenda 3 done 2",
        "2. Recevabilité : critères et calendrier _(camille)_ ✔️ dealt with",
    ),
    ("/meeting carry 4", "Meeting #4 has not taken place yet"),
    ("/meeting carry 4 2 3", "Meeting #4 has not taken place yet"),
    ("/meeting calendar", "/calendar/"),
]


@pytest.mark.parametrize(("line", "expected"), HELP_EXAMPLES)
def test_every_help_example_works_as_typed(console: Console, line: str, expected: str) -> None:
    assert expected in normalise(console.handle(line))


def test_the_help_lists_what_the_tests_type() -> None:
    """Each example in the help is one of the lines tested above, as typed."""
    tested = {line for line, _ in HELP_EXAMPLES}
    for locale in ("fr", "en"):
        text = render("help/_meeting", locale)
        examples = re.findall(r"`(/(?:copil|meeting) [^`]*)`", text)
        assert len(examples) > 15
        for example in examples:
            assert example in tested, example


def readme_examples() -> list[str]:
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text("utf-8")
    section = text[text.index("### Meetings") :]
    section = section[: section.index("\n## ")]
    return re.findall(r"`(/(?:copil|meeting) [^`]*)`", section)


@pytest.mark.parametrize("example", sorted(set(readme_examples())), ids=lambda e: e[:40])
def test_every_readme_example_works_on_the_demo_as_typed(console: Console, example: str) -> None:
    reply = run(console, example)
    if example.endswith((" annuler", " undo")):
        assert reply.text in ("Rien à annuler.", "Nothing to undo."), reply.text
        return
    # A reply that did what was asked starts with its emoji (📅, 🔄, 📋…) or a bold title;
    # a refusal starts with words.
    assert not reply.text[0].isalnum(), reply.text
    assert reply.text[0] not in "«“", reply.text


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("2h", 120),
        ("90min", 90),
        ("1h30", 90),
        ("1:30", 90),
        ("1,5h", 90),
        ("45 minutes", 45),
        ("2 heures", 120),
        ("3 hours", 180),
    ],
)
def test_durations(text: str, minutes: int) -> None:
    assert parse_duration(text) == timedelta(minutes=minutes)


@pytest.mark.parametrize("text", ["", "longtemps", "0h", "h", "-2h", "2j"])
def test_durations_refused(text: str) -> None:
    with pytest.raises(UserError) as caught:
        parse_duration(text)
    assert caught.value.key == "meetings.bad_duration"


def test_kinds_and_references() -> None:
    assert [parse_kind(k) for k in ("COPIL", "cotech", "Autre", "other", "copil-labo", "labo")] == [
        "copil",
        "cotech",
        "autre",
        "autre",
        "copil-labo",
        "copil-labo",
    ]
    assert [parse_ref(w) for w in ("3", "n°3", "#12", "trois", "3h")] == [3, 3, 12, None, None]


@pytest.mark.parametrize(
    ("rule", "fr", "en"),
    [
        ("FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0", "tous les lundis", "every Monday"),
        ("FREQ=WEEKLY;BYDAY=MO,TH", "tous les lundis et jeudis", "every Monday and Thursday"),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO", "un lundi sur deux", "every other Monday"),
        (
            "FREQ=WEEKLY;INTERVAL=3;BYDAY=FR",
            "toutes les 3 semaines, le vendredi",
            "every 3 weeks on Friday",
        ),
        (
            "FREQ=MONTHLY;BYDAY=1TU",
            "le premier mardi de chaque mois",
            "on the first Tuesday of every month",
        ),
        (
            "FREQ=MONTHLY;BYDAY=-1FR",
            "le dernier vendredi de chaque mois",
            "on the last Friday of every month",
        ),
        ("FREQ=MONTHLY;BYMONTHDAY=15", "le 15 de chaque mois", "on the 15th of every month"),
        (
            "FREQ=MONTHLY;INTERVAL=2;BYDAY=1TU",
            "le premier mardi, un mois sur deux",
            "on the first Tuesday of every other month",
        ),
        ("FREQ=DAILY", "tous les jours", "every day"),
    ],
)
def test_recurrences_in_words(rule: str, fr: str, en: str) -> None:
    for locale, expected in (("fr", fr), ("en", en)):
        template = environment().from_string(
            '{% from "meeting/_macros.'
            + locale
            + '.md.j2" import rule_words with context %}{{ rule_words(rule) }}'
        )
        rendered = template.render(rule=rule_parts(rule), locale=locale, tz="Europe/Paris")
        assert normalise(rendered) == expected


def test_files_are_written_where_the_console_says(console: Console, tmp_path: Path) -> None:
    printed = console.handle("/copil voir 3")
    path = Path(printed.rsplit("→ ", 1)[1].strip())
    assert path.parent == tmp_path / "exports"
    assert Calendar.from_ical(path.read_bytes()).walk("VEVENT")
