"""The fakes themselves, spoken to as the platforms are: slack_sdk's WebClient for Slack,
plain HTTP for both. If a fake drifts from the wire format, these fail first."""

from __future__ import annotations

import json
import threading

import httpx
import pytest
from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from tests.fakes._server import ManualClock
from tests.fakes.mattermost_api import (
    CREATE_POST,
    GET_ME,
    UPLOAD_FILE,
    FakeMattermost,
)
from tests.fakes.slack_api import FakeSlack

# -- Slack ---------------------------------------------------------------------------------


@pytest.fixture
def web(fake_slack: FakeSlack) -> WebClient:
    """A client of a workspace holding the people and channels these tests name."""
    for user in ("U0ALICE", "U0CAMILLE"):
        fake_slack.add_user(user)
    for channel in ("C0BUDGET", "C0TEAM", "C0A", "C0B"):
        fake_slack.add_channel(channel, members=("U0ALICE",))
    client = WebClient(token=fake_slack.token, base_url=fake_slack.api_url)
    client.retry_handlers.clear()
    return client


def test_slack_refuses_a_missing_or_wrong_token(fake_slack: FakeSlack) -> None:
    no_token = httpx.post(f"{fake_slack.api_url}auth.test")
    wrong = httpx.post(
        f"{fake_slack.api_url}auth.test", headers={"Authorization": "Bearer xoxb-wrong"}
    )

    assert (no_token.status_code, no_token.json()) == (200, {"ok": False, "error": "not_authed"})
    assert wrong.json() == {"ok": False, "error": "invalid_auth"}


def test_slack_takes_the_token_from_a_form_field(fake_slack: FakeSlack) -> None:
    answer = httpx.post(f"{fake_slack.api_url}auth.test", data={"token": fake_slack.token})

    assert answer.json()["ok"] is True
    assert answer.json()["team_id"] == fake_slack.team_id


def test_slack_auth_test_names_the_bot(web: WebClient, fake_slack: FakeSlack) -> None:
    answer = web.auth_test()

    assert answer["user_id"] == fake_slack.bot_user_id
    assert answer["bot_id"] == fake_slack.bot_id


def test_slack_records_each_call_with_its_parsed_body_and_headers(
    web: WebClient, fake_slack: FakeSlack
) -> None:
    web.chat_postMessage(channel="C0BUDGET", text="Bonjour", blocks=[{"type": "divider"}])
    web.conversations_open(users=["U0ALICE"])

    post = fake_slack.calls.last("chat.postMessage")
    assert post.body == {"channel": "C0BUDGET", "text": "Bonjour", "blocks": [{"type": "divider"}]}
    assert post.headers["content-type"].startswith("application/json")
    opened = fake_slack.calls.last("conversations.open")
    assert opened.body == {"users": "U0ALICE"}  # a form, as slack_sdk sends it
    assert fake_slack.calls.names() == ["chat.postMessage", "conversations.open"]
    assert post.at <= opened.at


def test_slack_post_message_answers_channel_ts_and_message(web: WebClient) -> None:
    answer = web.chat_postMessage(channel="C0BUDGET", text="Bonjour")

    assert answer["channel"] == "C0BUDGET"
    assert answer["message"]["text"] == "Bonjour"
    assert answer["ts"] == answer["message"]["ts"]
    later = web.chat_postMessage(channel="C0BUDGET", text="Encore")
    assert float(later["ts"]) > float(answer["ts"])


def test_slack_post_message_needs_text_or_blocks(web: WebClient) -> None:
    with pytest.raises(SlackApiError) as caught:
        web.api_call("chat.postMessage", json={"channel": "C0BUDGET"})
    assert caught.value.response["error"] == "no_text"


def test_slack_refuses_more_than_fifty_blocks(web: WebClient, fake_slack: FakeSlack) -> None:
    fake_slack.expect_refusals = True
    with pytest.raises(SlackApiError) as caught:
        web.chat_postMessage(channel="C0BUDGET", text="x", blocks=[{"type": "divider"}] * 51)
    assert caught.value.response["error"] == "invalid_blocks"


def test_slack_post_to_a_user_id_lands_in_their_direct_conversation(
    web: WebClient, fake_slack: FakeSlack
) -> None:
    answer = web.chat_postMessage(channel="U0ALICE", text="Rappel")

    assert answer["channel"] == fake_slack.dm_channel_for("U0ALICE")


