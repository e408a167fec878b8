"""The exchange layer's values: what every adapter returns, in Decimal, never ccxt's floats."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum


class OrderSide(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"


class OrderStatus(StrEnum):
    OPEN = "open"  # resting, possibly partly filled
    CLOSED = "closed"  # fully filled
    CANCELED = "canceled"  # cancelled, possibly after a partial fill
    REJECTED = "rejected"
    EXPIRED = "expired"


@dataclass(frozen=True)
class MarketRules:
    """One symbol's trading rules on one exchange (TICK_SIZE form: steps, not decimal places)."""

    symbol: str  # ccxt unified, e.g. "BTC/USDT"
    base: str
    quote: str
    tick_size: Decimal  # price increment
    step_size: Decimal  # amount increment
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    min_notional: Decimal | None = None  # minimum amount x price, in quote (None: no minimum)
    active: bool = True
    exchange_symbol: str = ""  # the exchange's own id, e.g. "BTCUSDT"
    # The order types a stop (a trigger price) can turn into on this market, e.g.
    # (MARKET, LIMIT) on binance spot when its orderTypes list STOP_LOSS and STOP_LOSS_LIMIT;
    # () when the market takes no stop order (the desk's rules loop is then the only stop).
    stop_types: tuple[OrderType, ...] = ()


@dataclass(frozen=True)
class Ticker:
    symbol: str
    last: Decimal
    bid: Decimal | None
    ask: Decimal | None
    timestamp: datetime


@dataclass(frozen=True)
class Candle:
    opened_at: datetime  # UTC open time of the candle
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


@dataclass(frozen=True)
class Balance:
    asset: str
    free: Decimal
    used: Decimal
    total: Decimal


@dataclass(frozen=True)
class ExchangeOrder:
    """An order as the exchange reports it."""

    symbol: str
    side: OrderSide
    type: OrderType
    status: OrderStatus
    amount: Decimal  # ordered base quantity
    filled: Decimal
    price: Decimal | None  # limit price (None for market)
    average: Decimal | None  # average fill price
    exchange_order_id: str
    client_order_id: str
    fee_cost: Decimal = Decimal(0)
    fee_currency: str = ""
    created_at: datetime | None = None
    # A stop order's trigger (None for a plain order). Until the price reaches it, the order
    # is OPEN with nothing filled; then it fills as its `type` (market, or limit at `price`).
    trigger_price: Decimal | None = None

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.filled
