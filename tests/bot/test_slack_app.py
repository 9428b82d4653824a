"""Coordo's Slack app end to end: the real web app under uvicorn on port 0, requests signed
exactly as Slack signs them, the fake Slack Web API recording what Coordo calls, and the
database checked afterwards."""

from __future__ import annotations

import json
import select as io_select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from slack_bolt.adapter.socket_mode.internals import run_bolt_app
from slack_sdk import WebClient
from slack_sdk.socket_mode.request import SocketModeRequest
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from bot.kit.runner import Runner, shared_runner
from bot.scheduler import ports_from_settings
from bot.sender import Sender
from bot.settings import Settings
from bot.slack.app import Handoff, SlackApp, build_slack_app, from_slack
from bot.web import create_app
from commands.args import Args
from commands.core import Context, Family, Router, Subcommand, words
from commands.errors import UserError
from commands.registry import build_router
from commands.reply import File, Form, FormField, Reply, Section, Visibility
from commands.services import experiments as service
from models import (
    AuditEvent,
    ChannelBinding,
    Experiment,
    Invitation,
    Membership,
    Milestone,
    MilestoneOwner,
    Person,
    RequestReceipt,
    Workspace,
)
from tests.bot.slack_wire import (
    SIGNING_SECRET,
    TEAM,
    SlackSender,
    click,
    home_opened,
    running,
    sign,
    view_submission,
)
from tests.bot.test_mattermost_app import wait_for_poll
from tests.chat import normalise
from tests.fakes.slack_api import FakeSlack
from tests.processes import free_port, process_env, wait_until_up

# -- a small family of test commands, wired into the real router ---------------------------------


def essai_form(ctx: Context, args: Args) -> Reply:
    return Reply(
        text="Usage : /essai <nom-court> <nom>",
        form=Form(
            callback="essai.create",
            title="Nouvelle expérimentation",
            submit_label="Créer",
            fields=(
                FormField("slug", "Nom court", placeholder="bondy-bp"),
                FormField("name", "Nom complet"),
                FormField("owner", "Responsable", "user", required=False),
            ),
            state="from-test",
        ),
    )


def essai_create(ctx: Context, values: dict[str, str]) -> Reply:
    try:
        experiment = service.create_experiment(
            ctx,
            slug=values.get("slug", ""),
            name=values.get("name", ""),
            territory=values.get("owner", ""),
            starts_on=None,
            ends_on=None,
            envelope_cents=None,
        )
    except UserError as error:
        raise UserError(error.key, field="slug", **error.params) from error
    return ctx.reply(
        "lab/created",
        experiment,
        e=experiment,
        visibility=Visibility.CHANNEL,
        changed=True,
        undo=True,
    )


FIELD_KINDS = ("text", "textarea", "number", "date", "time", "select", "user")


def essai_fields_form(ctx: Context, args: Args) -> Reply:
    """A form with a field of every kind the core has; its answer is private."""
    return Reply(
        text="Tous les champs",
        form=Form(
            callback="essai.fields",
            title="Tous les champs",
            submit_label="Envoyer",
            fields=tuple(
                FormField(
                    kind,
                    kind,
                    kind,
                    required=False,
                    options=(("a", "Choix A"), ("b", "Choix B")) if kind == "select" else (),
                )
                for kind in FIELD_KINDS
            ),
        ),
    )


def essai_fields(received: list[dict[str, Any]]) -> Callable[[Context, dict[str, str]], Reply]:
    """A form handler that keeps what reached the core: the values, and who the people
    named are; it answers privately."""

    def handler(ctx: Context, values: dict[str, str]) -> Reply:
        received.append({"values": values, "mentioned": dict(ctx.invocation.mentioned_ids)})
        return Reply(text=f"Reçu : {len(values)} champs, dont `{values.get('text', '')}`")

    return handler


def essai_slow(ctx: Context, args: Args) -> Reply:
    time.sleep(1.0)
    return Reply(text="**Fini** après un long calcul")


def essai_long(ctx: Context, args: Args) -> Reply:
    return Reply(
        text="**Tous les jalons**",
        sections=[Section(title=f"Jalon {n}", text=f"Échéance n°{n}") for n in range(120)],
    )


def essai_file(ctx: Context, args: Args) -> Reply:
    personal = bool(args.words)
    return Reply(
        text="Export prêt",
        files=[File("depenses.csv", b"date;montant\n2026-11-24;12,50\n", "Dépenses de Bondy")],
        visibility=Visibility.EPHEMERAL if personal else Visibility.CHANNEL,
    )


def essai_crash(ctx: Context, args: Args) -> Reply:
    raise RuntimeError("a bug")


def make_router(received: list[dict[str, Any]]) -> Router:
    router = build_router()
    router.add_form("essai.create", essai_create)
    router.add_form("essai.fields", essai_fields(received))
    router.add(
        Family(
            name="essai",
            words={"essai": "fr"},
            subcommands=(
                Subcommand("slow", words(["lent"], []), essai_slow),
                Subcommand("long", words(["long"], []), essai_long),
                Subcommand("file", words(["fichier"], []), essai_file),
                Subcommand("crash", words(["panne"], []), essai_crash),
                Subcommand("fields", words(["champs"], []), essai_fields_form),
            ),
            empty=Subcommand("form", {}, essai_form),
        )
    )
    return router


# -- fixtures ------------------------------------------------------------------------------------


@dataclass
class Lab:
    slack: SlackSender
    fake: FakeSlack
    engine: Engine
    app: SlackApp
    received: list[dict[str, Any]]

    def count(self, table: Any) -> int:
        with Session(self.engine) as session:
            return int(session.exec(select(func.count()).select_from(table)).one())

    def body(self, answer: Any) -> dict[str, Any]:
        assert answer.status_code == 200, answer.text
        data: dict[str, Any] = answer.json()
        return data

    def text(self, data: dict[str, Any]) -> str:
        return "\n".join(
            b.get("text", {}).get("text", "") + "".join(f["text"] for f in b.get("fields", []))
            for b in data.get("blocks", [])
        )


