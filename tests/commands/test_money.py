import pytest

from commands.errors import UserError
from commands.money import Amount, parse_amount, split_amount


@pytest.mark.parametrize(
    ("text", "cents", "currency"),
    [
        ("1 250,50 €", 125050, "EUR"),
        ("1\u202f250,50\u00a0€", 125050, "EUR"),
        ("1250,5", 125050, None),
        ("1.250,50", 125050, None),
        ("1,250.50", 125050, None),
        ("€42", 4200, "EUR"),
        ("42 EUR", 4200, "EUR"),
        ("42€", 4200, "EUR"),
        ("89.90", 8990, None),
        ("89,9", 8990, None),
        ("1 250 €", 125000, "EUR"),
        ("1.250.000", 125000000, None),
        ("0,01", 1, None),
        ("45000", 4500000, None),
        ("12 euros", 1200, "EUR"),
        ("$12", 1200, "USD"),
    ],
)
def test_amounts_in_french_and_english_forms(text: str, cents: int, currency: str | None) -> None:
    assert parse_amount(text) == Amount(cents, currency)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("12,34,56", "money.unreadable"),
        ("abc €", "money.unreadable"),
        ("1e309", "money.unreadable"),
        ("NaN", "money.unreadable"),
        ("inf", "money.unreadable"),
        ("-5", "money.not_positive"),
        ("0", "money.not_positive"),
        ("0,00 €", "money.not_positive"),
        ("1.250", "money.ambiguous"),
        ("1,250", "money.ambiguous"),
        ("89.901", "money.ambiguous"),
        ("89.9012", "money.unreadable"),
        ("12 34", "money.unreadable"),
        ("100000000000000", "money.absurd"),
        ("", "money.missing"),
    ],
)
def test_bad_amounts_are_refused_with_a_reason(text: str, key: str) -> None:
    with pytest.raises(UserError) as caught:
        parse_amount(text)
    assert caught.value.key == key


@pytest.mark.parametrize(
    ("text", "amount", "rest"),
    [
        ("1 250,50 € location de salle", Amount(125050, "EUR"), "location de salle"),
        ("89.90 impression des affiches", Amount(8990, None), "impression des affiches"),
        ("42 EUR coffee for the workshop", Amount(4200, "EUR"), "coffee for the workshop"),
        ("€42 café", Amount(4200, "EUR"), "café"),
        ("2 pizzas", Amount(200, None), "pizzas"),
        ("1 250 € 3 tables", Amount(125000, "EUR"), "3 tables"),
    ],
)
def test_amount_at_the_start_of_a_text(text: str, amount: Amount, rest: str) -> None:
    assert split_amount(text) == (amount, rest)


def test_a_number_glued_to_letters_is_not_an_amount() -> None:
    with pytest.raises(UserError):
        split_amount("12abc café")
