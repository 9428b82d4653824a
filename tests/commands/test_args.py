import pytest

from commands.args import ChannelRef, Mention, fold, mention_from_text, parse_args, tokenize
from commands.errors import UserError

EXPENSE_OPTIONS = {"poste": "line", "line": "line", "date": "date", "lieu": "place"}


def test_quoted_values_stay_whole_and_apostrophes_are_text() -> None:
    assert tokenize('Lancer l\'appel "à projets" lieu:"Mairie de Bondy"') == [
        ("Lancer", False),
        ("l'appel", False),
        ("à projets", True),
        ("lieu:Mairie de Bondy", True),
    ]


@pytest.mark.parametrize("quote", ['"Mairie de Bondy"', "“Mairie de Bondy”", "«Mairie de Bondy»"])
def test_french_and_typographic_quotes(quote: str) -> None:
    assert parse_args(f"lieu:{quote}", EXPENSE_OPTIONS).options == {"place": "Mairie de Bondy"}


def test_options_in_both_languages_map_to_one_name() -> None:
    assert parse_args("12 € café poste:restauration").options == {}
    assert parse_args("12 € café poste:restauration", EXPENSE_OPTIONS).options == {
        "line": "restauration"
    }
    assert parse_args("42 EUR coffee line:catering", EXPENSE_OPTIONS).words == [
        "42",
        "EUR",
        "coffee",
    ]


def test_colons_that_are_not_options_stay_text() -> None:
    args = parse_args("Réunion 14:00 voir https://example.org/a:b Note: rien", EXPENSE_OPTIONS)
    assert args.words == ["Réunion", "14:00", "voir", "https://example.org/a:b", "Note:", "rien"]
    assert args.options == {}


def test_near_miss_option_is_refused_with_the_right_spelling() -> None:
    with pytest.raises(UserError) as caught:
        parse_args("12 € café post:restauration", EXPENSE_OPTIONS)
    assert caught.value.key == "core.unknown_option"
    assert caught.value.params["suggestion"] == "poste"


def test_duplicate_option_is_refused() -> None:
    with pytest.raises(UserError) as caught:
        parse_args("poste:a poste:b", EXPENSE_OPTIONS)
    assert caught.value.key == "core.duplicate_option"


def test_unclosed_quote_is_refused() -> None:
    with pytest.raises(UserError) as caught:
        parse_args('lieu:"Mairie de Bondy', EXPENSE_OPTIONS)
    assert caught.value.key == "core.unclosed_quote"


def test_slack_and_mattermost_mentions_and_channels() -> None:
    args = parse_args("inviter <@U123|marie> <@U456> @karim, <#C9|bondy> ~montreuil a@b.fr")
    assert args.mentions == [
        Mention("U123", "marie"),
        Mention("U456", "U456"),
        Mention(None, "karim"),
    ]
    assert args.channels == [ChannelRef("C9", "bondy"), ChannelRef(None, "montreuil")]
    assert args.words == ["inviter", "a@b.fr"]


def test_option_value_keeps_a_mention_for_the_command_to_read() -> None:
    args = parse_args("titre resp:<@U1|karim>", {"resp": "owner"})
    assert mention_from_text(args.options["owner"]) == Mention("U1", "karim")


def test_fold_removes_case_and_accents() -> None:
    assert fold("Dépense") == "depense"
    assert fold("RÉGLAGES") == "reglages"
