"""The one protocol every exchange implementation follows (ccxt for real exchanges, paper).

Rules for implementations:
* return our frozen dataclasses with Decimal values; raise only `apps.exchanges.errors`;
* take amounts and prices already rounded by `apps.exchanges.domain.precision` (the adapter
  sends them as they are and never rounds again);
* client order ids are ours, alphanumeric and at most 32 characters (okx's limit, the
  strictest of the supported exchanges); the adapter sends them unchanged;
* `create_order` always carries our client order id, and returns the order as the exchange now
  knows it (an acknowledgement is followed up with a fetch); a duplicate client id resolves to
  the existing order instead of failing;
* after `OrderNotFound` from `cancel_order`, fetch the order: the cancel may have succeeded and
  only the follow-up read failed;
* never log or put a credential into an error message.

Stop orders (protective stops that rest on the exchange):
* `create_order(..., trigger_price=x)` places a stop: a sell triggers once the last price is
  at or below x (a buy at or above), then fills as `type` (market, or limit at `price`). Only
  a market whose `MarketRules.stop_types` lists the type takes it;
* a stop whose trigger the price has already crossed is refused with `WouldTriggerImmediately`
  (binance -2010 "Order would trigger immediately."), never placed as a market order;
* `fetch_order`, `cancel_order` take `conditional=True` for a stop: some exchanges (okx algo
  orders, bybit spot StopOrder) keep them apart from plain orders. A stop that has triggered
  and filled is reported CLOSED with its fill (the adapter follows the order it became);
* `fetch_open_orders` lists plain and stop orders alike (stops with their `trigger_price`).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Protocol

from apps.exchanges.domain.types import (
    Balance,
    Candle,
    ExchangeOrder,
    MarketRules,
    OrderSide,
    OrderType,
    Ticker,
)


class ExchangeAdapter(Protocol):
    def load_markets(self) -> list[MarketRules]: ...

    def fetch_tickers(self, symbols: Sequence[str]) -> dict[str, Ticker]: ...

    def fetch_candles(
        self, symbol: str, timeframe: str, *, since_ms: int | None = None, limit: int = 200
    ) -> list[Candle]: ...

    def fetch_balance(self) -> dict[str, Balance]: ...

    def create_order(
        self,
        *,
        symbol: str,
        side: OrderSide,
        type: OrderType,
        amount: Decimal,
        price: Decimal | None,
        client_order_id: str,
        trigger_price: Decimal | None = None,
    ) -> ExchangeOrder: ...

    def cancel_order(
        self,
        *,
        symbol: str,
        exchange_order_id: str = "",
        client_order_id: str = "",
        conditional: bool = False,
    ) -> ExchangeOrder: ...

    def fetch_order(
        self,
        *,
        symbol: str,
        exchange_order_id: str = "",
        client_order_id: str = "",
        conditional: bool = False,
    ) -> ExchangeOrder: ...

    def fetch_open_orders(self, symbol: str | None = None) -> list[ExchangeOrder]: ...

    def close(self) -> None: ...
