"""Risk tests reuse the trades tests' paper account and their way of driving the services."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.exchanges.paper.services import set_price
from apps.positions.models import PositionGroup
from apps.risk.models import RiskSettings
from tests.positions.grouping import Desk, grid_strategy, signal
from tests.tickets.conftest import paper  # noqa: F401  (the fixture)

START = {
    "BTC/USDT": "65000.00",
    "ETH/USDT": "3200.00",
    "SOL/USDT": "150.00",
    "LTC/USDT": "80.00",
    "XRP/USDT": "0.5500",
}


@pytest.fixture
def desk(django_capture_on_commit_callbacks) -> Desk:
    for symbol, price in START.items():
        set_price(symbol=symbol, price=Decimal(price))
    return Desk(django_capture_on_commit_callbacks)


def open_group(desk: Desk, account, symbol: str, capital: str, *, legs=None, limit=1, tf="15"):
    """A group with one pyramid of one market leg (unless `legs`), all pyramids in."""
    strategy = grid_strategy(
        account.owner,
        legs=[] if legs is None else legs,
        sizing_value=capital,
        group_tp_pct="50",
        pyramid_limit=limit,
    )
    outcome = desk.act(account, strategy, signal(symbol=symbol, timeframe=tf))
    assert outcome.decision == "executed", outcome.reason
    return PositionGroup.objects.get(pk=outcome.group_id)


def engine_on(account, **fields) -> RiskSettings:
    fields.setdefault("wait_minutes", 0)
    return RiskSettings.objects.create(account=account, enabled=True, **fields)
