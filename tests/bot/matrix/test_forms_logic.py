"""The guided form's steps, without a homeserver: what each answer does to the exchange."""

from __future__ import annotations

import json

from bot.matrix import forms
from commands import usertext
from commands.reply import Form, FormField

FORM = Form(
    callback="expense.log",
    title="Nouvelle dépense",
    submit_label="Enregistrer",
    state="bondy-bp",
    fields=(
        FormField("amount", "Montant", kind="number", placeholder="1 250,50"),
        FormField(
            "line",
            "Ligne",
            kind="select",
            required=False,
            options=(("com", "Communication"), ("sal", "Salle")),
        ),
        FormField("note", "Note", required=False),
    ),
)


def question(guided: forms.Guided, *, first: bool = False) -> str:
    return usertext.strip(forms.question(guided, first=first))


def started() -> forms.Guided:
    return forms.start(FORM, room_id="!r", thread_root="$t", user_id="@c:x", locale="fr", now=0.0)


def test_each_answer_is_checked_and_a_wrong_one_keeps_the_field() -> None:
    guided = started()
    assert "1/3 · Montant" in question(guided, first=True)
    assert "Il me faut une réponse pour" in (forms.take(guided, "") or "")
    assert "attend un nombre" in (forms.take(guided, "douze") or "")
    assert forms.take(guided, "12,50") is None
    assert "1. Communication" in question(guided)
    assert usertext.strip(forms.take(guided, "3") or "") == "Répondez par un numéro de 1 à 2."
    assert forms.take(guided, "salle") is None
    assert forms.take(guided, "-") is None
    assert guided.complete
    assert guided.values == {"amount": "12,50", "line": "sal", "note": ""}


def test_a_field_the_core_refuses_is_asked_again_and_the_rest_kept() -> None:
    guided = started()
    for text in ("12", "1", "café"):
        assert forms.take(guided, text) is None
    assert forms.refused(guided, {"amount": "Montant illisible", "": "x"})
    assert "1/3 · Montant" in question(guided)
    assert forms.take(guided, "14") is None
    assert guided.complete
    assert guided.values == {"amount": "14", "line": "com", "note": "café"}
    assert not forms.refused(guided, {"": "Pas le droit"})


def test_an_exchange_is_kept_as_json_and_cancel_words_are_read() -> None:
    guided = started()
    forms.take(guided, "12")
    again = forms.Guided.from_json(json.loads(json.dumps(guided.to_json())))
    assert again == guided
    assert forms.is_cancel(" Annuler ")
    assert forms.is_cancel("cancel")
    assert not forms.is_cancel("annuler la salle")
