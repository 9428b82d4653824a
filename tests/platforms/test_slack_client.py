"""SlackChat against the fake Slack Web API: what arrives on the wire, and how failures
come back as the port's typed errors."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime

import pytest

from bot.kit.port import (
    ChatPort,
    PermanentError,
    PlatformMessage,
    RateLimited,
    TransientError,
)
from bot.slack.client import SlackChat, post_to_response_url
from tests.fakes._server import ManualClock
from tests.fakes.slack_api import FakeSlack

BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Jalon* : vote du budget"}}]
MESSAGE = PlatformMessage(text="Jalon : vote du budget", blocks=BLOCKS)


def lab_workspace(slack: FakeSlack) -> None:
    """The channels and people these tests name, as the workspace would have them."""
    slack.add_user("U0ALICE", name="alice")
    for channel in ("C0BUDGET", "C0OTHER", "C0INTERNAL"):
        slack.add_channel(channel, channel[2:].lower(), members=("U0ALICE",))


@pytest.fixture
def chat(fake_slack: FakeSlack) -> SlackChat:
    lab_workspace(fake_slack)
    return SlackChat(fake_slack.token, base_url=fake_slack.api_url)


def test_slack_chat_is_a_chat_port(chat: SlackChat) -> None:
    assert isinstance(chat, ChatPort)
    assert chat.platform == "slack"


def test_post_sends_blocks_with_text_fallback_and_returns_the_ts(
    chat: SlackChat, fake_slack: FakeSlack
) -> None:
    ts = chat.post("C0BUDGET", MESSAGE)

    [posted] = fake_slack.messages_in("C0BUDGET")
    assert posted.ts == ts
    assert posted.text == "Jalon : vote du budget"
    assert posted.blocks == BLOCKS
    call = fake_slack.calls.last("chat.postMessage")
    assert call.headers["authorization"] == f"Bearer {fake_slack.token}"


def test_direct_message_opens_the_users_conversation_once(
    chat: SlackChat, fake_slack: FakeSlack
) -> None:
    first = chat.direct_message("U0ALICE", MESSAGE)
    second = chat.direct_message("U0ALICE", PlatformMessage(text="Rappel"))

    dm = fake_slack.dm_channel_for("U0ALICE")
    assert [m.ts for m in fake_slack.messages_in(dm)] == [first, second]
    assert fake_slack.calls.count("conversations.open") == 1
    assert fake_slack.calls.last("conversations.open").body["users"] == "U0ALICE"
    assert chat.open_direct_channel("U0ALICE") == dm


def test_upload_file_delivers_the_bytes_title_and_comment(
    chat: SlackChat, fake_slack: FakeSlack
) -> None:
    content = b"Poste;Montant\nAtelier;1200,00\n" + bytes(range(256))

    chat.upload_file("C0BUDGET", "budget.csv", content, "Budget de Rezé", comment="Export du jour")

    [uploaded] = fake_slack.files.values()
    assert uploaded.content == content
    assert uploaded.filename == "budget.csv"
    assert uploaded.title == "Budget de Rezé"
    assert uploaded.channels == ["C0BUDGET"]
    assert uploaded.completed
    [shared] = fake_slack.messages_in("C0BUDGET")
    assert shared.text == "Export du jour"
    assert shared.files == [uploaded.id]
    assert fake_slack.calls.names() == [
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
    ]


def test_429_becomes_rate_limited_with_the_servers_retry_after(
    chat: SlackChat, fake_slack: FakeSlack
) -> None:
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=7)

    with pytest.raises(RateLimited) as caught:
        chat.post("C0BUDGET", MESSAGE)

    assert caught.value.retry_after == 7.0
    assert fake_slack.messages == []
    assert fake_slack.calls.count("chat.postMessage") == 1  # no retry inside the client


def test_rate_limit_mode_refuses_a_second_message_in_the_same_second(
    chat: SlackChat, fake_slack: FakeSlack, manual_clock: ManualClock
) -> None:
    fake_slack.enable_rate_limit()
    chat.post("C0BUDGET", MESSAGE)
    chat.post("C0OTHER", MESSAGE)  # another channel has its own allowance

    with pytest.raises(RateLimited) as caught:
        chat.post("C0BUDGET", MESSAGE)
    assert caught.value.retry_after == 1.0

    manual_clock.advance(caught.value.retry_after)
    chat.post("C0BUDGET", MESSAGE)
    assert len(fake_slack.messages_in("C0BUDGET")) == 2


@pytest.mark.parametrize("error", ["rate_limited", "ratelimited"])
def test_a_rate_limit_answered_with_http_200_is_a_rate_limit(
    chat: SlackChat, fake_slack: FakeSlack, error: str
) -> None:
    """chat.postMessage documents ``rate_limited`` as an ``ok: false`` error with HTTP 200,
    no Retry-After: it is a wait, never a refusal."""
    fake_slack.fail_next("chat.postMessage", status=200, error=error)

    with pytest.raises(RateLimited) as caught:
        chat.post("C0BUDGET", MESSAGE)

    assert caught.value.retry_after >= 1.0
    assert caught.value.code == error
    assert not isinstance(caught.value, PermanentError)


def test_the_fakes_own_http_200_rate_limit_is_a_rate_limit_too(
    chat: SlackChat, fake_slack: FakeSlack, manual_clock: ManualClock
) -> None:
    fake_slack.enable_rate_limit(per_channel_interval=1.0, as_ok_false=True)
    chat.post("C0BUDGET", MESSAGE)

    with pytest.raises(RateLimited) as caught:
        chat.post("C0BUDGET", MESSAGE)

    manual_clock.advance(caught.value.retry_after)
    chat.post("C0BUDGET", MESSAGE)
    assert len(fake_slack.messages_in("C0BUDGET")) == 2


def test_server_error_is_transient(chat: SlackChat, fake_slack: FakeSlack) -> None:
    fake_slack.fail_next("chat.postMessage", status=503)

    with pytest.raises(TransientError) as caught:
        chat.post("C0BUDGET", MESSAGE)
    assert caught.value.status == 503
    assert fake_slack.calls.count("chat.postMessage") == 1  # the outbox retries, not the client


def test_ok_false_internal_error_is_transient(chat: SlackChat, fake_slack: FakeSlack) -> None:
    fake_slack.fail_next("chat.postMessage", status=200, error="internal_error")

    with pytest.raises(TransientError) as caught:
        chat.post("C0BUDGET", MESSAGE)
    assert caught.value.code == "internal_error"


def test_unknown_channel_is_permanent(chat: SlackChat) -> None:
    with pytest.raises(PermanentError) as caught:
        chat.post("C0GONE", MESSAGE)
    assert caught.value.code == "channel_not_found"
    assert not isinstance(caught.value, TransientError | RateLimited)


def test_archived_channel_is_permanent(chat: SlackChat, fake_slack: FakeSlack) -> None:
    fake_slack.add_channel("C0OLD", "ancienne-experimentation", is_archived=True)

    with pytest.raises(PermanentError) as caught:
        chat.post("C0OLD", MESSAGE)
    assert caught.value.code == "is_archived"


def test_bad_token_is_permanent(fake_slack: FakeSlack) -> None:
    chat = SlackChat("xoxb-revoked", base_url=fake_slack.api_url)

    with pytest.raises(PermanentError) as caught:
        chat.post("C0BUDGET", MESSAGE)
    assert caught.value.code == "invalid_auth"


def test_unreachable_server_is_transient() -> None:
    with socket.socket() as sock:  # a port that nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    chat = SlackChat("xoxb-x", base_url=f"http://127.0.0.1:{port}/api/", timeout=2)

    with pytest.raises(TransientError):
        chat.post("C0BUDGET", MESSAGE)


def test_failed_upload_of_the_bytes_is_typed(chat: SlackChat, fake_slack: FakeSlack) -> None:
    fake_slack.fail_next("upload", status=500)
    with pytest.raises(TransientError):
        chat.upload_file("C0BUDGET", "budget.csv", b"x", "Budget")

    fake_slack.fail_next("upload", status=429, retry_after=3)
    with pytest.raises(RateLimited) as caught:
        chat.upload_file("C0BUDGET", "budget.csv", b"x", "Budget")
    assert caught.value.retry_after == 3.0
    assert fake_slack.calls.count("files.completeUploadExternal") == 0


def test_interactive_retries_retry_a_server_error_once(fake_slack: FakeSlack) -> None:
    lab_workspace(fake_slack)
    chat = SlackChat(fake_slack.token, base_url=fake_slack.api_url, interactive_retries=True)
    fake_slack.fail_next("chat.postMessage", status=500)

    chat.post("C0BUDGET", MESSAGE)

    assert [c.status for c in fake_slack.calls("chat.postMessage")] == [500, 200]


def test_get_user_tells_guests_and_external_users(chat: SlackChat, fake_slack: FakeSlack) -> None:
    fake_slack.add_user("U0MEMBER", name="Camille")
    fake_slack.add_user("U0GUEST", name="Élu de Rezé", is_restricted=True)
    fake_slack.add_user("U0EXT", name="Agente", team_id="T0MAIRIE", is_stranger=True)

    member = chat.get_user("U0MEMBER")
    guest = chat.get_user("U0GUEST")
    external = chat.get_user("U0EXT")

    assert (member.is_guest, member.is_external, member.name) == (False, False, "Camille")
    assert (guest.is_guest, guest.is_external) == (True, False)
    assert (external.is_guest, external.is_external, external.team_id) == (False, True, "T0MAIRIE")
    assert fake_slack.calls.count("auth.test") == 1


def test_get_channel_tells_shared_channels(chat: SlackChat, fake_slack: FakeSlack) -> None:
    fake_slack.add_channel("C0SHARED", "budget-participatif-reze", is_ext_shared=True)

    shared = chat.get_channel("C0SHARED")

    assert shared.is_shared
    assert shared.name == "budget-participatif-reze"
    assert not chat.get_channel("C0INTERNAL").is_shared


def test_post_to_response_url_delivers_json(fake_slack: FakeSlack) -> None:
    url = fake_slack.new_response_url()
    payload = {"response_type": "ephemeral", "text": "Dépense enregistrée", "blocks": BLOCKS}

    post_to_response_url(url, payload)

    assert fake_slack.responses_to(url) == [payload]
    call = fake_slack.calls.last("response_url")
    assert call.headers["content-type"].startswith("application/json")
    assert json.loads(call.raw) == payload


def test_response_url_refuses_a_sixth_use_and_after_thirty_minutes(
    chat: SlackChat, fake_slack: FakeSlack, manual_clock: ManualClock
) -> None:
    url = fake_slack.new_response_url()
    for n in range(5):
        chat.post_to_response_url(url, {"text": f"réponse {n}"})
    with pytest.raises(PermanentError):
        chat.post_to_response_url(url, {"text": "une de trop"})

    later = fake_slack.new_response_url()
    manual_clock.advance(30 * 60 + 1)
    with pytest.raises(PermanentError):
        chat.post_to_response_url(later, {"text": "trop tard"})


def test_response_url_server_error_is_transient(fake_slack: FakeSlack) -> None:
    url = fake_slack.new_response_url()
    fake_slack.fail_next("response_url", status=502)

    with pytest.raises(TransientError):
        post_to_response_url(url, {"text": "x"})


def test_retry_after_as_an_http_date_is_read_against_the_clock(fake_slack: FakeSlack) -> None:
    lab_workspace(fake_slack)
    now = datetime(2025, 3, 4, 9, 0, 0, tzinfo=UTC)
    chat = SlackChat(fake_slack.token, base_url=fake_slack.api_url, clock=lambda: now)
    fake_slack.fail_next(
        "chat.postMessage", status=429, headers={"Retry-After": "Tue, 04 Mar 2025 09:00:12 GMT"}
    )

    with pytest.raises(RateLimited) as caught:
        chat.post("C0BUDGET", MESSAGE)
    assert caught.value.retry_after == 12.0