def test_slack_conversations_open_gives_a_stable_direct_channel(web: WebClient) -> None:
    first = web.conversations_open(users=["U0ALICE"])
    again = web.conversations_open(users=["U0ALICE"], return_im=True)

    assert first["channel"]["id"].startswith("D")
    assert again["channel"]["id"] == first["channel"]["id"]
    assert again["already_open"] is True
    assert again["channel"]["is_im"] is True
    assert again["channel"]["user"] == "U0ALICE"


def test_slack_conversations_info_tells_shared_channels(
    web: WebClient, fake_slack: FakeSlack
) -> None:
    fake_slack.add_channel("C0SHARED", "budget-reze", is_ext_shared=True)

    shared = web.conversations_info(channel="C0SHARED")["channel"]
    internal = web.conversations_info(channel="C0TEAM")["channel"]

    assert (shared["is_ext_shared"], shared["name"]) == (True, "budget-reze")
    assert internal["is_ext_shared"] is False


def test_slack_users_info_carries_the_configured_flags(
    web: WebClient, fake_slack: FakeSlack
) -> None:
    fake_slack.add_user("U0EXT", team_id="T0MAIRIE", is_stranger=True, is_restricted=True)

    user = web.users_info(user="U0EXT")["user"]
    member = web.users_info(user="U0CAMILLE")["user"]

    assert (user["team_id"], user["is_stranger"], user["is_restricted"]) == ("T0MAIRIE", True, True)
    assert member["team_id"] == fake_slack.team_id
    assert "is_stranger" not in member


def test_slack_knows_only_what_it_was_told() -> None:
    with FakeSlack() as slack:
        web = WebClient(token=slack.token, base_url=slack.api_url)
        slack.add_user("U0IN")
        slack.add_user("U0OUT")
        slack.add_channel("C0KNOWN", members=("U0IN",))
        slack.add_channel("C0PUBLIC", bot_is_member=False)
        slack.add_channel("G0PRIVATE", is_private=True, bot_is_member=False)
        web.chat_postMessage(channel="C0KNOWN", text="ok")
        web.chat_postMessage(channel="C0PUBLIC", text="chat:write.public")
        web.chat_postEphemeral(channel="C0KNOWN", user="U0IN", text="ok")
        for call, error in [
            (lambda: web.chat_postMessage(channel="C0UNKNOWN", text="x"), "channel_not_found"),
            (lambda: web.chat_postMessage(channel="G0PRIVATE", text="x"), "channel_not_found"),
            (lambda: web.chat_postMessage(channel="U0NOBODY", text="x"), "user_not_found"),
            (lambda: web.users_info(user="U0NOBODY"), "user_not_found"),
            (lambda: web.conversations_open(users=["U0NOBODY"]), "user_not_found"),
            (
                lambda: web.chat_postEphemeral(channel="C0KNOWN", user="U0OUT", text="x"),
                "user_not_in_channel",
            ),
            (
                lambda: web.chat_postEphemeral(channel="C0PUBLIC", user="U0IN", text="x"),
                "not_in_channel",
            ),
            (lambda: web.conversations_history(channel="C0PUBLIC"), "not_in_channel"),
        ]:
            with pytest.raises(SlackApiError) as caught:
                call()
            assert caught.value.response["error"] == error
        slack.join("C0PUBLIC")
        slack.join("C0PUBLIC", "U0IN")
        web.chat_postEphemeral(channel="C0PUBLIC", user="U0IN", text="now a member")


def test_slack_without_chat_write_public_the_bot_posts_only_where_it_is() -> None:
    with FakeSlack(chat_write_public=False) as slack:
        web = WebClient(token=slack.token, base_url=slack.api_url)
        slack.add_channel("C0PUBLIC", bot_is_member=False)
        with pytest.raises(SlackApiError) as caught:
            web.chat_postMessage(channel="C0PUBLIC", text="x")
        assert caught.value.response["error"] == "not_in_channel"


