"""A paper account whose pool is easy to fill, a strategy that opens small groups, and the
queue's helpers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.exchanges.paper.services import set_price
from apps.positions.models import PositionGroup
from apps.trade_queue.models import PoolSettings, QueuedSignal
from tests.positions.grouping import Desk, grid_strategy
from tests.tickets.conftest import paper  # noqa: F401  (the paper account fixture)

PRICES = {
    "BTC/USDT": "65000.00",
    "ETH/USDT": "3200.00",
    "SOL/USDT": "150.00",
    "XRP/USDT": "0.5500",
    "DOGE/USDT": "0.15000",
    "LTC/USDT": "80.00",
}


def set_prices() -> None:
    for symbol, price in PRICES.items():
        set_price(symbol=symbol, price=Decimal(price))


@pytest.fixture
def pool(paper):  # noqa: F811
    """The paper account with every symbol priced and a pool of one slot."""
    set_prices()
    paper.max_open_groups = 1
    paper.save(update_fields=["max_open_groups"])
    return paper


@pytest.fixture
def desk(django_capture_on_commit_callbacks) -> Desk:
    return Desk(django_capture_on_commit_callbacks)


@pytest.fixture
def strategy(paper):  # noqa: F811
    """One leg at market, 100 USDT an entry."""
    return grid_strategy(paper.owner, legs=[], sizing_value="100")


def pool_settings(account, **values) -> PoolSettings:
    settings, _ = PoolSettings.objects.update_or_create(account=account, defaults=values)
    return settings


def waiting_keys(account) -> list[str]:
    """The account's waiting entries in rank order, as `SYMBOL TF`."""
    from apps.trade_queue.selectors import ranked_queue

    pyramids = PoolSettings.objects.filter(account=account, pyramids_count=True).exists()
    return [
        f"{row.queued.symbol} {row.queued.timeframe}"
        for row in ranked_queue(account.pk, pyramids_count=pyramids)
    ]


def open_symbols(account) -> list[str]:
    return sorted(
        PositionGroup.objects.filter(account=account, status="open").values_list(
            "symbol", flat=True
        )
    )


def row(account, symbol, timeframe="15") -> QueuedSignal:
    return QueuedSignal.objects.filter(account=account, symbol=symbol, timeframe=timeframe).latest(
        "pk"
    )
