"""A small lab for the reminder, digest and sender tests, built on a test engine.

One workspace (Slack by default: people and channels have Slack-shaped ids;
``slack_workspace`` tells the fake Slack about them, as the real one would know them), one experiment (``bondy-bp``, Europe/Paris, working days Monday to
Friday 9:00-18:00, leads 7, 1 and 0 days, digest Monday 9:00) with a team channel and a
partners' channel, and four people: camille (lab coordinator), marie, karim (who reads
English) and a partner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from commands.reply import Reply
from commands.services import outbox
from commands.services.scan import ScanReport, scan
from models import (
    BudgetLine,
    ChannelBinding,
    Expense,
    Experiment,
    Membership,
    Milestone,
    MilestoneOwner,
    NotificationPreference,
    OutboxMessage,
    Person,
    Role,
    Workspace,
    pk,
)
from tests.fakes.slack_api import FakeSlack

PARIS = ZoneInfo("Europe/Paris")
LONG_AGO = datetime(2026, 1, 1, 9, 0, tzinfo=PARIS)
TEAM_CHANNEL = "C0BONDY"
PARTNER_CHANNEL = "C0BONDYPART"


def paris(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


@dataclass
class Lab:
    engine: Engine
    workspace_id: int
    experiment_id: int
    people: dict[str, int] = field(default_factory=dict)

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def scan(self, now: datetime) -> ScanReport:
        with self.session() as session:
            report = scan(session, now)
            session.commit()
        return report

    def add_milestone(
        self,
        title: str,
        due_on: date,
        owners: tuple[str, ...] = ("marie",),
        *,
        status: str = "open",
        created_at: datetime = LONG_AGO,
        experiment_id: int | None = None,
    ) -> int:
        with self.session() as session:
            milestone = Milestone(
                experiment_id=experiment_id or self.experiment_id,
                title=title,
                due_on=due_on,
                original_due_on=due_on,
                status=status,
                progress=20,
                done_at=created_at if status == "done" else None,
                created_at=created_at,
            )
            session.add(milestone)
            session.flush()
            for handle in owners:
                session.add(
                    MilestoneOwner(milestone_id=pk(milestone), person_id=self.people[handle])
                )
            session.commit()
            return pk(milestone)

    def change_milestone(self, milestone_id: int, **values: Any) -> None:
        with self.session() as session:
            milestone = session.get(Milestone, milestone_id)
            assert milestone is not None
            for name, value in values.items():
                setattr(milestone, name, value)
            session.add(milestone)
            session.commit()

    def change_experiment(self, **values: Any) -> None:
        with self.session() as session:
            experiment = session.get(Experiment, self.experiment_id)
            assert experiment is not None
            for name, value in values.items():
                setattr(experiment, name, value)
            session.add(experiment)
            session.commit()

    def prefer(self, handle: str, **values: Any) -> None:
        with self.session() as session:
            preference = NotificationPreference(
                person_id=self.people[handle], experiment_id=self.experiment_id, **values
            )
            session.add(preference)
            session.commit()

    def experiment(self) -> Experiment:
        with self.session() as session:
            experiment = session.get(Experiment, self.experiment_id)
            assert experiment is not None
            return experiment

    def rows(self, kind: str | None = None) -> list[OutboxMessage]:
        with self.session() as session:
            query = select(OutboxMessage).order_by(col(OutboxMessage.id))
            if kind is not None:
                query = query.where(OutboxMessage.kind == kind)
            return list(session.exec(query))

    def keys(self, kind: str | None = None) -> list[str]:
        return [r.key for r in self.rows(kind)]

    def queue(
        self,
        key: str,
        *,
        target: str = TEAM_CHANNEL,
        person: str | None = None,
        text: str = "Bonjour",
        not_before: datetime = LONG_AGO,
        kind: str = "test",
        experiment: bool = True,
        **extra: Any,
    ) -> None:
        """A notification queued directly (not by a scan), to a channel or a person."""
        with self.session() as session:
            exp = session.get(Experiment, self.experiment_id) if experiment else None
            outbox.enqueue(
                session,
                key=key,
                workspace_id=self.workspace_id,
                kind=kind,
                target_kind="person" if person else "channel",
                target_id=str(self.people[person]) if person else target,
                reply=extra.pop("reply", None) or Reply(text=text),
                not_before=not_before,
                experiment=exp,
                quiet_hours=False,
                **extra,
            )
            session.commit()


# The lab's people as Slack knows them: (user id, handle, guest, from another organisation).
SLACK_PEOPLE = [
    ("U0CAMILLE", "camille", False, False),
    ("U0MARIE", "marie", False, False),
    ("U0KARIM", "karim", False, False),
    ("U0ELU", "elu", True, True),
]


def slack_workspace(slack: FakeSlack, *channels: str) -> FakeSlack:
    """The lab's workspace on the fake Slack, as real Slack would hold it: its people, the
    team channel (everyone), the channel shared with the town hall (camille and the elected
    official), and any other ``channels`` (everyone, the bot included). Idempotent."""
    for user_id, handle, guest, external in SLACK_PEOPLE:
        if user_id not in slack.users:
            slack.add_user(
                user_id,
                name=handle,
                is_restricted=guest and not external,
                team_id="T0MAIRIE" if external else None,
                locale="en-GB" if handle == "karim" else "fr-FR",
            )
    everyone = [p[0] for p in SLACK_PEOPLE if not p[2]]
    wanted = {TEAM_CHANNEL: ("bondy", everyone, False)}
    wanted[PARTNER_CHANNEL] = ("bondy-partenaires", ["U0CAMILLE", "U0ELU"], True)
    for channel in channels:
        wanted.setdefault(channel, (channel.lower(), everyone, False))
    for channel, (name, members, shared) in wanted.items():
        if channel not in slack.channels:
            slack.add_channel(channel, name, members=members, is_ext_shared=shared)
    return slack


def build_lab(engine: Engine, *, platform: str = "slack") -> Lab:
    with Session(engine, expire_on_commit=False) as session:
        workspace = Workspace(
            platform=platform, external_id="T0LAB", name="Labo 93", created_at=LONG_AGO
        )
        session.add(workspace)
        session.flush()
        people = {}
        for handle, lab_role, locale, guest in [
            ("camille", Role.COORDINATOR, None, False),
            ("marie", None, None, False),
            ("karim", None, "en", False),
            ("elu", None, None, True),
        ]:
            person = Person(
                workspace_id=pk(workspace),
                external_id=f"U0{handle.upper()}",
                handle=handle,
                display_name=handle.capitalize(),
                lab_role=lab_role,
                locale=locale,
                is_guest=guest,
                created_at=LONG_AGO,
            )
            session.add(person)
            session.flush()
            people[handle] = pk(person)
        experiment = Experiment(
            workspace_id=pk(workspace),
            slug="bondy-bp",
            name="Budget participatif de Bondy",
            territory="Bondy",
            budget_envelope_cents=45_000_00,
            created_at=LONG_AGO,
        )
        session.add(experiment)
        session.flush()
        for handle, role in [("marie", Role.MEMBER), ("karim", Role.MEMBER), ("elu", Role.PARTNER)]:
            session.add(
                Membership(experiment_id=pk(experiment), person_id=people[handle], role=role)
            )
        for channel, shared in [(TEAM_CHANNEL, False), (PARTNER_CHANNEL, True)]:
            session.add(
                ChannelBinding(
                    workspace_id=pk(workspace),
                    channel_id=channel,
                    channel_name="bondy-partenaires" if shared else "bondy",
                    experiment_id=pk(experiment),
                    is_shared=shared,
                    created_at=LONG_AGO,
                )
            )
        line = BudgetLine(
            experiment_id=pk(experiment),
            key="logistique",
            label="Logistique",
            planned_cents=12_000_00,
            created_at=LONG_AGO,
        )
        session.add(line)
        session.flush()
        session.add(
            Expense(
                experiment_id=pk(experiment),
                budget_line_id=pk(line),
                amount_cents=1_850_00,
                description="Location du gymnase",
                spent_on=date(2026, 11, 20),
                author_id=people["marie"],
                created_at=LONG_AGO,
            )
        )
        session.commit()
        return Lab(engine, pk(workspace), pk(experiment), people)


def working_hours(start: int, end: int) -> dict[str, time]:
    return {"working_hours_start": time(start), "working_hours_end": time(end)}


def days_after(moment: datetime, days: int) -> datetime:
    return moment + timedelta(days=days)


LAB_PEOPLE = ("camille", "marie", "karim", "elu")


def seat_on_mattermost(server: Any, *channels: str) -> None:
    """Tell a (strict) fake Mattermost server what a real one would know of this lab: its
    people (``U0MARIE``…, the partner a guest) and the channels the bot was added to
    (the team's and the partners', and ``channels``)."""
    for handle in LAB_PEOPLE:
        if f"U0{handle.upper()}" not in server.users:
            roles = "system_guest" if handle == "elu" else "system_user"
            server.add_user(f"U0{handle.upper()}", username=handle, roles=roles)
    for channel in (TEAM_CHANNEL, PARTNER_CHANNEL, *channels):
        if channel not in server.channels:
            server.add_channel(channel, channel.lower())