def test_slack_chat_update_changes_a_known_message(web: WebClient, fake_slack: FakeSlack) -> None:
    ts = web.chat_postMessage(channel="C0BUDGET", text="Vote demain")["ts"]

    web.chat_update(channel="C0BUDGET", ts=ts, text="Vote reporté")

    [message] = fake_slack.messages_in("C0BUDGET")
    assert (message.text, message.edited) == ("Vote reporté", True)
    with pytest.raises(SlackApiError) as caught:
        web.chat_update(channel="C0BUDGET", ts="1.000001", text="x")
    assert caught.value.response["error"] == "message_not_found"


def test_slack_post_ephemeral_is_kept_apart(web: WebClient, fake_slack: FakeSlack) -> None:
    answer = web.chat_postEphemeral(channel="C0BUDGET", user="U0ALICE", text="Pour vous seul")

    assert answer["message_ts"]
    assert fake_slack.messages == []
    assert fake_slack.ephemeral[0].user == "U0ALICE"


def test_slack_views_open_update_and_publish(web: WebClient, fake_slack: FakeSlack) -> None:
    divider = [{"type": "divider"}]
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Dépense"}, "blocks": divider}
    trigger = fake_slack.new_trigger_id()
    opened = web.views_open(trigger_id=trigger, view=modal)["view"]
    header = [{"type": "header", "text": {"type": "plain_text", "text": "Ok"}}]
    updated = web.views_update(view_id=opened["id"], view={**modal, "blocks": header})
    home = {"type": "home", "blocks": [{"type": "divider"}]}
    published = web.views_publish(user_id="U0ALICE", view=home)["view"]
    republished = web.views_publish(user_id="U0ALICE", view=home)["view"]

    assert updated["view"]["id"] == opened["id"]
    assert fake_slack.views[opened["id"]].view["blocks"] == header
    assert fake_slack.views[opened["id"]].trigger_id == trigger
    assert published["id"] == republished["id"]
    with pytest.raises(SlackApiError) as caught:
        web.views_open(trigger_id="", view=modal)
    assert caught.value.response["error"] == "invalid_arguments"


def test_slack_files_upload_v2_runs_its_three_steps_against_the_fake(
    web: WebClient, fake_slack: FakeSlack
) -> None:
    answer = web.files_upload_v2(
        channel="C0BUDGET",
        filename="budget.xlsx",
        content=b"PK\x03\x04 not really a workbook",
        title="Budget",
        initial_comment="Le budget à jour",
    )

    file = fake_slack.files[answer["file"]["id"]]
    assert file.content == b"PK\x03\x04 not really a workbook"
    assert file.length == len(file.content)
    assert answer["file"]["title"] == "Budget"
    upload = fake_slack.calls.last("upload")
    assert "authorization" not in upload.headers  # the upload URL is pre-signed
    assert upload.raw == file.content


def test_slack_upload_url_takes_a_multipart_form_too(fake_slack: FakeSlack, web: WebClient) -> None:
    url = web.files_getUploadURLExternal(filename="a.txt", length=5)["upload_url"]

    answer = httpx.post(url, files={"filename": ("a.txt", b"hello")})

    assert answer.status_code == 200
    assert next(iter(fake_slack.files.values())).content == b"hello"


def test_slack_complete_upload_refuses_a_file_never_uploaded(web: WebClient) -> None:
    file_id = web.files_getUploadURLExternal(filename="a.txt", length=5)["file_id"]

    with pytest.raises(SlackApiError) as caught:
        web.files_completeUploadExternal(files=[{"id": file_id}], channel_id="C0BUDGET")
    assert caught.value.response["error"] == "file_not_found"


def test_slack_canned_failures_come_in_order_then_normal_service(
    web: WebClient, fake_slack: FakeSlack
) -> None:
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=12)
    fake_slack.fail_next("chat.postMessage", status=200, error="channel_not_found", times=2)

    statuses = []
    for _ in range(4):
        try:
            web.chat_postMessage(channel="C0BUDGET", text="x")
            statuses.append("ok")
        except SlackApiError as e:
            statuses.append(f"{e.response.status_code} {e.response['error']}")

    assert statuses == ["429 ratelimited", "200 channel_not_found", "200 channel_not_found", "ok"]
    limited = fake_slack.calls("chat.postMessage")[0]
    assert limited.status == 429
    assert fake_slack.pending_failures("chat.postMessage") == 0


