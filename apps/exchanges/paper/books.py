"""The paper exchange's balance rows: locking them, applying fills, and what an order holds.

Every change of a balance happens in one transaction that holds row locks on exactly the rows
it touches, taken in one global order (order row, then balances sorted by asset; a placement
takes the account's PaperSettings row first), so concurrent fills, triggers, cancels and
placements never lose an update and never deadlock. `orders` and `matching` follow it.

What an open order holds (moved from free to used when it rests): a sell its remaining base;
a buy its remaining amount × its hold price, which is its limit price, or for a buy
stop-market its trigger plus slippage on the tick (stored as `PaperOrder.hold_price`, so a
later change of the slippage setting never changes what is released).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from apps.exchanges.domain.precision import fmt
from apps.exchanges.domain.types import OrderSide
from apps.exchanges.errors import InsufficientFunds
from apps.exchanges.models import PaperBalance, PaperOrder
from apps.exchanges.paper import fills

Balances = dict[str, PaperBalance]


def split_symbol(symbol: str) -> tuple[str, str]:
    """("BTC", "USDT") for "BTC/USDT" (ccxt's unified spot symbols)."""
    base, _, quote = symbol.partition("/")
    return base, quote


def locked_balances(account_id: int, assets: Iterable[str]) -> Balances:
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


def apply(balances: Balances, changes: dict[str, fills.BalanceChange]) -> None:
    for asset, change in changes.items():
        balance = balances[asset]
        balance.free += change.free
        balance.used += change.used
        if balance.free < 0 or balance.used < 0:
            # Unreachable when the checks before it hold; refuse rather than overdraw.
            raise InsufficientFunds(f"Not enough {asset} for this order.")


def covers(balances: Balances, changes: dict[str, fills.BalanceChange]) -> bool:
    """Whether the balances can take `changes` without going negative."""
    return all(
        balances[asset].free + change.free >= 0 and balances[asset].used + change.used >= 0
        for asset, change in changes.items()
    )


def save(balances: Balances) -> None:
    for balance in balances.values():
        balance.save(update_fields=["free", "used"])


def require_free(balances: Balances, asset: str, quantity: Decimal) -> None:
    free = balances[asset].free
    if free < quantity:
        raise InsufficientFunds(
            f"Account has insufficient balance: {fmt(quantity)} {asset} needed, "
            f"{fmt(free)} {asset} free."
        )


def record_fill(order: PaperOrder, fill: fills.Fill, now: datetime) -> None:
    order.filled += fill.amount
    order.cost += fill.cost
    order.fee_cost += fill.fee
    order.fee_currency = fill.fee_currency
    if order.filled >= order.amount:
        order.status = PaperOrder.Status.CLOSED
    order.updated_at = now


def hold_price(order: PaperOrder) -> Decimal | None:
    """The price per base the order's funds were set aside at (`fills.plan_fill`'s
    held_price); None for a plain market order, which holds nothing.

    A sell stop-market has neither a hold price nor a limit price; its hold is its base, so
    any price tells plan_fill "paid from used": its trigger.
    """
    for price in (order.hold_price, order.price, order.trigger_price):
        if price is not None:
            return price
    return None


def held(order: PaperOrder, base: str, quote: str) -> tuple[str, Decimal]:
    """The asset and quantity an open order still holds: quote for a buy, base for a sell."""
    remaining = order.amount - order.filled
    if order.side == OrderSide.BUY:
        price = hold_price(order)
        assert price is not None  # only a plain market order has none, and it never rests
        return quote, remaining * price
    return base, remaining


def hold(balances: Balances, order: PaperOrder, base: str, quote: str) -> None:
    """Set aside what a new resting order holds (free to used); InsufficientFunds if free
    does not have it."""
    asset, quantity = held(order, base, quote)
    require_free(balances, asset, quantity)
    apply(balances, {asset: fills.BalanceChange(free=-quantity, used=quantity)})


def release(balances: Balances, order: PaperOrder, base: str, quote: str) -> None:
    """Give back what an open order still holds (used to free)."""
    asset, quantity = held(order, base, quote)
    apply(balances, {asset: fills.BalanceChange(free=quantity, used=-quantity)})
