"""A failed command's reply names the form field at fault, so a form can stay open."""

from __future__ import annotations

from commands.core import error_reply
from commands.errors import UserError


def test_an_error_with_a_field_names_it() -> None:
    reply = error_reply(UserError("lab.bad_flag", text="peut-être", field="shared"), "fr")
    assert reply.errors == {"shared": reply.text}
    assert "peut-être" in reply.text


def test_an_error_without_a_field_is_for_the_whole_form() -> None:
    reply = error_reply(UserError("core.nothing_to_undo"), "en")
    assert reply.errors == {"": "Nothing to undo."}
