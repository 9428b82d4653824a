"""The ported Mattermost server rules, each on a payload it must pass and one it must not."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.fakes import mattermost_rules as rules

URL = "https://coordo.example.org/mattermost/actions"


def button(**over: Any) -> dict[str, Any]:
    action: dict[str, Any] = {
        "id": "coordo1",
        "type": "button",
        "name": "Annuler",
        "integration": {"url": URL, "context": {"a": "undo"}},
    }
    action.update(over)
    return action


def element(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"display_name": "Nom", "name": "name", "type": "text"}
    base.update(over)
    return base


def dialog(*elements: dict[str, Any], title: str = "Nouvelle dépense") -> dict[str, Any]:
    return {"callback_id": "x", "title": title, "elements": list(elements), "state": "s"}


# -- posts ---------------------------------------------------------------------------


def test_a_message_is_counted_in_runes_up_to_16383() -> None:
    assert rules.post_problems("é" * 16_383, {}, []) is None
    refusal = rules.post_problems("a" * 16_384, {}, [])
    assert refusal is not None
    assert refusal.error_id == "model.post.is_valid.message_length.app_error"


def test_props_over_800000_runes_are_refused() -> None:
    refusal = rules.post_problems("x", {"big": "a" * 800_000}, [])
    assert refusal is not None
    assert refusal.error_id == "model.post.is_valid.props.app_error"


def test_a_valid_button_passes() -> None:
    assert rules.action_problems(button()) == []
    assert rules.post_problems("x", {"attachments": [{"actions": [button()]}]}, []) is None


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"name": ""}, "must have a name"),
        ({"type": None}, "invalid action type"),
        ({"id": "undo_1"}, "not letters and digits"),
        ({"integration": None}, "integration settings"),
        ({"integration": {"url": "coordo/actions"}}, "valid integration URL"),
        ({"style": "rouge"}, "invalid style"),
        ({"options": [{"text": "a", "value": "b"}]}, "must not have options"),
    ],
)
def test_an_invalid_action_is_named(change: dict[str, Any], problem: str) -> None:
    problems = rules.action_problems(button(**change))
    assert any(problem in p for p in problems), problems


def test_two_actions_with_one_id_in_a_post_are_refused() -> None:
    props = {"attachments": [{"actions": [button()]}, {"actions": [button()]}]}
    refusal = rules.post_problems("x", props, [])
    assert refusal is not None
    assert "used twice" in str(refusal)


def test_a_select_action_needs_options_or_a_source() -> None:
    assert rules.action_problems(button(type="select", data_source="users")) == []
    assert rules.action_problems(button(type="select"))
    assert rules.action_problems(button(type="select", options=[{"text": "", "value": "v"}]))


def test_attachment_fields_colors_and_links() -> None:
    good = {"color": "#1a2b3c", "title": "T", "title_link": "https://x.org", "fields": []}
    assert rules.attachment_problems(good) == []
    assert rules.attachment_problems({"color": "blue"})
    assert rules.attachment_problems({"title_link": "https://x.org"})
    assert rules.attachment_problems({"fields": [{"title": "n", "value": 3}]})
    assert rules.attachment_problems({"ts": 1_700_000_000})


# -- dialogs -------------------------------------------------------------------------


def test_a_dialog_title_is_counted_in_bytes() -> None:
    assert rules.dialog_problems(dialog(title="a" * 24)) == []
    # 23 characters, 25 bytes: the server refuses what a character count allows.
    assert rules.dialog_problems(dialog(title="Échéance du jalon prévue"[:23]))
    assert rules.dialog_problems(dialog(title=""))


def test_an_element_display_name_is_24_bytes_at_most() -> None:
    assert rules.element_problems(element(display_name="é" * 12)) == []
    assert rules.element_problems(element(display_name="é" * 13))
    assert rules.element_problems(element(display_name=""))
    assert rules.element_problems(element(name=""))
    assert rules.element_problems(element(help_text="a" * 151))


def test_element_types_and_subtypes() -> None:
    for kind in ("text", "textarea", "select", "bool", "radio"):
        assert rules.element_problems(element(type=kind)) == [], kind
    assert rules.element_problems(element(type="number"))
    assert rules.element_problems(element(subtype="number")) == []
    assert rules.element_problems(element(subtype="decimal"))


def test_text_lengths() -> None:
    assert rules.element_problems(element(default="a" * 150)) == []
    assert rules.element_problems(element(default="a" * 151))
    assert rules.element_problems(element(type="textarea", default="a" * 3000)) == []
    assert rules.element_problems(element(min_length=2, max_length=10)) == []
    assert rules.element_problems(element(min_length=2))  # max_length 0 < min
    assert rules.element_problems(element(min_length=-1, max_length=1))


def test_select_and_radio_defaults_are_among_the_options() -> None:
    options = [{"text": "Animation", "value": "animation"}]
    assert rules.element_problems(element(type="select", options=options)) == []
    assert (
        rules.element_problems(element(type="select", options=options, default="animation")) == []
    )
    assert rules.element_problems(element(type="select", options=options, default="autre"))
    assert rules.element_problems(element(type="radio", options=options, default="autre"))
    assert rules.element_problems(element(type="select", data_source="users")) == []
    assert rules.element_problems(element(type="select", data_source="people"))
    assert rules.element_problems(element(type="bool", default="oui"))
    assert rules.element_problems(element(type="bool", default="true")) == []


def test_element_names_are_unique() -> None:
    assert rules.dialog_problems(dialog(element(), element()))


def test_an_open_dialog_request_needs_url_and_trigger() -> None:
    assert rules.open_dialog_problems({"url": URL, "trigger_id": "t", "dialog": dialog()}) == []
    assert rules.open_dialog_problems({"trigger_id": "t", "dialog": dialog()})
    assert rules.open_dialog_problems({"url": URL, "dialog": dialog()})


# -- command responses -----------------------------------------------------------------


def test_a_command_response_is_json_only_when_it_says_so() -> None:
    body = json.dumps({"response_type": "in_channel", "text": "ok"}).encode()
    assert rules.parse_command_response("application/json; charset=utf-8", body)["text"] == "ok"
    assert rules.parse_command_response("text/plain", body) == {"text": body.decode()}


@pytest.mark.parametrize(
    "data",
    [
        {"text": 3},
        {"response_type": "public"},
        {"text": "a" * 16_384},
        {"attachments": [{"actions": [button(name="")]}]},
        {"extra_responses": [{"text": 1}]},
        {"props": []},
    ],
)
def test_a_command_response_the_server_cannot_take(data: dict[str, Any]) -> None:
    with pytest.raises(rules.Refusal):
        rules.parse_command_response("application/json", json.dumps(data).encode())


def test_field_values_of_a_command_response_become_strings() -> None:
    body = {"text": "x", "attachments": [{"fields": [{"title": "Montant", "value": 12}]}]}
    assert rules.parse_command_response("application/json", json.dumps(body).encode())


def test_an_action_response_updates_with_a_valid_post() -> None:
    assert rules.action_response_problems({"ephemeral_text": "Fait"}) == []
    good = {"update": {"message": "x", "props": {"attachments": [{"actions": [button()]}]}}}
    assert rules.action_response_problems(good) == []
    broken = {"update": {"message": "x", "props": {"attachments": [{"actions": [{}]}]}}}
    assert rules.action_response_problems(broken)


def test_a_dialog_response_is_errors_or_a_known_type() -> None:
    assert rules.dialog_response_problems({}) == []
    assert rules.dialog_response_problems({"errors": {"amount": "Montant ?"}}) == []
    assert rules.dialog_response_problems({"type": "close"})
    assert rules.dialog_response_problems({"type": "ok", "form": dialog()})
    assert rules.dialog_response_problems({"errors": {"amount": 3}})
