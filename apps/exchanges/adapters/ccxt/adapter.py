"""`CcxtAdapter`: the ExchangeAdapter protocol over one ccxt exchange client.

Which exchange does what, and why, is summed up in the package docstring
(`apps.exchanges.adapters.ccxt`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

import ccxt
import requests

from apps.exchanges import errors
from apps.exchanges.adapters.ccxt import convert, options
from apps.exchanges.adapters.ccxt.error_map import translate
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
        self._exchange = options.new_exchange(
            exchange_id,
            api_key=api_key,
            secret=secret,
            password=password,
            sandbox=sandbox,
            timeout_seconds=timeout_seconds,
            session=session,
        )
        self.exchange_id = exchange_id
        self._secrets = [s for s in (api_key, secret, password) if s]
        self._markets: dict[str, MarketRules] | None = None

    # -- market data ---------------------------------------------------------------------

    def load_markets(self) -> list[MarketRules]:
        markets = self._call(lambda: self._exchange.load_markets(reload=self._markets is not None))
        self._markets = {
            symbol: convert.market_rules(market, self.exchange_id)
            for symbol, market in markets.items()
            if market["spot"]
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
            tickers[symbol] = convert.ticker(symbol, ticker)
        return tickers

    def fetch_candles(
        self, symbol: str, timeframe: str, *, since_ms: int | None = None, limit: int = 200
    ) -> list[Candle]:
        self._require_markets(symbol)
        rows = self._call(lambda: self._exchange.fetch_ohlcv(symbol, timeframe, since_ms, limit))
        return [convert.candle(row) for row in rows]

    # -- account ---------------------------------------------------------------------------

    def fetch_balance(self) -> dict[str, Balance]:
        return convert.balances(self._call(self._exchange.fetch_balance))

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
    ) -> ExchangeOrder:
        """Place an order (a stop, with `trigger_price`) and return it as the exchange knows it.

        1. Check that ccxt will send `amount`, `price` and the trigger unchanged (they arrive
           rounded), and that the market takes a stop of this type.
        2. Send with our client id. A reused client id resolves to the existing order.
        3. An answer without an order id is an unknown outcome (transient): look it up.
        4. An acknowledgement is followed by a fetch; if that fails, the ack is returned.
        """
        self._require_markets(symbol)
        amount_text = self._unchanged(symbol, "amount", amount)
        price_text = self._unchanged(symbol, "price", price) if type == OrderType.LIMIT else None
        conditional = trigger_price is not None
        if conditional:
            params = self._stop_params(symbol, side, type, trigger_price, client_order_id)
        else:
            params = {"clientOrderId": client_order_id}  # ccxt maps it to the exchange's field
        try:
            raw = self._call(
                lambda: self._exchange.create_order(
                    symbol, str(type), str(side), amount_text, price_text, params
                )
            )
        except errors.DuplicateClientOrderId:
            return self._fetch_existing(symbol, client_order_id, conditional)
        if not raw.get("id"):
            raise errors.OutcomeUnknown(
                f"{self.exchange_id}: the order {client_order_id} was answered without an order"
                " id; its outcome is unknown, look it up by its client order id"
            )
        if raw.get("status") is not None and raw.get("amount") is not None:
            return self._order(raw, symbol)  # binance answers with the full order
        try:
            return self.fetch_order(
                symbol=symbol, exchange_order_id=str(raw["id"]), conditional=conditional
            )
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
                trigger_price=trigger_price,
            )

    def cancel_order(
        self,
        *,
        symbol: str,
        exchange_order_id: str = "",
        client_order_id: str = "",
        conditional: bool = False,
    ) -> ExchangeOrder:
        self._require_markets(symbol)
        _require_one_id(exchange_order_id, client_order_id)
        order_id, params = exchange_order_id or None, {}
        if not exchange_order_id:
            params = options.cancel_params(self.exchange_id, client_order_id)
        if conditional:
            params = {**params, **options.conditional_params(self.exchange_id)}
        raw = self._call(lambda: self._exchange.cancel_order(order_id, symbol, params))
        if raw.get("status") is not None and raw.get("amount") is not None:
            return self._order(raw, symbol)  # binance answers with the cancelled order
        # bybit/okx/kraken acknowledge only; the order as it now stands needs a fetch.
        if raw.get("id"):
            exchange_order_id, client_order_id = str(raw["id"]), ""
        return self.fetch_order(
            symbol=symbol,
            exchange_order_id=exchange_order_id,
            client_order_id=client_order_id,
            conditional=conditional,
        )

    def fetch_order(
        self,
        *,
        symbol: str,
        exchange_order_id: str = "",
        client_order_id: str = "",
        conditional: bool = False,
    ) -> ExchangeOrder:
        self._require_markets(symbol)
        _require_one_id(exchange_order_id, client_order_id)
        extra = options.conditional_params(self.exchange_id) if conditional else {}
        if self.exchange_id == "bybit":
            field = "orderId" if exchange_order_id else "orderLinkId"
            return self._bybit_lookup(
                symbol, {field: exchange_order_id or client_order_id}, conditional
            )
        if exchange_order_id:
            raw = self._call(lambda: self._exchange.fetch_order(exchange_order_id, symbol, extra))
        elif self.exchange_id in ("binance", "okx"):
            params = {"clientOrderId": client_order_id, **extra}
            raw = self._call(lambda: self._exchange.fetch_order(None, symbol, params))
        else:
            return self._scan_for_client_id(symbol, client_order_id)
        if self.exchange_id == "okx" and convert.is_okx_algo(raw):
            return self._okx_algo_order(raw, symbol)
        return self._order(raw, symbol)

    def fetch_open_orders(self, symbol: str | None = None) -> list[ExchangeOrder]:
        if symbol is not None:
            self._require_markets(symbol)
        else:
            self._ensure_markets()
        raw = self._call(lambda: self._exchange.fetch_open_orders(symbol))
        # okx and bybit keep stops in a separate book: a second call lists them.
        stop_params = options.open_conditional_params(self.exchange_id)
        if stop_params is not None:
            raw = raw + self._call(
                lambda: self._exchange.fetch_open_orders(symbol, None, None, dict(stop_params))
            )
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

    def _stop_params(
        self,
        symbol: str,
        side: OrderSide,
        type: OrderType,
        trigger_price: Decimal,
        client_order_id: str,
    ) -> dict[str, str]:
        """ccxt params for a stop, after checking the market takes it and the trigger holds."""
        rules = self._ensure_markets()[symbol]
        if type not in rules.stop_types:
            raise errors.InvalidOrder(
                f"{self.exchange_id} {symbol} takes no stop-{type} orders (it takes:"
                f" {', '.join(rules.stop_types) or 'none'})"
            )
        trigger_text = self._unchanged(symbol, "price", trigger_price)
        if self.exchange_id == "bybit":
            self._refuse_crossed_trigger(symbol, side, trigger_price)
        return options.stop_params(self.exchange_id, client_order_id, trigger_text)

    def _refuse_crossed_trigger(self, symbol: str, side: OrderSide, trigger: Decimal) -> None:
        # bybit spot conditional orders take no direction (ccxt refuses triggerDirection for
        # spot): bybit reads it from the last price when the order arrives. A sell stop whose
        # trigger the price has already fallen through would rest as a *rising* trigger and
        # leave the position unprotected, so it is refused here, as binance and okx refuse it.
        # The price can still cross between this read and the order; that window is small.
        last = convert.dec(self._call(lambda: self._exchange.fetch_ticker(symbol)).get("last"))
        if last is None:
            return  # no trade price to judge by; bybit decides
        crossed = last <= trigger if side == OrderSide.SELL else last >= trigger
        if crossed:
            raise errors.WouldTriggerImmediately(
                f"{self.exchange_id}: a {side} stop at {trigger} on {symbol} would trigger"
                f" immediately (last price {last})"
            )

    def _okx_algo_order(self, raw: dict, symbol: str) -> ExchangeOrder:
        """An okx algo (stop) order; once triggered, with the fill of the order it became.

        ccxt parses an algo order without its fill (no accFillSz on algo orders). After the
        trigger, okx reports the order it placed in `ordIdList` (older answers: `ordId`); its
        status, fill and fee are read from a plain fetch of that order.
        """
        stop = self._order(raw, symbol)
        info = raw.get("info") or {}
        placed = [str(i) for i in info.get("ordIdList") or [] if i] or (
            [str(info["ordId"])] if info.get("ordId") else []
        )
        if not placed:
            if raw.get("status") == "closed":  # "effective" with no order: cannot be judged
                raise errors.OutcomeUnknown(
                    f"okx: stop {stop.exchange_order_id} triggered, but its order is not known"
                )
            return stop
        child = self._order(
            self._call(lambda: self._exchange.fetch_order(placed[0], symbol)), symbol
        )
        return replace(
            stop,
            status=child.status,
            filled=child.filled,
            average=child.average,
            fee_cost=child.fee_cost,
            fee_currency=child.fee_currency,
        )

    def _fetch_existing(
        self, symbol: str, client_order_id: str, conditional: bool = False
    ) -> ExchangeOrder:
        try:
            return self.fetch_order(
                symbol=symbol, client_order_id=client_order_id, conditional=conditional
            )
        except errors.OrderNotFound:
            raise errors.DuplicateClientOrderId(
                f"{self.exchange_id}: client order id {client_order_id} is taken, but no order"
                " with it could be found"
            ) from None

    def _bybit_lookup(
        self, symbol: str, params: dict[str, str], conditional: bool = False
    ) -> ExchangeOrder:
        # Open orders live in /v5/order/realtime, finished ones (filled or cancelled) in
        # /v5/order/history; fetch_closed_orders would add orderStatus=Filled and miss cancels.
        # A stop is looked for with orderFilter=StopOrder first, then among plain orders: once
        # triggered it may be listed with the plain orders (not seen in recorded traffic).
        filters = [{"trigger": True}, {}] if conditional else [{}]
        for extra, fetch in (
            (extra, fetch)
            for extra in filters
            for fetch in (
                self._exchange.fetch_open_orders,
                self._exchange.fetch_canceled_and_closed_orders,
            )
        ):
            query = {**params, **extra}
            found = self._call(lambda fetch=fetch, query=query: fetch(symbol, None, None, query))
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

    def _same_order(self, raw: dict, exchange_order_id: str, client_order_id: str) -> bool:
        # A filter the exchange silently ignored must not hand back somebody else's order.
        if exchange_order_id:
            return str(raw.get("id")) == exchange_order_id
        return convert.client_id(raw, self.exchange_id) == client_order_id

    def _order(self, raw: dict, symbol: str | None) -> ExchangeOrder:
        return convert.order(raw, symbol, self.exchange_id)

    def _call(self, fn: Callable[[], Any]) -> Any:
        self._exchange.last_http_response = None  # so an error body read below is this call's
        try:
            return fn()
        except ccxt.BaseError as exc:
            raise translate(
                exc,
                exchange_id=self.exchange_id,
                last_http_response=self._exchange.last_http_response,
                secrets=self._secrets,
            ) from None


def _require_one_id(exchange_order_id: str, client_order_id: str) -> None:
    if not exchange_order_id and not client_order_id:
        raise errors.BadRequest("an exchange order id or a client order id is needed")
