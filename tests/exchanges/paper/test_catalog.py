"""The built-in catalog carries binance's real spot filters (from the recorded exchangeInfo)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from apps.exchanges.errors import UnknownSymbol
from apps.exchanges.paper.catalog import CATALOG, catalog_market

FIXTURE = (
    Path(__file__).resolve().parents[4]
    / "shared"
    / "fixtures"
    / "ccxt"
    / "binance"
    / "markets.json"
)


def binance_filters() -> dict[str, dict[str, dict[str, str]]]:
    if not FIXTURE.exists():
        pytest.skip(f"the binance markets fixture is not at {FIXTURE} (no ../shared checkout)")
    body = json.loads(FIXTURE.read_text())["responses"][0]["body"]
    return {
        entry["symbol"]: {f["filterType"]: f for f in entry["filters"]} for entry in body["symbols"]
    }


@pytest.mark.parametrize("symbol", ["BTC/USDT", "ETH/USDT", "XRP/USDT", "DOGE/USDT", "LTC/USDT"])
def test_catalog_rules_equal_binance_spot_filters(symbol: str) -> None:
    rules = catalog_market(symbol).rules
    filters = binance_filters()[rules.exchange_symbol]
    assert rules.tick_size == Decimal(filters["PRICE_FILTER"]["tickSize"])
    assert rules.step_size == Decimal(filters["LOT_SIZE"]["stepSize"])
    assert rules.min_amount == Decimal(filters["LOT_SIZE"]["minQty"])
    assert rules.max_amount == Decimal(filters["LOT_SIZE"]["maxQty"])
    assert rules.min_notional == Decimal(filters["NOTIONAL"]["minNotional"])


def test_catalog_has_the_liquid_majors_with_start_prices_on_their_tick() -> None:
    assert {"BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "DOGE/USDT"} <= set(CATALOG)
    for market in CATALOG.values():
        assert market.start_price > 0
        assert market.start_price % market.rules.tick_size == 0


def test_sol_uses_binance_solusdt_filters() -> None:
    rules = catalog_market("SOL/USDT").rules
    assert (rules.tick_size, rules.step_size, rules.min_amount, rules.min_notional) == (
        Decimal("0.01"),
        Decimal("0.001"),
        Decimal("0.001"),
        Decimal("5"),
    )


def test_an_unlisted_symbol_is_unknown() -> None:
    with pytest.raises(UnknownSymbol):
        catalog_market("FOO/USDT")
