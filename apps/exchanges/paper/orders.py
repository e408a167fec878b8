"""Paper orders on the database: placement, cancellation, matching and the balance changes.

Every change of a balance happens in one transaction that holds row locks on exactly the rows
it touches, taken in one global order (order row, then balances sorted by asset; a placement
takes the account's PaperSettings row first), so concurrent fills, cancels and placements
never lose an update and never deadlock.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q

from apps.exchanges.domain.precision import fmt
from apps.exchanges.domain.types import MarketRules, OrderSide, OrderType
from apps.exchanges.errors import InsufficientFunds, OrderNotFound
from apps.exchanges.models import ExchangeAccount, PaperBalance, PaperOrder, PaperSettings
from apps.exchanges.paper import fills, rules


def split_symbol(symbol: str) -> tuple[str, str]:
    """("BTC", "USDT") for "BTC/USDT" (ccxt's unified spot symbols)."""
    base, _, quote = symbol.partition("/")
    return base, quote


def new_exchange_order_id() -> str:
    return "P" + uuid.uuid4().hex


# --- Balances ---------------------------------------------------------------------------------


def _locked_balances(account_id: int, assets: Iterable[str]) -> dict[str, PaperBalance]:
    """Lock (creating at zero when missing) the account's balances of `assets`, sorted by asset
    so that every transaction takes balance locks in the same order."""
    wanted = sorted(set(assets))
    PaperBalance.objects.bulk_create(
        [PaperBalance(account_id=account_id, asset=asset) for asset in wanted],
        ignore_conflicts=True,
    )
    rows = (
        PaperBalance.objects.select_for_update()
        .filter(account_id=account_id, asset__in=wanted)
        .order_by("asset")
    )
    return {row.asset: row for row in rows}


def _apply(balances: dict[str, PaperBalance], changes: dict[str, fills.BalanceChange]) -> None:
    for asset, change in changes.items():
        balance = balances[asset]
        balance.free += change.free
        balance.used += change.used
        if balance.free < 0 or balance.used < 0:
            # Unreachable when the checks before it hold; refuse rather than overdraw.
            raise InsufficientFunds(f"Not enough {asset} for this order.")


def _save(balances: dict[str, PaperBalance]) -> None:
    for balance in balances.values():
        balance.save(update_fields=["free", "used"])


def _record_fill(order: PaperOrder, fill: fills.Fill, now: datetime) -> None:
    order.filled += fill.amount
    order.cost += fill.cost
    order.fee_cost += fill.fee
    order.fee_currency = fill.fee_currency
    if order.filled >= order.amount:
        order.status = PaperOrder.Status.CLOSED
    order.updated_at = now


# --- Orders -----------------------------------------------------------------------------------


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
) -> tuple[PaperOrder, bool]:
    """Place an order; returns (order, created). A reused client order id returns the existing
    order and places nothing (created is False).

    1. Check the order against the market rules (nothing is written if it fails).
    2. In one transaction: lock the account's PaperSettings row, which serialises placements
       per account, so a concurrent placement with the same client id is seen here.
    3. Return the existing order if the client id is taken.
    4. Lock the balances, check free funds, write the order; a market order fills completely
       at the taker price, a limit order sets its funds aside and, if the price already
       crosses it, takes liquidity at once (taker fee); the rest rests (maker fee later).
    The unique (account, client_order_id) constraint stays the last guard: if it fires, the
    other placement won, and its order is returned.
    """
    rules.check_client_order_id(client_order_id)
    rules.check_order(market, type=type, amount=amount, price=price, reference_price=last)
    try:
        with transaction.atomic():
            config = PaperSettings.objects.select_for_update().get(account=account)
            existing = PaperOrder.objects.filter(
                account=account, client_order_id=client_order_id
            ).first()
            if existing is not None:
                return existing, False
            order = _write_order(
                config, market, side, type, amount, price, client_order_id, last, now
            )
            return order, True
    except IntegrityError:
        existing = PaperOrder.objects.filter(
            account=account, client_order_id=client_order_id
        ).first()
        if existing is None:
            raise
        return existing, False


