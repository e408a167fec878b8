"""Per-exchange ccxt construction options and client-order-id parameters."""

from __future__ import annotations

from typing import Any

import ccxt
import requests

from apps.exchanges import errors

# Options applied at construction. Currency fetching is off where it is a private endpoint
# (binance sapi, bybit coin/query-info, okx asset/currencies): with keys set, load_markets()
# would otherwise call it. Kraken's /0/public/Assets is public and feeds its market precision.
_OPTIONS: dict[str, dict[str, Any]] = {
    "binance": {
        "fetchMarkets": {"types": ["spot"]},
        "fetchCurrencies": False,
        "fetchMargins": False,  # with keys: sapi margin/allPairs at load_markets (no testnet)
        "defaultType": "spot",
        "warnOnFetchOpenOrdersWithoutSymbol": False,
    },
    "bybit": {
        "fetchMarkets": {"types": ["spot"]},
        # Without these, the first private call detects the account type via /v5/user/query-api.
        "enableUnifiedAccount": True,
        "enableUnifiedMargin": False,
        "defaultType": "spot",
    },
    "okx": {"fetchMarkets": {"types": ["spot"]}, "defaultType": "spot"},
}
_PRIVATE_CURRENCIES = {"binance", "bybit", "okx"}


def new_exchange(
    exchange_id: str,
    *,
    api_key: str,
    secret: str,
    password: str,
    sandbox: bool,
    timeout_seconds: int,
    session: requests.Session | None,
) -> ccxt.Exchange:
    """A throttled ccxt client for `exchange_id` with our options, on its testnet if asked."""
    if exchange_id not in ccxt.exchanges:
        raise errors.BadRequest(f"{exchange_id!r} is not an exchange ccxt knows")
    exchange = getattr(ccxt, exchange_id)(
        {
            "enableRateLimit": True,
            "timeout": int(timeout_seconds * 1000),
            "apiKey": api_key,
            "secret": secret,
            "password": password,
            "options": _OPTIONS.get(exchange_id, {}),
        }
    )
    if exchange_id in _PRIVATE_CURRENCIES:
        exchange.has["fetchCurrencies"] = False  # instance-level copy; the class is untouched
    if session is not None:
        exchange.session = session
    if sandbox:
        if not exchange.has.get("sandbox") or not exchange.urls.get("test"):
            raise errors.BadRequest(f"{exchange_id} has no testnet; turn sandbox off")
        exchange.set_sandbox_mode(True)
    return exchange


def has_testnet(exchange_id: str) -> bool:
    """Whether ccxt can put `exchange_id` in sandbox mode (kraken, for one, cannot)."""
    if exchange_id not in ccxt.exchanges:
        return False
    exchange = getattr(ccxt, exchange_id)()
    return bool(exchange.has.get("sandbox") and exchange.urls.get("test"))


def cancel_params(exchange_id: str, client_order_id: str) -> dict[str, str]:
    """ccxt params that cancel an order by our client order id."""
    # bybit v5 needs its native orderLinkId: ccxt's clientOrderId mapping is wrong there.
    key = "orderLinkId" if exchange_id == "bybit" else "clientOrderId"
    return {key: client_order_id}


# What a stop order (a trigger price) is to each exchange's spot market, through ccxt 4.5:
# * binance: `stopLossPrice` turns market/limit into STOP_LOSS / STOP_LOSS_LIMIT with
#   `stopPrice` on the plain /api/v3/order endpoint (stops are plain orders there);
# * bybit: `triggerPrice` makes a spot conditional order (orderFilter=StopOrder) whose assets
#   are only reserved once it triggers. ccxt's `stopLossPrice` would make a tpslOrder and send
#   reduceOnly, a derivatives flag; StopOrder is what bybit calls a stop on spot;
# * okx: `stopLossPrice` makes an algo order of ordType `conditional` (slTriggerPx, slOrdPx -1
#   for market or the limit price) on /api/v5/trade/order-algo; our id goes as algoClOrdId.
_STOP_PARAM = {"binance": "stopLossPrice", "bybit": "triggerPrice", "okx": "stopLossPrice"}
STOP_EXCHANGES = frozenset(_STOP_PARAM)


def stop_params(exchange_id: str, client_order_id: str, trigger_text: str) -> dict[str, str]:
    """ccxt params that turn create_order into a stop at `trigger_text`, with our client id."""
    if exchange_id not in _STOP_PARAM:
        raise errors.BadRequest(f"{exchange_id}: stop orders are not supported through ccxt")
    params = {"clientOrderId": client_order_id, _STOP_PARAM[exchange_id]: trigger_text}
    if exchange_id == "okx":
        # An algo order's client id is algoClOrdId. ccxt sends clientOrderId as clOrdId (which
        # okx echoes into algoClOrdId); sending both, equal, keeps ccxt from adding a broker id.
        params["algoClOrdId"] = client_order_id
    return params


def conditional_params(exchange_id: str) -> dict[str, Any]:
    """ccxt params that point fetch/cancel at the exchange's separate book of stop orders."""
    if exchange_id in ("bybit", "okx"):
        return {"trigger": True}  # bybit: orderFilter=StopOrder; okx: the algo endpoints
    return {}  # binance keeps stops with the plain orders


def open_conditional_params(exchange_id: str) -> dict[str, Any] | None:
    """Params for the second fetch_open_orders call that lists stops (None: not needed)."""
    if exchange_id == "okx":
        # Without ordType ccxt asks for ordType=trigger, which leaves our conditional orders out.
        return {"trigger": True, "ordType": "conditional"}
    if exchange_id == "bybit":
        return {"trigger": True}
    return None
