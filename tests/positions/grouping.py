"""Helpers for position-group tests: strategies with grids, signals, and the loops' ticks run
with the work they enqueue on commit (order sends, cancels), as a worker would."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from apps.exchanges.paper.services import set_price
from apps.positions.services import SignalOrder, act_on_signal, take_profit
from apps.positions.services.orders import sync_orders
from apps.strategies.models import Strategy
from tests.tickets.conftest import BTC
from tests.tickets.factories import StrategyFactory

# 40 % at market, 30 % 2 % lower, 30 % 4 % lower; each leg with its own take profit.
GRID = [
    {"gap_pct": "0", "weight_pct": "40", "tp_pct": "1.5"},
    {"gap_pct": "2", "weight_pct": "30", "tp_pct": "1"},
    {"gap_pct": "4", "weight_pct": "30", "tp_pct": "3"},
]


def grid_strategy(owner, *, legs=None, tp_mode="aggregate", group_tp_pct="2", **kw) -> Strategy:
    return StrategyFactory(
        owner=owner,
        sizing_kind=kw.pop("sizing_kind", "quote"),
        sizing_value=Decimal(kw.pop("sizing_value", "1000")),
        dca_legs=GRID if legs is None else legs,
        tp_mode=tp_mode,
        group_tp_pct=Decimal(group_tp_pct),
        **kw,
    )


def signal(action="entry", *, symbol=BTC, timeframe="15", price=None, quantity=None):
    return SignalOrder(
        action=action,
        symbol=symbol,
        timeframe=timeframe,
        side="long",
        price=Decimal(price) if price is not None else None,
        quantity=Decimal(quantity) if quantity is not None else None,
    )


class Desk:
    """Drives services the way the worker would: every call runs its on-commit work."""

    def __init__(self, capture) -> None:
        self.capture = capture

    def run(self, fn, /, **kwargs):
        with self.capture(execute=True):
            return fn(**kwargs)

    def act(self, account, strategy, order, signal_id=None):
        return self.run(
            act_on_signal,
            account=account,
            strategy=strategy,
            order=order,
            signal_id=signal_id,
            now=timezone.now(),
        )

    def price(self, value: str, symbol: str = BTC) -> None:
        set_price(symbol=symbol, price=Decimal(value))

    def sync(self):
        return self.run(sync_orders, now=timezone.now())

    def take_profit(self):
        return self.run(take_profit, now=timezone.now())
