"""A failed command's reply names the form field at fault, so a form can stay open."""

from __future__ import annotations

from commands.core import error_reply
from commands.errors import UserError


def test_an_error_with_a_field_names_it() -> None:
    reply = error_reply(UserError("lab.bad_date", text="31/02", field="start"), "fr")
    assert reply.errors == {"start": reply.text}
    assert "31/02" in reply.text


def test_an_error_without_a_field_is_for_the_whole_form() -> None:
    reply = error_reply(UserError("core.nothing_to_undo"), "en")
    assert reply.errors == {"": "Nothing to undo."}
