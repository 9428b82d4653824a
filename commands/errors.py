"""Expected failures, as values the core turns into a reply in the user's language.

A ``UserError`` names a message by ``"<catalog>.<key>"`` (see ``commands/catalogs``) and
carries the parameters the message needs. It never holds text of its own: the adapter
or the console renders it in the locale of whoever typed the command.
"""

from __future__ import annotations

from typing import Any


class UserError(Exception):
    """Something the user typed or asked for cannot be done; nothing was written."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.key!r}, **{self.params!r})"


class PermissionDenied(UserError):
    """The user's role does not allow the action."""


class NotFound(UserError):
    """The thing named does not exist, or is not visible to this user."""
