"""Order preview: exactly what would be sent after rounding, or exactly why it would be refused.

Pure: the caller supplies the market's rules, the price and the free balances. The same function
serves the preview form, and later trade activation and TradingView signals, so the trader sees
the check that will really be applied.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from apps.core import formatting
from apps.exchanges.domain.precision import OrderRuleViolation, fmt, prepare_order
from apps.exchanges.domain.types import MarketRules, OrderSide, OrderType


@dataclass(frozen=True)
class OrderPreview:
    symbol: str
    side: OrderSide
    type: OrderType
    amount: Decimal | None  # base quantity that would be sent (rounded); None when refused early
    price: Decimal  # limit price (rounded), or the reference price of a market order
    notional: Decimal | None  # amount x price, in the quote currency
    problems: tuple[str, ...]  # empty: the order would be sent as shown

    @property
    def ok(self) -> bool:
        return not self.problems


def preview_order(
    rules: MarketRules,
    *,
    side: OrderSide,
    type: OrderType,
    price: Decimal,
    amount: Decimal | None = None,
    quote_amount: Decimal | None = None,
    free_base: Decimal,
    free_quote: Decimal,
) -> OrderPreview:
    """Size, round and check one order.

    1. The base amount is `amount`, or `quote_amount / price` when sized in the quote currency.
    2. Amount and price are rounded to the market (amount down to the step, price to the tick)
       and min amount / min notional are checked on the rounded values.
    3. The free balance must cover it: quote for a buy (amount x price), base for a sell.
    """

    def refused(*problems: str, amount=None, price=price, notional=None) -> OrderPreview:
        return OrderPreview(rules.symbol, side, type, amount, price, notional, problems)

    if (amount is None) == (quote_amount is None):
        return refused("Give either a base amount or a quote amount, not both or neither.")
    if not rules.active:
        return refused(f"{rules.symbol} is not trading on this exchange right now.")
    if price <= 0:
        return refused(f"The price must be positive, got {fmt(price)} {rules.quote}.")
    if quote_amount is not None:
        if quote_amount <= 0:
            return refused(f"The size must be positive, got {fmt(quote_amount)} {rules.quote}.")
        amount = quote_amount / price
    try:
        prepared = prepare_order(rules, amount=amount, price=price)
    except OrderRuleViolation as violation:
        return refused(str(violation))

    problems = []
    if side == OrderSide.BUY and prepared.notional > free_quote:
        problems.append(
            f"Buying {formatting.amount(prepared.amount, rules.step_size, rules.base)} needs "
            f"{fmt(prepared.notional)} {rules.quote}; {fmt(free_quote)} {rules.quote} is free."
        )
    if side == OrderSide.SELL and prepared.amount > free_base:
        problems.append(
            f"Selling {formatting.amount(prepared.amount, rules.step_size, rules.base)} needs "
            f"that much free; {fmt(free_base)} {rules.base} is free."
        )
    return OrderPreview(
        rules.symbol,
        side,
        type,
        prepared.amount,
        prepared.price,
        prepared.notional,
        tuple(problems),
    )