@contextmanager
def slack_lab(
    engine: Engine,
    fake_slack: FakeSlack,
    ack_budget: float,
    people_ttl: timedelta = timedelta(minutes=5),
) -> Iterator[Lab]:
    fake_slack.add_user("U0CAMILLE", name="camille", locale="fr-FR")
    fake_slack.add_user("U0MARIE", name="marie", locale="en-GB")
    fake_slack.add_user("U0ELU", name="elu.bondy", team_id="T0MAIRIE")
    fake_slack.add_user("U0GUEST", name="invitee", is_restricted=True)
    fake_slack.add_channel("C0BONDY", "bondy", members=("U0CAMILLE", "U0MARIE", "U0GUEST"))
    fake_slack.add_channel(
        "C0PARTNERS", "bondy-partenaires", is_ext_shared=True, members=("U0CAMILLE", "U0ELU")
    )
    settings = Settings(
        _env_file=None,
        slack_bot_token=fake_slack.token,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake_slack.api_url,
        scheduler=False,
    )
    client = WebClient(token=fake_slack.token, base_url=fake_slack.api_url)
    received: list[dict[str, Any]] = []
    router = make_router(received)
    runner = Runner(engine, router, ack_budget=ack_budget)
    app = build_slack_app(settings, engine, router, client, runner=runner, people_ttl=people_ttl)
    with running(create_app(settings, engine=engine, slack=app)) as url:
        sender = SlackSender(url, fake_slack)
        yield Lab(sender, fake_slack, engine, app, received)
        sender.close()


@pytest.fixture
def lab(engine: Engine, fake_slack: FakeSlack) -> Iterator[Lab]:
    with slack_lab(engine, fake_slack, ack_budget=2.5) as lab:
        yield lab


@pytest.fixture
def impatient_lab(engine: Engine, fake_slack: FakeSlack) -> Iterator[Lab]:
    """A lab whose ack budget is shorter than the slow test command."""
    with slack_lab(engine, fake_slack, ack_budget=0.2) as lab:
        yield lab


@pytest.fixture
def forgetful_lab(engine: Engine, fake_slack: FakeSlack) -> Iterator[Lab]:
    """A lab that asks Slack who someone is at every request."""
    with slack_lab(engine, fake_slack, ack_budget=2.5, people_ttl=timedelta(0)) as lab:
        yield lab


def setup_bondy(lab: Lab) -> None:
    assert (
        lab.slack.command('/labo creer bondy-bp "Budget participatif de Bondy"').status_code == 200
    )
    assert lab.slack.command("/labo lier bondy-bp").status_code == 200


# -- slash commands -------------------------------------------------------------------------------


def test_a_command_answers_in_the_ack_and_the_change_is_in_the_database(lab: Lab) -> None:
    data = lab.body(lab.slack.command('/labo creer bondy-bp "Budget participatif de Bondy"'))

    assert data["response_type"] == "in_channel"
    assert (
        "*Budget participatif de Bondy*" in lab.text(data) or "Budget participatif" in data["text"]
    )
    assert data["blocks"][-1]["type"] == "actions"  # the undo button
    with Session(lab.engine) as session:
        experiment = session.exec(select(Experiment)).one()
        workspace = session.get(Workspace, experiment.workspace_id)
        assert workspace is not None
        assert (workspace.platform, workspace.external_id) == ("slack", TEAM)
        person = session.exec(select(Person)).one()
        assert (person.external_id, person.handle, person.is_guest) == (
            "U0CAMILLE",
            "camille",
            False,
        )
    assert lab.fake.calls.count("users.info") == 1
    assert lab.fake.calls.count("conversations.info") == 1


def test_errors_and_personal_views_are_ephemeral(lab: Lab) -> None:
    setup_bondy(lab)

    error = lab.body(lab.slack.command("/labo voir banane"))
    view = lab.body(lab.slack.command("/labo voir"))
    unknown = lab.body(lab.slack.command("/inconnue"))

    assert error["response_type"] == "ephemeral"
    assert "Aucune expérimentation `banane`" in error["text"]
    assert view["response_type"] == "ephemeral"
    assert "*Budget participatif de Bondy*" in lab.text(view)
    assert "Commande inconnue `/inconnue`" in unknown["text"]


def test_lookups_of_people_and_channels_are_cached(lab: Lab) -> None:
    setup_bondy(lab)
    for _ in range(3):
        lab.body(lab.slack.command("/labo voir"))

    assert lab.fake.calls.count("users.info") == 1
    assert lab.fake.calls.count("conversations.info") == 1


def test_text_comes_unescaped_and_bare_mentions_get_their_handle(lab: Lab) -> None:
    setup_bondy(lab)

    data = lab.body(lab.slack.command("/labo role <@U0MARIE> membre"))

    assert "@marie\u202f: membre" in lab.text(data)
    with Session(lab.engine) as session:
        marie = session.exec(select(Person).where(Person.external_id == "U0MARIE")).one()
        assert marie.handle == "marie"
    assert from_slack("Tom &amp; Jerry &lt;3 <https://x.org/a?b=1&amp;c=2|x.org> <!here>") == (
        "Tom & Jerry <3 https://x.org/a?b=1&c=2 @here"
    )


def test_a_retried_command_writes_once(lab: Lab) -> None:
    fields = lab.slack.command_fields('/labo creer bondy-bp "Budget participatif de Bondy"')

    first = lab.body(lab.slack.form(fields))
    events = lab.count(AuditEvent)
    again = lab.body(lab.slack.form(fields, headers={"X-Slack-Retry-Num": "1"}))

    assert first["response_type"] == "in_channel"
    assert again["text"] == "Cette demande a déjà été traitée."
    assert lab.count(Experiment) == 1
    assert lab.count(AuditEvent) == events
    assert lab.count(RequestReceipt) == 1


# -- safety: signature, timestamp, shape ---------------------------------------------------------


