"""ccxt's dicts and floats -> our Decimal dataclasses (`Decimal(str(x))`, aware UTC times)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from apps.exchanges.domain.types import (
    Balance,
    Candle,
    ExchangeOrder,
    MarketRules,
    OrderSide,
    OrderStatus,
    OrderType,
    Ticker,
)


def dec(value: Any) -> Decimal | None:
    return None if value is None or value == "" else Decimal(str(value))


def utc(ms: Any) -> datetime | None:
    if ms is None:
        return None
    ms = int(ms)  # whole milliseconds; no float seconds in between
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)


def market_rules(market: dict) -> MarketRules:
    limits = market.get("limits") or {}
    amount_limits = limits.get("amount") or {}
    return MarketRules(
        symbol=market["symbol"],
        base=market["base"],
        quote=market["quote"],
        tick_size=dec(market["precision"]["price"]),
        step_size=dec(market["precision"]["amount"]),
        min_amount=dec(amount_limits.get("min")),
        max_amount=dec(amount_limits.get("max")),
        min_notional=dec((limits.get("cost") or {}).get("min")),
        active=market.get("active") is not False,
        exchange_symbol=market["id"],
    )


def ticker(symbol: str, raw: dict) -> Ticker:
    return Ticker(
        symbol=symbol,
        last=dec(raw["last"]),
        bid=dec(raw.get("bid")),
        ask=dec(raw.get("ask")),
        # kraken's ticker carries no time; it is as fresh as the answer.
        timestamp=utc(raw.get("timestamp")) or datetime.now(UTC),
    )


def candle(row: Sequence[Any]) -> Candle:
    opened_ms, open_, high, low, close, volume = row
    return Candle(
        opened_at=utc(opened_ms),
        open=dec(open_),
        high=dec(high),
        low=dec(low),
        close=dec(close),
        volume=dec(volume) if volume is not None else Decimal(0),
    )


def balances(raw: dict) -> dict[str, Balance]:
    """Every asset with a non-zero total; `free` is derived when the exchange omits it."""
    found = {}
    for asset, total in (raw.get("total") or {}).items():
        total = dec(total)
        if not total:
            continue
        used = dec(raw["used"].get(asset)) or Decimal(0)
        free = dec(raw["free"].get(asset))
        found[asset] = Balance(
            asset=asset, free=total - used if free is None else free, used=used, total=total
        )
    return found


def client_id(raw: dict, exchange_id: str) -> str:
    """Our client order id as read back from a ccxt order ("" when it has none)."""
    if exchange_id == "kraken":  # ccxt falls back to userref, an integer tag ("0")
        return str((raw.get("info") or {}).get("cl_ord_id") or "")
    return str(raw.get("clientOrderId") or "")


def order(raw: dict, symbol: str | None, exchange_id: str) -> ExchangeOrder:
    type_ = raw.get("type")
    order_type = OrderType(type_) if type_ in ("limit", "market") else None
    if order_type is None:  # e.g. a stop placed by hand: a price means it rests as a limit
        order_type = OrderType.LIMIT if raw.get("price") else OrderType.MARKET
    fee = raw.get("fee") or {}
    if not fee and len(raw.get("fees") or []) == 1:
        fee = raw["fees"][0]
    return ExchangeOrder(
        symbol=raw.get("symbol") or symbol or "",
        side=OrderSide(raw["side"]),
        type=order_type,
        # Only acknowledgements omit the status, and an acknowledged order is live.
        status=OrderStatus(raw.get("status") or OrderStatus.OPEN),
        amount=dec(raw["amount"]),
        filled=dec(raw.get("filled")) or Decimal(0),
        # ccxt fills a market order's price with its average; ours is the limit only.
        price=dec(raw.get("price")) if order_type == OrderType.LIMIT else None,
        average=dec(raw.get("average")),
        exchange_order_id=str(raw["id"]),
        client_order_id=client_id(raw, exchange_id),
        fee_cost=dec(fee.get("cost")) or Decimal(0),
        fee_currency=fee.get("currency") or "",
        created_at=utc(raw.get("timestamp")),
    )
