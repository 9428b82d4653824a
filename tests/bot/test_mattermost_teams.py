"""Two teams of one Mattermost server use Coordo apart: each team's workspace is its team
id, each registers its own ``/labo`` (with its own token), and neither sees the other's
experiments; the outbox reaches both teams' channels with the one bot account."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.scheduler import ports_from_settings
from bot.sender import Sender
from bot.settings import Settings
from bot.web import create_app
from commands.registry import build_router
from commands.reply import Reply
from commands.services import outbox
from models import Experiment, Workspace
from tests.fakes.mattermost_api import FakeMattermost, MattermostChannel, MattermostUser, new_id
from tests.live import serve

PUBLIC_URL = "https://coordo.example.org"
TEAM_A_TOKEN = "labo-command-token-team-a"
TEAM_B_TOKEN = "labo-command-token-team-b"


def slash(
    http: httpx.Client,
    mm: FakeMattermost,
    user: MattermostUser,
    channel: MattermostChannel,
    text: str,
    token: str,
) -> dict[str, Any]:
    fields = {
        "channel_id": channel.id,
        "channel_name": channel.name,
        "command": "/labo",
        "response_url": mm.new_response_url(),
        "team_domain": channel.name,
        "team_id": channel.team_id,
        "text": text,
        "token": token,
        "trigger_id": mm.new_trigger_id(user.id),
        "user_id": user.id,
        "user_name": user.username,
    }
    answer = http.post(
        "/mattermost/command",
        data=fields,
        headers={"Accept": "application/json", "Authorization": f"Token {token}"},
    )
    assert answer.status_code == 200, answer.text
    data: dict[str, Any] = answer.json()
    return data


def slash_status(
    http: httpx.Client, mm: FakeMattermost, user: MattermostUser, team_id: str, token: str
) -> int:
    """The status of ``/labo liste`` sent straight to Coordo, naming ``team_id``."""
    fields = {
        "channel_id": new_id(),
        "channel_name": "ailleurs",
        "command": "/labo",
        "team_id": team_id,
        "text": "liste",
        "token": token,
        "trigger_id": mm.new_trigger_id(user.id),
        "user_id": user.id,
        "user_name": user.username,
    }
    return http.post("/mattermost/command", data=fields).status_code


def test_two_teams_of_one_server_use_coordo_apart(
    database_url: str, engine: Engine, fake_mattermost: FakeMattermost
) -> None:
    mm = fake_mattermost
    other_team = new_id()
    settings = Settings(
        _env_file=None,
        database_url=database_url,
        public_url=PUBLIC_URL,
        mattermost_url=mm.url,
        mattermost_bot_token=mm.token,
        mattermost_command_tokens=f"labo:{TEAM_A_TOKEN},labo:{TEAM_B_TOKEN}",
        scheduler=False,
    )
    camille = mm.add_user(username="camille")
    noor = mm.add_user(username="noor")
    bondy = mm.add_channel(name="bondy")
    gardens = mm.add_channel(name="jardins", team_id=other_team)

    with (
        serve(create_app(settings, build_router())) as url,
        httpx.Client(base_url=url, timeout=10) as http,
    ):
        slash(http, mm, camille, bondy, 'creer bondy "Budget participatif de Bondy"', TEAM_A_TOKEN)
        slash(http, mm, noor, gardens, 'creer bondy "Jardins partagés"', TEAM_B_TOKEN)
        mine = slash(http, mm, camille, bondy, "liste", TEAM_A_TOKEN)
        theirs = slash(http, mm, noor, gardens, "liste", TEAM_B_TOKEN)
        shown = slash(http, mm, noor, gardens, "voir bondy", TEAM_B_TOKEN)

    assert "Budget participatif" in json.dumps(mine, ensure_ascii=False)
    assert "Jardins partagés" not in json.dumps(mine, ensure_ascii=False)
    assert "Jardins partagés" in json.dumps(theirs, ensure_ascii=False)
    assert "Budget participatif" not in json.dumps(theirs, ensure_ascii=False)
    assert "Budget participatif" not in json.dumps(shown, ensure_ascii=False)
    with Session(engine) as session:
        rows = session.exec(
            select(Workspace.external_id, Experiment.name).join(
                Experiment,
                Experiment.workspace_id == Workspace.id,  # type: ignore[arg-type]
            )
        ).all()
        assert sorted(tuple(r) for r in rows) == sorted(
            [(mm.team_id, "Budget participatif de Bondy"), (other_team, "Jardins partagés")]
        )
        for team, channel in ((mm.team_id, bondy), (other_team, gardens)):
            workspace = session.exec(select(Workspace).where(Workspace.external_id == team)).one()
            assert workspace.id is not None
            outbox.enqueue(
                session,
                key=f"test:{team}",
                workspace_id=workspace.id,
                kind="test",
                target_kind="channel",
                target_id=channel.id,
                reply=Reply(text=f"Rappel pour {channel.name}"),
                not_before=datetime.now(UTC),
                quiet_hours=False,
            )
        session.commit()

    ports, renderers = ports_from_settings(settings, engine)
    report = Sender(engine, ports, renderers=renderers, pacing={}, concurrency=1).run_until_idle()

    assert report.sent == 2
    assert [p["message"] for p in mm.posts_in(bondy.id)] == ["Rappel pour bondy"]
    assert [p["message"] for p in mm.posts_in(gardens.id)] == ["Rappel pour jardins"]


def test_a_teams_token_bound_to_it_does_not_speak_for_another_team(
    database_url: str, engine: Engine, fake_mattermost: FakeMattermost
) -> None:
    """A team's admin sees its own command's token; bound to the team
    (``labo@<team id>:<token>``), it is refused for a request naming another team."""
    mm = fake_mattermost
    other_team = new_id()
    settings = Settings(
        _env_file=None,
        database_url=database_url,
        public_url=PUBLIC_URL,
        mattermost_url=mm.url,
        mattermost_bot_token=mm.token,
        mattermost_command_tokens=(
            f"labo@{mm.team_id}:{TEAM_A_TOKEN},labo@{other_team}:{TEAM_B_TOKEN}"
        ),
        scheduler=False,
    )
    camille = mm.add_user(username="camille")
    bondy = mm.add_channel(name="bondy")

    with (
        serve(create_app(settings, build_router())) as url,
        httpx.Client(base_url=url, timeout=10) as http,
    ):
        own = slash(http, mm, camille, bondy, "liste", TEAM_A_TOKEN)
        forged = slash_status(http, mm, camille, other_team, TEAM_A_TOKEN)
        unbound = slash_status(http, mm, camille, new_id(), TEAM_B_TOKEN)

    assert "erreur" not in json.dumps(own, ensure_ascii=False).lower()
    assert forged == 401
    assert unbound == 401
    with Session(engine) as session:
        teams = session.exec(select(Workspace.external_id)).all()
    assert teams == [mm.team_id]