def test_every_request_must_be_signed_and_recent(lab: Lab) -> None:
    fields = lab.slack.command_fields('/labo creer bondy-bp "Budget participatif de Bondy"')
    body = lab.slack.command_fields("/labo liste")
    form = "application/x-www-form-urlencoded"
    from urllib.parse import urlencode

    raw = urlencode(fields).encode()
    stale = str(int(time.time()) - 6 * 60)
    answers = [
        lab.slack.form(fields, secret="not-the-secret"),
        lab.slack.form(fields, timestamp=stale),
        lab.slack.form(fields, timestamp=str(int(time.time()) + 6 * 60)),
        lab.slack.form(fields, timestamp="soon"),
        lab.slack.form(fields, signature=""),
        lab.slack.post(raw + b"&text=autre", form, signature=lab_signature(raw)),
        lab.slack.http.post("/slack/events", content=raw, headers={"Content-Type": form}),
    ]

    assert [a.status_code for a in answers] == [401] * len(answers)
    assert lab.count(Experiment) == 0
    assert lab.fake.calls.count("users.info") == 0
    assert lab.body(lab.slack.form(body))["response_type"] == "ephemeral"


def lab_signature(raw: bytes) -> str:
    from tests.bot.slack_wire import sign

    return sign(raw, str(int(time.time())))


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"payload=not-json", "application/x-www-form-urlencoded"),
        (b"payload=%5B1%2C2%5D", "application/x-www-form-urlencoded"),
        (b"payload=%7B%22no%22%3A%22type%22%7D", "application/x-www-form-urlencoded"),
        (b"command=%2Flabo&text=liste&team_id=T0LAB", "application/x-www-form-urlencoded"),
        (b"hello=world", "application/x-www-form-urlencoded"),
        (b"\xff\xfe\x00", "application/x-www-form-urlencoded"),
        (b"{not json", "application/json"),
        (b"[]", "application/json"),
    ],
)
def test_a_malformed_body_is_a_400(lab: Lab, body: bytes, content_type: str) -> None:
    assert lab.slack.post(body, content_type).status_code == 400


def test_a_malformed_interaction_is_a_400_never_a_500(lab: Lab) -> None:
    url = lab.fake.new_response_url()
    no_actions = click("undo#0", "x", response_url=url) | {"actions": []}
    no_user = {k: v for k, v in click("undo#0", "x", response_url=url).items() if k != "user"}
    bad_view = {"type": "view_submission", "team": {"id": TEAM}, "user": {"id": "U0CAMILLE"}}
    bad_state = view_submission(
        {"type": "modal", "callback_id": "essai.create", "blocks": []}, {}, view_id="V1"
    )
    bad_state["view"]["state"] = {"values": {"slug": "not an object"}}

    answers = [lab.slack.interaction(p) for p in (no_actions, no_user, bad_view, bad_state)]

    assert [a.status_code for a in answers] == [400, 400, 400, 400]
    assert lab.count(RequestReceipt) == 0


def test_malformed_but_validly_signed_payloads_are_a_400_and_write_nothing(lab: Lab) -> None:
    setup_bondy(lab)
    before = (lab.count(RequestReceipt), lab.count(AuditEvent), lab.count(Experiment))
    view = {"type": "modal", "callback_id": "essai.create", "blocks": []}
    no_view_type = view_submission(view, {}, view_id="V0NOTYPE")
    del no_view_type["view"]["type"]
    deep = "[" * 10_000 + "]" * 10_000
    deep_object = '{"type": "block_actions", "a": ' + deep + "}"
    form = "application/x-www-form-urlencoded"
    answers = [
        lab.slack.interaction(no_view_type),
        lab.slack.form({"payload": deep}),
        lab.slack.form({"payload": deep_object}),
        lab.slack.post(deep.encode(), "application/json"),
        lab.slack.form({"payload": "pas du JSON"}),
        lab.slack.form({"payload": json.dumps({"type": "view_submission", "view": "x"})}),
        lab.slack.post(b"payload=%7B%22type%22%3A%22block_actions%22", form),
    ]

    assert [a.status_code for a in answers] == [400] * len(answers)
    assert (lab.count(RequestReceipt), lab.count(AuditEvent), lab.count(Experiment)) == before


def raw_request(url: str, head: bytes, chunks: Iterator[bytes]) -> tuple[bytes, bool]:
    """Send ``head``, then ``chunks`` while the server has not answered; return what it
    answered and whether it cut the connection. A server that waits for the whole body
    takes all the chunks (or, sent none, makes the read time out): never a pass."""
    host, port = url.removeprefix("http://").split(":")
    answer = b""
    with socket.create_connection((host, int(port)), timeout=20) as sock:
        try:
            sock.sendall(head)
            for chunk in chunks:
                if io_select.select([sock], [], [], 0)[0]:
                    break
                sock.sendall(chunk)
            while b"\r\n\r\n" not in answer:
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
        except (BrokenPipeError, ConnectionResetError):
            return answer, True
    return answer, False


def test_a_huge_body_is_refused_while_it_streams_not_read_whole(lab: Lab) -> None:
    url = str(lab.slack.http.base_url).rstrip("/")
    sent = {"bytes": 0}
    piece = b"text=" + b"x" * 65_531

    def chunked(count: int) -> Iterator[bytes]:
        for _ in range(count):
            sent["bytes"] += len(piece)
            yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n"

    head = (
        b"POST /slack/events HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
    )

    declared, _ = raw_request(url, head + b"Content-Length: 52428800\r\n\r\n", iter(()))
    streamed, cut = raw_request(url, head + b"Transfer-Encoding: chunked\r\n\r\n", chunked(800))

    assert declared.startswith(b"HTTP/1.1 413"), declared[:200]  # before any of the body
    # Refused (or cut off, the 413 lost to the reset) long before the 50 MB were sent.
    assert streamed.startswith(b"HTTP/1.1 413") or cut, streamed[:200]
    # The kernel buffers some of what is written on both ends of a loopback connection
    # before the server reads it (a receive window that grows while the server reads its
    # first megabyte: 5 MB sent was seen on a loaded machine). 16 MB is well past that and
    # far from the 52 MB a server reading the body whole would take.
    assert sent["bytes"] < 16_000_000
    assert lab.count(RequestReceipt) == 0


def test_a_bug_is_an_apology_not_a_stack_trace(lab: Lab) -> None:
    data = lab.body(lab.slack.command("/essai panne"))

    assert data["response_type"] == "ephemeral"
    assert data["text"].startswith("Désolé, quelque chose s'est mal passé")


