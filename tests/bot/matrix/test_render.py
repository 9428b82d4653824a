"""Replies as Matrix message contents: what a person typed stays text, mentions notify."""

from __future__ import annotations

from bot.matrix.render import (
    BUTTONS_KEY,
    POLL_START,
    POLL_TEXT,
    buttons_of,
    content,
    edit_of,
    native_polls,
    poll_selection,
    to_html,
)
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


def test_an_edit_replaces_the_content_with_a_fallback_and_mentions_nobody_anew() -> None:
    new = content(Reply(text="Sondage : <@@marie:lab.fr|marie> **1 oui**"))
    edit = edit_of("$poll", new)
    assert edit["m.relates_to"] == {"rel_type": "m.replace", "event_id": "$poll"}
    assert edit["m.new_content"] == new
    assert edit["body"] == "* " + new["body"]
    assert edit["formatted_body"] == "* " + new["formatted_body"]
    assert edit["m.mentions"] == {}
    assert new["m.mentions"] == {"user_ids": ["@marie:lab.fr"]}


def test_a_date_poll_becomes_one_single_choice_poll_per_date() -> None:
    reply = Reply(
        text="📊 **COPIL**\n\n1. jeudi 14 janvier 2027 14:00–16:00 — ✅ 0 oui\n\n"
        "2. vendredi 15 janvier 2027 10:00–12:00 — ✅ 0 oui",
        buttons=[
            Button(f"{n} · {label}", "poll.answer", f"7:{n}:{a}")
            for n in (1, 2)
            for a, label in (("yes", "Oui"), ("maybe", "Si besoin"), ("no", "Non"))
        ]
        + [Button("Annuler", "undo", "batch")],
    )
    polls = native_polls(content(reply))
    assert [p.question for p in polls] == [
        "jeudi 14 janvier 2027 14:00–16:00",
        "vendredi 15 janvier 2027 10:00–12:00",
    ]
    start = polls[1].content()[POLL_START]
    assert start["max_selections"] == 1
    assert [(a["id"], a[POLL_TEXT]) for a in start["answers"]] == [
        ("yes", "Oui"),
        ("maybe", "Si besoin"),
        ("no", "Non"),
    ]
    assert [b.value for _, b in polls[1].answers] == ["7:2:yes", "7:2:maybe", "7:2:no"]
    assert (
        polls[0].content()["body"]
        == "jeudi 14 janvier 2027 14:00–16:00\n1. Oui\n2. Si besoin\n3. Non"
    )


def test_an_invitation_is_one_poll_and_other_buttons_none() -> None:
    reply = Reply(
        text="📅 COPIL jeudi\nSalle B12",
        buttons=[
            Button("Je viens", "meeting.rsvp", "4:yes"),
            Button("Je ne viens pas", "meeting.rsvp", "4:no"),
            Button("Peut-être", "meeting.rsvp", "4:maybe"),
        ],
    )
    (poll,) = native_polls(content(reply))
    assert poll.question == "📅 COPIL jeudi"
    assert [a for a, _ in poll.answers] == ["yes", "no", "maybe"]
    assert (
        native_polls(content(Reply(text="x", buttons=[Button("Fait", "milestone.done", "3")])))
        == []
    )


def test_poll_responses_are_read_in_both_forms() -> None:
    relates = {"m.relates_to": {"rel_type": "m.reference", "event_id": "$p"}}
    element = {**relates, "org.matrix.msc3381.poll.response": {"answers": ["no"]}}
    assert poll_selection(element) == ("$p", ["no"])
    assert poll_selection({**relates, "m.selections": ["yes"]}) == ("$p", ["yes"])
    assert poll_selection({**relates, "m.selections": []}) == ("$p", [])
    assert poll_selection({"m.selections": ["yes"]}) is None
