"""Mattermost's requests, as a Mattermost server sends them, to the real web app under a
real uvicorn server; the bot account's API calls go to the fake Mattermost server."""

from __future__ import annotations

import base64
import json
import os
import threading
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, SQLModel, col, select

from bot.mattermost_app import click_request_key, fit_bytes
from bot.platforms.render import ButtonClick
from bot.scheduler import ports_from_settings
from bot.sender import Sender
from bot.settings import Settings
from bot.web import create_app
from commands import lab
from commands.args import parse_args
from commands.core import EXPERIMENT_OPTIONS, Context, Family, Router, Subcommand
from commands.errors import UserError
from commands.registry import build_router
from commands.reply import File, Form, FormField, Reply, Visibility
from models import (
    AuditEvent,
    DatePoll,
    Experiment,
    Invitation,
    Membership,
    Person,
    RequestReceipt,
    Role,
    Workspace,
)
from tests.fakes import mattermost_rules as rules
from tests.fakes._server import ManualClock
from tests.fakes.mattermost_api import (
    COMMAND_RESPONSE,
    CREATE_POST,
    GET_USER,
    UPLOAD_FILE,
    Dialog,
    FakeMattermost,
    MattermostChannel,
    MattermostUser,
)
from tests.live import serve

LABO_TOKEN = "labo-command-token-0001"
DEPENSE_TOKEN = "depense-command-token-02"
# Mattermost makes one token per slash command: each trigger word has its own.
TOKENS = {
    "labo": LABO_TOKEN,
    "depense": DEPENSE_TOKEN,
    "essai": "essai-command-token-0003",
    "jalon": "jalon-command-token-0004",
    "copil": "copil-command-token-0005",
    "coordo": "coordo-command-token-006",
}
COMMAND_TOKEN = "the token of the command"  # Lab.form's default: TOKENS[command]
PUBLIC_URL = "https://coordo.example.org"


def trigger_id() -> str:
    """The shape of a Mattermost trigger id: base64 of ids, a time and a signature."""
    return base64.b64encode(os.urandom(60)).decode()


# -- a test family: a form, a slow command, files ---------------------------------------


def essai_family(gate: threading.Event) -> Router:
    """Coordo's router plus ``/essai``, exercising what the lab family does not yet:
    a form (``/essai``), a slow command (``/essai lent``) and files (``/essai fichier``)."""
    router = build_router()

    def form(ctx: Context, args: Any) -> Reply:
        return Reply(
            text="Usage : `/essai identifiant nom`",
            form=Form(
                callback="essai.create",
                title="Nouvelle expérimentation du labo",
                submit_label="Créer",
                fields=(
                    FormField("slug", "Identifiant", placeholder="bondy-bp"),
                    FormField("name", "Nom"),
                    FormField("start", "Début de l'expérimentation (jj/mm/aaaa)", required=False),
                    FormField("lead", "Coordination", kind="user", required=False),
                ),
                state="v1",
            ),
        )

    def slow(ctx: Context, args: Any) -> Reply:
        assert gate.wait(10), "the test never released the slow command"
        return Reply(text="Enfin prêt", visibility=Visibility.CHANNEL)

    def files(ctx: Context, args: Any) -> Reply:
        where = Visibility.CHANNEL if args.words == ["canal"] else Visibility.EPHEMERAL
        export = File("export.csv", b"poste;montant\nanimation;1200\n", "Export du budget")
        return Reply(text="Export prêt", visibility=where, files=[export])

    def create(ctx: Context, values: dict[str, str]) -> Reply:
        start = values.get("start", "")
        if start:
            try:
                lab.parse_day(ctx, start)
            except UserError as error:
                raise UserError(error.key, field="start", **error.params) from None
        text = f'{values["slug"]} "{values["name"]}"' + (f" debut:{start}" if start else "")
        reply = lab.create(ctx, parse_args(text, lab.CREATE_OPTIONS))
        if values.get("lead"):
            role = f"{values['lead']} coordinateur expe:{values['slug']}"
            lab.role(ctx, parse_args(role, EXPERIMENT_OPTIONS))
        return reply

    def private_form(ctx: Context, args: Any) -> Reply:
        note = FormField("note", "Note", kind="textarea")
        return Reply(
            text="Usage : `/essai prive note`", form=Form("essai.private", "Note", "OK", (note,))
        )

    def every_kind(ctx: Context, args: Any) -> Reply:
        lines = (("animation", "Animation"), ("logistique", "Logistique"))
        fields = (
            FormField("titre", "Titre"),
            FormField("note", "Note", kind="textarea", required=False),
            FormField("montant", "Montant", kind="number", placeholder="1 250,50 €"),
            FormField("jour", "Jour", kind="date", required=False),
            FormField("poste", "Poste", kind="select", options=lines, initial="autre"),
            FormField("avis", "Avis", kind="radio", options=(("oui", "Oui"), ("non", "Non"))),
            FormField("public", "Public", kind="bool", required=False, initial="true"),
            FormField("qui", "Responsable", kind="user", required=False),
            FormField("ou", "Canal", kind="channel", required=False),
        )
        return Reply(text="Formulaire", form=Form("essai.all", "Tout", "OK", fields))

    def all_values(ctx: Context, values: dict[str, str]) -> Reply:
        return Reply(text=json.dumps(values, sort_keys=True, ensure_ascii=False))

    def private(ctx: Context, values: dict[str, str]) -> Reply:
        return Reply(text=f"Noté pour vous seul : {values['note']}")

    router.add(
        Family(
            "essai",
            {"essai": "fr"},
            subcommands=(
                Subcommand("slow", {"lent": "fr"}, slow),
                Subcommand("files", {"fichier": "fr"}, files),
                Subcommand("private", {"prive": "fr"}, private_form),
                Subcommand("all", {"tout": "fr"}, every_kind),
            ),
            empty=Subcommand("form", {}, form),
        )
    )
    router.add_form("essai.create", create)
    router.add_form("essai.private", private)
    router.add_form("essai.all", all_values)
    return router


