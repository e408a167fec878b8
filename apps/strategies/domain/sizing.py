"""How big an entry is: from the ticket's sizing and the account at this moment. Pure.

The result is a base amount or a quote amount; `apps.exchanges.domain.preview` then rounds it
to the market and checks the minimums, as for every other order.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from apps.strategies.domain.evaluation import fmt

HUNDRED = Decimal(100)


class SizingKind(StrEnum):
    BASE = "base"
    QUOTE = "quote"
    BUYING_POWER = "buying_power_pct"
    RISK = "risk_pct"

    @property
    def label(self) -> str:
        return SIZING_LABELS[self]


SIZING_LABELS = {
    SizingKind.BASE: "Fixed amount (base)",
    SizingKind.QUOTE: "Fixed amount (quote)",
    SizingKind.BUYING_POWER: "% of buying power",
    SizingKind.RISK: "Risk % of equity (to the initial stop)",
}


@dataclass(frozen=True)
class Sizing:
    kind: SizingKind
    value: Decimal

    @property
    def label(self) -> str:
        match self.kind:
            case SizingKind.BASE:
                return f"{fmt(self.value)} base"
            case SizingKind.QUOTE:
                return f"{fmt(self.value)} quote"
            case SizingKind.BUYING_POWER:
                return f"{fmt(self.value)} % of buying power"
        return f"risk {fmt(self.value)} % of equity"

    def words(self, base: str, quote: str) -> str:
        """The label with the market's units: `200 USDT`, `0.01 BTC`, `5 % of buying power`."""
        match self.kind:
            case SizingKind.BASE:
                return f"{fmt(self.value)} {base}"
            case SizingKind.QUOTE:
                return f"{fmt(self.value)} {quote}"
        return self.label


@dataclass(frozen=True)
class Size:
    amount: Decimal | None = None  # base quantity
    quote_amount: Decimal | None = None


class SizingError(ValueError):
    pass


def sizing_problem(sizing: Sizing) -> str:
    """What is wrong with the sizing on its own ("" when fine)."""
    if sizing.value <= 0:
        return "The size must be greater than zero."
    if sizing.kind == SizingKind.BUYING_POWER and sizing.value > HUNDRED:
        return "At most 100 % of buying power."
    if sizing.kind == SizingKind.RISK and sizing.value > 10:
        return "Risking more than 10 % of equity on one trade is refused."
    return ""


def size_entry(
    sizing: Sizing,
    *,
    price: Decimal,
    buying_power: Decimal,
    equity: Decimal,
    stop: Decimal | None,
) -> Size:
    """The entry's size now.

    1. Fixed sizes pass through.
    2. % of buying power is that share of the free quote balance.
    3. Risk-based: equity x risk % is what the trader accepts to lose if the initial stop
       fills; divided by the distance from the entry to that stop, it gives the base amount.
    """
    problem = sizing_problem(sizing)
    if problem:
        raise SizingError(problem)
    match sizing.kind:
        case SizingKind.BASE:
            return Size(amount=sizing.value)
        case SizingKind.QUOTE:
            return Size(quote_amount=sizing.value)
        case SizingKind.BUYING_POWER:
            if buying_power <= 0:
                raise SizingError("There is no buying power to take a share of.")
            return Size(quote_amount=buying_power * sizing.value / HUNDRED)
    if stop is None:
        raise SizingError("Risk-based sizing needs an initial stop with a price.")
    distance = abs(price - stop)
    if distance == 0:
        raise SizingError("The initial stop is at the entry price; the risk cannot be sized.")
    if equity <= 0:
        raise SizingError("The account has no equity to risk.")
    return Size(amount=equity * sizing.value / HUNDRED / distance)