def test_slack_canned_429_sends_retry_after(fake_slack: FakeSlack) -> None:
    fake_slack.fail_next("conversations.open", status=429, retry_after=30)

    answer = httpx.post(
        f"{fake_slack.api_url}conversations.open",
        headers={"Authorization": f"Bearer {fake_slack.token}"},
        data={"users": "U0ALICE"},
    )

    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "30"
    assert answer.json() == {"ok": False, "error": "ratelimited"}


def test_slack_rate_limit_mode_is_per_channel_and_follows_the_clock(
    web: WebClient, fake_slack: FakeSlack, manual_clock: ManualClock
) -> None:
    fake_slack.enable_rate_limit(per_channel_interval=3.0, burst=2)

    def post(channel: str) -> str:
        try:
            web.chat_postMessage(channel=channel, text="x")
            return "ok"
        except SlackApiError as e:
            return f"{e.response.status_code} after {e.response.headers['Retry-After']}"

    assert [post("C0A"), post("C0A"), post("C0A"), post("C0B")] == ["ok", "ok", "429 after 3", "ok"]
    manual_clock.advance(2)
    assert post("C0A") == "429 after 1"
    manual_clock.advance(1)
    assert post("C0A") == "ok"
    assert len(fake_slack.messages_in("C0A")) == 3

    fake_slack.disable_rate_limit()
    assert [post("C0A") for _ in range(3)] == ["ok"] * 3


def test_slack_response_url_takes_five_json_posts_in_thirty_minutes(
    fake_slack: FakeSlack, manual_clock: ManualClock
) -> None:
    url = fake_slack.new_response_url()
    answers = [httpx.post(url, json={"text": f"n{n}"}).status_code for n in range(6)]
    expiring = fake_slack.new_response_url()
    manual_clock.advance(30 * 60 + 1)
    late = httpx.post(expiring, json={"text": "late"})

    sixth = httpx.post(url, json={"text": "n6"})

    assert answers == [200] * 5 + [404]
    assert [p["text"] for p in fake_slack.responses_to(url)] == [f"n{n}" for n in range(5)]
    assert late.json() == {"ok": False, "error": "expired_url"}
    assert (sixth.status_code, sixth.json()["error"]) == (404, "expired_url")
    assert httpx.post(f"{fake_slack.url}/response/nope", json={"text": "x"}).status_code == 404


def test_slack_wait_for_sees_calls_made_from_another_thread(
    web: WebClient, fake_slack: FakeSlack
) -> None:
    worker = threading.Thread(
        target=lambda: [web.chat_postMessage(channel="C0A", text=str(n)) for n in range(3)]
    )
    worker.start()

    calls = fake_slack.calls.wait_for("chat.postMessage", count=3)
    worker.join()

    assert [c.body["text"] for c in calls] == ["0", "1", "2"]
    with pytest.raises(AssertionError, match="waited"):
        fake_slack.calls.wait_for("views.open", timeout=0.05)


def test_slack_unknown_method_is_an_ok_false(web: WebClient) -> None:
    with pytest.raises(SlackApiError) as caught:
        web.api_call("widgets.doesNotExist")
    assert caught.value.response["error"] == "unknown_method"


def test_fakes_listen_on_fresh_ports() -> None:
    with FakeSlack() as one, FakeSlack() as two, FakeMattermost() as three:
        assert len({one.port, two.port, three.port}) == 3
        assert one.url.startswith("http://127.0.0.1:")
    with pytest.raises(RuntimeError):
        _ = one.url


# -- Mattermost ----------------------------------------------------------------------------


@pytest.fixture
def mm(fake_mattermost: FakeMattermost) -> httpx.Client:
    fake_mattermost.add_channel("c" * 26, "budget")  # the bot is in it: it may post
    return httpx.Client(
        base_url=f"{fake_mattermost.url}/api/v4",
        headers={"Authorization": f"Bearer {fake_mattermost.token}"},
    )


def test_mattermost_refuses_a_missing_or_wrong_token(fake_mattermost: FakeMattermost) -> None:
    missing = httpx.get(f"{fake_mattermost.url}/api/v4/users/me")
    wrong = httpx.get(
        f"{fake_mattermost.url}/api/v4/users/me", headers={"Authorization": "Bearer nope"}
    )

    assert missing.status_code == 401
    assert wrong.status_code == 401
    assert wrong.json()["id"] == "api.context.session_expired.app_error"
    assert wrong.json()["status_code"] == 401