# -- the workspace scopes everything; partners of shared channels --------------------------------


def test_another_workspace_is_never_reached(lab: Lab) -> None:
    setup_bondy(lab)
    with Session(lab.engine) as session:
        other = Workspace(platform="slack", external_id="T0OTHER", name="Autre labo")
        session.add(other)
        session.flush()
        assert other.id is not None
        session.add(Experiment(workspace_id=other.id, slug="secret", name="Projet secret"))
        session.commit()

    mine = lab.body(lab.slack.command("/labo voir secret"))
    claimed = lab.body(lab.slack.command("/labo voir secret", user="U0ELU", team="T0OTHER"))
    listed = lab.body(lab.slack.command("/labo liste"))
    lab.body(lab.slack.command("/labo liste", user="U0ELU", team="T0OTHER"))

    assert "Aucune expérimentation `secret`" in mine["text"]
    assert "Aucune expérimentation `secret`" in claimed["text"]
    assert "Projet secret" not in json.dumps(listed)
    with Session(lab.engine) as session:
        elu = session.exec(select(Person).where(Person.external_id == "U0ELU")).one()
        home = session.exec(select(Workspace).where(Workspace.external_id == TEAM)).one()
        assert elu.workspace_id == home.id  # acted in the app's workspace, as a guest
        assert elu.is_guest


def test_a_partner_from_another_organisation_sees_no_budget(lab: Lab) -> None:
    setup_bondy(lab)
    lab.body(lab.slack.command("/labo reglages budget:45000"))
    bound = lab.body(
        lab.slack.command(
            "/labo lier bondy-bp", channel="C0PARTNERS", channel_name="bondy-partenaires"
        )
    )

    partner = lab.body(
        lab.slack.command("/labo voir", user="U0ELU", user_name="elu.bondy", channel="C0PARTNERS")
    )
    member_view = lab.body(lab.slack.command("/labo voir", channel="C0PARTNERS"))

    assert bound["response_type"] == "in_channel"
    with Session(lab.engine) as session:
        binding = session.exec(
            select(ChannelBinding).where(ChannelBinding.channel_id == "C0PARTNERS")
        ).one()
        assert binding.is_shared
        elu = session.exec(select(Person).where(Person.external_id == "U0ELU")).one()
        assert elu.is_guest
    assert "Budget participatif de Bondy" in lab.text(partner)
    assert "Budget" not in lab.text(partner).replace("Budget participatif", "")
    assert "45 000,00" in normalise(lab.text(member_view))


def test_a_slack_guest_is_a_partner_too(lab: Lab) -> None:
    setup_bondy(lab)

    lab.body(lab.slack.command("/labo voir", user="U0GUEST", user_name="invitee"))

    with Session(lab.engine) as session:
        guest = session.exec(select(Person).where(Person.external_id == "U0GUEST")).one()
        assert guest.is_guest
        assert guest.lab_role is None


def answers_at(lab: Lab, url: str) -> list[Any]:
    """What was posted to the ``response_url`` ``url``, waiting for the first (on a loaded
    machine the earlier commands' late replies may come through their own URLs too)."""
    path = url.removeprefix(lab.fake.url)
    seen = 1
    while True:
        mine = [c.body for c in lab.fake.calls.wait_for("response_url", seen) if c.path == path]
        if mine:
            return mine
        seen += 1


def test_someone_slack_cannot_look_up_is_asked_to_try_again_and_nothing_is_written(
    lab: Lab,
) -> None:
    """users.info fails and nobody remembers the person: neither a member's rights nor a
    partner's are guessed; the command, the click and the form are refused in the
    language of the command's word (French otherwise), and nothing is written."""
    lab.fake.fail_next("users.info", status=200, error="internal_error")
    french = lab.body(lab.slack.command('/labo creer bondy-bp "Budget participatif de Bondy"'))
    lab.fake.fail_next("users.info", status=200, error="internal_error")
    english = lab.body(lab.slack.command('/lab create bondy-bp "Participatory budget"'))

    assert french["response_type"] == "ephemeral"
    assert "Je n'arrive pas à vérifier qui vous êtes" in french["text"]
    assert "I cannot check who you are just now. Try again" in english["text"]
    for table in (Workspace, Person, Experiment, AuditEvent, RequestReceipt):
        assert lab.count(table) == 0, table
    assert lab.fake.calls.count("users.info") == 2

    setup_bondy(lab)  # Slack answers again: the same person may act
    echo = lab.body(lab.slack.command("/labo role <@U0MARIE|marie> membre"))
    undo = echo["blocks"][-1]["elements"][0]
    view = open_modal(lab, "/essai")
    written = (lab.count(Person), lab.count(AuditEvent), lab.count(RequestReceipt))
    url = lab.fake.new_response_url()
    lab.fake.fail_next("users.info", status=200, error="internal_error")
    clicked = lab.slack.interaction(
        click(undo["action_id"], undo["value"], user="U0GUEST", response_url=url)
    )
    lab.fake.fail_next("users.info", status=200, error="internal_error")
    sent = lab.slack.interaction(
        view_submission(
            view,
            {
                "slug": {"type": "plain_text_input", "value": "montreuil-ac"},
                "name": {"type": "plain_text_input", "value": "Assemblée citoyenne"},
                "owner": {"type": "users_select", "selected_user": None},
            },
            view_id="V0MODAL",
            user="U0GUEST",
        )
    )

    assert clicked.status_code == 200
    [answer] = answers_at(lab, url)
    assert "Je n'arrive pas à vérifier qui vous êtes" in answer["text"]
    assert answer["response_type"] == "ephemeral"
    assert lab.body(sent)["response_action"] == "errors"  # the form stays open
    assert "Réessayez" in lab.body(sent)["errors"]["slug"]
    assert (lab.count(Person), lab.count(AuditEvent), lab.count(RequestReceipt)) == written
    assert lab.count(Experiment) == 1
    with Session(lab.engine) as session:
        assert all(m.removed_at is None for m in session.exec(select(Membership)))


