"""Order checks of the paper exchange: refuse exactly what a real exchange refuses. Pure.

The desk rounds and checks every order before sending it (invariant 6), so these refusals are
the exchange being the one to tell us: they must match binance's filters (LOT_SIZE,
PRICE_FILTER, NOTIONAL) and map to our permanent errors. Nothing is rounded here: an amount
off the step is refused, as binance does, never silently fixed.
"""

from __future__ import annotations

from decimal import Decimal

from apps.exchanges.domain.precision import fmt, round_amount, round_price
from apps.exchanges.domain.types import MarketRules, OrderType
from apps.exchanges.errors import BelowMinNotional, InvalidOrder

MAX_CLIENT_ORDER_ID_LENGTH = 64


def check_client_order_id(client_order_id: str) -> None:
    if not client_order_id or len(client_order_id) > MAX_CLIENT_ORDER_ID_LENGTH:
        raise InvalidOrder(
            f"A client order id of 1 to {MAX_CLIENT_ORDER_ID_LENGTH} characters is required."
        )


def check_order(
    rules: MarketRules,
    *,
    type: OrderType,
    amount: Decimal,
    price: Decimal | None,
    reference_price: Decimal,
) -> None:
    """Raise InvalidOrder / BelowMinNotional when the order breaks `rules`.

    1. Limit orders need a positive price on the tick (PRICE_FILTER).
    2. The amount must be positive, on the step and within min/max amount (LOT_SIZE).
    3. amount × price must reach the minimum notional (NOTIONAL); a market order is valued at
       `reference_price` (the last price), as binance values it at its average price.
    """
    if type == OrderType.LIMIT:
        if price is None or price <= 0:
            raise InvalidOrder("A limit order needs a positive price.")
        if round_price(price, rules.tick_size) != price:
            raise InvalidOrder(
                f"Price {fmt(price)} {rules.quote} is not a multiple of the tick size "
                f"{fmt(rules.tick_size)} (PRICE_FILTER)."
            )
    if amount <= 0:
        raise InvalidOrder(f"Amount must be positive, got {fmt(amount)} {rules.base}.")
    if round_amount(amount, rules.step_size) != amount:
        raise InvalidOrder(
            f"Amount {fmt(amount)} {rules.base} is not a multiple of the step size "
            f"{fmt(rules.step_size)} (LOT_SIZE)."
        )
    if rules.min_amount is not None and amount < rules.min_amount:
        raise InvalidOrder(
            f"Amount {fmt(amount)} {rules.base} is below the minimum of "
            f"{fmt(rules.min_amount)} {rules.base} (LOT_SIZE)."
        )
    if rules.max_amount is not None and amount > rules.max_amount:
        raise InvalidOrder(
            f"Amount {fmt(amount)} {rules.base} is above the maximum of "
            f"{fmt(rules.max_amount)} {rules.base} (LOT_SIZE)."
        )
    valued_at = price if type == OrderType.LIMIT and price is not None else reference_price
    notional = amount * valued_at
    if rules.min_notional is not None and notional < rules.min_notional:
        raise BelowMinNotional(
            f"{fmt(amount)} {rules.base} × {fmt(valued_at)} = {fmt(notional)} {rules.quote} "
            f"is below the {fmt(rules.min_notional)} {rules.quote} minimum (NOTIONAL)."
        )