def test_mattermost_accepts_the_token_scheme_too(fake_mattermost: FakeMattermost) -> None:
    answer = httpx.get(
        f"{fake_mattermost.url}/api/v4/users/me",
        headers={"Authorization": f"Token {fake_mattermost.token}"},
    )

    assert answer.status_code == 200
    assert answer.json()["id"] == fake_mattermost.bot_user_id
    assert answer.json()["is_bot"] is True


def test_mattermost_users_carry_their_roles(
    mm: httpx.Client, fake_mattermost: FakeMattermost
) -> None:
    guest = fake_mattermost.add_user(username="elu", roles="system_guest")

    assert mm.get(f"/users/{guest.id}").json()["roles"] == "system_guest"
    assert mm.get("/users/me").json()["roles"] == "system_user"
    assert fake_mattermost.calls.names() == ["GET /api/v4/users/{id}", GET_ME]


def test_mattermost_create_post_answers_201_with_the_post(
    mm: httpx.Client, fake_mattermost: FakeMattermost
) -> None:
    answer = mm.post(
        "/posts",
        json={
            "channel_id": "c" * 26,
            "message": "Bonjour",
            "props": {"attachments": [{"text": "a"}]},
        },
    )

    assert answer.status_code == 201
    post = answer.json()
    assert len(post["id"]) == 26
    assert post["create_at"] > 0
    assert post["user_id"] == fake_mattermost.bot_user_id
    assert post["props"]["attachments"] == [{"text": "a"}]
    assert fake_mattermost.calls.last(CREATE_POST).body["message"] == "Bonjour"


def test_mattermost_refuses_bad_posts(mm: httpx.Client) -> None:
    too_long = mm.post("/posts", json={"channel_id": "c" * 26, "message": "x" * 16_384})
    no_channel = mm.post("/posts", json={"message": "x"})
    unknown_file = mm.post(
        "/posts", json={"channel_id": "c" * 26, "message": "x", "file_ids": ["f"]}
    )

    assert too_long.status_code == 400
    assert too_long.json()["id"] == "model.post.is_valid.message_length.app_error"
    assert no_channel.status_code == 400
    assert unknown_file.status_code == 400


def test_mattermost_direct_channel_is_stable_for_the_pair_and_needs_the_caller(
    mm: httpx.Client, fake_mattermost: FakeMattermost
) -> None:
    bot = fake_mattermost.bot_user_id
    alice = fake_mattermost.add_user(username="alice").id
    bob = fake_mattermost.add_user(username="bob").id

    one = mm.post("/channels/direct", json=[bot, alice])
    two = mm.post("/channels/direct", json=[alice, bot])
    others = mm.post("/channels/direct", json=[alice, bob])

    assert one.status_code == 201
    assert one.json()["id"] == two.json()["id"] == fake_mattermost.direct_channel_id(alice, bot)
    assert one.json()["type"] == "D"
    assert one.json()["name"] == "__".join(sorted([bot, alice]))
    assert others.status_code == 403
    assert mm.post("/channels/direct", json=[bot]).status_code == 400


def test_mattermost_files_multipart_and_query_forms(
    mm: httpx.Client, fake_mattermost: FakeMattermost
) -> None:
    multipart = mm.post(
        "/files",
        data={"channel_id": "c" * 26, "client_ids": "client-1"},
        files={"files": ("compte-rendu.pdf", b"%PDF-1.7 content")},
    )
    raw = mm.post(
        "/files", params={"channel_id": "c" * 26, "filename": "notes.txt"}, content=b"raw bytes"
    )

    assert multipart.status_code == 201
    [info] = multipart.json()["file_infos"]
    assert (info["name"], info["size"], info["mime_type"]) == (
        "compte-rendu.pdf",
        16,
        "application/pdf",
    )
    assert multipart.json()["client_ids"] == ["client-1"]
    assert fake_mattermost.files[info["id"]].content == b"%PDF-1.7 content"
    [raw_info] = raw.json()["file_infos"]
    assert fake_mattermost.files[raw_info["id"]].content == b"raw bytes"
    recorded = fake_mattermost.calls.last(UPLOAD_FILE).body
    assert recorded["files"] == [("notes.txt", b"raw bytes")]