def test_when_slack_fails_the_last_answer_known_is_used_whatever_its_age(
    forgetful_lab: Lab,
) -> None:
    lab = forgetful_lab
    setup_bondy(lab)
    lab.body(lab.slack.command("/labo voir", user="U0GUEST", user_name="invitee"))
    asked = lab.fake.calls.count("users.info")
    lab.fake.fail_next("users.info", status=200, error="internal_error", times=2)

    member = lab.body(lab.slack.command("/labo voir"))
    guest = lab.body(lab.slack.command("/labo voir", user="U0GUEST", user_name="invitee"))

    assert lab.fake.calls.count("users.info") == asked + 2  # Slack was asked, and failed
    assert "*Budget participatif de Bondy*" in lab.text(member)
    assert "Budget participatif de Bondy" in lab.text(guest)
    assert "vérifier qui vous êtes" not in json.dumps([member, guest])
    with Session(lab.engine) as session:
        camille = session.exec(select(Person).where(Person.external_id == "U0CAMILLE")).one()
        guest_person = session.exec(select(Person).where(Person.external_id == "U0GUEST")).one()
        assert (camille.handle, camille.is_guest) == ("camille", False)
        assert (guest_person.handle, guest_person.is_guest) == ("invitee", True)


def test_slack_runs_in_the_one_runner_the_process_shares(
    engine: Engine, fake_slack: FakeSlack
) -> None:
    """Built without a runner, the Slack app takes the process's one for its engine and
    router (the pool Mattermost takes too), and closing the app closes it."""
    settings = Settings(
        _env_file=None,
        slack_bot_token=fake_slack.token,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake_slack.api_url,
        scheduler=False,
    )
    router = build_router()
    client = WebClient(token=fake_slack.token, base_url=fake_slack.api_url)
    app = build_slack_app(settings, engine, router, client)
    runner = app.adapter.runner

    assert runner is shared_runner(engine, router)
    app.close()
    assert shared_runner(engine, router) is not runner
    shared_runner(engine, router).close()


# -- buttons ----------------------------------------------------------------------------------------


def test_the_undo_button_undoes_once_even_when_double_clicked(lab: Lab) -> None:
    setup_bondy(lab)
    echo = lab.body(lab.slack.command("/labo role <@U0MARIE|marie> membre"))
    undo = echo["blocks"][-1]["elements"][0]
    assert lab.count(Membership) == 2
    url = lab.fake.new_response_url()
    now = time.time()

    first = lab.slack.interaction(
        click(undo["action_id"], undo["value"], response_url=url, action_ts=now)
    )
    second = lab.slack.interaction(
        click(undo["action_id"], undo["value"], response_url=url, action_ts=now + 0.4)
    )

    assert (first.status_code, second.status_code) == (200, 200)
    lab.fake.calls.wait_for("response_url", 2)
    answers = lab.fake.responses_to(url)
    texts = [a["text"] for a in answers]
    assert sum("Annulé" in t for t in texts) == 1
    assert "Cette demande a déjà été traitée." in texts
    assert all(a["replace_original"] is False for a in answers)
    with Session(lab.engine) as session:
        memberships = session.exec(select(Membership)).all()
        assert sorted(m.removed_at is None for m in memberships) == [False, True]
    assert lab.count(RequestReceipt) == 4  # two commands, the role, one click


def test_yes_no_yes_on_an_invitation_counts_three_times_a_double_click_once(lab: Lab) -> None:
    """A click brings no delivery id of its own: its key is who clicked which button of
    which message, within a short window (``bot.kit.keys.click_key``)."""
    setup_bondy(lab)
    scheduled = lab.body(lab.slack.command("/copil jeudi 10h"))
    buttons = [e for b in scheduled["blocks"] if b["type"] == "actions" for e in b["elements"]]
    by_answer = {
        b["value"].rsplit(":", 1)[-1]: b for b in buttons if b["action_id"].startswith("meeting")
    }
    now = time.time()
    clicks = [("yes", 0.0), ("no", 3.0), ("yes", 6.0), ("no", 9.0), ("no", 9.4)]
    url = lab.fake.new_response_url()

    for answer, later in clicks:
        button = by_answer[answer]
        sent = lab.slack.interaction(
            click(button["action_id"], button["value"], response_url=url, action_ts=now + later)
        )
        assert sent.status_code == 200
        lab.fake.calls.wait_for("response_url", 1 + clicks.index((answer, later)))

    texts = [a["text"] for a in lab.fake.responses_to(url)]
    assert [t == "Cette demande a déjà été traitée." for t in texts] == [False] * 4 + [True]
    with Session(lab.engine) as session:
        camille = session.exec(select(Person).where(Person.external_id == "U0CAMILLE")).one()
        invitation = session.exec(
            select(Invitation).where(Invitation.person_id == camille.id)
        ).one()
        assert invitation.response == "no"
        keys = session.exec(select(RequestReceipt.key)).all()
    assert len([k for k in keys if ":click:" in k]) == 4


# -- modals -------------------------------------------------------------------------------------------


