"""The Block Kit rules the fake Slack API enforces: what slack_sdk builds passes, what
Slack documents as refused is refused, and the fake answers as Slack does."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    DatePickerElement,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    NumberInputElement,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from tests.fakes import slack_rules
from tests.fakes._server import ManualClock
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_rules import Refused, check_message_blocks, check_view


def sdk_message() -> list[dict[str, Any]]:
    """A message built with slack_sdk's own models, at the documented limits."""
    blocks = [
        HeaderBlock(text="H" * 150),
        SectionBlock(text=MarkdownTextObject(text="*gras* " + "x" * 2993)),
        SectionBlock(fields=[MarkdownTextObject(text=f"*{n}*") for n in range(10)]),
        DividerBlock(),
        ContextBlock(elements=[MarkdownTextObject(text="note")]),
        ActionsBlock(
            block_id="coordo_actions_0",
            elements=[
                ButtonElement(text="B" * 75, action_id="undo#0", value="v" * 2000),
                ButtonElement(text="Fait", action_id="done#1", value="12", style="primary"),
                ButtonElement(text="Accueil", action_id="home#2"),
            ],
        ),
    ]
    return [b.to_dict() for b in blocks]


def sdk_modal() -> dict[str, Any]:
    return View(
        type="modal",
        callback_id="milestone.create",
        title="T" * 24,
        submit="S" * 24,
        close="C" * 24,
        private_metadata="{}",
        blocks=[
            InputBlock(
                label="Titre", block_id="title", element=PlainTextInputElement(action_id="title")
            ),
            InputBlock(label="Date", block_id="due", element=DatePickerElement(action_id="due")),
            InputBlock(
                label="Montant",
                block_id="amount",
                element=NumberInputElement(action_id="amount", is_decimal_allowed=True),
            ),
            InputBlock(
                label="Responsable",
                block_id="owner",
                optional=True,
                element=UserSelectElement(action_id="owner"),
            ),
            InputBlock(
                label="Expérimentation",
                block_id="experiment",
                element=StaticSelectElement(
                    action_id="experiment",
                    options=[Option(value="bondy-bp", label="Budget participatif")],
                ),
            ),
        ],
    ).to_dict()


def test_what_slack_sdk_builds_passes() -> None:
    check_message_blocks(sdk_message())
    check_view(sdk_modal(), expected="modal")
    check_view({"type": "home", "blocks": sdk_message()}, expected="home")


def refused(blocks: list[Any]) -> list[str]:
    with pytest.raises(Refused) as caught:
        check_message_blocks(blocks)
    assert caught.value.error == "invalid_blocks"
    return caught.value.reasons


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(text: str = "Ok", **extra: Any) -> dict[str, Any]:
    return {
        "type": "actions",
        "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": text}, "action_id": "a"}
            | extra
        ],
    }


@pytest.mark.parametrize(
    ("blocks", "reason"),
    [
        ([{"type": "divider"}] * 51, "no more than 50 items"),
        ([section("x" * 3001)], "3000"),
        ([section("")], "non-empty"),
        ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}], "150"),
        ([{"type": "header", "text": {"type": "mrkdwn", "text": "*h*"}}], "plain_text"),
        ([button("b" * 76)], "75"),
        ([button(value="")], "more than 0"),
        ([button(value="v" * 2001)], "2000"),
        ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}], "10"),
        ([{"type": "banana"}], "unsupported block"),
        (["divider"], "object with a type"),
        ([{"type": "section"}], "text or fields"),
        ([{"type": "divider", "block_id": "a"}, {"type": "divider", "block_id": "a"}], "duplicate"),
        ([{"type": "actions", "elements": []}], "1 to 25"),
        (
            [{"type": "input", "label": {"type": "plain_text", "text": "l"}, "element": {}}],
            "modals",
        ),
    ],
)
def test_what_slack_refuses_in_a_message_is_refused(blocks: list[Any], reason: str) -> None:
    assert any(reason in r for r in refused(blocks)), refused(blocks)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"title": {"type": "plain_text", "text": "t" * 25}}, "title"),
        ({"submit": {"type": "plain_text", "text": "s" * 25}}, "submit"),
        ({"close": {"type": "plain_text", "text": "c" * 25}}, "close"),
        ({"blocks": [{"type": "divider"}] * 101}, "100"),
        ({"blocks": []}, "between 1 and 100"),
        ({"type": "page"}, "modal or home"),
        ({"private_metadata": "m" * 3001}, "private_metadata"),
    ],
)
def test_what_slack_refuses_in_a_view_is_refused(change: dict[str, Any], reason: str) -> None:
    view = sdk_modal() | change
    with pytest.raises(Refused) as caught:
        check_view(view)
    assert caught.value.error == "invalid_arguments"
    assert any(reason in r for r in caught.value.reasons), caught.value.reasons


def test_a_modal_with_inputs_needs_a_submit_and_a_home_has_none() -> None:
    modal = {k: v for k, v in sdk_modal().items() if k != "submit"}
    with pytest.raises(Refused, match="submit is required"):
        check_view(modal)
    with pytest.raises(Refused, match="neither submit nor close"):
        check_view({"type": "home", "blocks": [{"type": "divider"}], "close": modal["close"]})
    with pytest.raises(Refused, match="home view is expected"):
        check_view(sdk_modal(), expected="home")


