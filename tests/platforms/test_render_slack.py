"""The neutral reply rendered for Slack: mrkdwn, Block Kit within Slack's limits, modals."""

from __future__ import annotations

import json
import re

import pytest

from bot.slack.render import (
    MAX_MESSAGE_BLOCKS,
    MAX_SECTION_TEXT,
    action_name,
    fallback_text,
    home_view,
    modal_view,
    mrkdwn,
    split_text,
    to_slack,
    to_slack_pages,
)
from commands import usertext
from commands.reply import Button, Field, Form, FormField, Reply, Section, Visibility


@pytest.mark.parametrize(
    ("neutral", "slack"),
    [
        ("**Budget** : 12 €", "*Budget* : 12 €"),
        (
            "voir [le tableau](https://example.org/a?b=1&c=2)",
            "voir <https://example.org/a?b=1&amp;c=2|le tableau>",
        ),
        ("<@U123ABC|marie> a validé", "<@U123ABC> a validé"),
        ("**<@U1|karim>** : membre", "*<@U1>* : membre"),
        ("<@marie|marie> (console)", "@marie (console)"),
        ("Tom & Jerry <script> <!channel>", "Tom &amp; Jerry &lt;script&gt; &lt;!channel&gt;"),
        ("Canaux : ~bondy, ~bondy-partenaires", "Canaux : #bondy, #bondy-partenaires"),
        ("environ ~30 personnes", "environ ~30 personnes"),
        ("`a<b`", "`a&lt;b`"),
    ],
)
def test_neutral_markdown_becomes_mrkdwn(neutral: str, slack: str) -> None:
    assert mrkdwn(neutral) == slack


def test_a_long_text_is_cut_between_lines_within_the_section_limit() -> None:
    lines = [f"- ligne {n} " + "x" * 90 for n in range(200)]
    pieces = split_text("\n".join(lines))

    assert all(len(p) <= MAX_SECTION_TEXT for p in pieces)
    assert len(pieces) > 1
    assert "\n".join(pieces).splitlines() == lines


def test_a_word_longer_than_a_section_is_cut_anyway() -> None:
    pieces = split_text("y" * 7000)

    assert [len(p) for p in pieces] == [3000, 3000, 1000]


@pytest.mark.parametrize("filler", [2950, 2955, 2960, 2990])
def test_a_section_is_never_cut_inside_a_link_or_an_entity(filler: int) -> None:
    # The cut falls where a link with spaces in its label, or an escaped "&", sits.
    link = "<https://coordo.example/e/3|Budget du quartier nord>"
    text = "a" * filler + " " + link + " &amp; suite " + "b" * 40 + " &amp;&amp;&amp;"
    pieces = split_text(text, limit=3000)

    assert all(len(p) <= 3000 for p in pieces)
    assert sum(p.count(link) for p in pieces) == 1
    for piece in pieces:
        assert piece.count("<") == piece.count(">")
        assert "&" not in piece.replace("&amp;", "")


def test_a_link_holding_the_last_space_in_reach_moves_whole_to_the_next_section() -> None:
    link = "<https://coordo.example/e/3|Budget du quartier nord>"
    pieces = split_text("a" * 2940 + " " + "b" * 19 + link + "c" * 50, limit=3000)

    assert pieces == ["a" * 2940, "b" * 19 + link + "c" * 50]


def test_a_word_cut_anyway_is_not_cut_inside_an_escaped_character() -> None:
    pieces = split_text("x" * 2998 + "&amp;" + "y" * 10, limit=3000)

    assert pieces == ["x" * 2998, "&amp;" + "y" * 10]


def test_a_long_list_is_paginated_within_fifty_blocks_and_buttons_come_last() -> None:
    sections = [Section(title=f"Jalon {n}", text=f"Échéance {n}") for n in range(60)]
    reply = Reply(
        text="**Jalons**", sections=sections, buttons=[Button("Annuler", "undo", "batch-1")]
    )

    pages = to_slack_pages(reply)

    assert len(pages) == 3  # 1 + 120 + 1 blocks
    assert all(len(p.blocks or []) <= MAX_MESSAGE_BLOCKS for p in pages)
    assert pages[-1].blocks is not None
    assert pages[-1].blocks[-1]["type"] == "actions"
    assert all(p.text == "*Jalons*" for p in pages)


def test_past_the_last_page_the_reply_says_how_much_was_left_out() -> None:
    reply = Reply(text="x", sections=[Section(text=f"n°{n}") for n in range(80)])

    message = to_slack(reply, locale="fr")

    assert message.blocks is not None
    assert len(message.blocks) == MAX_MESSAGE_BLOCKS
    assert message.blocks[-1]["type"] == "context"
    assert "et 32 autres" in message.blocks[-1]["elements"][0]["text"]


