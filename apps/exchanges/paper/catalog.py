"""The built-in market catalog of the simulated paper exchange: real rules, realistic prices.

Market rules are binance spot filters, copied from the raw exchangeInfo recorded in
`fixtures/ccxt/binance/markets.json` (ccxt's static markets fixture, ccxt/ccxt
ts/src/test/static/markets/binance.json @ 4c47e712): PRICE_FILTER tickSize, LOT_SIZE
stepSize/minQty/maxQty and NOTIONAL minNotional. A paper account therefore refuses exactly
the orders binance would refuse. Like binance spot (orderTypes STOP_LOSS, STOP_LOSS_LIMIT),
every market takes stop-market and stop-limit orders.

Pure data: no Django, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from apps.exchanges.domain.types import MarketRules, OrderType
from apps.exchanges.errors import UnknownSymbol

# The order types a stop can become on every paper market, simulated or live-priced.
STOP_TYPES = (OrderType.MARKET, OrderType.LIMIT)


@dataclass(frozen=True)
class CatalogMarket:
    rules: MarketRules
    start_price: Decimal  # where the random walk starts (and drifts back to), on the tick
    volatility: Decimal  # standard deviation of one walk step, as a fraction of the price


def _market(
    base: str,
    *,
    tick: str,
    step: str,
    min_qty: str,
    max_qty: str | None,
    min_notional: str,
    start: str,
    volatility: str,
) -> CatalogMarket:
    return CatalogMarket(
        rules=MarketRules(
            symbol=f"{base}/USDT",
            base=base,
            quote="USDT",
            tick_size=Decimal(tick),
            step_size=Decimal(step),
            min_amount=Decimal(min_qty),
            max_amount=Decimal(max_qty) if max_qty is not None else None,
            min_notional=Decimal(min_notional),
            exchange_symbol=f"{base}USDT",
            stop_types=STOP_TYPES,
        ),
        start_price=Decimal(start),
        volatility=Decimal(volatility),
    )


# Volatility is per walk step (one step every PAPER_PRICE_SECONDS, 2 s by default). Real
# 2-second moves are far smaller; these are chosen so that a stop or target a few percent away
# is reached within minutes of a demo (0.25 % per step is about 3 % in five minutes).
_MARKETS = [
    # binance spot filters from fixtures/ccxt/binance/markets.json (BTCUSDT).
    _market(
        "BTC",
        tick="0.01",
        step="0.00001",
        min_qty="0.00001",
        max_qty="9000",
        min_notional="5",
        start="65000.00",
        volatility="0.002",
    ),
    # binance spot filters from fixtures/ccxt/binance/markets.json (ETHUSDT).
    _market(
        "ETH",
        tick="0.01",
        step="0.0001",
        min_qty="0.0001",
        max_qty="9000",
        min_notional="5",
        start="3200.00",
        volatility="0.0025",
    ),
    # NOT from the fixture (it has no SOLUSDT): binance's well-known SOLUSDT spot filters,
    # tickSize 0.01, stepSize 0.001, minQty 0.001, minNotional 5. No maxQty is claimed.
    _market(
        "SOL",
        tick="0.01",
        step="0.001",
        min_qty="0.001",
        max_qty=None,
        min_notional="5",
        start="150.00",
        volatility="0.003",
    ),
    # binance spot filters from fixtures/ccxt/binance/markets.json (XRPUSDT).
    _market(
        "XRP",
        tick="0.0001",
        step="1",
        min_qty="1",
        max_qty="9222449",
        min_notional="5",
        start="0.5500",
        volatility="0.003",
    ),
    # binance spot filters from fixtures/ccxt/binance/markets.json (DOGEUSDT).
    _market(
        "DOGE",
        tick="0.00001",
        step="1",
        min_qty="1",
        max_qty="9000000",
        min_notional="5",
        start="0.15000",
        volatility="0.0035",
    ),
    # binance spot filters from fixtures/ccxt/binance/markets.json (LTCUSDT).
    _market(
        "LTC",
        tick="0.01",
        step="0.001",
        min_qty="0.001",
        max_qty="90000",
        min_notional="5",
        start="80.00",
        volatility="0.0025",
    ),
]

CATALOG: dict[str, CatalogMarket] = {market.rules.symbol: market for market in _MARKETS}


def catalog_market(symbol: str) -> CatalogMarket:
    """The catalog entry of `symbol`; UnknownSymbol (as an exchange would answer) if absent."""
    try:
        return CATALOG[symbol]
    except KeyError:
        raise UnknownSymbol(f"{symbol} is not traded on the paper exchange.") from None


def catalog_rules() -> list[MarketRules]:
    return [market.rules for market in CATALOG.values()]
