"""Live price source: real markets and prices of a real exchange, through its public endpoints.

With PaperSettings.price_source == "live", a paper account trades against the public markets
and tickers of `live_exchange` (no keys), read through our CcxtAdapter. Fills, balances and
faults stay simulated. Matching is per account, because live prices are not shared through
PaperPrice: `match_live_account` fetches the prices of the symbols with resting orders (stops
included) and fills what they cross and triggers what they reach. Network calls happen
outside any transaction. Whatever stop orders the real exchange takes, the paper exchange
takes stop-market and stop-limit on every market (`catalog.STOP_TYPES`).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from django.conf import settings

from apps.exchanges.domain.types import Candle, MarketRules, Ticker
from apps.exchanges.errors import UnknownSymbol
from apps.exchanges.models import ExchangeAccount, PaperOrder
from apps.exchanges.paper.catalog import STOP_TYPES
from apps.exchanges.paper.matching import match_resting_orders

DEFAULT_LIVE_EXCHANGE = "binance"
_MARKETS_TTL_SECONDS = 3600
# One public (keyless) adapter per exchange and thread: ccxt keeps the loaded markets on it,
# so tickers do not download the markets again, and threads never share a session.
_local = threading.local()


def _public_adapter(exchange_id: str):
    # Imported here so that a desk on simulated prices never loads ccxt.
    from apps.exchanges.adapters.ccxt import CcxtAdapter

    adapters = _local.__dict__.setdefault("adapters", {})
    exchange_id = exchange_id or DEFAULT_LIVE_EXCHANGE
    if exchange_id not in adapters:
        adapters[exchange_id] = CcxtAdapter(
            exchange_id, timeout_seconds=settings.EXCHANGE_TIMEOUT_SECONDS
        )
    return adapters[exchange_id]


def live_markets(exchange_id: str) -> dict[str, MarketRules]:
    """The exchange's spot markets, reloaded at most once an hour per thread, with the paper
    exchange's stop types."""
    cache = _local.__dict__.setdefault("markets", {})
    cached = cache.get(exchange_id)
    if cached is not None and time.monotonic() - cached[0] < _MARKETS_TTL_SECONDS:
        return cached[1]
    markets = {
        rules.symbol: dataclasses.replace(rules, stop_types=STOP_TYPES)
        for rules in _public_adapter(exchange_id).load_markets()
    }
    cache[exchange_id] = (time.monotonic(), markets)
    return markets


def live_market(exchange_id: str, symbol: str) -> MarketRules:
    try:
        return live_markets(exchange_id)[symbol]
    except KeyError:
        raise UnknownSymbol(f"{symbol} is not traded on {exchange_id}.") from None


def live_tickers(exchange_id: str, symbols: Sequence[str]) -> dict[str, Ticker]:
    live_markets(exchange_id)  # loaded (and refreshed) here, not on every ticker call
    return _public_adapter(exchange_id).fetch_tickers(list(symbols))


def live_last_price(exchange_id: str, symbol: str) -> Decimal:
    tickers = live_tickers(exchange_id, [symbol])
    if symbol not in tickers:
        raise UnknownSymbol(f"{exchange_id} has no price for {symbol}.")
    return tickers[symbol].last


def live_candles(
    exchange_id: str, symbol: str, timeframe: str, *, since_ms: int | None, limit: int
) -> list[Candle]:
    live_markets(exchange_id)
    return _public_adapter(exchange_id).fetch_candles(
        symbol, timeframe, since_ms=since_ms, limit=limit
    )


def match_live_account(*, account: ExchangeAccount, exchange_id: str, now: datetime) -> int:
    """Fill the account's resting orders that the exchange's current prices cross, and
    trigger the stops they reach.

    1. Find the symbols with open orders, stops included (nothing to fetch if none).
    2. Fetch their tickers and markets (network, no transaction open).
    3. Match each symbol at its last price, for this account only.
    """
    symbols = sorted(
        set(
            PaperOrder.objects.filter(account=account, status=PaperOrder.Status.OPEN).values_list(
                "symbol", flat=True
            )
        )
    )
    if not symbols:
        return 0
    tickers = live_tickers(exchange_id, symbols)
    markets = live_markets(exchange_id)
    return sum(
        match_resting_orders(
            symbol=symbol,
            last=tickers[symbol].last,
            now=now,
            market=markets[symbol],
            account=account,
        )
        for symbol in symbols
        if symbol in tickers and symbol in markets
    )
