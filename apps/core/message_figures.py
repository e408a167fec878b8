"""Figures in event messages, written as the pages write them.

An event's message is written once, when the event is recorded, and then read on Logs, on a
trade's and a position's timeline and in notifications: it quotes its figures the way those
pages do (`apps.core.formatting`): a price on the market's tick, an amount on its step, a value
in the quote currency to QUOTE_PLACES with its unit, a PnL signed, a percentage to 2 places.
The event's `data` keeps the exact values; only the sentence is rounded.

`figures_of(obj)` reads the market of a position, an order or a ticket (anything with
`account_id`, `symbol` and a `fmt` slot) once per object, through the same hook the pages use,
and remembers it on the object, so a service that writes several messages about one position
asks for its market once.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from apps.core import formatting
from apps.core.formatting import MarketFormat
from apps.core.market_formats import attach_formats


@dataclass(frozen=True)
class Figures:
    """One market's figures for a sentence; `unit` is the account's quote currency."""

    market: MarketFormat
    unit: str = ""

    def price(self, value: Decimal | None) -> str:
        """On the tick, without a unit (a message says `at 159.97`)."""
        return formatting.price(value, self.market.tick)

    def amount(self, value: Decimal | None, *, unit: bool = False) -> str:
        """On the step; with the base unit when asked (`0.636 SOL`)."""
        return formatting.amount(value, self.market.step, self.market.base if unit else "")

    def quote(self, value: Decimal | None) -> str:
        """A value in the quote currency with its unit: `199.69 USDT`."""
        return formatting.quote(value, self.unit, places=settings.QUOTE_PLACES)

    def pnl(self, value: Decimal | None) -> str:
        """A gain or a loss with its unit: `+5.82 USDT`, `−3.10 USDT`."""
        return formatting.signed(value, self.unit, places=settings.QUOTE_PLACES)

    def pct(self, value: Decimal | None, *, signed: bool = False) -> str:
        """A percentage to 2 places: `1.77 %` (`+1.77 %` when `signed`)."""
        return formatting.pct(value, signed=signed)


def figures_of(obj, *, unit: str = "") -> Figures:
    """The figures of `obj`'s market (looked up once per object); the unit is `unit` (the
    account's quote currency), else the quote the symbol names."""
    if "_market_format" not in obj.__dict__:  # FormatSlot's own storage: nobody attached one
        attach_formats([obj])
    market: MarketFormat = obj.fmt
    return Figures(market=market, unit=unit or market.quote)


def figures_of_market(market, *, unit: str = "") -> Figures:
    """The figures of a market row a service already holds (anything with `base`, `quote`,
    `tick_size` and `step_size`): no lookup."""
    return Figures(
        market=MarketFormat(
            base=market.base, quote=market.quote, tick=market.tick_size, step=market.step_size
        ),
        unit=unit or market.quote,
    )