def test_a_command_with_no_text_opens_a_modal_whose_errors_keep_it_open(lab: Lab) -> None:
    setup_bondy(lab)
    response_url = lab.fake.new_response_url()
    fields = lab.slack.command_fields("/essai", response_url=response_url)

    opened = lab.slack.form(fields)

    assert opened.status_code == 200
    assert opened.text == ""
    call = lab.fake.calls.last("views.open")
    assert call.body["trigger_id"] == fields["trigger_id"]
    view = (
        json.loads(call.body["view"]) if isinstance(call.body["view"], str) else call.body["view"]
    )
    assert view["callback_id"] == "essai.create"
    assert json.loads(view["private_metadata"]) == {"c": "C0BONDY", "s": "from-test"}
    assert [b["block_id"] for b in view["blocks"]] == ["slug", "name", "owner"]

    wrong = lab.slack.interaction(
        view_submission(
            view,
            {
                "slug": {"type": "plain_text_input", "value": "Pas Bon"},
                "name": {"type": "plain_text_input", "value": "Assemblée"},
                "owner": {"type": "users_select", "selected_user": None},
            },
            view_id="V0MODAL",
        )
    )
    assert lab.body(wrong)["response_action"] == "errors"
    assert list(lab.body(wrong)["errors"]) == ["slug"]
    assert "bondy-bp" in lab.body(wrong)["errors"]["slug"]
    assert lab.count(Experiment) == 1

    right = lab.slack.interaction(
        view_submission(
            view,
            {
                "slug": {"type": "plain_text_input", "value": "montreuil-ac"},
                "name": {"type": "plain_text_input", "value": "Assemblée citoyenne"},
                "owner": {"type": "users_select", "selected_user": "U0MARIE"},
            },
            view_id="V0MODAL",
        )
    )
    assert right.status_code == 200
    assert right.text == ""
    [posted] = lab.fake.calls.wait_for("chat.postMessage", 1)
    assert posted.body["channel"] == "C0BONDY"
    assert "Assemblée citoyenne" in posted.body["text"]
    assert lab.fake.responses_to(response_url) == []  # a form never answers there
    with Session(lab.engine) as session:
        created = session.exec(select(Experiment).where(Experiment.slug == "montreuil-ac")).one()
        assert created.territory == "@marie"


def open_modal(lab: Lab, line: str, **fields: Any) -> dict[str, Any]:
    """Type ``line``; the modal Coordo opened (``views.open``)."""
    answer = lab.slack.command(line, **fields)
    assert (answer.status_code, answer.text) == (200, "")
    view = lab.fake.calls.last("views.open").body["view"]
    return json.loads(view) if isinstance(view, str) else dict(view)


