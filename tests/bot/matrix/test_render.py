"""Replies as Matrix message contents: what a person typed stays text, mentions notify."""

from __future__ import annotations

from bot.matrix.render import BUTTONS_KEY, buttons_of, content, to_html
from commands.reply import Button, Field, Reply, Section


def test_typed_text_is_escaped_once_and_markdown_becomes_html() -> None:
    html = to_html("**Café** <script>alert(1)</script> & `a<b` [site](https://x.fr/?a=1&b=2)")
    assert html == (
        "<strong>Café</strong> &lt;script&gt;alert(1)&lt;/script&gt; &amp; "
        '<code>a&lt;b</code> <a href="https://x.fr/?a=1&amp;b=2">site</a>'
    )
    assert to_html("[x](javascript:alert(1))") == "[x](javascript:alert(1))"


def test_mentions_link_to_the_person_and_notify_them() -> None:
    body = content(Reply(text="Merci <@@marie:lab.fr|marie> !"))
    assert body["body"] == "Merci @marie !"
    assert '<a href="https://matrix.to/#/@marie:lab.fr">marie</a>' in body["formatted_body"]
    assert body["m.mentions"] == {"user_ids": ["@marie:lab.fr"]}
    assert content(Reply(text="<b>@room</b>"))["m.mentions"] == {"user_ids": []}


def test_sections_and_choices_are_text_and_the_buttons_travel_with_the_message() -> None:
    reply = Reply(
        text="COPIL jeudi",
        sections=[Section(title="Lieu", fields=(Field("Salle", "B12"),))],
        buttons=[Button("Oui", "meeting.rsvp", "4:yes"), Button("Annuler", "undo", "b")],
    )
    body = content(reply, "en")
    assert body["body"].splitlines() == [
        "COPIL jeudi",
        "",
        "Lieu",
        "Salle : B12",
        "",
        "Answer with a reaction or with the number of your choice:",
        "1. 👍 Oui",
        "2. Annuler",
    ]
    assert body[BUTTONS_KEY] == [["Oui", "meeting.rsvp", "4:yes"], ["Annuler", "undo", "b"]]
    assert buttons_of(body) == [
        Button("Oui", "meeting.rsvp", "4:yes"),
        Button("Annuler", "undo", "b"),
    ]
