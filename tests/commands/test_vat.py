"""VAT rounded as invoices round it, on 10,000 random amounts at every French rate."""

from __future__ import annotations

import random

import pytest

from commands.errors import UserError
from commands.services import vat


def half_up(numerator: int, denominator: int) -> int:
    return (2 * numerator + denominator) // (2 * denominator)


@pytest.mark.parametrize("rate", vat.RATES)
def test_ten_thousand_invoices_come_back_whole_from_their_ttc(rate: int) -> None:
    """An invoice's HT gives its VAT rounded half up; from its TTC the same HT and VAT
    come back, and HT + VAT = TTC to the cent."""
    rng = random.Random(rate)
    for _ in range(10_000):
        ht = rng.randint(0, 10**9)
        invoice = vat.from_ht(ht, rate)
        assert invoice.vat_cents == half_up(ht * rate, 10_000)
        assert invoice.ht_cents + invoice.vat_cents == invoice.ttc_cents
        back = vat.from_ttc(invoice.ttc_cents, rate)
        assert (back.ht_cents, back.vat_cents) == (ht, invoice.vat_cents)


@pytest.mark.parametrize("rate", vat.RATES)
def test_ten_thousand_amounts_paid_split_to_the_cent(rate: int) -> None:
    """Any TTC splits into HT + VAT = TTC exactly; the VAT is the invoice's own rounding,
    or one cent off it when no invoice at this rate comes to that TTC."""
    rng = random.Random(1000 + rate)
    exact = 0
    for _ in range(10_000):
        ttc = rng.randint(0, 10**9)
        split = vat.from_ttc(ttc, rate)
        assert split.ht_cents + split.vat_cents == ttc
        assert 0 <= split.ht_cents <= ttc
        rounded = half_up(split.ht_cents * rate, 10_000)
        assert abs(split.vat_cents - rounded) <= 1
        exact += split.vat_cents == rounded
    # At 20 % one TTC in six cannot come from an invoice; most can.
    assert exact > 8_000


def test_examples_as_an_accountant_checks_them() -> None:
    assert vat.from_ttc(120000, 2000) == vat.Vat(100000, 20000, 2000)
    assert vat.from_ttc(1200_00, 1000) == vat.Vat(109091, 10909, 1000)
    assert vat.from_ht(1999, 550) == vat.Vat(1999, 110, 550)  # 109.945 → 110
    assert vat.split(12000, None, 10000) == vat.Vat(10000, 2000, 2000)
    assert vat.split(12000, 2000, 10000) == vat.Vat(10000, 2000, 2000)


@pytest.mark.parametrize(
    ("typed", "rate"),
    [("20", 2000), ("5,5", 550), ("5.5 %", 550), ("2,1", 210), ("0", 0), ("10%", 1000)],
)
def test_the_rates_in_force(typed: str, rate: int) -> None:
    assert vat.parse_rate(typed) == rate


@pytest.mark.parametrize("typed", ["19,6", "13", "7", "8,5", "abc", "200"])
def test_rates_not_in_force_in_france_are_refused(typed: str) -> None:
    with pytest.raises(UserError) as error:
        vat.parse_rate(typed)
    assert error.value.key == "ledger.bad_vat_rate"


def test_ht_above_ttc_and_figures_that_disagree_are_refused() -> None:
    with pytest.raises(UserError, match=r"ledger\.ht_above_ttc"):
        vat.split(10000, None, 12000)
    with pytest.raises(UserError, match=r"ledger\.vat_mismatch"):
        vat.split(12000, 1000, 10000)
