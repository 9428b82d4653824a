"""The neutral reply every command returns, which each adapter renders its own way
(Block Kit, a Mattermost post, plain text in the console).

Text is "neutral markdown": ``**bold**``, ``_italic_``, `` `code` ``, ``[label](url)``
links, ``- `` lists, and mentions written ``<@PLATFORM_ID|handle>``; adapters translate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from commands import usertext


class Visibility(StrEnum):
    EPHEMERAL = "ephemeral"  # only the person who typed the command sees it
    CHANNEL = "channel"  # posted for the whole channel


@dataclass(frozen=True)
class Field:
    label: str
    value: str


@dataclass(frozen=True)
class Button:
    """``action`` names what a click does (``undo``, ``milestone.done``…); ``value`` is the
    opaque argument the click brings back. ``style`` is "primary", "danger" or None."""

    label: str
    action: str
    value: str
    style: str | None = None


@dataclass(frozen=True)
class Section:
    text: str = ""
    title: str = ""
    fields: tuple[Field, ...] = ()


@dataclass(frozen=True)
class File:
    """A file to post with the reply (an export, a chart, an .ics invitation)."""

    filename: str
    content: bytes
    title: str
    mime_type: str = "application/octet-stream"

    def __post_init__(self) -> None:
        # A file's title is plain text wherever it is shown (an upload's name).
        object.__setattr__(self, "title", usertext.strip(self.title))
        object.__setattr__(self, "filename", usertext.strip(self.filename))


@dataclass(frozen=True)
class FormField:
    """One input of a form (a Slack modal, a Mattermost dialog). ``kind`` is text,
    textarea, date, time, number, select or user; ``options`` are (value, label)."""

    name: str
    label: str
    kind: str = "text"
    required: bool = True
    placeholder: str = ""
    initial: str = ""
    options: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        # A form shows plain text (and gives back what it shows): no user text marks.
        for name in ("label", "placeholder", "initial"):
            object.__setattr__(self, name, usertext.strip(getattr(self, name)))
        options = tuple((value, usertext.strip(label)) for value, label in self.options)
        object.__setattr__(self, "options", options)


@dataclass(frozen=True)
class Form:
    """A form to open instead of answering. On submission the adapter turns the values
    back into the command text, ``command`` plus ``options`` built from the fields."""

    callback: str
    title: str
    submit_label: str
    fields: tuple[FormField, ...]
    state: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "title", usertext.strip(self.title))
        object.__setattr__(self, "submit_label", usertext.strip(self.submit_label))


@dataclass
class Reply:
    text: str
    visibility: Visibility = Visibility.EPHEMERAL
    sections: list[Section] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)
    files: list[File] = field(default_factory=list)
    form: Form | None = None
    # Whether the command changed anything (the adapter may then post for the channel).
    changed: bool = False
    # Set when the command failed: field name → message ("" for no field in particular).
    # A form submission that fails stays open and shows these next to the fields.
    errors: dict[str, str] = field(default_factory=dict)

    def to_payload(self) -> dict[str, Any]:
        """A JSON-able form of the reply (files excluded) for the outbox."""
        return {
            "text": self.text,
            "visibility": self.visibility.value,
            "sections": [
                {
                    "text": s.text,
                    "title": s.title,
                    "fields": [[f.label, f.value] for f in s.fields],
                }
                for s in self.sections
            ],
            "buttons": [[b.label, b.action, b.value, b.style] for b in self.buttons],
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Reply:
        return cls(
            text=payload["text"],
            visibility=Visibility(payload.get("visibility", "channel")),
            sections=[
                Section(
                    text=s["text"],
                    title=s["title"],
                    fields=tuple(Field(label, value) for label, value in s["fields"]),
                )
                for s in payload.get("sections", [])
            ],
            buttons=[Button(*b) for b in payload.get("buttons", [])],
        )
