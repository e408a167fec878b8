"""`CcxtAdapter`: the ExchangeAdapter protocol over real exchanges, through sync ccxt.

The only module that imports ccxt. It keeps ccxt's floats, dicts and exceptions on its side of
the line: numbers cross as `Decimal(str(x))`, orders as `ExchangeOrder`, failures as
`apps.exchanges.errors` whose messages are built from the exchange id, the ccxt error class and
the exchange's own error body (not from ccxt's message, which can carry the signed URL).

Per-exchange behaviour verified against recorded traffic (tests/exchanges/ccxt):
* client order id: ccxt's `clientOrderId` param becomes binance `newClientOrderId`, bybit
  `orderLinkId`, okx `clOrdId`, kraken `cl_ord_id`;
* bybit and okx (and kraken) answer create/cancel with an acknowledgement only, so the adapter
  fetches the order afterwards; bybit's lookups use its native `orderId`/`orderLinkId` filters;
* a reused client id comes back as ccxt InvalidOrder; it is recognised by the exchange's own code
  and resolved to the existing order;
* ccxt would silently re-round amounts and prices; the adapter refuses instead (they arrive
  rounded by apps.exchanges.domain.precision, so a change means stale market rules).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import ccxt
import requests

from apps.exchanges import errors
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

# Exchange error codes (or exact messages) whose meaning ccxt's class does not carry: ccxt
# raises InvalidOrder for a duplicate client id and BadRequest for binance's NOTIONAL filter.
_MEANINGS: dict[str, dict[str, type[errors.ExchangeError]]] = {
    "binance": {
        "Duplicate order sent.": errors.DuplicateClientOrderId,
        "Filter failure: NOTIONAL": errors.BelowMinNotional,  # code -1013
        "Filter failure: MIN_NOTIONAL": errors.BelowMinNotional,  # its older name
    },
    "bybit": {
        "170141": errors.DuplicateClientOrderId,  # Duplicate clientOrderId
        "110072": errors.DuplicateClientOrderId,  # OrderLinkedID is duplicate
        "170140": errors.BelowMinNotional,  # Transaction amount lower than the minimum
        "110094": errors.BelowMinNotional,  # Order notional value below the lower limit
    },
    "okx": {"51016": errors.DuplicateClientOrderId},  # Duplicated client order ID
    "kraken": {
        "EOrder:Cost minimum not met": errors.BelowMinNotional,
    },
}

# ccxt class -> ours, most specific first (e.g. OnMaintenance < ExchangeNotAvailable).
_ERROR_MAP: list[tuple[type[Exception], type[errors.ExchangeError]]] = [
    (ccxt.DDoSProtection, errors.RateLimited),
    (ccxt.RateLimitExceeded, errors.RateLimited),
    (ccxt.RequestTimeout, errors.RequestTimedOut),
    (ccxt.ExchangeNotAvailable, errors.ExchangeUnavailable),
    (ccxt.OperationFailed, errors.NetworkFailure),  # other NetworkError, InvalidNonce, BadResponse
    (ccxt.InsufficientFunds, errors.InsufficientFunds),
    (ccxt.OrderNotFound, errors.OrderNotFound),
    (ccxt.BadSymbol, errors.UnknownSymbol),
    (ccxt.DuplicateOrderId, errors.DuplicateClientOrderId),
    (ccxt.InvalidOrder, errors.InvalidOrder),
    (ccxt.PermissionDenied, errors.PermissionDenied),
    (ccxt.AccountSuspended, errors.PermissionDenied),
    (ccxt.AuthenticationError, errors.AuthenticationFailed),
]
# For failures without an exchange answer to quote (ccxt's message then holds the signed URL).
_GENERIC_TEXT: dict[type[errors.ExchangeError], str] = {
    errors.RateLimited: "rate limited",
    errors.RequestTimedOut: "no answer in time",
    errors.ExchangeUnavailable: "exchange unavailable",
    errors.NetworkFailure: "could not reach the exchange",
}


class CcxtAdapter:
    def __init__(
        self,
        exchange_id: str,
        *,
        api_key: str = "",
        secret: str = "",
        password: str = "",
        sandbox: bool = False,
        timeout_seconds: int = 10,
        session: requests.Session | None = None,
    ) -> None:
        if exchange_id not in ccxt.exchanges:
            raise errors.BadRequest(f"{exchange_id!r} is not an exchange ccxt knows")
        self.exchange_id = exchange_id
        self._secrets = [s for s in (api_key, secret, password) if s]
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
        self._exchange = exchange
        self._markets: dict[str, MarketRules] | None = None

    # -- market data ---------------------------------------------------------------------

    def load_markets(self) -> list[MarketRules]:
        markets = self._call(lambda: self._exchange.load_markets(reload=self._markets is not None))
        self._markets = {
            symbol: _market_rules(market) for symbol, market in markets.items() if market["spot"]
        }
        return list(self._markets.values())

    def fetch_tickers(self, symbols: Sequence[str]) -> dict[str, Ticker]:
        if not symbols:
            return {}
        self._require_markets(*symbols)
        raw = self._call(lambda: self._exchange.fetch_tickers(list(symbols)))
        tickers = {}
        for symbol in symbols:
            ticker = raw.get(symbol)
            if ticker is None or ticker.get("last") is None:
                continue  # no trade price: better absent than invented
            tickers[symbol] = Ticker(
                symbol=symbol,
                last=_dec(ticker["last"]),
                bid=_dec(ticker.get("bid")),
                ask=_dec(ticker.get("ask")),
                # kraken's ticker carries no time; it is as fresh as the answer.
                timestamp=_utc(ticker.get("timestamp")) or datetime.now(UTC),
            )
        return tickers

    def fetch_candles(
        self, symbol: str, timeframe: str, *, since_ms: int | None = None, limit: int = 200
    ) -> list[Candle]:
        self._require_markets(symbol)
        rows = self._call(lambda: self._exchange.fetch_ohlcv(symbol, timeframe, since_ms, limit))
        return [
            Candle(
                opened_at=_utc(opened_ms),
                open=_dec(open_),
                high=_dec(high),
                low=_dec(low),
                close=_dec(close),
                volume=_dec(volume) if volume is not None else Decimal(0),
            )
            for opened_ms, open_, high, low, close, volume in rows
        ]

    # -- account ---------------------------------------------------------------------------

    def fetch_balance(self) -> dict[str, Balance]:
        raw = self._call(self._exchange.fetch_balance)
        balances = {}
        for asset, total in (raw.get("total") or {}).items():
            total = _dec(total)
            if not total:
                continue
            used = _dec(raw["used"].get(asset)) or Decimal(0)
            free = _dec(raw["free"].get(asset))
            balances[asset] = Balance(
                asset=asset, free=total - used if free is None else free, used=used, total=total
            )
        return balances

    def create_order(
        self,
        *,
        symbol: str,
        side: OrderSide,
        type: OrderType,
        amount: Decimal,
        price: Decimal | None,
        client_order_id: str,
    ) -> ExchangeOrder:
        """Place an order and return it as the exchange knows it.

        1. Check that ccxt will send `amount` and `price` unchanged (they arrive rounded).
        2. Send with our client id. A reused client id resolves to the existing order.
        3. An answer without an order id is an unknown outcome (transient): look it up.
        4. An acknowledgement is followed by a fetch; if that fails, the ack is returned.
        """
        self._require_markets(symbol)
        amount_text = self._unchanged(symbol, "amount", amount)
        price_text = self._unchanged(symbol, "price", price) if type == OrderType.LIMIT else None
        params = {"clientOrderId": client_order_id}  # ccxt maps it to the exchange's field
        try:
            raw = self._call(
                lambda: self._exchange.create_order(
                    symbol, str(type), str(side), amount_text, price_text, params
                )
            )
        except errors.DuplicateClientOrderId:
            return self._fetch_existing(symbol, client_order_id)
        if not raw.get("id"):
            raise errors.RequestTimedOut(
                f"{self.exchange_id}: the order {client_order_id} was answered without an order"
                " id; its outcome is unknown, look it up by its client order id"
            )
        if raw.get("status") is not None and raw.get("amount") is not None:
            return self._order(raw, symbol)  # binance answers with the full order
        try:
            return self.fetch_order(symbol=symbol, exchange_order_id=str(raw["id"]))
        except errors.ExchangeError:
            # The order exists (we hold its id): a failed follow-up must not read as a failure.
            return ExchangeOrder(
                symbol=symbol,
                side=side,
                type=type,
                status=OrderStatus.OPEN,
                amount=amount,
                filled=Decimal(0),
                price=price if type == OrderType.LIMIT else None,
                average=None,
                exchange_order_id=str(raw["id"]),
                client_order_id=client_order_id,
            )

    def cancel_order(
        self, *, symbol: str, exchange_order_id: str = "", client_order_id: str = ""
    ) -> ExchangeOrder:
        self._require_markets(symbol)
        _require_one_id(exchange_order_id, client_order_id)
        order_id, params = exchange_order_id or None, {}
        if not exchange_order_id:
            # bybit v5 needs its native orderLinkId: ccxt's clientOrderId mapping is wrong there.
            key = "orderLinkId" if self.exchange_id == "bybit" else "clientOrderId"
            params = {key: client_order_id}
        raw = self._call(lambda: self._exchange.cancel_order(order_id, symbol, params))
        if raw.get("status") is not None and raw.get("amount") is not None:
            return self._order(raw, symbol)  # binance answers with the cancelled order
        # bybit/okx/kraken acknowledge only; the order as it now stands needs a fetch.
        if raw.get("id"):
            return self.fetch_order(symbol=symbol, exchange_order_id=str(raw["id"]))
        return self.fetch_order(
            symbol=symbol, exchange_order_id=exchange_order_id, client_order_id=client_order_id
        )

    def fetch_order(
        self, *, symbol: str, exchange_order_id: str = "", client_order_id: str = ""
    ) -> ExchangeOrder:
        self._require_markets(symbol)
        _require_one_id(exchange_order_id, client_order_id)
        if self.exchange_id == "bybit":
            field = "orderId" if exchange_order_id else "orderLinkId"
            return self._bybit_lookup(symbol, {field: exchange_order_id or client_order_id})
        if exchange_order_id:
            raw = self._call(lambda: self._exchange.fetch_order(exchange_order_id, symbol))
        elif self.exchange_id in ("binance", "okx"):
            params = {"clientOrderId": client_order_id}
            raw = self._call(lambda: self._exchange.fetch_order(None, symbol, params))
        else:
            return self._scan_for_client_id(symbol, client_order_id)
        return self._order(raw, symbol)

    def fetch_open_orders(self, symbol: str | None = None) -> list[ExchangeOrder]:
        if symbol is not None:
            self._require_markets(symbol)
        else:
            self._ensure_markets()
        raw = self._call(lambda: self._exchange.fetch_open_orders(symbol))
        # Without a symbol some exchanges (okx) list derivatives orders too: not ours to manage.
        known = self._ensure_markets()
        return [self._order(order, symbol) for order in raw if order.get("symbol") in known]

    def close(self) -> None:
        session = getattr(self._exchange, "session", None)
        if session is not None:
            session.close()

    # -- helpers -----------------------------------------------------------------------------

    def _ensure_markets(self) -> dict[str, MarketRules]:
        if self._markets is None:
            self.load_markets()
        assert self._markets is not None
        return self._markets

    def _require_markets(self, *symbols: str) -> None:
        markets = self._ensure_markets()
        for symbol in symbols:
            if symbol not in markets:
                raise errors.UnknownSymbol(f"{self.exchange_id} has no spot market {symbol}")

    def _unchanged(self, symbol: str, what: str, value: Decimal | None) -> str:
        """`value` as ccxt's input, after checking ccxt's own rounding would not change it."""
        if value is None:
            raise errors.InvalidOrder(f"a limit order on {symbol} needs a price")
        text = format(value, "f")
        to_precision = (
            self._exchange.amount_to_precision
            if what == "amount"
            else self._exchange.price_to_precision
        )
        sent = self._call(lambda: to_precision(symbol, text))
        if Decimal(sent) != value:
            raise errors.InvalidOrder(
                f"{self.exchange_id} {symbol}: {what} {text} is off the exchange's grid (ccxt"
                f" would send {sent}); refresh the markets and round again"
            )
        return text

    def _fetch_existing(self, symbol: str, client_order_id: str) -> ExchangeOrder:
        try:
            return self.fetch_order(symbol=symbol, client_order_id=client_order_id)
        except errors.OrderNotFound:
            raise errors.DuplicateClientOrderId(
                f"{self.exchange_id}: client order id {client_order_id} is taken, but no order"
                " with it could be found"
            ) from None

    def _bybit_lookup(self, symbol: str, params: dict[str, str]) -> ExchangeOrder:
        # Open orders live in /v5/order/realtime, finished ones (filled or cancelled) in
        # /v5/order/history; fetch_closed_orders would add orderStatus=Filled and miss cancels.
        for fetch in (
            self._exchange.fetch_open_orders,
            self._exchange.fetch_canceled_and_closed_orders,
        ):
            found = self._call(lambda fetch=fetch: fetch(symbol, None, None, dict(params)))
            for order in found:
                if self._same_order(
                    order, params.get("orderId", ""), params.get("orderLinkId", "")
                ):
                    return self._order(order, symbol)
        raise errors.OrderNotFound(f"{self.exchange_id}: no order on {symbol} with {params}")

    def _scan_for_client_id(self, symbol: str, client_order_id: str) -> ExchangeOrder:
        # Exchanges without a lookup by client id (kraken): search open, then recent orders.
        for fetch in (self._exchange.fetch_open_orders, self._exchange.fetch_closed_orders):
            for order in self._call(lambda fetch=fetch: fetch(symbol)):
                if self._same_order(order, "", client_order_id):
                    return self._order(order, symbol)
        raise errors.OrderNotFound(
            f"{self.exchange_id}: no recent order on {symbol} with client id {client_order_id}"
        )

    def _client_id(self, raw: dict) -> str:
        if self.exchange_id == "kraken":  # ccxt falls back to userref, an integer tag ("0")
            return str((raw.get("info") or {}).get("cl_ord_id") or "")
        return str(raw.get("clientOrderId") or "")

    def _same_order(self, raw: dict, exchange_order_id: str, client_order_id: str) -> bool:
        # A filter the exchange silently ignored must not hand back somebody else's order.
        if exchange_order_id:
            return str(raw.get("id")) == exchange_order_id
        return self._client_id(raw) == client_order_id

    def _order(self, raw: dict, symbol: str | None) -> ExchangeOrder:
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
            amount=_dec(raw["amount"]),
            filled=_dec(raw.get("filled")) or Decimal(0),
            # ccxt fills a market order's price with its average; ours is the limit only.
            price=_dec(raw.get("price")) if order_type == OrderType.LIMIT else None,
            average=_dec(raw.get("average")),
            exchange_order_id=str(raw["id"]),
            client_order_id=self._client_id(raw),
            fee_cost=_dec(fee.get("cost")) or Decimal(0),
            fee_currency=fee.get("currency") or "",
            created_at=_utc(raw.get("timestamp")),
        )

    def _call(self, fn: Callable[[], Any]) -> Any:
        self._exchange.last_http_response = None  # so an error body read below is this call's
        try:
            return fn()
        except ccxt.BaseError as exc:
            raise self._translate(exc) from None

    def _translate(self, exc: ccxt.BaseError) -> errors.ExchangeError:
        """Our error for a ccxt one, with a message free of URLs and credentials."""
        # Timeouts and connection failures have no answer; a body then is an earlier request's.
        answered = not isinstance(exc, ccxt.RequestTimeout) and type(exc) is not ccxt.NetworkError
        body = _json(self._exchange.last_http_response) if answered else None
        meanings = _MEANINGS.get(self.exchange_id, {})
        ours = next((meanings[code] for code in _error_codes(body) if code in meanings), None)
        if ours is None:
            ours = next((o for c, o in _ERROR_MAP if isinstance(exc, c)), errors.BadRequest)
        text = (
            _error_text(body)
            or _plain_text(exc, self.exchange_id)
            or _GENERIC_TEXT.get(ours, "refused by the exchange")
        )
        message = f"{self.exchange_id}: {text} ({type(exc).__name__})"
        for secret in self._secrets:
            message = message.replace(secret, "***")
        return ours(message)


# -- conversions -------------------------------------------------------------------------------


def _dec(value: Any) -> Decimal | None:
    return None if value is None or value == "" else Decimal(str(value))


def _utc(ms: Any) -> datetime | None:
    if ms is None:
        return None
    ms = int(ms)  # whole milliseconds; no float seconds in between
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)


def _market_rules(market: dict) -> MarketRules:
    limits = market.get("limits") or {}
    amount_limits = limits.get("amount") or {}
    return MarketRules(
        symbol=market["symbol"],
        base=market["base"],
        quote=market["quote"],
        tick_size=_dec(market["precision"]["price"]),
        step_size=_dec(market["precision"]["amount"]),
        min_amount=_dec(amount_limits.get("min")),
        max_amount=_dec(amount_limits.get("max")),
        min_notional=_dec((limits.get("cost") or {}).get("min")),
        active=market.get("active") is not False,
        exchange_symbol=market["id"],
    )


def _require_one_id(exchange_order_id: str, client_order_id: str) -> None:
    if not exchange_order_id and not client_order_id:
        raise errors.BadRequest("an exchange order id or a client order id is needed")


def _json(text: str | None) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:  # an html error page, say
        return None


def _error_codes(body: Any) -> list[str]:
    """The exchange's own error codes and messages in an error body (all envelopes we use)."""
    if not isinstance(body, dict):
        return []
    codes = [str(body[key]) for key in ("code", "retCode", "msg") if key in body]
    for item in body.get("data") or []:  # okx batch answers carry a per-order sCode
        if isinstance(item, dict) and item.get("sCode") not in (None, "0"):
            codes.append(str(item["sCode"]))
    if isinstance(body.get("error"), list):  # kraken: ["EOrder:Insufficient funds"]
        codes.extend(str(error) for error in body["error"])
    return codes


def _error_text(body: Any) -> str:
    """`code message` from an exchange error body, short enough for a trader to read."""
    if not isinstance(body, dict):
        return ""
    for item in body.get("data") or []:
        if isinstance(item, dict) and item.get("sCode") not in (None, "0"):
            return f"{item['sCode']} {item.get('sMsg', '')}".strip()[:200]
    if isinstance(body.get("error"), list):
        return "; ".join(str(error) for error in body["error"])[:200]
    code = body.get("code", body.get("retCode", ""))
    text = body.get("msg") or body.get("retMsg") or ""
    return f"{code} {text}".strip()[:200]


def _plain_text(exc: ccxt.BaseError, exchange_id: str) -> str:
    """ccxt's own wording when it is safe to show: network errors embed the signed URL."""
    message = str(exc).removeprefix(exchange_id).strip()
    if isinstance(exc, ccxt.OperationFailed) or "://" in message:
        return ""
    return message[:200]
