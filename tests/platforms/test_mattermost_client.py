"""MattermostChat against the fake Mattermost server: the API v4 calls it makes, and the
typed errors it raises."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bot.kit.port import (
    ChatPort,
    PermanentError,
    PlatformMessage,
    RateLimited,
    TransientError,
)
from bot.mattermost.client import MattermostChat
from tests.fakes._server import ManualClock
from tests.fakes.mattermost_api import (
    CREATE_DIRECT_CHANNEL,
    CREATE_POST,
    GET_ME,
    UPLOAD_FILE,
    FakeMattermost,
)

ATTACHMENTS = [{"title": "Jalon", "text": "Vote du budget", "color": "#2e7d32"}]
MESSAGE = PlatformMessage(text="**Jalon** : vote du budget", attachments=ATTACHMENTS)


@pytest.fixture
def chat(fake_mattermost: FakeMattermost) -> Iterator[MattermostChat]:
    fake_mattermost.add_channel("c" * 26, "budget")  # the bot is in it: it may post
    with MattermostChat(fake_mattermost.url, fake_mattermost.token) as client:
        yield client


def test_mattermost_chat_is_a_chat_port(chat: MattermostChat) -> None:
    assert isinstance(chat, ChatPort)
    assert chat.platform == "mattermost"


def test_post_sends_markdown_and_attachments_and_returns_the_post_id(
    chat: MattermostChat, fake_mattermost: FakeMattermost
) -> None:
    channel = fake_mattermost.add_channel(name="budget-reze")

    post_id = chat.post(channel.id, MESSAGE)

    [post] = fake_mattermost.posts_in(channel.id)
    assert post["id"] == post_id
    assert post["message"] == "**Jalon** : vote du budget"
    assert post["props"] == {"attachments": ATTACHMENTS}
    call = fake_mattermost.calls.last(CREATE_POST)
    assert call.headers["authorization"] == f"Bearer {fake_mattermost.token}"


def test_post_without_attachments_sends_no_props(
    chat: MattermostChat, fake_mattermost: FakeMattermost
) -> None:
    chat.post("c" * 26, PlatformMessage(text="Bonjour"))

    assert "props" not in fake_mattermost.calls.last(CREATE_POST).body


def test_direct_message_opens_the_bot_users_channel_once(
    chat: MattermostChat, fake_mattermost: FakeMattermost
) -> None:
    alice = fake_mattermost.add_user(username="alice")

    chat.direct_message(alice.id, MESSAGE)
    chat.direct_message(alice.id, PlatformMessage(text="Rappel"))

    dm = fake_mattermost.direct_channel_id(fake_mattermost.bot_user_id, alice.id)
    assert [p["message"] for p in fake_mattermost.posts_in(dm)] == [MESSAGE.text, "Rappel"]
    assert fake_mattermost.calls.last(CREATE_DIRECT_CHANNEL).body == [
        fake_mattermost.bot_user_id,
        alice.id,
    ]
    assert fake_mattermost.calls.count(CREATE_DIRECT_CHANNEL) == 1
    assert fake_mattermost.calls.count(GET_ME) == 1


def test_upload_file_delivers_the_bytes_and_posts_them_with_the_comment(
    chat: MattermostChat, fake_mattermost: FakeMattermost
) -> None:
    channel = fake_mattermost.add_channel(name="budget-reze")
    content = b"Poste;Montant\nAtelier;1200,00\n" + bytes(range(256))

    chat.upload_file(channel.id, "budget.csv", content, "Budget de Rezé", comment="Export du jour")

    [stored] = fake_mattermost.files.values()
    assert stored.content == content
    assert stored.name == "budget.csv"
    assert stored.channel_id == channel.id
    [post] = fake_mattermost.posts_in(channel.id)
    assert post["file_ids"] == [stored.id]
    assert post["message"] == "Export du jour"
    assert fake_mattermost.calls.last(UPLOAD_FILE).body["fields"] == {"channel_id": channel.id}


def test_upload_file_without_comment_posts_the_title(
    chat: MattermostChat, fake_mattermost: FakeMattermost
) -> None:
    chat.upload_file("c" * 26, "graphique.png", b"\x89PNG", "Dépenses par mois")

    assert fake_mattermost.posts[0]["message"] == "Dépenses par mois"


def test_get_user_tells_guests(chat: MattermostChat, fake_mattermost: FakeMattermost) -> None:
    guest = fake_mattermost.add_user(username="elu.reze", roles="system_guest")
    member = fake_mattermost.add_user(username="camille", timezone="America/Cayenne", locale="en")

    assert chat.get_user(guest.id).is_guest
    got = chat.get_user(member.id)
    assert (got.is_guest, got.name, got.timezone, got.locale) == (
        False,
        "camille",
        "America/Cayenne",
        "en",
    )


def test_open_dialog_sends_trigger_url_and_dialog(
    chat: MattermostChat, fake_mattermost: FakeMattermost
) -> None:
    dialog = {
        "callback_id": "expense",
        "title": "Nouvelle dépense",
        "elements": [{"display_name": "Montant", "name": "amount", "type": "text"}],
        "submit_label": "Enregistrer",
    }

    trigger = fake_mattermost.new_trigger_id(fake_mattermost.add_user().id)

    chat.open_dialog(trigger, "https://coordo.example/mattermost/dialogs", dialog)

    [opened] = fake_mattermost.dialogs
    assert (opened.trigger_id, opened.dialog) == (trigger, dialog)


def test_post_to_response_url_sends_no_token(
    chat: MattermostChat, fake_mattermost: FakeMattermost
) -> None:
    url = fake_mattermost.new_response_url()
    payload = {"response_type": "in_channel", "text": "Dépense enregistrée"}

    chat.post_to_response_url(url, payload)

    assert fake_mattermost.responses_to(url) == [payload]
    assert "authorization" not in fake_mattermost.calls.last().headers


def test_response_url_refuses_a_sixth_use(
    chat: MattermostChat, fake_mattermost: FakeMattermost
) -> None:
    url = fake_mattermost.new_response_url()
    for n in range(5):
        chat.post_to_response_url(url, {"text": f"réponse {n}"})

    with pytest.raises(PermanentError):
        chat.post_to_response_url(url, {"text": "une de trop"})


def test_429_becomes_rate_limited_with_retry_after(
    chat: MattermostChat, fake_mattermost: FakeMattermost
) -> None:
    fake_mattermost.fail_next(CREATE_POST, status=429, retry_after=4)

    with pytest.raises(RateLimited) as caught:
        chat.post("c" * 26, MESSAGE)

    assert caught.value.retry_after == 4.0
    assert fake_mattermost.posts == []


def test_429_without_retry_after_reads_the_reset_header(
    chat: MattermostChat, fake_mattermost: FakeMattermost
) -> None:
    fake_mattermost.fail_next(
        CREATE_POST, status=429, headers={"Retry-After": None, "X-Ratelimit-Reset": "6"}
    )

    with pytest.raises(RateLimited) as caught:
        chat.post("c" * 26, MESSAGE)
    assert caught.value.retry_after == 6.0


def test_reset_header_as_a_unix_time_is_read_against_the_clock(
    fake_mattermost: FakeMattermost,
) -> None:
    now = datetime(2025, 3, 4, 9, 0, 0, tzinfo=UTC)
    fake_mattermost.fail_next(
        CREATE_POST,
        status=429,
        headers={"Retry-After": None, "X-Ratelimit-Reset": str(int(now.timestamp()) + 9)},
    )
    with (
        MattermostChat(fake_mattermost.url, fake_mattermost.token, clock=lambda: now) as chat,
        pytest.raises(RateLimited) as caught,
    ):
        chat.post("c" * 26, MESSAGE)
    assert caught.value.retry_after == 9.0


def test_rate_limit_mode_answers_429_until_the_bucket_refills(
    chat: MattermostChat, fake_mattermost: FakeMattermost, manual_clock: ManualClock
) -> None:
    fake_mattermost.enable_rate_limit(per_sec=1, burst=0)
    chat.post("c" * 26, MESSAGE)

    with pytest.raises(RateLimited) as caught:
        chat.post("c" * 26, MESSAGE)
    assert caught.value.retry_after == 1.0

    manual_clock.advance(1)
    chat.post("c" * 26, MESSAGE)
    assert len(fake_mattermost.posts) == 2


def test_server_errors_are_transient(chat: MattermostChat, fake_mattermost: FakeMattermost) -> None:
    fake_mattermost.fail_next(CREATE_POST, status=500)
    with pytest.raises(TransientError) as caught:
        chat.post("c" * 26, MESSAGE)
    assert caught.value.status == 500

    fake_mattermost.fail_next(CREATE_POST, status=502, body=b"<html>Bad Gateway</html>")
    with pytest.raises(TransientError):
        chat.post("c" * 26, MESSAGE)


def test_bad_token_is_permanent(fake_mattermost: FakeMattermost) -> None:
    with (
        MattermostChat(fake_mattermost.url, "revoked") as chat,
        pytest.raises(PermanentError) as caught,
    ):
        chat.post("c" * 26, MESSAGE)
    assert caught.value.status == 401
    assert caught.value.code == "api.context.session_expired.app_error"


def test_unknown_channel_is_permanent() -> None:
    with (
        FakeMattermost() as server,
        MattermostChat(server.url, server.token) as chat,
        pytest.raises(PermanentError) as caught,
    ):
        chat.post("c" * 26, MESSAGE)
    assert caught.value.status == 403


def test_unknown_user_is_permanent() -> None:
    with (
        FakeMattermost() as server,
        MattermostChat(server.url, server.token) as chat,
        pytest.raises(PermanentError) as caught,
    ):
        chat.direct_message("u" * 26, MESSAGE)
    assert caught.value.status == 404


def test_unreachable_server_is_transient() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with (
        MattermostChat(f"http://127.0.0.1:{port}", "t", timeout=2) as chat,
        pytest.raises(TransientError),
    ):
        chat.post("c" * 26, MESSAGE)