# -- the lab on a Mattermost server -----------------------------------------------------


@dataclass
class Lab:
    mm: FakeMattermost
    http: httpx.Client
    engine: Engine
    app: Any
    gate: threading.Event
    camille: MattermostUser
    marie: MattermostUser
    lucas: MattermostUser
    elu: MattermostUser
    channel: MattermostChannel

    def form(
        self,
        user: MattermostUser,
        text: str,
        *,
        command: str = "labo",
        token: str | None = COMMAND_TOKEN,
        channel: MattermostChannel | None = None,
        trigger: str | None = None,
        mentions: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """The fields of a custom slash command request, as Mattermost sends them."""
        channel = channel or self.channel
        fields: dict[str, Any] = {
            "channel_id": channel.id,
            "channel_name": channel.name,
            "command": f"/{command}",
            "response_url": self.mm.new_response_url(),
            "root_id": "",
            "team_domain": "labo",
            "team_id": self.mm.team_id,
            "text": text,
            "trigger_id": trigger or self.mm.new_trigger_id(user.id),
            "user_id": user.id,
            "user_name": user.username,
        }
        if token == COMMAND_TOKEN:
            token = TOKENS[command]
        if token is not None:
            fields["token"] = token
        if mentions:
            fields["user_mentions"] = list(mentions)
            fields["user_mentions_ids"] = list(mentions.values())
        return fields

    def command(
        self,
        user: MattermostUser,
        text: str,
        *,
        header: str | None = None,
        method: str = "POST",
        **kwargs: Any,
    ) -> httpx.Response:
        fields = self.form(user, text, **kwargs)
        token = fields.get("token")
        headers = {"Accept": "application/json"}
        if header is not None:
            headers["Authorization"] = header
        elif token is not None:
            headers["Authorization"] = f"Token {token}"
        if method == "GET":
            answer = self.http.get("/mattermost/command", params=fields, headers=headers)
        else:
            answer = self.http.post("/mattermost/command", data=fields, headers=headers)
        if answer.status_code == 200:  # what the server would make of it
            rules.parse_command_response(answer.headers["content-type"], answer.content)
        return answer

    def click(
        self,
        user: MattermostUser,
        action: dict[str, Any],
        *,
        post_id: str = "post0000000000000000000001",
        team_id: str | None = None,
        channel: MattermostChannel | None = None,
        trigger: str | None = None,
    ) -> httpx.Response:
        """A click on ``action`` (an action of an attachment Coordo sent), as the
        Mattermost server forwards it to the integration URL."""
        channel = channel or self.channel
        assert action["integration"]["url"] == PUBLIC_URL + "/mattermost/actions"
        payload = {
            "user_id": user.id,
            "user_name": user.username,
            "channel_id": channel.id,
            "channel_name": channel.name,
            "team_id": self.mm.team_id if team_id is None else team_id,
            "team_domain": "labo",
            "post_id": post_id,
            "trigger_id": trigger or self.mm.new_trigger_id(user.id),
            "type": "button",
            "data_source": "",
            "context": action["integration"]["context"],
        }
        answer = self.http.post("/mattermost/actions", json=payload)
        if answer.status_code == 200:
            assert rules.action_response_problems(answer.json()) == []
        return answer

    def submit(
        self,
        user: MattermostUser,
        dialog: Dialog,
        submission: dict[str, Any],
        *,
        cancelled: bool = False,
    ) -> httpx.Response:
        assert dialog.url == PUBLIC_URL + "/mattermost/dialogs"
        payload = {
            "type": "dialog_submission" if not cancelled else "dialog_cancelled",
            "callback_id": dialog.dialog["callback_id"],
            "state": dialog.dialog["state"],
            "user_id": user.id,
            "channel_id": self.channel.id,
            "team_id": self.mm.team_id,
            "submission": submission,
            "cancelled": cancelled,
        }
        answer = self.http.post("/mattermost/dialogs", json=payload)
        if answer.status_code == 200:
            assert rules.dialog_response_problems(answer.json()) == []
        return answer

    def count(self, table: type[SQLModel]) -> int:
        with Session(self.engine) as session:
            return int(session.exec(select(func.count()).select_from(table)).one())

    def counts(self) -> dict[str, int]:
        tables = (Workspace, Person, Experiment, AuditEvent, RequestReceipt, Membership)
        return {t.__name__: self.count(t) for t in tables}


@pytest.fixture
def mattermost_lab(
    database_url: str, engine: Engine, fake_mattermost: FakeMattermost
) -> Iterator[Lab]:
    mm = fake_mattermost
    settings = Settings(
        database_url=database_url,
        public_url=PUBLIC_URL,
        mattermost_url=mm.url,
        mattermost_bot_token=mm.token,
        mattermost_command_tokens=[f"{word}:{token}" for word, token in TOKENS.items()],
        scheduler=False,
    )
    gate = threading.Event()
    app = create_app(settings, essai_family(gate))
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as http:
        yield Lab(
            mm=mm,
            http=http,
            engine=engine,
            app=app,
            gate=gate,
            camille=mm.add_user(username="camille", locale="fr"),
            marie=mm.add_user(username="marie", locale="en"),
            lucas=mm.add_user(username="lucas"),
            elu=mm.add_user(username="elu.bondy", roles="system_guest system_user"),
            channel=mm.add_channel(name="bondy"),
        )
        gate.set()


def start_lab(lab_: Lab) -> None:
    """Camille, first in, creates the Bondy experiment and binds the channel."""
    created = lab_.command(
        lab_.camille, """creer bondy-bp "Budget participatif de Bondy" budget:45000"""
    )
    assert created.status_code == 200, created.text
    bound = lab_.command(lab_.camille, "lier bondy-bp partage:oui")
    assert bound.json()["response_type"] == "in_channel", bound.text


# -- slash commands ---------------------------------------------------------------------


def test_a_slash_command_is_answered_with_mattermost_json(mattermost_lab: Lab) -> None:
    answer = mattermost_lab.command(mattermost_lab.camille, "aide")

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert body["response_type"] == "ephemeral"
    assert "/labo" in body["text"]


def test_a_change_is_posted_in_the_channel_with_an_undo_button(mattermost_lab: Lab) -> None:
    answer = mattermost_lab.command(
        mattermost_lab.camille, 'creer bondy-bp "Budget participatif de Bondy" budget:45000'
    )

    body = answer.json()
    assert body["response_type"] == "in_channel"
    assert "**Budget participatif de Bondy**" in body["text"]
    [attachment] = body["attachments"]
    [action] = attachment["actions"]
    assert action["name"] == "Annuler"
    assert action["type"] == "button"
    assert mattermost_lab.count(Experiment) == 1


def test_the_token_may_come_in_the_header_alone_and_by_get(mattermost_lab: Lab) -> None:
    by_header = mattermost_lab.command(
        mattermost_lab.camille, "aide", token=None, header=f"Token {LABO_TOKEN}"
    )
    by_get = mattermost_lab.command(mattermost_lab.camille, "aide", method="GET")

    assert by_header.status_code == 200
    assert by_get.status_code == 200
    assert "/labo" in by_get.json()["text"]


@pytest.mark.parametrize(
    ("command", "token"),
    [
        ("depense", LABO_TOKEN),  # /labo's token does not run /depense
        ("labo", DEPENSE_TOKEN),
        ("essai", TOKENS["jalon"]),
    ],
)
def test_a_command_token_runs_its_own_trigger_word_only(
    mattermost_lab: Lab, command: str, token: str
) -> None:
    answer = mattermost_lab.command(mattermost_lab.camille, "aide", command=command, token=token)
    own = mattermost_lab.command(mattermost_lab.camille, "aide", command=command)

    assert answer.status_code == 401
    assert own.status_code == 200
    assert mattermost_lab.count(RequestReceipt) == 0


def test_a_single_bare_token_still_serves_every_command(database_url: str) -> None:
    settings = Settings(database_url=database_url, mattermost_command_tokens=[LABO_TOKEN])

    assert settings.mattermost_token_pairs() == [(None, LABO_TOKEN)]
    with pytest.raises(ValueError, match="trigger word"):
        Settings(database_url=database_url, mattermost_command_tokens=[LABO_TOKEN, DEPENSE_TOKEN])
    with pytest.raises(ValueError, match="trigger word"):
        Settings(
            database_url=database_url,
            mattermost_command_tokens=f"labo:{LABO_TOKEN},{DEPENSE_TOKEN}",
        )
    assert Settings(
        database_url=database_url, mattermost_command_tokens=f"/Labo:{LABO_TOKEN}"
    ).mattermost_token_pairs() == [("labo", LABO_TOKEN)]


@pytest.mark.parametrize(
    ("token", "header"),
    [
        (None, None),  # no token at all
        ("not-a-configured-token", None),
        (LABO_TOKEN, "Token not-a-configured-token"),  # the header disagrees
        (None, f"Bearer {LABO_TOKEN}"),  # not a command token's scheme, and no form token
        ("not-a-configured-token", f"Bearer {LABO_TOKEN}"),
        (LABO_TOKEN[:-1], None),  # almost
    ],
)
def test_a_wrong_or_missing_token_gets_401_and_writes_nothing(
    mattermost_lab: Lab, token: str | None, header: str | None
) -> None:
    answer = mattermost_lab.command(
        mattermost_lab.camille, 'creer bondy-bp "Budget participatif"', token=token, header=header
    )

    assert answer.status_code == 401
    assert set(mattermost_lab.counts().values()) == {0}
    assert mattermost_lab.mm.calls.count() == 0  # not even a look-up of the user


def test_a_header_of_another_scheme_leaves_the_form_token_to_decide(mattermost_lab: Lab) -> None:
    answer = mattermost_lab.command(
        mattermost_lab.camille, "aide", header="Bearer an-oauth-access-token"
    )

    assert answer.status_code == 200


def test_a_repeated_request_writes_once(mattermost_lab: Lab) -> None:
    same = trigger_id()
    first = mattermost_lab.command(mattermost_lab.camille, "creer bondy-bp Bondy", trigger=same)
    again = mattermost_lab.command(mattermost_lab.camille, "creer bondy-bp Bondy", trigger=same)

    assert first.json()["response_type"] == "in_channel"
    assert again.json() == {
        "response_type": "ephemeral",
        "text": "Cette demande a déjà été traitée.",
        "skip_slack_parsing": True,
    }
    assert mattermost_lab.count(Experiment) == 1
    assert mattermost_lab.count(RequestReceipt) == 1


def test_people_mentioned_are_known_by_their_mattermost_ids(mattermost_lab: Lab) -> None:
    start_lab(mattermost_lab)
    lucas = mattermost_lab.lucas

    answer = mattermost_lab.command(
        mattermost_lab.camille,
        "role @lucas membre",
        mentions={"lucas": lucas.id},
    )

    # Named, not notified: the handle is kept from the mention by a zero-width space.
    assert answer.json()["text"].startswith("👥 @\u200blucas")
    with Session(mattermost_lab.engine) as session:
        person = session.exec(select(Person).where(Person.handle == "lucas")).one()
        assert person.external_id == lucas.id
    # Lucas now types his first command and is the same person.
    team = mattermost_lab.command(lucas, "equipe")
    assert team.status_code == 200
    assert mattermost_lab.count(Person) == 2


def test_words_of_no_language_are_answered_in_the_account_s_own(mattermost_lab: Lab) -> None:
    camille = mattermost_lab.command(mattermost_lab.camille, "", command="coordo")
    marie = mattermost_lab.command(mattermost_lab.marie, "", command="coordo")

    assert "Chaque commande existe aussi en anglais" in camille.json()["text"]
    assert "Every command also exists in French" in marie.json()["text"]


def test_a_guest_account_is_a_partner_who_sees_no_budget(mattermost_lab: Lab) -> None:
    start_lab(mattermost_lab)
    coordinator_view = mattermost_lab.command(mattermost_lab.camille, "voir").json()["text"]

    answer = mattermost_lab.command(mattermost_lab.elu, "voir")

    assert "45 000" in coordinator_view.replace("\u202f", " ").replace("\u00a0", " ")
    text = answer.json()["text"]
    assert "Budget participatif de Bondy" in text
    assert "45" not in text
    with Session(mattermost_lab.engine) as session:
        elu = session.exec(select(Person).where(Person.handle == "elu.bondy")).one()
        assert elu.is_guest
        assert elu.lab_role is None


def test_a_failed_lookup_of_the_user_answers_an_apology_and_writes_nothing(
    mattermost_lab: Lab,
) -> None:
    mattermost_lab.mm.fail_next(GET_USER, status=503)

    answer = mattermost_lab.command(mattermost_lab.camille, "creer bondy-bp Bondy")

    assert answer.status_code == 200
    assert answer.json()["text"].startswith("Désolé")
    assert mattermost_lab.count(Experiment) == 0


def test_when_the_server_cannot_say_who_someone_is_a_known_person_goes_on(
    mattermost_lab: Lab,
) -> None:
    start_lab(mattermost_lab)
    mattermost_lab.command(mattermost_lab.elu, "voir")
    adapter = mattermost_lab.app.state.mattermost
    adapter.user_ttl = 0  # every answer is stale: each command asks again
    mattermost_lab.mm.fail_next(GET_USER, status=503)

    by_last_answer = mattermost_lab.command(mattermost_lab.camille, "voir")
    adapter._users.clear()  # a new process: nothing remembered
    mattermost_lab.mm.fail_next(GET_USER, status=503)
    by_database = mattermost_lab.command(mattermost_lab.elu, "voir")

    assert "45 000" in by_last_answer.json()["text"].replace("\u202f", " ").replace("\xa0", " ")
    partner_view = by_database.json()["text"]
    assert "Budget participatif de Bondy" in partner_view
    assert "45" not in partner_view  # still a guest


def test_a_rate_limited_look_up_is_tried_again_after_the_wait(mattermost_lab: Lab) -> None:
    mattermost_lab.mm.fail_next(GET_USER, status=429, retry_after=1)

    answer = mattermost_lab.command(mattermost_lab.camille, "creer bondy-bp Bondy")

    assert answer.json()["response_type"] == "in_channel"
    assert mattermost_lab.mm.calls.count(GET_USER) == 2


def test_a_slow_command_is_acknowledged_then_answered_through_response_url(
    mattermost_lab: Lab,
) -> None:
    mattermost_lab.app.state.mattermost.ack_seconds = 0.2
    fields = mattermost_lab.form(mattermost_lab.camille, "lent", command="essai")

    answer = mattermost_lab.http.post(
        "/mattermost/command", data=fields, headers={"Authorization": f"Token {fields['token']}"}
    )

    assert answer.status_code == 200
    assert answer.json()["text"].startswith("⏳")
    assert mattermost_lab.mm.responses_to(fields["response_url"]) == []
    mattermost_lab.gate.set()
    mattermost_lab.mm.calls.wait_for(COMMAND_RESPONSE)
    assert mattermost_lab.mm.responses_to(fields["response_url"]) == [
        {"response_type": "in_channel", "text": "Enfin prêt", "skip_slack_parsing": True}
    ]


# -- files ------------------------------------------------------------------------------


def test_files_of_a_channel_reply_are_uploaded_to_the_channel(mattermost_lab: Lab) -> None:
    answer = mattermost_lab.command(mattermost_lab.camille, "fichier canal", command="essai")

    assert answer.json()["text"] == "Export prêt"
    mattermost_lab.mm.calls.wait_for(CREATE_POST)
    [upload] = mattermost_lab.mm.calls(UPLOAD_FILE)
    assert upload.body["fields"]["channel_id"] == mattermost_lab.channel.id
    assert upload.body["files"] == [("export.csv", b"poste;montant\nanimation;1200\n")]
    [post] = mattermost_lab.mm.posts_in(mattermost_lab.channel.id)
    assert post["file_ids"]


def test_files_of_a_private_reply_go_to_the_person(mattermost_lab: Lab) -> None:
    mattermost_lab.command(mattermost_lab.camille, "fichier", command="essai")

    mattermost_lab.mm.calls.wait_for(CREATE_POST)
    dm = mattermost_lab.mm.direct_channel_id(
        mattermost_lab.mm.bot_user_id, mattermost_lab.camille.id
    )
    [upload] = mattermost_lab.mm.calls(UPLOAD_FILE)
    assert upload.body["fields"]["channel_id"] == dm
    assert mattermost_lab.mm.posts_in(mattermost_lab.channel.id) == []


def test_a_file_the_bot_may_not_post_in_the_channel_goes_to_the_person(
    mattermost_lab: Lab,
) -> None:
    mattermost_lab.mm.fail_next(UPLOAD_FILE, status=403, error="api.context.permissions.app_error")
    fields = mattermost_lab.form(mattermost_lab.camille, "fichier canal", command="essai")

    mattermost_lab.http.post(
        "/mattermost/command", data=fields, headers={"Authorization": f"Token {fields['token']}"}
    )

    mattermost_lab.mm.calls.wait_for(COMMAND_RESPONSE)
    dm = mattermost_lab.mm.direct_channel_id(
        mattermost_lab.mm.bot_user_id, mattermost_lab.camille.id
    )
    uploads = mattermost_lab.mm.calls(UPLOAD_FILE)
    assert [u.status for u in uploads] == [403, 201]
    assert uploads[1].body["fields"]["channel_id"] == dm
    [notice] = mattermost_lab.mm.responses_to(fields["response_url"])
    assert "message direct" in notice["text"]


# -- buttons ----------------------------------------------------------------------------


def undo_events(lab_: Lab) -> int:
    with Session(lab_.engine) as session:
        query = (
            select(func.count()).select_from(AuditEvent).where(col(AuditEvent.undo_of).is_not(None))
        )
        return int(session.exec(query).one())


def test_the_undo_button_undoes_once(mattermost_lab: Lab) -> None:
    created = mattermost_lab.command(mattermost_lab.camille, "creer bondy-bp Bondy").json()
    [action] = created["attachments"][0]["actions"]

    first = mattermost_lab.click(mattermost_lab.camille, action)
    undone = undo_events(mattermost_lab)
    # A second click, seconds later (sooner, it is a double click: "already handled").
    mattermost_lab.app.state.mattermost.clock = lambda: datetime.now(UTC) + timedelta(seconds=5)
    again = mattermost_lab.click(mattermost_lab.camille, action)

    assert first.status_code == 200
    assert first.json()["ephemeral_text"].startswith("↩️")
    assert again.json() == {"ephemeral_text": "C'est déjà annulé."}
    assert undone > 0
    assert undo_events(mattermost_lab) == undone
    with Session(mattermost_lab.engine) as session:
        assert session.exec(select(Experiment)).one().archived_at is not None


def test_an_exact_replay_of_a_click_writes_once(mattermost_lab: Lab) -> None:
    created = mattermost_lab.command(mattermost_lab.camille, "creer bondy-bp Bondy").json()
    [action] = created["attachments"][0]["actions"]
    trigger = mattermost_lab.mm.new_trigger_id(mattermost_lab.camille.id)

    first = mattermost_lab.click(mattermost_lab.camille, action, trigger=trigger)
    undone = undo_events(mattermost_lab)
    replay = mattermost_lab.click(mattermost_lab.camille, action, trigger=trigger)

    assert first.json()["ephemeral_text"].startswith("↩️")
    assert replay.json() == {"ephemeral_text": "Cette demande a déjà été traitée."}
    assert undo_events(mattermost_lab) == undone


def test_a_click_without_a_trigger_id_falls_back_to_a_short_window() -> None:
    click = ButtonClick("meeting.rsvp", "7:yes", ephemeral=False, team_id="T1")
    payload = {"user_id": "u1", "post_id": "p1"}
    at = datetime(2026, 12, 3, 10, 0, 1, tzinfo=UTC)

    one = click_request_key(payload, click, at)

    assert click_request_key(payload, click, at + timedelta(seconds=2)) == one
    assert click_request_key(payload, click, at + timedelta(seconds=30)) != one
    assert click_request_key({**payload, "trigger_id": "t1"}, click, at) != click_request_key(
        {**payload, "trigger_id": "t2"}, click, at
    )


def test_yes_no_yes_on_an_invitation_counts_every_click(mattermost_lab: Lab) -> None:
    """Mattermost sends no delivery id with a click, but a new trigger id each time: the
    third click, the same button as the first, is an answer too."""
    start_lab(mattermost_lab)
    scheduled = mattermost_lab.command(mattermost_lab.camille, "jeudi 10h", command="copil")
    actions = [a for att in scheduled.json()["attachments"] for a in att.get("actions", [])]
    by_answer = {
        a["integration"]["context"]["value"].rsplit(":", 1)[-1]: a
        for a in actions
        if a["integration"]["context"]["action"] == "meeting.rsvp"
    }

    answers = [
        mattermost_lab.click(mattermost_lab.camille, by_answer[answer]).json()
        for answer in ("yes", "no", "yes")
    ]

    assert "déjà été traitée" not in str(answers), answers
    with Session(mattermost_lab.engine) as session:
        camille = session.exec(
            select(Person).where(Person.external_id == mattermost_lab.camille.id)
        ).one()
        invitation = session.exec(
            select(Invitation).where(Invitation.person_id == camille.id)
        ).one()
    assert invitation.response == "yes", answers


def test_someone_else_clicking_undo_is_told_privately(mattermost_lab: Lab) -> None:
    start_lab(mattermost_lab)
    created = mattermost_lab.command(mattermost_lab.camille, "creer reze-ac Rezé").json()
    [action] = created["attachments"][0]["actions"]

    answer = mattermost_lab.click(mattermost_lab.marie, action)

    assert "ephemeral_text" in answer.json()
    assert "update" not in answer.json()


def test_a_forged_click_gets_401_and_writes_nothing(mattermost_lab: Lab) -> None:
    created = mattermost_lab.command(mattermost_lab.camille, "creer bondy-bp Bondy").json()
    [action] = created["attachments"][0]["actions"]
    before = mattermost_lab.counts()
    forged = {**action["integration"]["context"], "value": "another-batch"}
    unsigned = {k: v for k, v in action["integration"]["context"].items() if k != "sig"}

    for context in (forged, unsigned, None):
        answer = mattermost_lab.click(
            mattermost_lab.camille,
            {**action, "integration": {**action["integration"], "context": context}},
        )
        assert answer.status_code == 401
    assert mattermost_lab.counts() == before


def test_a_click_in_a_direct_message_finds_the_team_of_the_person(mattermost_lab: Lab) -> None:
    created = mattermost_lab.command(mattermost_lab.camille, "creer bondy-bp Bondy").json()
    [action] = created["attachments"][0]["actions"]
    signer = mattermost_lab.app.state.mattermost.signer
    context = action["integration"]["context"]
    # As the outbox renders a reminder for a direct message: no team in the context.
    teamless = signer.button_context(context["action"], context["value"], ephemeral=False)
    dm = mattermost_lab.mm.add_channel(name="dm", type="D")

    answer = mattermost_lab.click(
        mattermost_lab.camille,
        {**action, "integration": {**action["integration"], "context": teamless}},
        team_id="",
        channel=dm,
    )

    assert answer.json()["ephemeral_text"].startswith("↩️")
    assert mattermost_lab.count(Workspace) == 1


# -- dialogs ----------------------------------------------------------------------------


def open_form(lab_: Lab) -> tuple[dict[str, Any], Dialog]:
    fields = lab_.form(lab_.camille, "", command="essai")
    answer = lab_.http.post(
        "/mattermost/command", data=fields, headers={"Authorization": f"Token {fields['token']}"}
    )
    assert answer.status_code == 200
    assert answer.json() == {}
    [dialog] = lab_.mm.dialogs
    assert dialog.trigger_id == fields["trigger_id"]
    return fields, dialog


def test_a_form_opens_a_dialog(mattermost_lab: Lab) -> None:
    _, dialog = open_form(mattermost_lab)

    assert dialog.dialog["callback_id"] == "essai.create"
    # Cut as the server counts (24 bytes), between characters, never inside one.
    title = dialog.dialog["title"]
    assert len(title.encode()) <= 24
    assert title.endswith("…")
    assert "Nouvelle expérimentation du labo".startswith(title[:-1])
    elements = {e["name"]: e for e in dialog.dialog["elements"]}
    assert elements["slug"] == {
        "display_name": "Identifiant",
        "name": "slug",
        "type": "text",
        "optional": False,
        "placeholder": "bondy-bp",
    }
    assert elements["start"]["optional"] is True
    start = elements["start"]["display_name"]
    assert len(start.encode()) <= 24
    assert "Début de l'expérimentation (jj/mm/aaaa)".startswith(start[:-1].rstrip())
    assert elements["start"]["help_text"] == "Début de l'expérimentation (jj/mm/aaaa)"
    assert elements["lead"]["data_source"] == "users"


@pytest.mark.parametrize(
    "label",
    [
        "é" * 13,  # 26 bytes
        "Début de l'expérimentation",
        "a" + "e\u0301" * 12,  # accents typed as their own code points
        "Réunion 🇫🇷🇫🇷🇫🇷🇫🇷",
    ],
)
def test_a_label_is_cut_to_24_bytes_between_characters(label: str) -> None:
    cut = fit_bytes(label, 24)

    assert len(cut.encode()) <= 24
    assert cut.endswith("…")
    assert label.startswith(cut[:-1])
    assert not unicodedata.combining(label[len(cut) - 1])  # no letter loses its accent
    assert fit_bytes("Identifiant", 24) == "Identifiant"


def test_a_submitted_dialog_runs_the_form_and_answers_through_response_url(
    mattermost_lab: Lab,
) -> None:
    fields, dialog = open_form(mattermost_lab)
    lucas = mattermost_lab.lucas

    answer = mattermost_lab.submit(
        mattermost_lab.camille,
        dialog,
        {"slug": "bondy-bp", "name": "Budget participatif", "start": None, "lead": lucas.id},
    )

    assert answer.status_code == 200
    assert answer.json() == {}
    mattermost_lab.mm.calls.wait_for(COMMAND_RESPONSE)
    [reply] = mattermost_lab.mm.responses_to(fields["response_url"])
    assert reply["response_type"] == "in_channel"
    assert "**Budget participatif**" in reply["text"]
    with Session(mattermost_lab.engine) as session:
        lead = session.exec(select(Person).where(Person.external_id == lucas.id)).one()
        assert lead.handle == "lucas"
        membership = session.exec(select(Membership).where(Membership.person_id == lead.id)).one()
        assert membership.role == Role.COORDINATOR


def half_an_hour_later(lab_: Lab) -> None:
    """31 minutes pass, for the fake server (its response_urls expire) and for Coordo."""
    assert isinstance(lab_.mm.clock, ManualClock)
    lab_.mm.clock.advance(31 * 60)
    lab_.app.state.mattermost.clock = lambda: datetime.now(UTC) + timedelta(minutes=31)


def test_a_dialog_submitted_after_30_minutes_is_answered_by_the_bot(mattermost_lab: Lab) -> None:
    fields, dialog = open_form(mattermost_lab)
    half_an_hour_later(mattermost_lab)

    answer = mattermost_lab.submit(
        mattermost_lab.camille, dialog, {"slug": "bondy-bp", "name": "Budget participatif"}
    )

    assert answer.json() == {}
    mattermost_lab.mm.calls.wait_for(CREATE_POST)
    [post] = mattermost_lab.mm.posts_in(mattermost_lab.channel.id)
    assert "**Budget participatif**" in post["message"]
    assert mattermost_lab.mm.calls.count(COMMAND_RESPONSE) == 0  # not the expired hook
    assert mattermost_lab.mm.responses_to(fields["response_url"]) == []


def test_a_private_answer_after_30_minutes_comes_as_a_direct_message(
    mattermost_lab: Lab,
) -> None:
    fields = mattermost_lab.form(mattermost_lab.camille, "prive", command="essai")
    opened = mattermost_lab.http.post(
        "/mattermost/command", data=fields, headers={"Authorization": f"Token {fields['token']}"}
    )
    assert opened.json() == {}
    [dialog] = mattermost_lab.mm.dialogs
    half_an_hour_later(mattermost_lab)

    mattermost_lab.submit(mattermost_lab.camille, dialog, {"note": "rappeler la mairie"})

    mattermost_lab.mm.calls.wait_for(CREATE_POST)
    dm = mattermost_lab.mm.direct_channel_id(
        mattermost_lab.mm.bot_user_id, mattermost_lab.camille.id
    )
    [post] = mattermost_lab.mm.posts_in(dm)
    assert post["message"] == "Noté pour vous seul : rappeler la mairie"
    assert mattermost_lab.mm.posts_in(mattermost_lab.channel.id) == []
    assert mattermost_lab.mm.calls.count(COMMAND_RESPONSE) == 0


def test_every_dialog_element_reaches_the_core_as_text_it_reads(mattermost_lab: Lab) -> None:
    lab_ = mattermost_lab
    fields = lab_.form(lab_.camille, "tout", command="essai")
    lab_.http.post(
        "/mattermost/command", data=fields, headers={"Authorization": f"Token {fields['token']}"}
    )
    [dialog] = lab_.mm.dialogs  # the strict fake took every element
    elements = {e["name"]: e for e in dialog.dialog["elements"]}
    assert [elements[n]["type"] for n in ("titre", "note", "montant", "jour")] == [
        "text",
        "textarea",
        "text",  # typed the French way, parsed by the core
        "text",
    ]
    assert (elements["poste"]["type"], "default" in elements["poste"]) == ("select", False)
    assert (elements["avis"]["type"], elements["public"]["type"]) == ("radio", "bool")
    assert elements["public"]["default"] == "true"
    assert (elements["qui"]["data_source"], elements["ou"]["data_source"]) == (
        "users",
        "channels",
    )

    # What the web app sends: a checkbox as a JSON boolean, a user and a channel by id,
    # nothing for an optional field left empty, and nothing else is taken.
    lab_.submit(
        lab_.camille,
        dialog,
        {
            "titre": "  Atelier  ",
            "note": "ligne 1\nligne 2",
            "montant": 1250,
            "jour": None,
            "poste": "animation",
            "avis": "oui",
            "public": False,
            "qui": lab_.lucas.id,
            "ou": lab_.channel.id,
            "intrus": "x",
        },
    )

    lab_.mm.calls.wait_for(COMMAND_RESPONSE)
    [reply] = lab_.mm.responses_to(fields["response_url"])
    assert json.loads(reply["text"]) == {
        "avis": "oui",
        "montant": "1250",
        "note": "ligne 1\nligne 2",
        "ou": lab_.channel.id,
        "poste": "animation",
        "public": "false",
        "qui": "@lucas",
        "titre": "Atelier",
    }


def test_a_user_the_server_cannot_name_is_not_an_apology(mattermost_lab: Lab) -> None:
    _, dialog = open_form(mattermost_lab)

    answer = mattermost_lab.submit(
        mattermost_lab.camille, dialog, {"slug": "bondy-bp", "name": "Bondy", "lead": "x" * 26}
    )

    # The core says what it expects (not an apology), and nothing is half-written.
    assert "/labo role @marie membre" in answer.json()["error"]
    assert mattermost_lab.count(Experiment) == 0


def test_a_field_error_keeps_the_dialog_open_and_writes_nothing(mattermost_lab: Lab) -> None:
    _, dialog = open_form(mattermost_lab)

    answer = mattermost_lab.submit(
        mattermost_lab.camille, dialog, {"slug": "bondy-bp", "name": "Bondy", "start": "31/02/2026"}
    )

    assert answer.status_code == 200
    body = answer.json()
    assert list(body) == ["errors"]
    assert "31/02/2026" in body["errors"]["start"]
    assert mattermost_lab.count(Experiment) == 0


def test_an_error_of_no_field_is_shown_above_the_dialog(mattermost_lab: Lab) -> None:
    _, dialog = open_form(mattermost_lab)

    answer = mattermost_lab.submit(mattermost_lab.camille, dialog, {"slug": "B!", "name": "Bondy"})

    assert list(answer.json()) == ["error"]
    assert mattermost_lab.count(Experiment) == 0


def test_a_dialog_submitted_twice_writes_once(mattermost_lab: Lab) -> None:
    _, dialog = open_form(mattermost_lab)
    values = {"slug": "bondy-bp", "name": "Bondy"}

    mattermost_lab.submit(mattermost_lab.camille, dialog, values)
    mattermost_lab.submit(mattermost_lab.camille, dialog, values)

    assert mattermost_lab.count(Experiment) == 1
    assert mattermost_lab.count(RequestReceipt) == 1  # the submission that wrote; reads keep none


def test_a_dialog_of_someone_else_or_forged_gets_401(mattermost_lab: Lab) -> None:
    _, dialog = open_form(mattermost_lab)
    values = {"slug": "bondy-bp", "name": "Bondy"}
    tampered = Dialog(
        dialog.trigger_id,
        dialog.url,
        {**dialog.dialog, "state": dialog.dialog["state"].replace('"v1"', '"v2"')},
    )

    assert mattermost_lab.submit(mattermost_lab.marie, dialog, values).status_code == 401
    assert mattermost_lab.submit(mattermost_lab.camille, tampered, values).status_code == 401
    assert mattermost_lab.count(Experiment) == 0


def test_a_cancelled_dialog_does_nothing(mattermost_lab: Lab) -> None:
    _, dialog = open_form(mattermost_lab)

    answer = mattermost_lab.submit(mattermost_lab.camille, dialog, {}, cancelled=True)

    assert answer.json() == {}
    assert mattermost_lab.count(Experiment) == 0


def test_without_a_bot_account_a_form_shows_its_text(database_url: str, engine: Engine) -> None:
    settings = Settings(
        database_url=database_url, mattermost_command_tokens=[LABO_TOKEN], scheduler=False
    )
    app = create_app(settings, essai_family(threading.Event()))
    fields = {
        "channel_id": "c1",
        "channel_name": "bondy",
        "command": "/essai",
        "team_id": "t1",
        "team_domain": "labo",
        "text": "",
        "token": LABO_TOKEN,
        "trigger_id": trigger_id(),
        "user_id": "u1",
        "user_name": "camille",
    }
    with serve(app) as url:
        answer = httpx.post(url + "/mattermost/command", data=fields)

    assert answer.json() == {
        "response_type": "ephemeral",
        "skip_slack_parsing": True,
        "text": "Usage : `/essai identifiant nom`",
    }


# -- the lab's own families through Mattermost -------------------------------------------


def open_dialog(lab_: Lab, command: str) -> tuple[dict[str, Any], Dialog]:
    before = len(lab_.mm.dialogs)
    fields = lab_.form(lab_.camille, "", command=command)
    answer = lab_.http.post(
        "/mattermost/command", data=fields, headers={"Authorization": f"Token {fields['token']}"}
    )
    assert answer.json() == {}, answer.text
    assert len(lab_.mm.dialogs) == before + 1
    return fields, lab_.mm.dialogs[-1]


def test_the_milestone_dialog_names_its_owner_from_the_users_list(mattermost_lab: Lab) -> None:
    start_lab(mattermost_lab)
    lucas = mattermost_lab.lucas
    mattermost_lab.command(
        mattermost_lab.camille, "role @lucas membre", mentions={"lucas": lucas.id}
    )
    fields, dialog = open_dialog(mattermost_lab, "jalon")
    owner = next(e for e in dialog.dialog["elements"] if e["name"] == "owner")
    assert owner["data_source"] == "users"

    late = mattermost_lab.submit(
        mattermost_lab.camille, dialog, {"title": "Vote du budget", "due": "n'importe quand"}
    )
    answer = mattermost_lab.submit(
        mattermost_lab.camille,
        dialog,
        {"title": "Vote du budget", "due": "vendredi prochain", "owner": lucas.id},
    )

    assert set(late.json()["errors"]) == {"due"}
    assert answer.json() == {}
    mattermost_lab.mm.calls.wait_for(COMMAND_RESPONSE)
    [reply] = mattermost_lab.mm.responses_to(fields["response_url"])
    assert "Vote du budget" in reply["text"]
    assert "@lucas" in reply["text"]


def test_the_expense_dialog_shows_errors_beside_the_amount(mattermost_lab: Lab) -> None:
    start_lab(mattermost_lab)
    _, dialog = open_dialog(mattermost_lab, "depense")

    answer = mattermost_lab.submit(
        mattermost_lab.camille, dialog, {"amount": "beaucoup", "description": "café"}
    )

    assert set(answer.json()["errors"]) == {"amount"}


def test_an_export_is_uploaded_by_the_bot(mattermost_lab: Lab) -> None:
    start_lab(mattermost_lab)
    mattermost_lab.command(mattermost_lab.camille, "42,50 € café", command="depense")

    answer = mattermost_lab.command(mattermost_lab.camille, "export csv", command="depense")

    assert answer.status_code == 200
    mattermost_lab.mm.calls.wait_for(CREATE_POST)
    [upload] = mattermost_lab.mm.calls(UPLOAD_FILE)
    [(filename, content)] = upload.body["files"]
    assert filename.endswith(".csv")
    assert "café" in content.decode("utf-8-sig")


def wait_for_poll(engine: Engine) -> None:
    """Until the command that makes the poll has committed (it may answer "on it" first)."""
    for _ in range(200):
        with Session(engine) as session:
            if session.exec(select(DatePoll)).first() is not None:
                return
        threading.Event().wait(0.05)
    raise AssertionError("the poll was not made")


def test_a_date_poll_answered_with_its_buttons_is_edited_in_place(mattermost_lab: Lab) -> None:
    """The poll's message goes to the channel through the outbox with its buttons; a
    partner's click is answered to them alone, and the post is patched with the counts."""
    lab_ = mattermost_lab
    start_lab(lab_)
    made = lab_.command(
        lab_.camille,
        'sondage "COPIL de janvier" 12/01/2027 14h, 14/01/2027 10h @elu.bondy',
        command="copil",
        mentions={"elu.bondy": lab_.elu.id},
    )
    assert made.status_code == 200, made.text
    # Its answer (or, on a loaded machine, "on it" and the answer later) is private.
    assert made.json()["response_type"] == "ephemeral"
    wait_for_poll(lab_.engine)
    settings = Settings(
        database_url="sqlite://",
        public_url=PUBLIC_URL,
        mattermost_url=lab_.mm.url,
        mattermost_bot_token=lab_.mm.token,
        scheduler=False,
    )
    ports, renderers = ports_from_settings(settings)
    sender = Sender(lab_.engine, ports, renderers=renderers, concurrency=1, pacing={})
    sender.run_until_idle()
    [post] = [
        p for p in lab_.mm.posts if p["channel_id"] == lab_.channel.id and "sondage" in p["message"]
    ]
    [actions] = [a["actions"] for a in post["props"]["attachments"] if "actions" in a]
    assert [a["name"] for a in actions][:3] == ["1 · Oui", "1 · Si besoin", "1 · Non"]
    answer = lab_.click(lab_.elu, actions[0], post_id=post["id"])
    assert answer.status_code == 200
    body = answer.json()
    assert "update" not in body  # the channel's post is not replaced by one person's answer
    assert "C'est noté" in body["ephemeral_text"]
    sender.run_until_idle()
    assert post["edit_at"] > 0
    assert "✅ 1 oui" in post["message"].replace("\u202f", " ")
    assert "oui : elu.bondy" in post["message"].replace("\u202f", " ")
    [actions] = [a["actions"] for a in post["props"]["attachments"] if "actions" in a]
    assert len(actions) == 6  # the buttons stay
