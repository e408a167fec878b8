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


# Spot order types a stop can become, where the exchange does not list them per market. Both
# are placed through ccxt on spot: bybit as conditional (StopOrder) Market/Limit orders, okx as
# `conditional` algo orders with slOrdPx -1 (market) or a limit price.
_STOP_TYPES = {
    "bybit": (OrderType.MARKET, OrderType.LIMIT),
    "okx": (OrderType.MARKET, OrderType.LIMIT),
}
# binance lists per market which order types it takes (exchangeInfo `orderTypes`).
_BINANCE_STOP_TYPES = {"STOP_LOSS": OrderType.MARKET, "STOP_LOSS_LIMIT": OrderType.LIMIT}


def stop_types(market: dict, exchange_id: str) -> tuple[OrderType, ...]:
    if exchange_id == "binance":
        listed = (market.get("info") or {}).get("orderTypes") or []
        return tuple(
            order_type
            for binance_type, order_type in _BINANCE_STOP_TYPES.items()
            if binance_type in listed
        )
    return _STOP_TYPES.get(exchange_id, ())


def market_rules(market: dict, exchange_id: str = "") -> MarketRules:
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
        stop_types=stop_types(market, exchange_id),
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
    if exchange_id == "okx" and not raw.get("clientOrderId"):  # ccxt reads only clOrdId
        return str((raw.get("info") or {}).get("algoClOrdId") or "")
    return str(raw.get("clientOrderId") or "")


def is_okx_algo(raw: dict) -> bool:
    """An okx algo order (ccxt keeps okx's ordType, e.g. "conditional", as the type)."""
    return bool((raw.get("info") or {}).get("algoId"))


def trigger_price(raw: dict, exchange_id: str) -> Decimal | None:
    """A stop's trigger as ccxt parsed it (None for a plain order)."""
    if exchange_id == "okx" and is_okx_algo(raw):
        return dec(raw.get("stopLossPrice") or raw.get("triggerPrice"))
    # bybit's stopLossPrice is a stop attached to another order, not this order's trigger.
    return dec(raw.get("triggerPrice"))


def _order_type_and_price(raw: dict, exchange_id: str) -> tuple[OrderType, Decimal | None]:
    type_ = raw.get("type")
    if exchange_id == "okx" and type_ == "conditional":
        # The stop fills at slOrdPx: -1 is market, anything else the limit price.
        limit = (raw.get("info") or {}).get("slOrdPx")
        if limit in (None, "", "-1"):
            return OrderType.MARKET, None
        return OrderType.LIMIT, dec(limit)
    order_type = OrderType(type_) if type_ in ("limit", "market") else None
    if order_type is None:  # e.g. an order type placed by hand: a price means it rests
        order_type = OrderType.LIMIT if raw.get("price") else OrderType.MARKET
    # ccxt fills a market order's price with its average; ours is the limit only.
    return order_type, dec(raw.get("price")) if order_type == OrderType.LIMIT else None


def order(raw: dict, symbol: str | None, exchange_id: str) -> ExchangeOrder:
    order_type, price = _order_type_and_price(raw, exchange_id)
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
        price=price,
        average=dec(raw.get("average")),
        exchange_order_id=str(raw["id"]),
        client_order_id=client_id(raw, exchange_id),
        fee_cost=dec(fee.get("cost")) or Decimal(0),
        fee_currency=fee.get("currency") or "",
        created_at=utc(raw.get("timestamp")),
        trigger_price=trigger_price(raw, exchange_id),
    )