def submitted(lab: Lab, view: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """What the core received from a submission of ``view`` (the private answer)."""
    answer = lab.slack.interaction(view_submission(view, values, view_id="V0FIELDS"))
    assert (answer.status_code, answer.text) == (200, "")
    lab.fake.calls.wait_for("chat.postEphemeral", 1)
    return lab.received[-1]


def test_the_milestone_form_takes_the_owner_picked_in_the_user_picker(lab: Lab) -> None:
    """Slack's user picker sends a bare user id: it reaches the core as the person, who
    is in the team, not as someone unknown named ``<@U…|marie>``."""
    setup_bondy(lab)
    lab.body(lab.slack.command("/labo role <@U0MARIE|marie> membre"))
    view = open_modal(lab, "/jalon")
    assert [b["element"]["type"] for b in view["blocks"]] == [
        "plain_text_input",
        "plain_text_input",
        "users_select",
    ]

    answer = lab.slack.interaction(
        view_submission(
            view,
            {
                "title": {"type": "plain_text_input", "value": "Envoyer le bilan"},
                "due": {"type": "plain_text_input", "value": "15/01/2027"},
                "owner": {"type": "users_select", "selected_user": "U0MARIE"},
            },
            view_id="V0JALON",
        )
    )

    assert (answer.status_code, answer.text) == (200, "")
    with Session(lab.engine) as session:
        milestone = session.exec(select(Milestone)).one()
        owner = session.exec(select(MilestoneOwner)).one()
        person = session.get(Person, owner.person_id)
        assert milestone.title == "Envoyer le bilan"
        assert person is not None
        assert (person.external_id, person.handle) == ("U0MARIE", "marie")
        assert session.exec(select(func.count()).select_from(Person)).one() == 2
    [echo] = lab.fake.calls.wait_for("chat.postMessage", 1)
    assert "ne fait pas partie" not in echo.body["text"]
    assert "Envoyer le bilan" in echo.body["text"]


def test_every_field_type_reaches_the_core_as_the_core_expects(lab: Lab) -> None:
    lab.fake.add_user("U0KARIM", name="karim")
    view = open_modal(lab, "/essai champs")
    rendered = {b["block_id"]: b["element"]["type"] for b in view["blocks"]}
    assert rendered == {
        "text": "plain_text_input",
        "textarea": "plain_text_input",
        "number": "number_input",
        "date": "datepicker",
        "time": "timepicker",
        "select": "static_select",
        "user": "users_select",
    }

    seen = submitted(
        lab,
        view,
        {
            "text": {"type": "plain_text_input", "value": "Tom & Jerry <3"},
            "textarea": {"type": "plain_text_input", "value": "ligne 1\nligne 2"},
            "number": {"type": "number_input", "value": "12.5"},
            "date": {"type": "datepicker", "selected_date": "2026-12-15"},
            "time": {"type": "timepicker", "selected_time": "14:30"},
            "select": {
                "type": "static_select",
                "selected_option": {
                    "text": {"type": "plain_text", "text": "Choix B"},
                    "value": "b",
                },
            },
            "user": {"type": "users_select", "selected_user": "U0MARIE"},
            "people": {"type": "multi_users_select", "selected_users": ["U0MARIE", "U0KARIM"]},
            "channel": {"type": "channels_select", "selected_channel": "C0BONDY"},
            "conversation": {"type": "conversations_select", "selected_conversation": "C0BONDY"},
            "choices": {
                "type": "multi_static_select",
                "selected_options": [{"value": "a"}, {"value": "b"}],
            },
            "nothing": {"type": "users_select", "selected_user": None},
            "empty": {"type": "plain_text_input", "value": None},
        },
    )

    assert seen["values"] == {
        "text": "Tom & Jerry <3",
        "textarea": "ligne 1\nligne 2",
        "number": "12.5",
        "date": "2026-12-15",
        "time": "14:30",
        "select": "b",
        "user": "@marie",
        "people": "@marie @karim",
        "channel": "<#C0BONDY|bondy>",
        "conversation": "<#C0BONDY|bondy>",
        "choices": "a b",
        "nothing": "",
        "empty": "",
    }
    assert seen["mentioned"] == {"marie": "U0MARIE", "karim": "U0KARIM"}


def test_a_form_sent_after_its_commands_response_url_expired_still_answers(lab: Lab) -> None:
    """A modal kept open past 30 minutes: its confirmation and its echo go through the
    bot's API (the command's response_url is spent), and nothing is lost."""
    setup_bondy(lab)
    response_url = lab.fake.new_response_url()
    view = open_modal(lab, "/essai", response_url=response_url)
    lab.fake.clock.advance(31 * 60)  # type: ignore[attr-defined]

    answer = lab.slack.interaction(
        view_submission(
            view,
            {
                "slug": {"type": "plain_text_input", "value": "montreuil-ac"},
                "name": {"type": "plain_text_input", "value": "Assemblée citoyenne"},
                "owner": {"type": "users_select", "selected_user": None},
            },
            view_id="V0LATE",
        )
    )

    assert (answer.status_code, answer.text) == (200, "")
    [echo] = lab.fake.calls.wait_for("chat.postMessage", 1)
    assert echo.status == 200
    assert (echo.body["channel"], "Assemblée citoyenne" in echo.body["text"]) == ("C0BONDY", True)
    assert lab.fake.calls.count("response_url") == 0
    assert lab.count(Experiment) == 2


def test_a_forms_echo_the_bot_cannot_post_goes_to_the_person(lab: Lab) -> None:
    lab.fake.add_channel(
        "G0SECRET", "secret", is_private=True, bot_is_member=False, members=("U0CAMILLE",)
    )
    view = open_modal(lab, "/essai", channel="G0SECRET", channel_name="secret")

    answer = lab.slack.interaction(
        view_submission(
            view,
            {
                "slug": {"type": "plain_text_input", "value": "secret-ac"},
                "name": {"type": "plain_text_input", "value": "Atelier secret"},
                "owner": {"type": "users_select", "selected_user": None},
            },
            view_id="V0SECRET",
        )
    )

    assert answer.status_code == 200
    refused, direct = lab.fake.calls.wait_for("chat.postMessage", 2)
    assert refused.body["channel"] == "G0SECRET"
    assert direct.body["channel"] == lab.fake.dm_channel_for("U0CAMILLE")
    [message] = lab.fake.messages_in(lab.fake.dm_channel_for("U0CAMILLE"))
    assert "Atelier secret" in (message.text or "")


def test_a_private_answer_to_a_form_is_ephemeral_or_else_a_direct_message(lab: Lab) -> None:
    view = open_modal(lab, "/essai champs")
    assert submitted(lab, view, {"text": {"type": "plain_text_input", "value": "x"}})
    [ephemeral] = lab.fake.ephemeral
    assert (ephemeral.channel, ephemeral.user) == ("C0BONDY", "U0CAMILLE")

    lab.fake.add_channel("C0QUIET", "calme", bot_is_member=False, members=("U0CAMILLE",))
    view = open_modal(lab, "/essai champs", channel="C0QUIET", channel_name="calme")
    answer = lab.slack.interaction(
        view_submission(view, {"text": {"type": "plain_text_input", "value": "y"}}, view_id="V2")
    )

    assert answer.status_code == 200
    [direct] = lab.fake.calls.wait_for("chat.postMessage", 1)
    assert direct.body["channel"] == lab.fake.dm_channel_for("U0CAMILLE")
    assert "`y`" in direct.body["text"]
    assert lab.fake.calls.last("chat.postEphemeral").status == 200  # refused: ok false
    assert len(lab.fake.ephemeral) == 1


# -- slow work, long replies, files ------------------------------------------------------------------


def test_a_slow_command_is_acknowledged_at_once_and_answered_later(impatient_lab: Lab) -> None:
    lab = impatient_lab
    url = lab.fake.new_response_url()

    data = lab.body(lab.slack.command("/essai lent", response_url=url))

    assert data["response_type"] == "ephemeral"
    assert data["text"].startswith("⏳ C'est en cours")
    [late] = [c.body for c in lab.fake.calls.wait_for("response_url", 1)]
    assert late["text"] == "*Fini* après un long calcul"


def test_a_reply_goes_either_in_the_ack_or_later_never_both_nor_neither() -> None:
    in_time = Handoff()
    assert in_time.in_time()
    assert not in_time.give_up()
    late = Handoff()
    assert late.give_up()
    assert not late.in_time()
    # Racing: the listener's reply ready just as the endpoint's budget runs out.
    for _ in range(300):
        assert sorted(race(Handoff())) == [False, True]


def race(handoff: Handoff) -> list[bool]:
    claims: list[bool] = []
    start = threading.Barrier(2)

    def claim(side: str) -> None:
        start.wait()
        claims.append(handoff.in_time() if side == "listener" else handoff.give_up())

    threads = [threading.Thread(target=claim, args=(s,)) for s in ("listener", "endpoint")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return claims


def test_a_long_reply_is_paginated_within_slacks_limits(lab: Lab) -> None:
    url = lab.fake.new_response_url()

    first = lab.body(lab.slack.command("/essai long", response_url=url))

    lab.fake.calls.wait_for("response_url", 4)
    pages = [first, *lab.fake.responses_to(url)]
    assert [len(p["blocks"]) for p in pages] == [50, 50, 50, 50, 41]
    headers = [b["text"]["text"] for p in pages for b in p["blocks"] if b["type"] == "header"]
    assert headers == [f"Jalon {n}" for n in range(120)]


def test_files_go_to_the_channel_or_privately_to_the_person(lab: Lab) -> None:
    lab.body(lab.slack.command("/essai fichier"))
    lab.body(lab.slack.command("/essai fichier perso"))

    lab.fake.calls.wait_for("files.completeUploadExternal", 2)
    files = sorted(lab.fake.files.values(), key=lambda f: f.id)
    assert [f.channels for f in files] == [["C0BONDY"], [lab.fake.dm_channel_for("U0CAMILLE")]]
    assert files[0].content == b"date;montant\n2026-11-24;12,50\n"
    assert files[0].title == "Dépenses de Bondy"


# -- App Home -----------------------------------------------------------------------------------------


def test_the_home_tab_is_published_once_per_event(lab: Lab) -> None:
    setup_bondy(lab)

    first = lab.slack.event(home_opened("U0CAMILLE", event_id="Ev1"))
    retry = lab.slack.event(
        home_opened("U0CAMILLE", event_id="Ev1"), headers={"X-Slack-Retry-Num": "1"}
    )
    other = lab.slack.event(home_opened("U0MARIE", event_id="Ev2"))

    assert [first.status_code, retry.status_code, other.status_code] == [200, 200, 200]
    published = lab.fake.calls.wait_for("views.publish", 2)
    time.sleep(0.2)
    assert lab.fake.calls.count("views.publish") == 2
    # Slack took both (a view it refuses answers ok: false and shows nothing).
    assert sorted(v.user_id or "" for v in lab.fake.views.values()) == ["U0CAMILLE", "U0MARIE"]
    views = {c.body["user_id"]: c.body["view"] for c in published}
    camille = (
        json.loads(views["U0CAMILLE"])
        if isinstance(views["U0CAMILLE"], str)
        else views["U0CAMILLE"]
    )
    marie = json.loads(views["U0MARIE"]) if isinstance(views["U0MARIE"], str) else views["U0MARIE"]
    assert camille["type"] == "home"
    headers = [b["text"]["text"] for b in camille["blocks"] if b["type"] == "header"]
    assert headers == ["Mes jalons", "Mes prochaines réunions", "Expérimentations que je coordonne"]
    assert [b["text"]["text"] for b in marie["blocks"] if b["type"] == "header"] == [
        "My milestones",
        "My next meetings",
    ]


def test_the_refresh_button_of_the_home_tab_publishes_it_again(lab: Lab) -> None:
    setup_bondy(lab)
    payload = click("home.show#0", "", response_url="")
    payload.pop("response_url")
    payload.pop("channel")
    payload["container"] = {"type": "view", "view_id": "V0HOME"}
    payload["view"] = {"id": "V0HOME", "type": "home"}

    assert lab.slack.interaction(payload).status_code == 200

    [call] = lab.fake.calls.wait_for("views.publish", 1)
    assert call.body["user_id"] == "U0CAMILLE"


def test_url_verification_is_answered(lab: Lab) -> None:
    answer = lab.slack.event({"type": "url_verification", "challenge": "abc123", "token": "t"})

    assert lab.body(answer) == {"challenge": "abc123"}


# -- Socket Mode --------------------------------------------------------------------------------------


def test_socket_mode_requests_reach_the_same_listeners(lab: Lab) -> None:
    fields = lab.slack.command_fields('/labo creer bondy-bp "Budget participatif de Bondy"')
    request = SocketModeRequest(type="slash_commands", envelope_id="env-1", payload=fields)

    answer = run_bolt_app(lab.app.bolt, request)

    assert answer.status == 200
    assert json.loads(answer.body)["response_type"] == "in_channel"
    assert lab.count(Experiment) == 1


# -- start-up ------------------------------------------------------------------------------------


def test_serve_starts_when_slack_is_unreachable_says_so_once_and_answers_ssl_check(
    tmp_path: Path,
) -> None:
    """``python -m bot serve`` with Slack configured but out of reach (Bolt asks
    ``auth.test`` at start): the server starts, one log line says what failed, no
    traceback, and Slack's ``ssl_check`` gets its 200."""
    closed = free_port()  # nobody listens there
    port = free_port()
    env = process_env(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'coordo.db'}",
            "SLACK_BOT_TOKEN": "xoxb-unreachable",
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": f"http://127.0.0.1:{closed}/api/",
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "SCHEDULER": "false",
            "EXPORTS_DIR": str(tmp_path),
        }
    )
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve"],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(base, server)
        except RuntimeError as e:
            raise AssertionError(log.read_text()) from e
        body = b"ssl_check=1&token=legacy-verification-token"
        stamp = str(int(time.time()))
        check = httpx.post(
            f"{base}/slack/events",
            content=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": stamp,
                "X-Slack-Signature": sign(body, stamp),
            },
        )
        assert check.status_code == 200, check.text
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    output = log.read_text()
    assert "Traceback" not in output, output
    said = [line for line in output.splitlines() if "Slack" in line and "auth.test" in line]
    assert len(said) == 1, output
    assert "retry" in said[0]


