"""Order checks of the paper exchange: refuse exactly what a real exchange refuses. Pure.

The desk rounds and checks every order before sending it (invariant 6), so these refusals are
the exchange being the one to tell us: they must match binance's filters (LOT_SIZE,
PRICE_FILTER, NOTIONAL) and map to our permanent errors. Nothing is rounded here: an amount
off the step is refused, as binance does, never silently fixed. Stops (STOP_LOSS,
STOP_LOSS_LIMIT) also need a trigger on the tick on the right side of the last price.
"""

from __future__ import annotations

from decimal import Decimal

from apps.exchanges.domain.precision import fmt, round_amount, round_price
from apps.exchanges.domain.types import MarketRules, OrderSide, OrderType
from apps.exchanges.errors import BelowMinNotional, InvalidOrder, WouldTriggerImmediately
from apps.exchanges.paper import fills

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
       `reference_price` (the last price, as binance values it at its average price; the
       trigger for a stop-market).
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


def check_stop(
    rules: MarketRules,
    *,
    side: OrderSide,
    type: OrderType,
    amount: Decimal,
    price: Decimal | None,
    trigger_price: Decimal,
    last: Decimal,
) -> None:
    """Raise InvalidOrder / BelowMinNotional / WouldTriggerImmediately when a stop (binance
    STOP_LOSS for a market, STOP_LOSS_LIMIT for a limit) breaks `rules`.

    1. The market must take a stop of this type (`rules.stop_types`).
    2. The trigger must be positive and on the tick (PRICE_FILTER, which binance applies to
       stopPrice too).
    3. The order itself passes `check_order`: a stop-limit needs its price; the notional is
       valued at the limit price, or at the trigger for a stop-market.
    4. It must not trigger at once: a sell stop's trigger must be below the last price, a buy
       stop's above it (binance -2010 "Order would trigger immediately.").
    """
    if type not in rules.stop_types:
        raise InvalidOrder(f"{rules.symbol} takes no stop-{type} order.")
    if trigger_price <= 0:
        raise InvalidOrder("A stop order needs a positive trigger price.")
    if round_price(trigger_price, rules.tick_size) != trigger_price:
        raise InvalidOrder(
            f"Trigger price {fmt(trigger_price)} {rules.quote} is not a multiple of the tick "
            f"size {fmt(rules.tick_size)} (PRICE_FILTER)."
        )
    check_order(rules, type=type, amount=amount, price=price, reference_price=trigger_price)
    if fills.triggers(side=side, trigger=trigger_price, last=last):
        raise WouldTriggerImmediately("Order would trigger immediately.")
