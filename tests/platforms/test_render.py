"""The neutral reply rendered for Mattermost: Markdown, attachments, signed buttons."""

from __future__ import annotations

from bot.mattermost.render import (
    MATTERMOST_POST_LIMIT,
    MattermostSigner,
    derive_key,
    mattermost_markdown,
    to_mattermost,
)
from bot.settings import Settings
from commands.reply import Button, Field, Reply, Section

SIGNER = MattermostSigner("https://coordo.example.org", derive_key("bot-token"))


def test_mentions_and_channel_references_become_mattermost_ones() -> None:
    text = "**Jalon** pour <@u1abc|marie> et <@U2|karim> dans <#c9|bondy>, _vite_"
    assert mattermost_markdown(text) == "**Jalon** pour @marie et @karim dans ~bondy, _vite_"


def test_a_plain_reply_is_text_without_attachments() -> None:
    message = to_mattermost(Reply(text="Bonjour <@u1|camille>"))
    assert message.text == "Bonjour @camille"
    assert message.attachments is None


def test_sections_become_attachments_with_fields() -> None:
    reply = Reply(
        text="Budget",
        sections=[
            Section(
                title="Poste « Animation »",
                text="par <@u1|marie>",
                fields=(Field("Dépensé", "1 200,00 €"), Field("Note", "x" * 60)),
            ),
            Section(),
        ],
    )
    [attachment] = to_mattermost(reply).attachments or []
    assert attachment == {
        "title": "Poste « Animation »",
        "text": "par @marie",
        "fields": [
            {"title": "Dépensé", "value": "1 200,00 €", "short": True},
            {"title": "Note", "value": "x" * 60, "short": False},
        ],
    }


def test_buttons_are_integration_actions_with_a_signed_context() -> None:
    reply = Reply(text="Fait", buttons=[Button("Annuler", "undo", "batch-1", style="danger")])
    [attachment] = to_mattermost(reply, SIGNER, ephemeral=True, team_id="t1").attachments or []
    [action] = attachment["actions"]
    assert action["id"].isalnum()
    assert action["type"] == "button"
    assert action["name"] == "Annuler"
    assert action["style"] == "danger"
    assert action["integration"]["url"] == "https://coordo.example.org/mattermost/actions"
    click = SIGNER.verify_button(action["integration"]["context"])
    assert click is not None
    assert (click.action, click.value, click.ephemeral, click.team_id) == (
        "undo",
        "batch-1",
        True,
        "t1",
    )


def test_a_context_changed_or_signed_with_another_key_is_refused() -> None:
    context = SIGNER.button_context("undo", "batch-1", ephemeral=False)
    assert SIGNER.verify_button(context) is not None
    assert SIGNER.verify_button({**context, "value": "batch-2"}) is None
    assert SIGNER.verify_button({**context, "where": "ephemeral"}) is None
    assert SIGNER.verify_button({k: v for k, v in context.items() if k != "sig"}) is None
    other = MattermostSigner(SIGNER.public_url, derive_key("another-token"))
    assert other.verify_button(context) is None
    assert SIGNER.verify_button("undo") is None


def test_without_a_signer_buttons_are_left_out() -> None:
    reply = Reply(text="Fait", buttons=[Button("Annuler", "undo", "b")])
    assert to_mattermost(reply).attachments is None


def test_the_signer_needs_the_bot_token() -> None:
    assert MattermostSigner.from_settings(Settings(mattermost_bot_token=None)) is None
    signer = MattermostSigner.from_settings(
        Settings(mattermost_bot_token="tok", public_url="https://c.example.org/")
    )
    assert signer is not None
    assert signer.dialogs_url == "https://c.example.org/mattermost/dialogs"


def test_a_text_longer_than_a_post_is_cut() -> None:
    message = to_mattermost(Reply(text="a" * (MATTERMOST_POST_LIMIT + 10)))
    assert len(message.text) == MATTERMOST_POST_LIMIT
    assert message.text.endswith("…")
