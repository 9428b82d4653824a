"""Buttons where a platform has none: reactions on Coordo's message for the common answers
(✅ done, ⏭ postpone, 👍 👎 🤷 to an invitation), and numbered answers for every button."""

from __future__ import annotations

from commands.reply import Button

DONE = "✅"
POSTPONE = "⏭"
YES, NO, MAYBE = "👍", "👎", "🤷"

_BY_ACTION = {"milestone.done": DONE, "milestone.postpone": POSTPONE}
_BY_ANSWER = {"yes": YES, "no": NO, "maybe": MAYBE}


def reaction_for(button: Button) -> str | None:
    if button.action in _BY_ACTION:
        return _BY_ACTION[button.action]
    if button.action == "meeting.rsvp":
        return _BY_ANSWER.get(button.value.rsplit(":", 1)[-1])
    return None


def choice_lines(buttons: list[Button]) -> list[str]:
    """One line per button: its number, its reaction if it has one, its label."""
    lines = []
    for number, button in enumerate(buttons, 1):
        emoji = reaction_for(button)
        lines.append(f"{number}. {emoji + ' ' if emoji else ''}{button.label}")
    return lines


def pick(buttons: list[Button], answer: str) -> Button | None:
    """The button an answer stands for: its number (``2``) or its reaction (``👍``)."""
    answer = answer.strip().rstrip(".)")
    if answer.isdigit() and 1 <= int(answer) <= len(buttons):
        return buttons[int(answer) - 1]
    # Clients may add a variation selector to an emoji.
    bare = answer.replace("\ufe0f", "")
    for button in buttons:
        emoji = reaction_for(button)
        if emoji is not None and emoji.replace("\ufe0f", "") == bare:
            return button
    return None
