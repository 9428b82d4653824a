"""A believable lab to try Coordo with: three experiments in Seine-Saint-Denis towns, with
teams, partners, budgets, expenses, milestones and meetings, dated around ``now``."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from models import (
    AgendaItem,
    BudgetLine,
    ChannelBinding,
    DatePoll,
    Decision,
    Expense,
    Experiment,
    Invitation,
    Meeting,
    Membership,
    Milestone,
    MilestoneOwner,
    Person,
    Platform,
    PollAnswer,
    PollInvitee,
    PollSlot,
    Role,
    Workspace,
    pk,
)

PARIS = ZoneInfo("Europe/Paris")
DEMO_USER = "camille"
DEMO_CHANNEL = "bondy"
# The demo lives on its own calendar, so that the README's examples read the same on any
# day: its clock starts on Tuesday 24 November 2026 at 10:00, Paris time, each time the
# console opens, and runs from there.
DEMO_START = datetime(2026, 11, 24, 10, 0, tzinfo=PARIS)

PEOPLE = [
    # handle, display name, lab role, guest
    ("camille", "Camille Laurent", Role.COORDINATOR, False),
    ("marie", "Marie Dubois", None, False),
    ("karim", "Karim Benali", None, False),
    ("sophie", "Sophie Martin", None, False),
    ("lucas", "Lucas Petit", None, False),
    ("elu.bondy", "Fatima Diallo (adjointe au maire de Bondy)", None, True),
    ("agent.montreuil", "Jean Moreau (Ville de Montreuil)", None, True),
    ("agent.aubervilliers", "Nadia Haddad (Ville d'Aubervilliers)", None, True),
]


@dataclass(frozen=True)
class ExperimentSpec:
    slug: str
    name: str
    territory: str
    months: tuple[int, int]
    envelope: int | None
    lines: list[tuple[str, str, int]]
    team: list[tuple[str, Role]]
    channels: list[tuple[str, bool]]


EXPERIMENTS = [
    ExperimentSpec(
        slug="bondy-bp",
        name="Budget participatif de Bondy",
        territory="Bondy",
        months=(-3, 7),
        envelope=45_000_00,
        lines=[
            ("logistique", "Logistique", 12_000_00),
            ("communication", "Communication", 8_000_00),
            ("restauration", "Restauration", 5_000_00),
            ("animation", "Animation", 15_000_00),
            ("etudes", "Études", 5_000_00),
        ],
        team=[("marie", Role.MEMBER), ("karim", Role.MEMBER), ("elu.bondy", Role.PARTNER)],
        channels=[("bondy", False), ("bondy-partenaires", True)],
    ),
    ExperimentSpec(
        slug="montreuil-ac",
        name="Assemblée citoyenne de Montreuil",
        territory="Montreuil",
        months=(-1, 9),
        envelope=None,
        lines=[
            ("animation", "Animation", 20_000_00),
            ("logistique", "Logistique", 9_000_00),
            ("restauration", "Restauration", 6_000_00),
            ("communication", "Communication", 4_000_00),
            ("indemnites", "Indemnités des citoyens tirés au sort", 11_000_00),
        ],
        team=[
            ("sophie", Role.COORDINATOR),
            ("lucas", Role.MEMBER),
            ("agent.montreuil", Role.PARTNER),
        ],
        channels=[("montreuil", False)],
    ),
    ExperimentSpec(
        slug="aubervilliers-cantine",
        name="Cantine durable d'Aubervilliers",
        territory="Aubervilliers",
        months=(-5, 4),
        envelope=28_000_00,
        lines=[
            ("etudes", "Études", 10_000_00),
            ("animation", "Animation", 8_000_00),
            ("communication", "Communication", 3_000_00),
            ("restauration", "Restauration", 4_000_00),
            ("logistique", "Logistique", 3_000_00),
        ],
        team=[
            ("karim", Role.COORDINATOR),
            ("marie", Role.MEMBER),
            ("agent.aubervilliers", Role.PARTNER),
        ],
        channels=[("aubervilliers", False)],
    ),
]

# (experiment, line, days ago, amount in cents, description, supplier, author)
EXPENSES = [
    (
        "bondy-bp",
        "logistique",
        60,
        1_850_00,
        "Location du gymnase Jean-Renoir (forum de lancement)",
        "Ville de Bondy",
        "marie",
    ),
    (
        "bondy-bp",
        "communication",
        55,
        2_340_00,
        "Affiches et flyers du lancement",
        "Imprimerie du Canal",
        "marie",
    ),
    (
        "bondy-bp",
        "restauration",
        52,
        640_00,
        "Buffet du forum de lancement",
        "Traiteur Les Saveurs",
        "karim",
    ),
    (
        "bondy-bp",
        "animation",
        40,
        4_800_00,
        "Animation de trois ateliers de quartier",
        "Coop Débats Publics",
        "camille",
    ),
    (
        "bondy-bp",
        "communication",
        20,
        1_960_00,
        "Vidéo de présentation des projets",
        "Studio Ourcq",
        "marie",
    ),
    (
        "bondy-bp",
        "logistique",
        12,
        420_00,
        "Urnes et isoloirs (location)",
        "Ville de Bondy",
        "karim",
    ),
    (
        "bondy-bp",
        "animation",
        5,
        2_100_00,
        "Atelier de co-construction des projets",
        "Coop Débats Publics",
        "camille",
    ),
    (
        "montreuil-ac",
        "indemnites",
        25,
        3_600_00,
        "Indemnités de la première session (24 citoyens)",
        "",
        "sophie",
    ),
    (
        "montreuil-ac",
        "animation",
        24,
        5_400_00,
        "Facilitation de la première session",
        "Agence Parlons-en",
        "sophie",
    ),
    (
        "montreuil-ac",
        "restauration",
        24,
        980_00,
        "Repas de la première session",
        "Traiteur Croix-de-Chavaux",
        "lucas",
    ),
    (
        "montreuil-ac",
        "logistique",
        10,
        1_200_00,
        "Salle des fêtes, deuxième session",
        "Ville de Montreuil",
        "lucas",
    ),
    (
        "aubervilliers-cantine",
        "etudes",
        120,
        7_900_00,
        "Diagnostic des approvisionnements",
        "Bureau d'études Terres",
        "karim",
    ),
    (
        "aubervilliers-cantine",
        "animation",
        45,
        2_600_00,
        "Ateliers avec les parents d'élèves",
        "Association Goûts Communs",
        "marie",
    ),
    (
        "aubervilliers-cantine",
        "restauration",
        30,
        3_700_00,
        "Repas test dans deux écoles",
        "Cuisine centrale",
        "karim",
    ),
]

# (experiment, title, days from today, status, progress, owners)
MILESTONES = [
    ("bondy-bp", "Clôturer le dépôt des projets citoyens", -4, "open", 80, ["marie"]),
    ("bondy-bp", "Analyse de recevabilité des projets", 1, "open", 40, ["karim"]),
    ("bondy-bp", "Préparer le vote en ligne et les urnes", 7, "open", 10, ["marie", "karim"]),
    ("bondy-bp", "Lancer le vote des habitants", 30, "open", 0, ["camille"]),
    ("bondy-bp", "Forum de lancement", -50, "done", 100, ["camille"]),
    ("montreuil-ac", "Tirage au sort des 50 citoyens", -20, "done", 100, ["sophie"]),
    ("montreuil-ac", "Deuxième session de l'assemblée", 10, "open", 30, ["sophie", "lucas"]),
    ("montreuil-ac", "Rapport d'étape au conseil municipal", 45, "open", 0, ["sophie"]),
    ("aubervilliers-cantine", "Restitution du diagnostic aux élus", -2, "open", 90, ["karim"]),
    ("aubervilliers-cantine", "Charte d'approvisionnement local", 21, "open", 20, ["marie"]),
]
# Milestones already moved once, so the slippage shows: (experiment, title) → days from
# today of the first deadline.
FIRST_DEADLINES = {
    ("bondy-bp", "Analyse de recevabilité des projets"): -6,
    ("montreuil-ac", "Deuxième session de l'assemblée"): 3,
}


def has_demo(session: Session) -> bool:
    return (
        session.exec(
            select(Workspace).where(
                Workspace.platform == Platform.CONSOLE, Workspace.external_id == "console"
            )
        ).first()
        is not None
    )


def seed_demo(session: Session, now: datetime) -> bool:
    """Write the demo lab unless the console workspace exists already (so a demo session
    can be resumed); returns whether anything was written. The caller commits."""
    if has_demo(session):
        return False
    today = now.astimezone(PARIS).date()
    workspace = Workspace(
        platform=Platform.CONSOLE,
        external_id="console",
        name="Labo d'innovation publique de Seine-Saint-Denis",
        created_at=now,
    )
    session.add(workspace)
    session.flush()
    people: dict[str, Person] = {}
    for handle, display, lab_role, guest in PEOPLE:
        person = Person(
            workspace_id=pk(workspace),
            external_id=handle,
            handle=handle,
            display_name=display,
            lab_role=lab_role,
            is_guest=guest,
            created_at=now,
        )
        session.add(person)
        people[handle] = person
    session.flush()
    experiments: dict[str, Experiment] = {}
    lines: dict[tuple[str, str], BudgetLine] = {}
    for spec in EXPERIMENTS:
        start_months, end_months = spec.months
        experiment = Experiment(
            workspace_id=pk(workspace),
            slug=spec.slug,
            name=spec.name,
            territory=spec.territory,
            starts_on=_first_of_month(today, start_months),
            ends_on=_first_of_month(today, end_months + 1) - timedelta(days=1),
            budget_envelope_cents=spec.envelope,
            calendar_token=secrets.token_urlsafe(24),
            created_at=now,
        )
        session.add(experiment)
        session.flush()
        experiments[experiment.slug] = experiment
        session.add(
            Membership(
                experiment_id=pk(experiment), person_id=pk(people["camille"]), role=Role.COORDINATOR
            )
        )
        for handle, role in spec.team:
            session.add(
                Membership(experiment_id=pk(experiment), person_id=pk(people[handle]), role=role)
            )
        for position, (key, label, planned) in enumerate(spec.lines):
            line = BudgetLine(
                experiment_id=pk(experiment),
                key=key,
                label=label,
                planned_cents=planned,
                position=position,
                created_at=now,
            )
            session.add(line)
            lines[(experiment.slug, key)] = line
        for channel, shared in spec.channels:
            session.add(
                ChannelBinding(
                    workspace_id=pk(workspace),
                    channel_id=channel,
                    channel_name=channel,
                    experiment_id=pk(experiment),
                    is_shared=shared,
                    created_at=now,
                )
            )
    session.flush()
    for slug, key, days_ago, cents, description, supplier, author in EXPENSES:
        session.add(
            Expense(
                experiment_id=pk(experiments[slug]),
                budget_line_id=pk(lines[(slug, key)]),
                amount_cents=cents,
                description=description,
                spent_on=today - timedelta(days=days_ago),
                supplier=supplier,
                author_id=pk(people[author]),
                created_at=now,
            )
        )
    for slug, title, days, status, progress, owners in MILESTONES:
        due = today + timedelta(days=days)
        first = FIRST_DEADLINES.get((slug, title))
        milestone = Milestone(
            experiment_id=pk(experiments[slug]),
            title=title,
            due_on=due,
            original_due_on=today + timedelta(days=first) if first is not None else due,
            status=status,
            progress=progress,
            done_at=now if status == "done" else None,
            created_by_id=pk(people["camille"]),
            created_at=now,
        )
        session.add(milestone)
        session.flush()
        for handle in owners:
            session.add(MilestoneOwner(milestone_id=pk(milestone), person_id=pk(people[handle])))
    _seed_meetings(session, workspace, experiments, people, today, now)
    session.flush()
    return True


def _seed_meetings(
    session: Session,
    workspace: Workspace,
    experiments: dict[str, Experiment],
    people: dict[str, Person],
    today: date,
    now: datetime,
) -> None:
    def at(days: int, hour: int, minute: int = 0) -> datetime:
        day = _next_weekday(today + timedelta(days=days))
        return datetime.combine(day, time(hour, minute), PARIS)

    def meeting(
        slug: str | None,
        kind: str,
        title: str,
        start: datetime,
        hours: float,
        place: str = "",
        video: str = "",
        rrule: str | None = None,
        channel: str | None = None,
    ) -> Meeting:
        m = Meeting(
            workspace_id=pk(workspace),
            experiment_id=pk(experiments[slug]) if slug else None,
            kind=kind,
            title=title,
            starts_at=start,
            ends_at=start + timedelta(hours=hours),
            place=place,
            video_url=video,
            rrule=rrule,
            uid=f"{uuid.uuid4()}@coordo",
            organizer_id=pk(people["camille"]),
            channel_id=channel,
            created_at=now,
        )
        session.add(m)
        session.flush()
        return m

    # Numbered as the help's examples expect: n°1 held (minutes, decisions), n°3 ahead.
    past = meeting(
        "bondy-bp",
        "copil",
        "COPIL n°1 du budget participatif",
        at(-45, 14),
        2,
        place="Mairie de Bondy, salle du conseil",
        channel="bondy",
    )
    past.minutes = "Lancement validé ; 45 000 € d'enveloppe ; vote au printemps."
    for handle in ["camille", "marie", "karim", "elu.bondy"]:
        session.add(
            Invitation(
                meeting_id=pk(past),
                person_id=pk(people[handle]),
                response="yes",
                responded_at=now,
            )
        )
    for text in [
        "Enveloppe du budget participatif fixée à 45 000 €",
        "Les projets devront être portés par au moins trois habitants",
    ]:
        session.add(
            Decision(
                meeting_id=pk(past),
                experiment_id=past.experiment_id,
                text=text,
                author_id=pk(people["camille"]),
                created_at=now,
            )
        )
    cotech = meeting(
        "montreuil-ac",
        "cotech",
        "COTECH de l'assemblée citoyenne",
        at(6, 10),
        1.5,
        video="https://visio.example.org/cotech-montreuil",
        channel="montreuil",
    )
    session.add(
        AgendaItem(
            meeting_id=pk(cotech),
            position=0,
            title="Programme de la deuxième session",
            author_id=pk(people["sophie"]),
            created_at=now,
        )
    )
    for handle in ["sophie", "lucas", "agent.montreuil"]:
        session.add(Invitation(meeting_id=pk(cotech), person_id=pk(people[handle])))
    copil = meeting(
        "bondy-bp",
        "copil",
        "COPIL n°2 du budget participatif",
        at(14, 14),
        2,
        place="Mairie de Bondy, salle du conseil",
        channel="bondy",
    )
    for position, item in enumerate(
        [
            "Bilan du dépôt des projets",
            "Recevabilité : critères et calendrier",
            "Organisation du vote",
        ]
    ):
        session.add(
            AgendaItem(
                meeting_id=pk(copil),
                position=position,
                title=item,
                author_id=pk(people["camille"]),
                created_at=now,
            )
        )
    for handle, response in [("marie", "yes"), ("karim", "pending"), ("sophie", "no")]:
        session.add(
            Invitation(
                meeting_id=pk(copil),
                person_id=pk(people[handle]),
                response=response,
                responded_at=now if response != "pending" else None,
            )
        )
    first_tuesday = _first_weekday_of_next_month(today, 2)
    lab = meeting(
        None,
        "copil-labo",
        "COPIL du labo",
        datetime.combine(first_tuesday, time(10), PARIS),
        2,
        place="Locaux du labo, Pantin",
        rrule="FREQ=MONTHLY;BYDAY=1TU",
        channel="labo",
    )
    for handle in ["camille", "sophie", "karim"]:
        session.add(Invitation(meeting_id=pk(lab), person_id=pk(people[handle])))
    # Date poll n°1 (the help's examples answer and close it), made eleven days ago (its
    # reminders went): marie has answered.
    made = now - timedelta(days=11)
    poll = DatePoll(
        workspace_id=pk(workspace),
        experiment_id=pk(experiments["bondy-bp"]),
        title="COPIL de printemps",
        organizer_id=pk(people["camille"]),
        channel_id="bondy",
        created_at=made,
    )
    session.add(poll)
    session.flush()
    slots = []
    for position, start in enumerate([at(49, 14), at(51, 10), at(56, 14)]):
        slot = PollSlot(
            poll_id=pk(poll),
            position=position,
            starts_at=start,
            ends_at=start + timedelta(hours=2),
        )
        session.add(slot)
        slots.append(slot)
    session.flush()
    for handle in ["marie", "karim", "elu.bondy"]:
        session.add(PollInvitee(poll_id=pk(poll), person_id=pk(people[handle]), created_at=made))
    for slot, answer in zip(slots, ["yes", "no", "maybe"], strict=True):
        session.add(
            PollAnswer(
                slot_id=pk(slot), person_id=pk(people["marie"]), answer=answer, answered_at=made
            )
        )


def _first_of_month(today: date, months: int) -> date:
    month_index = today.year * 12 + today.month - 1 + months
    return date(month_index // 12, month_index % 12 + 1, 1)


def _next_weekday(day: date) -> date:
    while day.isoweekday() > 5:
        day += timedelta(days=1)
    return day


def _first_weekday_of_next_month(today: date, iso_weekday: int) -> date:
    day = _first_of_month(today, 1)
    while day.isoweekday() != iso_weekday:
        day += timedelta(days=1)
    return day
