"""Every reply of the demo lab, rendered for Slack, is a message Slack takes: its blocks
pass slack_sdk's Block Kit models and Slack's documented limits (``tests/fakes/
slack_rules.py``), its forms are modals Slack opens, its Home tab a view Slack publishes."""

from __future__ import annotations

import json

from bot.console import Console
from bot.slack.render import home_view, modal_view, to_slack_pages
from commands.home import ACTION as HOME_ACTION
from commands.reply import Reply
from tests.fakes.slack_rules import Refused, check_message_blocks, check_text, check_view

EXAMPLES = [
    "/labo",
    "/labo voir",
    "/labo liste",
    "/labo equipe",
    "/labo historique",
    "/labo rappels",
    "/jalon Envoyer le bilan & la synthèse <urgent> pour:15/01 resp:@camille",
    "/jalon liste",
    "/depense 12,50 café & croissants <atelier>",
    "/depense liste",
    "/depense budget",
    "/depense rapport",
    "/depense engagements",
    "/copil liste",
    "/copil voir",
    "/copil decisions",
    "/labo annuler",
    "/expense list",
    "/milestone list",
    "/meeting list",
]


def lines(console: Console) -> list[str]:
    """The examples, then each family alone (its form) and each subcommand word alone
    (its usage, or its answer when it needs nothing more)."""
    found = list(EXAMPLES)
    for family in console.router.families.values():
        word = next(w for w, language in family.words.items() if language == "fr")
        found.append(f"/{word}")
        for sub in family.subcommands:
            found.append(f"/{word} {next(iter(sub.words))}")
    return found


def slack_refusals(reply: Reply, locale: str = "fr") -> list[str]:
    problems: list[str] = []
    for page in to_slack_pages(reply, locale=locale):
        try:
            check_text(page.text)
            if page.blocks is not None:
                check_message_blocks(page.blocks)
        except Refused as e:
            problems.append(str(e))
    if reply.form is not None:
        metadata = json.dumps({"c": "C0BONDY", "s": reply.form.state})
        try:
            check_view(modal_view(reply.form, locale=locale, private_metadata=metadata))
        except Refused as e:
            problems.append(f"modal: {e}")
    return problems


def test_every_reply_of_the_demo_is_a_message_slack_takes(console: Console) -> None:
    refused: dict[str, list[str]] = {}
    typed = lines(console)
    for line in typed:
        command, _, text = line[1:].partition(" ")
        reply = console.router.dispatch(console.engine, console.invocation(command, text))
        if problems := slack_refusals(reply):
            refused[line] = problems

    assert refused == {}
    assert len(typed) > 90


def test_the_home_tab_of_the_demo_is_a_view_slack_publishes(console: Console) -> None:
    reply = console.router.act(console.engine, console.invocation("", ""), HOME_ACTION, "")

    check_view(home_view(reply), expected="home")