def _write_order(
    config: PaperSettings,
    market: MarketRules,
    side: OrderSide,
    type: OrderType,
    amount: Decimal,
    price: Decimal | None,
    client_order_id: str,
    last: Decimal,
    now: datetime,
) -> PaperOrder:
    base, quote = market.base, market.quote
    balances = _locked_balances(config.account_id, [base, quote])
    slippage = config.slippage_rate.normalize()
    order = PaperOrder(
        account_id=config.account_id,
        exchange_order_id=new_exchange_order_id(),
        client_order_id=client_order_id,
        symbol=market.symbol,
        side=side,
        type=type,
        price=price if type == OrderType.LIMIT else None,
        amount=amount,
        created_at=now,
        updated_at=now,
    )
    if type == OrderType.MARKET:
        fill_price = fills.taker_price(
            side=side, last=last, slippage_rate=slippage, tick=market.tick_size
        )
        _require_free(balances, *_needed(side, amount, fill_price, base, quote))
        fill = fills.plan_fill(
            side=side,
            base=base,
            quote=quote,
            amount=amount,
            price=fill_price,
            fee_rate=config.taker_fee_rate.normalize(),
            held_price=None,
        )
        _apply(balances, fill.changes)
        _record_fill(order, fill, now)
    else:
        assert price is not None  # check_order refuses a limit order without a price
        asset, quantity = _needed(side, amount, price, base, quote)
        _require_free(balances, asset, quantity)
        _apply(balances, {asset: fills.BalanceChange(free=-quantity, used=quantity)})
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
            _apply(balances, fill.changes)
            _record_fill(order, fill, now)
    order.save()
    _save(balances)
    return order


def _needed(
    side: OrderSide, amount: Decimal, price: Decimal, base: str, quote: str
) -> tuple[str, Decimal]:
    """The asset and quantity an order spends: quote for a buy, base for a sell."""
    return (quote, amount * price) if side == OrderSide.BUY else (base, amount)


def _require_free(balances: dict[str, PaperBalance], asset: str, quantity: Decimal) -> None:
    free = balances[asset].free
    if free < quantity:
        raise InsufficientFunds(
            f"Account has insufficient balance: {fmt(quantity)} {asset} needed, "
            f"{fmt(free)} {asset} free."
        )


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

    1. Lock the order row (a concurrent fill waits, or has already happened).
    2. Lock its balances and move the unfilled part's hold from used back to free.
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
        base, quote = split_symbol(order.symbol)
        balances = _locked_balances(order.account_id, [base, quote])
        asset, quantity = _needed(order.side, order.amount - order.filled, order.price, base, quote)
        _apply(balances, {asset: fills.BalanceChange(free=quantity, used=-quantity)})
        order.status = PaperOrder.Status.CANCELED
        order.updated_at = now
        order.save(update_fields=["status", "updated_at"])
        _save(balances)
    return order


# --- Matching ---------------------------------------------------------------------------------


def match_resting_orders(
    *,
    symbol: str,
    last: Decimal,
    now: datetime,
    step_size: Decimal,
    account: ExchangeAccount | None = None,
) -> int:
    """Fill the resting orders of `symbol` that `last` crosses; returns the number of fills.

    Without `account`, the orders of every account on simulated prices (the shared
    PaperPrice); with it, only that account's (live prices are per account). Each order fills
    in its own short transaction, at its limit price, by at most max_fill_fraction of what
    remains, with the maker fee.
    """
    crossing = Q(side=OrderSide.BUY, price__gte=last) | Q(side=OrderSide.SELL, price__lte=last)
    orders = PaperOrder.objects.filter(
        crossing, symbol=symbol, status=PaperOrder.Status.OPEN, type=OrderType.LIMIT
    )
    if account is None:
        orders = orders.filter(
            account__paper_settings__price_source=PaperSettings.PriceSource.SIMULATED
        )
    else:
        orders = orders.filter(account=account)
    order_ids = list(orders.order_by("created_at", "id").values_list("id", flat=True))
    return sum(_fill_resting(order_id, last, now, step_size) for order_id in order_ids)


def _fill_resting(order_id: int, last: Decimal, now: datetime, step_size: Decimal) -> int:
    """One fill of one resting order (1 if it filled, 0 if it no longer qualifies)."""
    with transaction.atomic():
        order = PaperOrder.objects.select_for_update().get(pk=order_id)
        # Re-check under the lock: a cancel or another matcher may have got here first.
        if order.status != PaperOrder.Status.OPEN or not fills.crosses(
            side=order.side, limit=order.price, last=last
        ):
            return 0
        config = PaperSettings.objects.get(account_id=order.account_id)
        base, quote = split_symbol(order.symbol)
        balances = _locked_balances(order.account_id, [base, quote])
        fill = fills.plan_fill(
            side=order.side,
            base=base,
            quote=quote,
            amount=fills.fill_amount(
                remaining=order.amount - order.filled,
                max_fill_fraction=config.max_fill_fraction.normalize(),
                step=step_size,
            ),
            price=order.price,
            fee_rate=config.maker_fee_rate.normalize(),
            held_price=order.price,
        )
        _apply(balances, fill.changes)
        _record_fill(order, fill, now)
        order.save()
        _save(balances)
    return 1
