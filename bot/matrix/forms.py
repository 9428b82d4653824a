"""Forms as a guided exchange in the thread, for a platform without forms (Matrix).

Where Slack and Mattermost open a form, Coordo asks its fields one at a time in the
command's thread. Each answer is checked for what its field is (required, one of the
choices, a number); a wrong answer is asked again with what is expected; ``-`` passes an
optional field; ``annuler`` (``cancel``, ``stop``) ends the exchange. Nothing is written
until the last answer: then the values go to the core as a submitted form, and a field
the core refuses (``Reply.errors``) is asked again with the core's own message.

An exchange is kept in the connector's data folder (it survives a restart) and ends,
with a message, after ``EXPIRY`` without an answer.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from commands import usertext
from commands.args import fold
from commands.render import message
from commands.reply import Form

EXPIRY = 600.0  # seconds without an answer
CANCEL_WORDS = {"annuler", "annule", "cancel", "stop", "abandonner", "quit"}
SKIP_WORDS = {"-", "passer", "skip", "aucun", "aucune", "none"}
_NUMBER = re.compile(r"^-?\d[\d\s\u202f\u00a0]*(?:[.,]\d+)?$")


@dataclass
class Guided:
    """One person's form in one thread."""

    room_id: str
    thread_root: str
    user_id: str
    locale: str
    callback: str
    state: str
    title: str
    fields: list[dict[str, Any]]
    expires_at: float
    index: int = 0
    values: dict[str, str] = field(default_factory=dict)
    # Fields the core refused at the end, asked again before submitting once more.
    again: list[str] = field(default_factory=list)

    @staticmethod
    def key_of(room_id: str, user_id: str) -> str:
        return f"{room_id}|{user_id}"

    @property
    def key(self) -> str:
        return self.key_of(self.room_id, self.user_id)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Guided:
        return cls(**data)

    @property
    def current(self) -> dict[str, Any] | None:
        if self.again:
            return next(f for f in self.fields if f["name"] == self.again[0])
        if self.index < len(self.fields):
            return self.fields[self.index]
        return None

    @property
    def complete(self) -> bool:
        return self.current is None


def start(
    form: Form,
    *,
    room_id: str,
    thread_root: str,
    user_id: str,
    locale: str,
    now: float,
    expiry: float = EXPIRY,
) -> Guided:
    fields = [
        {
            "name": f.name,
            "label": f.label,
            "kind": f.kind,
            "required": f.required,
            "placeholder": f.placeholder,
            "options": [list(o) for o in f.options],
        }
        for f in form.fields
    ]
    return Guided(
        room_id=room_id,
        thread_root=thread_root,
        user_id=user_id,
        locale=locale,
        callback=form.callback,
        state=form.state,
        title=form.title,
        fields=fields,
        expires_at=now + expiry,
    )


def question(guided: Guided, *, first: bool = False) -> str:
    """The current field asked: its label, an example or its choices, how to pass it."""
    current = guided.current
    assert current is not None
    loc = guided.locale
    lines = []
    if first:
        lines.append(message("kit.form_start", loc, title=guided.title))
    number = next(i for i, f in enumerate(guided.fields, 1) if f["name"] == current["name"])
    lines.append(
        message(
            "kit.form_ask",
            loc,
            number=number,
            count=len(guided.fields),
            label=current["label"],
            example=current["placeholder"],
            optional=not current["required"],
        )
    )
    for n, (_, label) in enumerate(current["options"], 1):
        # Option labels may be typed by people (budget lines): escaped by the renderer.
        lines.append(f"{n}. {usertext.mark(label)}")
    return "\n".join(lines)


def is_cancel(answer: str) -> bool:
    return fold(answer.strip()) in CANCEL_WORDS


def take(guided: Guided, answer: str) -> str | None:
    """Record ``answer`` for the current field and move on; or the message saying what is
    expected (the field stays the current one)."""
    current = guided.current
    assert current is not None
    loc = guided.locale
    text = answer.strip()
    if not text or fold(text) in SKIP_WORDS:
        if current["required"]:
            return message("kit.form_required", loc, label=current["label"])
        value = ""
    elif current["options"]:
        value_of = _choice(current["options"], text)
        if value_of is None:
            return message("kit.form_bad_choice", loc, count=len(current["options"]))
        value = value_of
    elif current["kind"] == "number" and not _NUMBER.match(text):
        return message("kit.form_bad_number", loc, label=current["label"])
    else:
        value = text
    guided.values[current["name"]] = value
    if guided.again:
        guided.again.pop(0)
    else:
        guided.index += 1
    return None


def refused(guided: Guided, errors: dict[str, str]) -> bool:
    """The core refused some fields: they are asked again (True), in the form's order;
    False when no field of the form is at fault (the exchange ends on the core's reply)."""
    names = [f["name"] for f in guided.fields if f["name"] in errors]
    guided.again = names
    return bool(names)


def _choice(options: list[list[str]], text: str) -> str | None:
    bare = text.rstrip(".)")
    if bare.isdigit() and 1 <= int(bare) <= len(options):
        return options[int(bare) - 1][0]
    folded = fold(text)
    for value, label in options:
        if folded in (fold(value), fold(label)):
            return value
    return None
