"""The demo lab moved to a Mattermost team, for tests and benchmarks that run Coordo's
processes against the fake Mattermost server. People keep their handles as Mattermost
user ids and channels their names as channel ids, which the fake server accepts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session

from commands.demo import EXPERIMENTS, PEOPLE, seed_demo
from models import Platform, Workspace
from models.db import make_engine
from tests.fakes.mattermost_api import FakeMattermost


def add_demo_people(mm: FakeMattermost) -> None:
    """The demo's people, and its channels with the bot added to them (as a lab would)."""
    for handle, _display, _role, guest in PEOPLE:
        mm.add_user(handle, username=handle, roles="system_guest" if guest else "system_user")
    for channel in {"labo", *(c for spec in EXPERIMENTS for c, _shared in spec.channels)}:
        if channel not in mm.channels:
            mm.add_channel(channel, channel)


def seed_on_mattermost(url: str, team_id: str, now: datetime) -> None:
    engine = make_engine(url)
    with Session(engine) as session:
        seed_demo(session, now)
        session.exec(  # type: ignore[call-overload]
            update(Workspace).values(platform=Platform.MATTERMOST, external_id=team_id)
        )
        session.commit()
    engine.dispose()
