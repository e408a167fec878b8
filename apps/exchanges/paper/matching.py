"""Matching on the paper exchange: what a new last price fills, and the stops it triggers.

Called after every price update (`services.set_price`, `services.advance_simulated_prices`,
`live.match_live_account`): the desk takes no part, so a resting stop protects a position
even when no desk process runs, as a stop resting on a real exchange does. Each order is
handled in its own short transaction with its row locked, in the lock order of `books`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Q, QuerySet

from apps.exchanges.domain.types import MarketRules, OrderSide, OrderType
from apps.exchanges.models import (
    PAPER_ORDER_RESTING,
    PAPER_ORDER_UNTRIGGERED,
    ExchangeAccount,
    PaperOrder,
    PaperSettings,
)
from apps.exchanges.paper import books, fills


def match_resting_orders(
    *,
    symbol: str,
    last: Decimal,
    now: datetime,
    market: MarketRules,
    account: ExchangeAccount | None = None,
) -> int:
    """Fill the resting orders of `symbol` that `last` crosses and trigger the stops it
    reaches; returns the number of fills.

    Without `account`, the orders of every account on simulated prices (the shared
    PaperPrice); with it, only that account's (live prices are per account).

    1. Fill the resting limit orders (plain ones, and stop-limits triggered before) that
       `last` crosses, each in its own short transaction, at its limit price, by at most
       max_fill_fraction of what remains, with the maker fee.
    2. Trigger the untriggered stops whose trigger `last` reaches, each in its own short
       transaction (`_trigger_stop`). After step 1, so that a stop-limit triggered now takes
       only its taker fill from this update, as a limit order crossing at placement does.
    """
    crossing = Q(side=OrderSide.BUY, price__gte=last) | Q(side=OrderSide.SELL, price__lte=last)
    resting = _of(
        PaperOrder.objects.filter(
            PAPER_ORDER_RESTING, crossing, symbol=symbol, type=OrderType.LIMIT
        ),
        account,
    )
    resting_ids = list(resting.order_by("created_at", "id").values_list("id", flat=True))
    fills_made = sum(_fill_resting(order_id, last, now, market) for order_id in resting_ids)

    reached = Q(side=OrderSide.SELL, trigger_price__gte=last) | Q(
        side=OrderSide.BUY, trigger_price__lte=last
    )
    stops = _of(PaperOrder.objects.filter(PAPER_ORDER_UNTRIGGERED, reached, symbol=symbol), account)
    stop_ids = list(stops.order_by("created_at", "id").values_list("id", flat=True))
    return fills_made + sum(_trigger_stop(order_id, last, now, market) for order_id in stop_ids)


def _of(orders: QuerySet[PaperOrder], account: ExchangeAccount | None) -> QuerySet[PaperOrder]:
    """`orders` of `account`, or of every account on simulated prices."""
    if account is None:
        return orders.filter(
            account__paper_settings__price_source=PaperSettings.PriceSource.SIMULATED
        )
    return orders.filter(account=account)


def _fill_resting(order_id: int, last: Decimal, now: datetime, market: MarketRules) -> int:
    """One fill of one resting order (1 if it filled, 0 if it no longer qualifies)."""
    with transaction.atomic():
        order = PaperOrder.objects.select_for_update().get(pk=order_id)
        # Re-check under the lock: a cancel or another matcher may have got here first.
        if (
            order.status != PaperOrder.Status.OPEN
            or (order.trigger_price is not None and order.triggered_at is None)
            or not fills.crosses(side=order.side, limit=order.price, last=last)
        ):
            return 0
        config = PaperSettings.objects.get(account_id=order.account_id)
        base, quote = books.split_symbol(order.symbol)
        balances = books.locked_balances(order.account_id, [base, quote])
        fill = fills.plan_fill(
            side=order.side,
            base=base,
            quote=quote,
            amount=fills.fill_amount(
                remaining=order.amount - order.filled,
                max_fill_fraction=config.max_fill_fraction.normalize(),
                step=market.step_size,
            ),
            price=order.price,
            fee_rate=config.maker_fee_rate.normalize(),
            held_price=order.price,
        )
        books.apply(balances, fill.changes)
        books.record_fill(order, fill, now)
        order.save()
        books.save(balances)
    return 1


def _trigger_stop(order_id: int, last: Decimal, now: datetime, market: MarketRules) -> int:
    """Trigger one stop at `last` (1 if that filled it, or part of it; 0 otherwise).

    1. Lock the order row and re-check under the lock that it is still an open, untriggered
       stop that `last` reaches (a cancel or another matcher may have got here first).
    2. Lock its balances and record `triggered_at`.
    3. A stop-market fills completely at the taker price from `last` (slippage, on the tick)
       with the taker fee, paid from what it holds; a buy's unused hold is refunded. A buy
       whose fill (after a gap above its trigger) would cost more than its hold and the free
       quote together expires instead, releasing its hold.
    4. A stop-limit becomes a resting limit order at its price; if `last` already crosses
       that price it takes at once, like a limit order crossing at placement (taker fee, by
       at most max_fill_fraction); otherwise (also after a gap through its price) it rests.
    """
    with transaction.atomic():
        order = PaperOrder.objects.select_for_update().get(pk=order_id)
        if (
            order.status != PaperOrder.Status.OPEN
            or order.trigger_price is None
            or order.triggered_at is not None
            or not fills.triggers(side=order.side, trigger=order.trigger_price, last=last)
        ):
            return 0
        config = PaperSettings.objects.get(account_id=order.account_id)
        base, quote = books.split_symbol(order.symbol)
        balances = books.locked_balances(order.account_id, [base, quote])
        order.triggered_at = order.updated_at = now
        fill = _stop_fill(order, config, market, base, quote, last)
        if fill is not None and not books.covers(balances, fill.changes):
            books.release(balances, order, base, quote)
            order.status = PaperOrder.Status.EXPIRED
            fill = None
        if fill is not None:
            books.apply(balances, fill.changes)
            books.record_fill(order, fill, now)
        order.save()
        books.save(balances)
    return int(fill is not None)


def _stop_fill(
    order: PaperOrder,
    config: PaperSettings,
    market: MarketRules,
    base: str,
    quote: str,
    last: Decimal,
) -> fills.Fill | None:
    """The fill a stop takes as it triggers at `last` (None: a stop-limit that rests)."""
    slippage = config.slippage_rate.normalize()
    taker_fee = config.taker_fee_rate.normalize()
    if order.type == OrderType.MARKET:
        return fills.plan_fill(
            side=order.side,
            base=base,
            quote=quote,
            amount=order.amount - order.filled,
            price=fills.taker_price(
                side=order.side, last=last, slippage_rate=slippage, tick=market.tick_size
            ),
            fee_rate=taker_fee,
            held_price=books.hold_price(order),
        )
    if not fills.crosses(side=order.side, limit=order.price, last=last):
        return None
    return fills.plan_fill(
        side=order.side,
        base=base,
        quote=quote,
        amount=fills.fill_amount(
            remaining=order.amount - order.filled,
            max_fill_fraction=config.max_fill_fraction.normalize(),
            step=market.step_size,
        ),
        price=fills.immediate_price(
            side=order.side,
            limit=order.price,
            last=last,
            slippage_rate=slippage,
            tick=market.tick_size,
        ),
        fee_rate=taker_fee,
        held_price=order.price,
    )
