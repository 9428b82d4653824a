"""Coordo installed in two Slack workspaces by OAuth ("Add to Slack"), end to end: the real
web app under uvicorn, the install gone through in a browser's steps (our /slack/install,
the fake Slack's consent page, back to our redirect with the code), signed requests from
each workspace, and the outbox delivered with each workspace's token. An uninstall holds a
workspace's messages until it installs again."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from slack_sdk.oauth.installation_store import Installation
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from bot.scheduler import ports_from_settings
from bot.sender import NOT_INSTALLED, Sender
from bot.settings import Settings
from bot.slack.install import SCOPES, SlackInstallations
from bot.web import create_app
from commands.registry import build_router
from commands.reply import Reply
from commands.services import outbox
from models import Experiment, OutboxMessage, Workspace
from models.installations import bots, installations, oauth_states
from tests.bot.slack_wire import SIGNING_SECRET, SlackSender, home_opened, running
from tests.bot.test_manifest import manifest
from tests.fakes._server import ManualClock
from tests.fakes.slack_api import FakeSlack

CLIENT_ID = "1234567890.0987654321"
CLIENT_SECRET = "s3cr3t-of-the-app"
PUBLIC_URL = "https://coordo.example.org"
REDIRECT = PUBLIC_URL + "/slack/oauth_redirect"


def state_cookie(response: httpx.Response) -> str:
    """The ``name=value`` of the state cookie /slack/install set."""
    cookie = response.headers["set-cookie"]
    assert "Secure" in cookie
    assert "HttpOnly" in cookie
    return cookie.split(";", 1)[0]


@dataclass
class Network:
    """Two workspaces on one fake Slack, and Coordo serving both."""

    url: str
    settings: Settings
    engine: Engine
    first: FakeSlack
    second: FakeSlack

    def install(self, workspace: FakeSlack, user_id: str) -> httpx.Response:
        """Add to Slack, as a browser does it: our install URL sends to Slack's consent
        page with a state (and a cookie holding it), Slack sends back to our redirect URL
        with a code, which Coordo exchanges."""
        with httpx.Client(timeout=10) as browser:
            start = browser.get(self.url + "/slack/install")
            assert start.status_code == 302, start.text
            consent = start.headers["location"]
            assert consent.startswith(self.first.authorize_url)
            self.first.sign_in(workspace, user_id)
            back = browser.get(consent)
            assert back.status_code == 302, back.text
            redirect = urlsplit(back.headers["location"])
            assert f"{redirect.scheme}://{redirect.netloc}{redirect.path}" == REDIRECT
            # Behind the public address, the same app: the path and query reach it, with
            # the state's cookie (``Secure``: the browser sends it to the https address).
            return browser.get(
                f"{self.url}{redirect.path}?{redirect.query}",
                headers={"Cookie": state_cookie(start)},
            )

    def sender_for(self, workspace: FakeSlack) -> SlackSender:
        return SlackSender(self.url, workspace)

    def installed_teams(self) -> list[str]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(bots.c.team_id).order_by(bots.c.team_id))
            return [str(r[0]) for r in rows]


@pytest.fixture
def network(engine: Engine, fake_slack: FakeSlack) -> Iterator[Network]:
    second = FakeSlack(
        token="xoxb-second-lab",
        team_id="T0SECOND",
        team="Second Lab",
        bot_user_id="U0COORDO2",
        bot_id="B0COORDO2",
        clock=fake_slack.clock,
    )
    with second:
        fake_slack.distribute(CLIENT_ID, CLIENT_SECRET, redirect_url=REDIRECT)
        fake_slack.add_workspace(second)
        for workspace, person in ((fake_slack, "U0CAMILLE"), (second, "U0NOOR")):
            workspace.add_user(person, name=person[2:].lower(), locale="fr-FR")
            workspace.add_channel("C0" + workspace.team_id[2:], members=(person,))
        settings = Settings(
            _env_file=None,
            slack_client_id=CLIENT_ID,
            slack_client_secret=CLIENT_SECRET,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=fake_slack.api_url,
            slack_authorization_url=fake_slack.authorize_url,
            public_url=PUBLIC_URL,
            scheduler=False,
        )
        with running(create_app(settings, build_router(), engine=engine)) as url:
            yield Network(url, settings, engine, fake_slack, second)
        if second.refused:
            pytest.fail("the fake Slack refused what was sent:\n" + "\n".join(second.refused))


def token(call: Any) -> str:
    return str(call.headers.get("authorization", "")).removeprefix("Bearer ")


def command(sender: SlackSender, line: str, user: str, team: str) -> dict[str, Any]:
    answer = sender.command(
        line, user=user, user_name=user[2:].lower(), team=team, channel="C0" + team[2:]
    )
    assert answer.status_code == 200, answer.text
    data: dict[str, Any] = answer.json()
    return data


def test_two_workspaces_install_and_neither_sees_the_other(network: Network) -> None:
    first, second = network.first, network.second

    assert network.install(first, "U0CAMILLE").status_code == 200
    assert network.install(second, "U0NOOR").status_code == 200
    assert network.installed_teams() == ["T0LAB", "T0SECOND"]
    with network.engine.connect() as conn:
        scopes = conn.execute(select(installations.c.bot_scopes)).scalars().all()
        assert conn.execute(select(func.count()).select_from(oauth_states)).scalar() == 0
    assert all(s == ",".join(SCOPES) for s in scopes)

    one, two = network.sender_for(first), network.sender_for(second)
    try:
        created = command(
            one, '/labo creer bondy "Budget participatif de Bondy"', "U0CAMILLE", "T0LAB"
        )
        assert "Budget participatif de Bondy" in json.dumps(created, ensure_ascii=False)
        # The same short name in the second workspace is another experiment.
        command(two, '/labo creer bondy "Jardins partagés"', "U0NOOR", "T0SECOND")
        mine = command(one, "/labo liste", "U0CAMILLE", "T0LAB")
        theirs = command(two, "/labo liste", "U0NOOR", "T0SECOND")
        shown = command(two, "/labo voir bondy", "U0NOOR", "T0SECOND")
    finally:
        one.close()
        two.close()

    assert "Budget participatif" in json.dumps(mine, ensure_ascii=False)
    assert "Jardins partagés" not in json.dumps(mine, ensure_ascii=False)
    assert "Jardins partagés" in json.dumps(theirs, ensure_ascii=False)
    assert "Budget participatif" not in json.dumps(theirs, ensure_ascii=False)
    assert "Budget participatif" not in json.dumps(shown, ensure_ascii=False)
    with Session(network.engine) as session:
        rows = session.exec(
            select(Workspace.external_id, Experiment.name)
            .join(Experiment, Experiment.workspace_id == Workspace.id)  # type: ignore[arg-type]
            .order_by(Workspace.external_id)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("T0LAB", "Budget participatif de Bondy"),
        ("T0SECOND", "Jardins partagés"),
    ]
    # Each workspace's people were looked up with its own token (one server serves both).
    assert {(c.body["user"], token(c)) for c in first.calls if c.name == "users.info"} == {
        ("U0CAMILLE", first.token),
        ("U0NOOR", second.token),
    }
    # Whose each token is (auth.test, answered per token) was asked at its install and
    # at its workspace's first request, then remembered: not once more per command.
    asked = Counter(token(c) for c in first.calls if c.name == "auth.test")
    assert asked == {first.token: 2, second.token: 2}


def test_a_code_is_exchanged_once_and_a_replayed_redirect_installs_nothing(
    network: Network,
) -> None:
    with httpx.Client(timeout=10) as browser:
        start = browser.get(network.url + "/slack/install")
        network.first.sign_in(network.second, "U0NOOR")
        back = urlsplit(browser.get(start.headers["location"]).headers["location"])
        again = f"{network.url}{back.path}?{back.query}"
        cookie = {"Cookie": state_cookie(start)}
        assert browser.get(again, headers=cookie).status_code == 200
        replayed = browser.get(again, headers=cookie)
    assert replayed.status_code == 401  # the state was consumed: nothing is exchanged
    assert network.installed_teams() == ["T0SECOND"]
    exchanges = [c for c in network.first.calls if c.name == "oauth.v2.access"]
    assert len(exchanges) == 1


def test_the_fake_serves_oauth_strictly(network: Network, manual_clock: ManualClock) -> None:
    fake = network.first
    with httpx.Client(timeout=10) as browser:
        fake.sign_in(network.second, "U0NOOR")
        back = browser.get(
            fake.authorize_url,
            params={"client_id": CLIENT_ID, "scope": "commands", "redirect_uri": REDIRECT},
        )
        wrong_redirect = browser.get(
            fake.authorize_url,
            params={"client_id": CLIENT_ID, "redirect_uri": "https://elsewhere.example/cb"},
        )
    code = parse_qs(urlsplit(back.headers["location"]).query)["code"][0]
    assert wrong_redirect.status_code == 400

    def access(client_id: str, secret: str, code: str, redirect: str = REDIRECT) -> str:
        answer = httpx.post(
            fake.api_url + "oauth.v2.access",
            data={"code": code, "redirect_uri": redirect},
            auth=(client_id, secret),
        ).json()
        return str(answer.get("access_token") or answer["error"])

    assert access("9999.1111", CLIENT_SECRET, code) == "invalid_client_id"
    assert access(CLIENT_ID, "not-the-secret", code) == "bad_client_secret"
    assert access(CLIENT_ID, CLIENT_SECRET, "made-up") == "invalid_code"
    assert access(CLIENT_ID, CLIENT_SECRET, code, "https://elsewhere.example/cb") == (
        "bad_redirect_uri"
    )
    assert access(CLIENT_ID, CLIENT_SECRET, code) == "xoxb-second-lab"
    assert access(CLIENT_ID, CLIENT_SECRET, code) == "invalid_code"  # once only
    with httpx.Client(timeout=10) as browser:
        late = browser.get(
            fake.authorize_url,
            params={"client_id": CLIENT_ID, "scope": "commands", "redirect_uri": REDIRECT},
        )
    manual_clock.advance(601)
    stale = parse_qs(urlsplit(late.headers["location"]).query)["code"][0]
    assert access(CLIENT_ID, CLIENT_SECRET, stale) == "invalid_code"  # 10 minutes at most

    def whose(token: str) -> str:
        answer = httpx.post(fake.api_url + "auth.test", data={"token": token}).json()
        return str(answer.get("team_id") or answer["error"])

    assert whose("xoxb-coordo-test") == "T0LAB"
    assert whose("xoxb-second-lab") == "T0SECOND"
    assert whose("xoxb-nobody") == "invalid_auth"
    network.second.revoke()
    assert whose("xoxb-second-lab") == "token_revoked"


def uninstalled(team: str) -> dict[str, Any]:
    return {
        "token": "legacy-verification-token",
        "team_id": team,
        "api_app_id": "A0COORDO",
        "type": "event_callback",
        "event_id": f"Ev{team}UNINSTALL",
        "event_time": int(time.time()),
        "event": {"type": "app_uninstalled", "event_ts": f"{time.time():.6f}"},
    }


def queue(engine: Engine, team: str, key: str) -> None:
    now = datetime.now(UTC)
    with Session(engine) as session:
        workspace = session.exec(select(Workspace).where(Workspace.external_id == team)).one()
        assert workspace.id is not None
        outbox.enqueue(
            session,
            key=key,
            workspace_id=workspace.id,
            kind="test",
            target_kind="channel",
            target_id="C0" + team[2:],
            reply=Reply(text=f"Rappel pour {team}"),
            not_before=now,
            quiet_hours=False,
        )
        session.commit()


def row(engine: Engine, key: str) -> OutboxMessage:
    with Session(engine) as session:
        return session.exec(select(OutboxMessage).where(OutboxMessage.key == key)).one()


def sender(network: Network) -> Sender:
    ports, renderers = ports_from_settings(network.settings, network.engine)
    return Sender(network.engine, ports, renderers=renderers, pacing={}, concurrency=1)


@pytest.fixture
def both(network: Network) -> Network:
    """Both workspaces installed, each having used Coordo once."""
    for workspace, person in ((network.first, "U0CAMILLE"), (network.second, "U0NOOR")):
        assert network.install(workspace, person).status_code == 200
        wire = network.sender_for(workspace)
        try:
            command(wire, "/labo liste", person, workspace.team_id)
        finally:
            wire.close()
    return network


def test_an_uninstalled_workspace_has_its_messages_held_until_it_installs_again(
    both: Network, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = both.first, both.second
    wire = both.sender_for(second)
    try:
        body = json.dumps(uninstalled("T0SECOND")).encode()
        assert wire.post(body, "application/json").status_code == 200
    finally:
        wire.close()
    second.revoke()
    assert both.installed_teams() == ["T0LAB"]
    queue(both.engine, "T0LAB", "test:first")
    queue(both.engine, "T0SECOND", "test:second")

    with caplog.at_level(logging.WARNING, logger="bot.sender"):
        report = sender(both).run_until_idle()

    assert (report.sent, report.held) == (1, 1)
    assert [m.text for m in first.messages_in("C0LAB")] == ["Rappel pour T0LAB"]
    held = row(both.engine, "test:second")
    assert (held.sent_at, held.dead_at, held.attempts) == (None, None, 0)
    assert held.last_error == NOT_INSTALLED
    assert held.next_attempt_at is not None
    assert held.next_attempt_at > datetime.now(UTC) + timedelta(hours=23)
    assert "not installed in slack workspace T0SECOND" in caplog.text
    assert sender(both).run_until_idle().claimed == 0  # held, not tried again and again
    assert not [c for c in first.calls if c.name == "chat.postMessage" and token(c) != first.token]

    second.reinstate("xoxb-second-lab-again")
    assert both.install(second, "U0NOOR").status_code == 200
    assert row(both.engine, "test:second").next_attempt_at is None
    report = sender(both).run_until_idle()

    assert report.sent == 1
    assert [m.text for m in second.messages_in("C0SECOND")] == ["Rappel pour T0SECOND"]
    posted = [c for c in first.calls if c.name == "chat.postMessage"]
    assert [token(c) for c in posted] == [first.token, "xoxb-second-lab-again"]


def test_a_token_revoked_without_a_word_holds_the_messages_too(both: Network) -> None:
    both.second.revoke()  # no event came (lost, or the app was down)
    queue(both.engine, "T0SECOND", "test:second")

    report = sender(both).run_until_idle()

    assert report.held == 1
    held = row(both.engine, "test:second")
    assert (held.attempts, held.last_error, held.dead_at) == (0, NOT_INSTALLED, None)


def test_the_scopes_asked_are_the_manifests_and_it_hears_of_uninstalls() -> None:
    data = manifest()
    assert set(SCOPES) == set(data["oauth_config"]["scopes"]["bot"])
    events = data["settings"]["event_subscriptions"]["bot_events"]
    assert {"app_uninstalled", "tokens_revoked"} <= set(events)


def test_installations_keep_the_latest_bot_token(engine: Engine) -> None:
    store = SlackInstallations(engine, CLIENT_ID)

    def install(token: str, at: float) -> None:
        store.store.save(
            Installation(
                app_id="A0COORDO",
                enterprise_id=None,
                team_id="T0LAB",
                bot_token=token,
                bot_id="B0COORDO",
                bot_user_id="U0COORDO",
                bot_scopes=",".join(SCOPES),
                user_id="U0CAMILLE",
                installed_at=at,
            )
        )

    assert store.bot_token("T0LAB") is None
    install("xoxb-old", 1_700_000_000.0)
    install("xoxb-new", 1_700_000_600.0)
    assert store.bot_token("T0LAB") == "xoxb-new"
    assert store.bot_token("T0OTHER") is None
    found = store.store.find_installation(enterprise_id=None, team_id="T0LAB")
    assert found is not None
    assert (found.bot_token, found.user_id) == ("xoxb-new", "U0CAMILLE")
    assert SlackInstallations(engine, "another-app").bot_token("T0LAB") is None

    store.uninstalled(None, "T0LAB")

    assert store.bot_token("T0LAB") is None
    assert store.store.find_installation(enterprise_id=None, team_id="T0LAB") is None


def wait_for(found: Any, what: str) -> None:
    """Until ``found()`` is true (work done after the ack, in the background)."""
    for _ in range(200):
        if found():
            return
        threading.Event().wait(0.05)
    raise AssertionError(what)


def test_the_home_tab_of_the_second_workspace_is_published_with_its_token(both: Network) -> None:
    wire = both.sender_for(both.second)
    try:
        event = home_opened("U0NOOR", event_id="Ev0HOME2", team="T0SECOND")
        assert wire.post(json.dumps(event).encode(), "application/json").status_code == 200
    finally:
        wire.close()

    def published() -> list[str]:
        return [token(c) for c in both.first.calls if c.name == "views.publish"]

    wait_for(published, "no Home tab published")
    assert published() == [both.second.token]
    assert both.second.views  # the second workspace's Home tab, on its own fake


def test_tokens_revoked_for_the_bot_deletes_the_installation(both: Network) -> None:
    event = uninstalled("T0SECOND")
    event["event"] = {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["U0COORDO2"]}}
    wire = both.sender_for(both.second)
    try:
        assert wire.post(json.dumps(event).encode(), "application/json").status_code == 200
    finally:
        wire.close()

    assert both.installed_teams() == ["T0LAB"]
    with both.engine.connect() as conn:
        teams = conn.execute(select(installations.c.team_id)).scalars().all()
    assert teams == ["T0LAB"]
