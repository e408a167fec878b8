"""Paper orders on the database: placement, lookup and cancellation.

Orders are market, limit, or stops (binance STOP_LOSS / STOP_LOSS_LIMIT): a stop rests with
its funds set aside until a price update reaches its trigger (see `matching`), then becomes a
market order (filled at once) or a limit order at its price. What an open order holds, and
the lock order every balance change follows, are in `books`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction

from apps.exchanges.domain.types import MarketRules, OrderSide, OrderType
from apps.exchanges.errors import OrderNotFound
from apps.exchanges.models import ExchangeAccount, PaperOrder, PaperSettings
from apps.exchanges.paper import books, fills, rules


def new_exchange_order_id() -> str:
    return "P" + uuid.uuid4().hex


def find_order(
    *,
    account: ExchangeAccount,
    symbol: str = "",
    exchange_order_id: str = "",
    client_order_id: str = "",
    lock: bool = False,
) -> PaperOrder:
    """The account's order by exchange or client order id; OrderNotFound otherwise."""
    if not exchange_order_id and not client_order_id:
        raise OrderNotFound("An exchange order id or a client order id is required.")
    orders = PaperOrder.objects.filter(account=account)
    if symbol:
        orders = orders.filter(symbol=symbol)
    if exchange_order_id:
        orders = orders.filter(exchange_order_id=exchange_order_id)
    if client_order_id:
        orders = orders.filter(client_order_id=client_order_id)
    found = (orders.select_for_update() if lock else orders).first()
    if found is None:
        raise OrderNotFound(f"No order {exchange_order_id or client_order_id} on this account.")
    return found


def place_order(
    *,
    account: ExchangeAccount,
    market: MarketRules,
    side: OrderSide,
    type: OrderType,
    amount: Decimal,
    price: Decimal | None,
    client_order_id: str,
    last: Decimal,
    now: datetime,
    trigger_price: Decimal | None = None,
) -> tuple[PaperOrder, bool]:
    """Place an order (a stop with `trigger_price`); returns (order, created). A reused client
    order id returns the existing order and places nothing (created is False).

    1. Check the order against the market rules, a stop also its trigger against `last`
       (nothing is written if it fails: WouldTriggerImmediately for a crossed trigger).
    2. In one transaction: lock the account's PaperSettings row, which serialises placements
       per account, so a concurrent placement with the same client id is seen here.
    3. Return the existing order if the client id is taken.
    4. Lock the balances, check free funds, write the order; a market order fills completely
       at the taker price, a limit order sets its funds aside and, if the price already
       crosses it, takes liquidity at once (taker fee); the rest rests (maker fee later). A
       stop only sets its funds aside (see the module docstring) and waits for its trigger.
    The unique (account, client_order_id) constraint stays the last guard: if it fires, the
    other placement won, and its order is returned.
    """
    rules.check_client_order_id(client_order_id)
    if trigger_price is None:
        rules.check_order(market, type=type, amount=amount, price=price, reference_price=last)
    else:
        rules.check_stop(
            market,
            side=side,
            type=type,
            amount=amount,
            price=price,
            trigger_price=trigger_price,
            last=last,
        )
    order = PaperOrder(
        account=account,
        exchange_order_id=new_exchange_order_id(),
        client_order_id=client_order_id,
        symbol=market.symbol,
        side=side,
        type=type,
        price=price if type == OrderType.LIMIT else None,
        trigger_price=trigger_price,
        amount=amount,
        created_at=now,
        updated_at=now,
    )
    try:
        with transaction.atomic():
            config = PaperSettings.objects.select_for_update().get(account=account)
            existing = PaperOrder.objects.filter(
                account=account, client_order_id=client_order_id
            ).first()
            if existing is not None:
                return existing, False
            _write_order(config, market, order, last)
            return order, True
    except IntegrityError:
        existing = PaperOrder.objects.filter(
            account=account, client_order_id=client_order_id
        ).first()
        if existing is None:
            raise
        return existing, False


def _write_order(
    config: PaperSettings, market: MarketRules, order: PaperOrder, last: Decimal
) -> None:
    """Set the new order's funds aside or fill it (step 4 of `place_order`), and save it."""
    base, quote = market.base, market.quote
    balances = books.locked_balances(config.account_id, [base, quote])
    slippage = config.slippage_rate.normalize()
    side, amount, price, now = order.side, order.amount, order.price, order.created_at
    if order.trigger_price is not None:
        if side == OrderSide.BUY and order.type == OrderType.MARKET:
            # What the fill costs when the price reaches exactly the trigger; a gap above it
            # costs more, paid from free (see matching._trigger_stop).
            order.hold_price = fills.taker_price(
                side=side, last=order.trigger_price, slippage_rate=slippage, tick=market.tick_size
            )
        books.hold(balances, order, base, quote)
    elif order.type == OrderType.MARKET:
        fill_price = fills.taker_price(
            side=side, last=last, slippage_rate=slippage, tick=market.tick_size
        )
        books.require_free(balances, *_needed(side, amount, fill_price, base, quote))
        fill = fills.plan_fill(
            side=side,
            base=base,
            quote=quote,
            amount=amount,
            price=fill_price,
            fee_rate=config.taker_fee_rate.normalize(),
            held_price=None,
        )
        books.apply(balances, fill.changes)
        books.record_fill(order, fill, now)
    else:
        assert price is not None  # check_order refuses a limit order without a price
        books.hold(balances, order, base, quote)
        if fills.crosses(side=side, limit=price, last=last):
            fill = fills.plan_fill(
                side=side,
                base=base,
                quote=quote,
                amount=fills.fill_amount(
                    remaining=amount,
                    max_fill_fraction=config.max_fill_fraction.normalize(),
                    step=market.step_size,
                ),
                price=fills.immediate_price(
                    side=side,
                    limit=price,
                    last=last,
                    slippage_rate=slippage,
                    tick=market.tick_size,
                ),
                fee_rate=config.taker_fee_rate.normalize(),
                held_price=price,
            )
            books.apply(balances, fill.changes)
            books.record_fill(order, fill, now)
    order.save()
    books.save(balances)


def _needed(
    side: OrderSide, amount: Decimal, price: Decimal, base: str, quote: str
) -> tuple[str, Decimal]:
    """The asset and quantity an order spends: quote for a buy, base for a sell."""
    return (quote, amount * price) if side == OrderSide.BUY else (base, amount)


def cancel_order(
    *,
    account: ExchangeAccount,
    symbol: str = "",
    exchange_order_id: str = "",
    client_order_id: str = "",
    now: datetime,
) -> PaperOrder:
    """Cancel an open order and release what it still holds. Idempotent: an order that is no
    longer open (filled or already cancelled) is returned unchanged; its status says why.

    1. Lock the order row (a concurrent fill or trigger waits, or has already happened).
    2. Lock its balances and move the unfilled part's hold from used back to free (at its
       hold price for a buy: the limit price, or a buy stop-market's `hold_price`).
    """
    with transaction.atomic():
        order = find_order(
            account=account,
            symbol=symbol,
            exchange_order_id=exchange_order_id,
            client_order_id=client_order_id,
            lock=True,
        )
        if order.status != PaperOrder.Status.OPEN:
            return order
        base, quote = books.split_symbol(order.symbol)
        balances = books.locked_balances(order.account_id, [base, quote])
        books.release(balances, order, base, quote)
        order.status = PaperOrder.Status.CANCELED
        order.updated_at = now
        order.save(update_fields=["status", "updated_at"])
        books.save(balances)
    return order