def test_fields_go_ten_to_a_section() -> None:
    fields = tuple(Field(f"Poste {n}", f"{n} €") for n in range(23))
    blocks = to_slack(Reply(text="", sections=[Section(fields=fields)])).blocks

    assert blocks is not None
    assert [len(b["fields"]) for b in blocks] == [10, 10, 3]
    assert blocks[0]["fields"][0] == {"type": "mrkdwn", "text": "*Poste 0*\n0 €"}


def test_buttons_have_unique_action_ids_that_lead_back_to_their_action() -> None:
    reply = Reply(
        text="COPIL jeudi",
        buttons=[
            Button("Oui", "meeting.rsvp", "7:yes", "primary"),
            Button("Non", "meeting.rsvp", "7:no", "danger"),
            Button("Peut-être", "meeting.rsvp", "7:maybe"),
        ],
        visibility=Visibility.CHANNEL,
    )

    blocks = to_slack(reply).blocks
    assert blocks is not None
    elements = blocks[-1]["elements"]

    assert len({e["action_id"] for e in elements}) == 3
    assert {action_name(e["action_id"]) for e in elements} == {"meeting.rsvp"}
    assert [e.get("style") for e in elements] == ["primary", "danger", None]
    assert [e["value"] for e in elements] == ["7:yes", "7:no", "7:maybe"]


def test_a_header_is_plain_text_within_150_characters() -> None:
    blocks = to_slack(Reply(text="", sections=[Section(title="**" + "T" * 200 + "**")])).blocks

    assert blocks is not None
    header = blocks[0]
    assert header["type"] == "header"
    assert header["text"]["type"] == "plain_text"
    assert len(header["text"]["text"]) == 150
    assert "*" not in header["text"]["text"]


def test_a_home_view_holds_up_to_a_hundred_blocks() -> None:
    view = home_view(Reply(text="", sections=[Section(text=str(n)) for n in range(150)]))

    assert view["type"] == "home"
    assert len(view["blocks"]) == 100


def test_a_form_becomes_a_modal_with_one_input_per_field() -> None:
    form = Form(
        callback="expense.log",
        title="Nouvelle dépense pour Bondy",
        submit_label="Enregistrer",
        fields=(
            FormField("amount", "Montant", "number", placeholder="12,50"),
            FormField(
                "line",
                "Poste",
                "select",
                options=(("logistique", "Logistique"), ("communication", "Communication")),
                initial="communication",
            ),
            FormField("date", "Date", "date", initial="2026-11-24"),
            FormField("time", "Heure", "time", initial="14:00", required=False),
            FormField("owner", "Responsable", "user", initial="<@U0MARIE|marie>"),
            FormField("description", "Description", "textarea", initial="Café"),
        ),
        state="bondy-bp",
    )

    view = modal_view(form, locale="fr", private_metadata=json.dumps({"c": "C1"}))

    assert view["type"] == "modal"
    assert view["callback_id"] == "expense.log"
    assert len(view["title"]["text"]) <= 24
    assert view["close"]["text"] == "Annuler"
    kinds = {b["block_id"]: b["element"] for b in view["blocks"]}
    assert kinds["amount"]["type"] == "number_input"
    assert kinds["line"]["initial_option"]["value"] == "communication"
    assert kinds["date"] == {
        "type": "datepicker",
        "initial_date": "2026-11-24",
        "action_id": "date",
    }
    assert kinds["time"]["initial_time"] == "14:00"
    assert kinds["owner"]["initial_user"] == "U0MARIE"
    assert kinds["description"]["multiline"] is True
    assert kinds["description"]["initial_value"] == "Café"
    assert [b["optional"] for b in view["blocks"]] == [False, False, False, True, False, False]
    assert all(b["block_id"] == b["element"]["action_id"] for b in view["blocks"])


@pytest.mark.parametrize("tail", ["& fin", "<3 et >_<", "[Facture](https://x.org/f?a=1&b=2) fin"])
def test_the_fallback_text_is_never_cut_inside_an_entity_or_a_link(tail: str) -> None:
    for length in range(2960, 3000):
        text = fallback_text(Reply(text="x" * length + " " + tail * 20))

        assert len(text) <= 3000
        assert text.endswith("…")
        assert not re.search(r"&(?!amp;|lt;|gt;)", text), text[-40:]
        assert text.count("<") == text.count(">"), text[-60:]
        assert not re.search(r"<[^>]*$", text), text[-60:]


def test_a_line_break_typed_inside_code_does_not_end_it_into_a_quote() -> None:
    typed = usertext.START + "\n> cité" + usertext.END
    shown = mrkdwn(f"Exemple : `/copil presence {typed} @marie`")

    assert "\n" not in shown
    assert shown == "Exemple : `/copil presence  &gt; cité @marie`"
