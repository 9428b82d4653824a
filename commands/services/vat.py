"""French VAT on an expense: HT, VAT and TTC in integer cents, rounded as invoices are.

An invoice rounds the VAT of its amount before VAT to the nearest cent, half up:
``vat = round(ht × rate)``, ``ttc = ht + vat``. An expense is typed as the amount paid
(TTC); with a rate, the HT is the one whose invoice comes to that TTC (the map from HT to
TTC is strictly increasing, so there is at most one), and when no invoice can come to it
(a TTC the rounding skips), the nearest HT with the VAT taking the cent left. Either way
``ht + vat == ttc`` to the cent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from commands.errors import UserError

# The rates in force in metropolitan France, in hundredths of a percent.
RATES = (2000, 1000, 550, 210, 0)
_RATE = re.compile(r"(\d{1,2})(?:[.,](\d{1,2}))?\s*%?")


@dataclass(frozen=True)
class Vat:
    ht_cents: int
    vat_cents: int
    rate: int | None  # hundredths of a percent; None when only HT and TTC were given

    @property
    def ttc_cents(self) -> int:
        return self.ht_cents + self.vat_cents


def parse_rate(text: str) -> int:
    """``20``, ``5,5``, ``5.5 %``, ``2,1`` → hundredths of a percent; any other rate is
    refused (none exists in France)."""
    m = _RATE.fullmatch(text.strip())
    if m is None:
        raise UserError("ledger.bad_vat_rate", text=text[:20])
    rate = int(m.group(1)) * 100 + int((m.group(2) or "0").ljust(2, "0"))
    if rate not in RATES:
        raise UserError("ledger.bad_vat_rate", text=text[:20])
    return rate


def vat_of(ht_cents: int, rate: int) -> int:
    """The VAT an invoice shows on ``ht_cents``: to the nearest cent, half up."""
    return (2 * ht_cents * rate + 10_000) // 20_000


def from_ht(ht_cents: int, rate: int) -> Vat:
    return Vat(ht_cents, vat_of(ht_cents, rate), rate)


def from_ttc(ttc_cents: int, rate: int) -> Vat:
    """The invoice that comes to ``ttc_cents`` at ``rate``."""
    divisor = 10_000 + rate
    nearest = (2 * ttc_cents * 10_000 + divisor) // (2 * divisor)
    for ht in (nearest, nearest - 1, nearest + 1):
        if ht >= 0 and ht + vat_of(ht, rate) == ttc_cents:
            return Vat(ht, ttc_cents - ht, rate)
    return Vat(nearest, ttc_cents - nearest, rate)


def split(ttc_cents: int, rate: int | None, ht_cents: int | None) -> Vat:
    """HT, VAT and TTC from the amount paid and ``tva:`` and/or ``ht:``. Given both, they
    must agree with the amount (an invoice's own figures), or nothing is guessed."""
    if ht_cents is not None:
        if ht_cents > ttc_cents:
            raise UserError("ledger.ht_above_ttc", ht=ht_cents, ttc=ttc_cents)
        vat = ttc_cents - ht_cents
        if rate is not None and abs(vat - vat_of(ht_cents, rate)) > 1:
            raise UserError(
                "ledger.vat_mismatch",
                ht=ht_cents,
                ttc=ttc_cents,
                rate=rate,
                expected=vat_of(ht_cents, rate),
            )
        if rate is None:
            matching = [r for r in RATES if vat == vat_of(ht_cents, r)]
            rate = matching[0] if len(matching) == 1 else None
        return Vat(ht_cents, vat, rate)
    if rate is None:
        raise ValueError("a rate or an amount before VAT is needed")
    return from_ttc(ttc_cents, rate)
