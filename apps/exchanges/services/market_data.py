"""Public market data for the features above the exchange layer: tickers, closed candles, fees.

Every call goes to the exchange (outside any transaction) and returns our Decimal dataclasses,
or raises `apps.exchanges.errors.ExchangeError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from apps.exchanges.adapters import get_adapter
from apps.exchanges.domain.types import Candle, Ticker
from apps.exchanges.models import ExchangeAccount, PaperSettings
from apps.exchanges.paper.candles import timeframe_seconds

# Assumed when the exchange does not tell us its fee: binance's and bybit's base spot taker fee.
DEFAULT_TAKER_FEE_RATE = Decimal("0.001")


def tickers(*, account: ExchangeAccount, symbols: Sequence[str]) -> dict[str, Ticker]:
    """One batch of tickers for `symbols` on the account's exchange."""
    if not symbols:
        return {}
    adapter = get_adapter(account)
    try:
        return adapter.fetch_tickers(list(symbols))
    finally:
        adapter.close()


def closed_candles(
    *, account: ExchangeAccount, symbol: str, timeframe: str, count: int, now: datetime
) -> list[Candle]:
    """The last `count` closed candles (oldest first); the candle still forming is left out,
    because an indicator on it would change until it closes."""
    seconds = timeframe_seconds(timeframe)
    adapter = get_adapter(account)
    try:
        candles = adapter.fetch_candles(symbol, timeframe, limit=count + 1)
    finally:
        adapter.close()
    closed = [c for c in candles if c.opened_at + timedelta(seconds=seconds) <= now]
    return closed[-count:]


def recent_candles(
    *, account: ExchangeAccount, symbol: str, timeframe: str, count: int
) -> list[Candle]:
    """The last `count` candles (oldest first), the one still forming included: a chart shows
    the price now, where an indicator must not (`closed_candles`)."""
    adapter = get_adapter(account)
    try:
        return adapter.fetch_candles(symbol, timeframe, limit=count)[-count:]
    finally:
        adapter.close()


def last_closed_candle_at(*, timeframe: str, now: datetime) -> datetime:
    """Open time of the newest candle that has closed by `now`."""
    seconds = timeframe_seconds(timeframe)
    newest_open = int(now.timestamp()) // seconds * seconds
    return datetime.fromtimestamp(newest_open - seconds, tz=now.tzinfo)


def taker_fee_rate(*, account: ExchangeAccount) -> Decimal:
    """The fee rate a market order pays on this account (the paper account's own setting)."""
    if account.is_paper:
        settings = PaperSettings.objects.filter(account=account).first()
        if settings is not None:
            return settings.taker_fee_rate.normalize()
    return DEFAULT_TAKER_FEE_RATE