def test_mattermost_open_dialog_checks_its_body(
    mm: httpx.Client, fake_mattermost: FakeMattermost
) -> None:
    dialog = {"callback_id": "x", "title": "Ordre du jour", "elements": []}
    alice = fake_mattermost.add_user(username="alice")
    trigger = fake_mattermost.new_trigger_id(alice.id)

    ok = mm.post(
        "/actions/dialogs/open", json={"trigger_id": trigger, "url": "http://u", "dialog": dialog}
    )
    missing = mm.post("/actions/dialogs/open", json={"url": "http://u", "dialog": dialog})
    made_up = mm.post(
        "/actions/dialogs/open", json={"trigger_id": "t", "url": "http://u", "dialog": dialog}
    )

    assert (ok.status_code, ok.json()) == (200, {"status": "OK"})
    assert missing.status_code == 400
    assert made_up.json()["id"] == "interactive_message.decode_trigger_id.missing_data"
    assert len(fake_mattermost.dialogs) == 1
    assert fake_mattermost.dialogs[0].user_id == alice.id


def test_mattermost_trigger_id_expires_after_3_seconds(
    mm: httpx.Client, fake_mattermost: FakeMattermost, manual_clock: ManualClock
) -> None:
    dialog = {"callback_id": "x", "title": "Ordre du jour", "elements": []}
    trigger = fake_mattermost.new_trigger_id(fake_mattermost.add_user().id)
    manual_clock.advance(3.5)

    late = mm.post(
        "/actions/dialogs/open", json={"trigger_id": trigger, "url": "http://u", "dialog": dialog}
    )

    assert late.status_code == 400
    assert late.json()["id"] == "interactive_message.decode_trigger_id.expired"
    assert fake_mattermost.dialogs == []


def test_mattermost_refuses_an_invalid_dialog(
    mm: httpx.Client, fake_mattermost: FakeMattermost
) -> None:
    trigger = fake_mattermost.new_trigger_id(fake_mattermost.add_user().id)
    # 23 characters but 26 bytes: the server counts bytes.
    dialog = {"callback_id": "x", "title": "Échéance d'un jalon créé", "elements": []}

    refused = mm.post(
        "/actions/dialogs/open", json={"trigger_id": trigger, "url": "http://u", "dialog": dialog}
    )

    assert refused.status_code == 400
    assert "invalid dialog title" in refused.json()["message"]
    assert fake_mattermost.dialogs == []


def test_mattermost_bot_posts_only_where_it_is_a_member(
    mm: httpx.Client, fake_mattermost: FakeMattermost
) -> None:
    outside = fake_mattermost.add_channel(name="direction", bot_member=False)

    unknown = mm.post("/posts", json={"channel_id": "u" * 26, "message": "x"})
    not_in = mm.post("/posts", json={"channel_id": outside.id, "message": "x"})
    stranger = mm.post("/channels/direct", json=[fake_mattermost.bot_user_id, "s" * 26])

    assert (unknown.status_code, not_in.status_code) == (403, 403)
    assert stranger.status_code == 404
    assert fake_mattermost.posts == []


def test_mattermost_refuses_a_post_with_a_broken_button(mm: httpx.Client) -> None:
    button = {"id": "undo_1", "type": "button", "name": "Annuler", "integration": {"url": "x"}}

    refused = mm.post(
        "/posts",
        json={
            "channel_id": "c" * 26,
            "message": "x",
            "props": {"attachments": [{"actions": [button]}]},
        },
    )

    assert refused.status_code == 400
    assert refused.json()["id"] == "model.post.is_valid.props.app_error"
    assert "letters and digits" in refused.json()["message"]