def test_a_date_poll_answered_with_its_buttons_is_updated_in_place(lab: Lab) -> None:
    """The poll's message goes to the channel through the outbox with its buttons; the
    partner's click is answered to them alone (never replacing the channel's message),
    and the message is updated in place with the counts (``chat.update``)."""
    setup_bondy(lab)
    made = lab.slack.command(
        '/copil sondage "COPIL de janvier" 12/01/2027 14h, 14/01/2027 10h <@U0ELU|elu.bondy>'
    )
    assert made.status_code == 200
    if made.text:  # answered in the ack; on a loaded machine, later through response_url
        assert made.json()["response_type"] == "ephemeral"
        assert "Sondage n°1 créé" in normalise(lab.text(made.json()))
    wait_for_poll(lab.engine)
    settings = Settings(
        _env_file=None,
        slack_bot_token=lab.fake.token,
        slack_api_url=lab.fake.api_url,
        scheduler=False,
    )
    ports, renderers = ports_from_settings(settings)
    sender = Sender(lab.engine, ports, renderers=renderers, concurrency=1, pacing={})
    sender.run_until_idle()
    [message] = [m for m in lab.fake.messages_in("C0BONDY") if "sondage" in (m.text or "")]
    assert message.blocks is not None
    buttons = [e for b in message.blocks if b["type"] == "actions" for e in b["elements"]]
    assert [b["text"]["text"] for b in buttons][:3] == ["1 · Oui", "1 · Si besoin", "1 · Non"]
    url = lab.fake.new_response_url()
    answer = lab.slack.interaction(
        click(
            buttons[0]["action_id"],
            buttons[0]["value"],
            user="U0ELU",
            message_ts=message.ts,
            response_url=url,
        )
    )
    assert answer.status_code == 200
    lab.fake.calls.wait_for("response_url", 1)
    (said,) = lab.fake.responses_to(url)
    assert said["response_type"] == "ephemeral"
    assert said["replace_original"] is False
    assert "C'est noté" in normalise(said["text"])
    sender.run_until_idle()
    assert message.edited
    assert "✅ 1 oui" in normalise(message.text or "")
    assert (
        len([e for b in message.blocks or [] if b["type"] == "actions" for e in b["elements"]]) == 6
    )