def test_shapes_tell_structure_not_text() -> None:
    assert slack_rules.shape_of([section("a")]) == slack_rules.shape_of([section("b" * 90)])
    assert slack_rules.shape_of([section("a")]) != slack_rules.shape_of([button()])


# -- the fake answers as Slack does -------------------------------------------------------------


@pytest.fixture
def web(fake_slack: FakeSlack) -> WebClient:
    fake_slack.add_user("U0ALICE")
    fake_slack.add_channel("C0BUDGET", members=("U0ALICE",))
    client = WebClient(token=fake_slack.token, base_url=fake_slack.api_url)
    client.retry_handlers.clear()
    return client


def api_error(call: Any) -> dict[str, Any]:
    with pytest.raises(SlackApiError) as caught:
        call()
    data: dict[str, Any] = caught.value.response.data  # type: ignore[assignment]
    return data


def test_the_fake_refuses_bad_blocks_and_views_with_slacks_errors(
    web: WebClient, fake_slack: FakeSlack
) -> None:
    fake_slack.expect_refusals = True
    too_long = [section("x" * 3001)]
    message = api_error(lambda: web.chat_postMessage(channel="C0BUDGET", text="t", blocks=too_long))
    ephemeral = api_error(
        lambda: web.chat_postEphemeral(
            channel="C0BUDGET", user="U0ALICE", text="t", blocks=[button(value="")]
        )
    )
    view = api_error(
        lambda: web.views_open(
            trigger_id=fake_slack.new_trigger_id(),
            view=sdk_modal() | {"title": {"type": "plain_text", "text": "t" * 25}},
        )
    )
    home = api_error(lambda: web.views_publish(user_id="U0ALICE", view=sdk_modal()))

    assert message["error"] == ephemeral["error"] == "invalid_blocks"
    assert "3000" in message["response_metadata"]["messages"][0]
    assert view["error"] == home["error"] == "invalid_arguments"
    assert fake_slack.messages == []
    assert fake_slack.ephemeral == []
    assert fake_slack.views == {}


def test_a_response_url_refuses_bad_blocks_without_using_itself_up(
    fake_slack: FakeSlack,
) -> None:
    fake_slack.expect_refusals = True
    url = fake_slack.new_response_url()

    bad = httpx.post(url, json={"text": "t", "blocks": [button("b" * 80)]})
    good = httpx.post(url, json={"text": "t", "blocks": sdk_message()})

    assert (bad.status_code, bad.json()["error"]) == (400, "invalid_blocks")
    assert good.status_code == 200
    assert len(fake_slack.responses_to(url)) == 1
    assert [r.split(":")[0] for r in fake_slack.refused] == ["response_url"]


def test_a_refused_payload_fails_the_test_that_sent_it(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COORDO_SLACK_TALLY", raising=False)  # the outer session counts
    pytester.makeconftest('pytest_plugins = ["tests.fakes.fixtures"]')
    pytester.makepyfile(
        """
        from slack_sdk import WebClient

        def test_sends_an_empty_button_value(fake_slack):
            fake_slack.add_channel("C0X")
            web = WebClient(token=fake_slack.token, base_url=fake_slack.api_url)
            blocks = [{"type": "actions", "elements": [{"type": "button", "action_id": "a",
                       "text": {"type": "plain_text", "text": "Ok"}, "value": ""}]}]
            try:
                web.chat_postMessage(channel="C0X", text="t", blocks=blocks)
            except Exception:
                pass  # code that swallows the error: the fixture still sees it
        """
    )

    result = pytester.runpytest_inprocess("-p", "no:xdist", "-p", "no:cacheprovider")

    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*the fake Slack refused what was sent*", "*button value must be more than 0*"]
    )


def test_a_trigger_id_is_good_for_three_seconds_and_once(
    web: WebClient, fake_slack: FakeSlack, manual_clock: ManualClock
) -> None:
    modal = sdk_modal()
    fresh = fake_slack.new_trigger_id()
    stale = fake_slack.new_trigger_id()

    web.views_open(trigger_id=fresh, view=modal)
    again = api_error(lambda: web.views_open(trigger_id=fresh, view=modal))
    manual_clock.advance(3.1)
    late = api_error(lambda: web.views_open(trigger_id=stale, view=modal))
    made_up = api_error(lambda: web.views_open(trigger_id="12345.98765.abcdef", view=modal))

    assert again["error"] == "exchanged_trigger_id"
    assert late["error"] == "expired_trigger_id"
    assert made_up["error"] == "invalid_trigger_id"
    assert len(fake_slack.views) == 1


def test_the_rate_limit_can_answer_ok_false_with_http_200(
    web: WebClient, fake_slack: FakeSlack
) -> None:
    fake_slack.enable_rate_limit(per_channel_interval=60, burst=1, as_ok_false=True)

    web.chat_postMessage(channel="C0BUDGET", text="un")
    with pytest.raises(SlackApiError) as caught:
        web.chat_postMessage(channel="C0BUDGET", text="deux")

    assert caught.value.response.status_code == 200
    assert caught.value.response.data == {"ok": False, "error": "rate_limited"}
    assert len(fake_slack.messages) == 1


def test_every_payload_checked_is_counted() -> None:
    before = slack_rules.TALLY.summary()
    check_message_blocks(sdk_message())
    with pytest.raises(Refused):
        check_message_blocks([section("")])
    after = slack_rules.TALLY.summary()

    assert after["messages"] == before["messages"] + 1
    assert after["refused"] == before["refused"] + 1