def test_mattermost_rate_limit_mode_sends_its_headers(
    mm: httpx.Client, fake_mattermost: FakeMattermost, manual_clock: ManualClock
) -> None:
    fake_mattermost.enable_rate_limit(per_sec=2, burst=1)

    answers = [mm.get("/users/me") for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[0].headers["X-Ratelimit-Limit"] == "2"
    assert answers[0].headers["X-Ratelimit-Remaining"] == "1"
    assert answers[1].headers["X-Ratelimit-Remaining"] == "0"
    assert answers[1].headers["X-Ratelimit-Reset"] == "1"
    assert answers[2].headers["Retry-After"] == "1"
    assert answers[2].text == "limit exceeded\n"
    assert answers[2].headers["content-type"].startswith("text/plain")
    assert "Retry-After" not in answers[1].headers
    manual_clock.advance(0.5)
    assert mm.get("/users/me").status_code == 200


def test_mattermost_rate_limit_is_per_token(fake_mattermost: FakeMattermost) -> None:
    fake_mattermost.enable_rate_limit(per_sec=1, burst=0)
    url = f"{fake_mattermost.url}/api/v4/users/me"
    good = {"Authorization": f"Bearer {fake_mattermost.token}"}

    assert httpx.get(url, headers=good).status_code == 200
    assert httpx.get(url, headers={"Authorization": "Bearer other"}).status_code == 401
    assert httpx.get(url, headers=good).status_code == 429


def test_mattermost_canned_failures(mm: httpx.Client, fake_mattermost: FakeMattermost) -> None:
    fake_mattermost.fail_next(CREATE_POST, status=429, retry_after=5)
    fake_mattermost.fail_next(CREATE_POST, status=500)

    limited = mm.post("/posts", json={"channel_id": "c" * 26, "message": "x"})
    broken = mm.post("/posts", json={"channel_id": "c" * 26, "message": "x"})
    fine = mm.post("/posts", json={"channel_id": "c" * 26, "message": "x"})

    assert limited.status_code == 429
    assert (limited.headers["Retry-After"], limited.headers["X-Ratelimit-Reset"]) == ("5", "5")
    assert limited.headers["X-Ratelimit-Remaining"] == "0"
    assert broken.status_code == 500
    assert broken.json()["status_code"] == 500
    assert fine.status_code == 201
    assert [c.status for c in fake_mattermost.calls(CREATE_POST)] == [429, 500, 201]


def test_mattermost_response_url_takes_five_uses(fake_mattermost: FakeMattermost) -> None:
    url = fake_mattermost.new_response_url()

    answers = [httpx.post(url, json={"text": str(n)}) for n in range(6)]

    assert [a.status_code for a in answers] == [200] * 5 + [400]
    assert (answers[0].text, answers[0].headers["content-type"]) == (
        "ok",
        "text/plain; charset=utf-8",
    )
    assert answers[5].json()["id"] == "app.command_webhook.try_use.invalid"
    assert json.loads(fake_mattermost.calls.last().raw) == {"text": "5"}
    assert fake_mattermost.responses_to(url) == [{"text": str(n)} for n in range(5)]
    assert url.startswith(f"{fake_mattermost.url}/hooks/commands/")
    assert httpx.post(url.rsplit("/", 1)[0] + "/unknown", json={"text": "x"}).status_code == 404


def test_mattermost_response_url_lasts_30_minutes_and_reads_plain_text(
    fake_mattermost: FakeMattermost, manual_clock: ManualClock
) -> None:
    url = fake_mattermost.new_response_url()

    plain = httpx.post(url, content=b"Fait.", headers={"Content-Type": "text/plain"})
    bad = httpx.post(url, json={"response_type": "public", "text": "x"})
    manual_clock.advance(30 * 60 + 1)
    late = httpx.post(url, json={"text": "trop tard"})

    assert plain.status_code == 200
    assert bad.status_code == 400
    assert (late.status_code, late.json()["id"]) == (404, "app.command_webhook.get.missing")
    assert fake_mattermost.responses_to(url) == [{"text": "Fait."}]


def test_mattermost_unknown_route_is_a_404(mm: httpx.Client) -> None:
    answer = mm.get("/teams")

    assert answer.status_code == 404
    assert answer.json()["id"] == "api.context.404.app_error"


def test_slack_bolt_app_starts_against_the_fake(fake_slack: FakeSlack) -> None:
    app = App(
        signing_secret="secret",
        client=WebClient(token=fake_slack.token, base_url=fake_slack.api_url),
    )

    assert fake_slack.calls.names() == ["auth.test"]
    assert app.client.base_url == fake_slack.api_url
