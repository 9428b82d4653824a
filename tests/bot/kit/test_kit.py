"""The adapter kit's parts, each on its own: what a command typed as text is, which button
an answer stands for, where a reply goes by the platform's capabilities, request keys, and
the directory's one policy when a look-up fails."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.kit import choices
from bot.kit.delivery import Where, plan
from bot.kit.directory import Directory, LookupFailed
from bot.kit.inbound import InboundCommand, read_command
from bot.kit.keys import KEY_LIMIT, click_key, delivery_key
from bot.kit.port import Capabilities, PlatformChannel, PlatformUser, TransientError
from commands import usertext
from commands.invocation import Invocation
from commands.registry import build_router
from commands.reply import Button, File, Form, FormField, Reply, Visibility
from models import Role

WORDS = set(build_router().words())
NAMES = ("@coordo:lab.fr", "coordo")
MATRIX = Capabilities(ephemeral=False, files=True, threads=True, buttons=False, forms=False)
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("!depense 12,50 € café", ("depense", "12,50 € café")),
        ("!labo aide", ("labo", "aide")),
        ("!expense 8 € tea", ("expense", "8 € tea")),
        ("@coordo depense 3 € pain", ("depense", "3 € pain")),
        ("coordo: lab help", ("lab", "help")),
        ("Coordo, !labo voir", ("labo", "voir")),
        ("@coordo:lab.fr depense liste", ("depense", "liste")),
        ("@coordo depnse 3 €", ("depnse", "3 €")),  # misspelt: the core suggests
        ("!inconnu 3", None),  # not one of Coordo's words: another bot's
        ("bonjour coordo", None),
        ("coordonnées du lieu ?", None),
        ("", None),
    ],
)
def test_a_line_is_a_command_when_it_is_one_of_coordos(
    line: str, expected: tuple[str, str] | None
) -> None:
    assert read_command(line, words=WORDS, names=NAMES) == expected


def test_answers_stand_for_buttons_by_number_or_reaction() -> None:
    buttons = [
        Button("Oui", "meeting.rsvp", "7:yes"),
        Button("Non", "meeting.rsvp", "7:no"),
        Button("Peut-être", "meeting.rsvp", "7:maybe"),
        Button("Annuler", "undo", "batch"),
    ]
    assert choices.choice_lines(buttons) == [
        "1. 👍 Oui",
        "2. 👎 Non",
        "3. 🤷 Peut-être",
        "4. Annuler",
    ]
    assert choices.pick(buttons, "2") == buttons[1]
    assert choices.pick(buttons, " 4. ") == buttons[3]
    assert choices.pick(buttons, "👍") == buttons[0]
    assert choices.pick(buttons, "🤷\ufe0f") == buttons[2]
    assert choices.pick(buttons, "5") is None
    assert choices.pick(buttons, "0") is None
    assert choices.pick(buttons, "✅") is None
    done = [Button("Fait", "milestone.done", "3"), Button("Reporter", "milestone.postpone", "3")]
    assert [choices.reaction_for(b) for b in done] == ["✅", "⏭"]


def test_a_private_reply_without_ephemeral_messages_goes_direct_with_a_note() -> None:
    chart = File("chart.png", b"png", "Graphique", "image/png")
    reply = Reply(text="Votre budget", files=[chart])
    steps = plan(reply, MATRIX, in_direct=False, locale="fr")
    assert [s.where for s in steps] == [Where.DIRECT, Where.HERE]
    assert steps[0].files == [chart]
    assert steps[1].reply.text == "🔒 Je vous ai répondu en message direct."
    # In a direct room already, or for the whole room, it stays where it was asked.
    assert [s.where for s in plan(reply, MATRIX, in_direct=True, locale="en")] == [Where.HERE]
    public = Reply(text="Dépense notée", visibility=Visibility.CHANNEL)
    assert [s.where for s in plan(public, MATRIX, in_direct=False, locale="fr")] == [Where.HERE]
    # Where ephemeral messages exist, nothing moves.
    assert [s.where for s in plan(reply, Capabilities(), in_direct=False, locale="fr")] == [
        Where.HERE
    ]


def test_a_form_becomes_a_usage_message_and_missing_files_are_said() -> None:
    form = Form(
        "expense",
        "Nouvelle dépense",
        "Enregistrer",
        (FormField("amount", "Montant"), FormField("supplier", "Fournisseur", required=False)),
    )
    (step,) = plan(Reply(text="", form=form), MATRIX, in_direct=True, locale="fr")
    assert step.reply.form is None
    # The form's words are the experiment's data, marked as such in the neutral text.
    assert "**Nouvelle dépense**" in usertext.strip(step.reply.text)
    assert "Montant, Fournisseur (opt.)" in usertext.strip(step.reply.text)
    text_only = Capabilities(ephemeral=True, files=False, buttons=False, forms=False)
    reply = Reply(text="Export", files=[File("a.xlsx", b"x", "Dépenses")])
    (step,) = plan(reply, text_only, in_direct=False, locale="en")
    assert step.files == []
    assert usertext.strip(step.reply.text).endswith("📎 Not sent here: Dépenses.")


def test_request_keys() -> None:
    one = click_key("mattermost", "team", "u1", "post", "meeting.rsvp", "7:yes", NOW)
    double = click_key(
        "mattermost",
        "team",
        "u1",
        "post",
        "meeting.rsvp",
        "7:yes",
        NOW + timedelta(milliseconds=400),
    )
    later = click_key(
        "mattermost", "team", "u1", "post", "meeting.rsvp", "7:yes", NOW + timedelta(seconds=5)
    )
    assert one == double  # a double click is one click
    assert later != one  # yes → no → yes: the third answer counts
    long = delivery_key("matrix", "lab.fr", "$" + "x" * 300)
    assert len(long) <= KEY_LIMIT
    assert long == delivery_key("matrix", "lab.fr", "$" + "x" * 300)
    assert long != delivery_key("matrix", "lab.fr", "$" + "y" * 300)


def test_the_directory_never_guesses_who_someone_is() -> None:
    answers: list[PlatformUser | Exception] = [
        PlatformUser("u1", "marie", is_guest=False),
        TransientError("down"),
        TransientError("down"),
    ]
    clock = [NOW]

    def look_up(user_id: str) -> PlatformUser:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    directory = Directory(look_up, ttl=timedelta(minutes=5), clock=lambda: clock[0])
    assert directory.get("u1").name == "marie"
    clock[0] += timedelta(hours=2)
    # The platform is down: what was known before stands, whatever its age.
    assert directory.get("u1").name == "marie"
    # Someone never met: refused, not taken for a member nor marked a partner.
    with pytest.raises(LookupFailed):
        directory.get("u2")
    # What was heard last, without asking (the language of an "on it").
    known = directory.last_known("u1")
    assert known is not None
    assert known.name == "marie"
    assert directory.last_known("u2") is None


def test_an_inbound_command_makes_guests_and_outsiders_partners() -> None:
    def invocation(user: PlatformUser) -> Invocation:
        return InboundCommand(
            platform="matrix",
            workspace_id="lab.fr",
            workspace_name="lab.fr",
            channel=PlatformChannel("!room:lab.fr", "Bondy"),
            user=user,
            command="depense",
            text="budget",
            now=NOW,
            request_key="matrix:lab.fr:$event",
        ).invocation()

    outsider = invocation(PlatformUser("@pat:mairie.fr", "pat", False, is_external=True))
    member = invocation(PlatformUser("@marie:lab.fr", "marie", False))
    assert outsider.role == Role.PARTNER
    assert outsider.user.is_guest
    assert member.role is None
    assert not member.user.is_guest
    assert member.request_key == "matrix:lab.fr:$event"
