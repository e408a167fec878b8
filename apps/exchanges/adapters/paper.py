"""The paper exchange adapter: the embedded default, and paper trading as a product feature.

It applies real market rules (the built-in catalog, or a real exchange's public markets),
fills with slippage, partial fills and fees, keeps balances per account, and injects faults
on demand (PaperSettings: latency, transient errors, timeouts after placing). Like every
adapter it returns our Decimal dataclasses and raises only `apps.exchanges.errors`.

Stop orders rest on the paper exchange as on binance spot: stop-market and stop-limit on
every market (`stop_types`), refused with WouldTriggerImmediately when the price has already
crossed the trigger, funds set aside at placement, and triggered by the price updates
themselves (no desk process is needed for a stop to fill). There is one book, so the
`conditional` flag of fetch_order and cancel_order changes nothing.

Set an account up with `apps.exchanges.paper.services.open_paper_account`; simulated prices
move with `advance_simulated_prices` (or `set_price` in tests).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from django.utils import timezone

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
from apps.exchanges.errors import BadRequest, InvalidOrder, RequestTimedOut
from apps.exchanges.models import ExchangeAccount, PaperBalance, PaperOrder, PaperSettings
from apps.exchanges.paper import fills, live, services
from apps.exchanges.paper.catalog import catalog_market, catalog_rules
from apps.exchanges.paper.faults import TIMEOUT_AFTER_PLACING, FaultInjector

_STATUS = {
    PaperOrder.Status.OPEN: OrderStatus.OPEN,
    PaperOrder.Status.CLOSED: OrderStatus.CLOSED,
    PaperOrder.Status.CANCELED: OrderStatus.CANCELED,
    PaperOrder.Status.EXPIRED: OrderStatus.EXPIRED,
}


def _plain(value: Decimal) -> Decimal:
    """Drop the 18 stored decimal places: 0.010000000000000000 -> 0.01, 0E-18 -> 0."""
    return Decimal(f"{value.normalize():f}")


def to_exchange_order(order: PaperOrder) -> ExchangeOrder:
    return ExchangeOrder(
        symbol=order.symbol,
        side=OrderSide(order.side),
        type=OrderType(order.type),
        status=_STATUS[order.status],
        amount=_plain(order.amount),
        filled=_plain(order.filled),
        price=_plain(order.price) if order.price is not None else None,
        average=_plain(order.cost / order.filled) if order.filled else None,
        exchange_order_id=order.exchange_order_id,
        client_order_id=order.client_order_id,
        fee_cost=_plain(order.fee_cost),
        fee_currency=order.fee_currency,
        created_at=order.created_at,
        trigger_price=_plain(order.trigger_price) if order.trigger_price is not None else None,
    )


class PaperExchange:
    """ExchangeAdapter over the paper exchange's books for one paper account."""

    def __init__(self, account: ExchangeAccount) -> None:
        if not account.is_paper:
            raise ValueError(f"{account} is not a paper account.")
        self.account = account

    # --- plumbing --------------------------------------------------------------------------

    def _begin(self) -> PaperSettings:
        return self._begin_with_faults()[0]

    def _begin_with_faults(self) -> tuple[PaperSettings, FaultInjector]:
        """Read the current settings (they may change between calls) and inject faults.

        The draws come from the account's fault sequence, not from this instance, because
        get_adapter builds a fresh adapter for every call: a per-instance generator would
        replay its first draws on every call and fail each kind of call always or never.
        """
        config = services.paper_settings_of(self.account)
        faults, error_rates = services.fault_injector(config)
        faults.before_call(latency_ms=config.latency_ms, error_rates=error_rates)
        return config, faults

    @staticmethod
    def _is_live(config: PaperSettings) -> bool:
        return config.price_source == PaperSettings.PriceSource.LIVE

    @staticmethod
    def _live_id(config: PaperSettings) -> str:
        return config.live_exchange or live.DEFAULT_LIVE_EXCHANGE

    def _market(self, config: PaperSettings, symbol: str) -> MarketRules:
        if self._is_live(config):
            return live.live_market(self._live_id(config), symbol)
        return catalog_market(symbol).rules

    def _last_price(self, config: PaperSettings, symbol: str) -> Decimal:
        if self._is_live(config):
            return live.live_last_price(self._live_id(config), symbol)
        return services.current_price(symbol)

    def _sync_live(self, config: PaperSettings) -> None:
        # Live prices are not pushed by a price loop: fill what they cross before answering.
        if self._is_live(config):
            live.match_live_account(
                account=self.account, exchange_id=self._live_id(config), now=timezone.now()
            )

    # --- market data -----------------------------------------------------------------------

    def load_markets(self) -> list[MarketRules]:
        config = self._begin()
        if self._is_live(config):
            return list(live.live_markets(self._live_id(config)).values())
        return catalog_rules()

    def fetch_tickers(self, symbols: Sequence[str]) -> dict[str, Ticker]:
        config = self._begin()
        if self._is_live(config):
            return live.live_tickers(self._live_id(config), symbols)
        now = timezone.now()
        slippage = config.slippage_rate.normalize()
        tickers: dict[str, Ticker] = {}
        for symbol, (stored, updated_at) in services.current_prices(symbols).items():
            tick = catalog_market(symbol).rules.tick_size
            last = _plain(stored)
            # Bid and ask are where a market sell and a market buy would fill right now.
            bid, ask = (
                fills.taker_price(side=side, last=last, slippage_rate=slippage, tick=tick)
                for side in (OrderSide.SELL, OrderSide.BUY)
            )
            tickers[symbol] = Ticker(
                symbol=symbol, last=last, bid=bid, ask=ask, timestamp=updated_at or now
            )
        return tickers

    def fetch_candles(
        self, symbol: str, timeframe: str, *, since_ms: int | None = None, limit: int = 200
    ) -> list[Candle]:
        config = self._begin()
        if self._is_live(config):
            return live.live_candles(
                self._live_id(config), symbol, timeframe, since_ms=since_ms, limit=limit
            )
        try:
            return services.paper_candles(
                symbol=symbol,
                timeframe=timeframe,
                now=timezone.now(),
                limit=limit,
                since_ms=since_ms,
            )
        except ValueError as exc:
            raise BadRequest(str(exc)) from None

    # --- account ---------------------------------------------------------------------------

    def fetch_balance(self) -> dict[str, Balance]:
        self._begin()
        return {
            row.asset: Balance(
                asset=row.asset,
                free=_plain(row.free),
                used=_plain(row.used),
                total=_plain(row.free + row.used),
            )
            for row in PaperBalance.objects.filter(account=self.account)
        }

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
        """Place an order (a stop with `trigger_price`), or return the existing one for a
        reused client order id.

        1. Inject faults (latency, transient errors) before anything happens.
        2. A known client order id resolves to its order; nothing is placed.
        3. Look up the market and the last price (network for live prices, no transaction).
        4. Place it (services: checks, funds, fills) and commit. A market order fills at the
           last price ± slippage; its `price`, if given, is ignored. A stop rests OPEN and
           unfilled with its funds set aside, or is refused (WouldTriggerImmediately) when
           the last price has already reached its trigger.
        5. With timeout_after_placing_rate, lose the answer: the order stays placed, the
           caller gets RequestTimedOut and must look it up by its client order id.
        """
        config, faults = self._begin_with_faults()
        existing = PaperOrder.objects.filter(
            account=self.account, client_order_id=client_order_id
        ).first()
        if existing is not None:
            return to_exchange_order(existing)
        try:
            side, type = OrderSide(side), OrderType(type)
        except ValueError:
            raise InvalidOrder(f"Unsupported order: {side} {type}.") from None
        market = self._market(config, symbol)
        order, created = services.place_order(
            account=self.account,
            market=market,
            side=side,
            type=type,
            amount=amount,
            price=price,
            client_order_id=client_order_id,
            last=self._last_price(config, symbol),
            now=timezone.now(),
            trigger_price=trigger_price,
        )
        if created and faults.hit(config.timeout_after_placing_rate, what=TIMEOUT_AFTER_PLACING):
            raise RequestTimedOut(
                f"No answer in time for order {client_order_id} (paper fault injection)."
            )
        return to_exchange_order(order)

    def cancel_order(
        self,
        *,
        symbol: str,
        exchange_order_id: str = "",
        client_order_id: str = "",
        conditional: bool = False,
    ) -> ExchangeOrder:
        """Cancel an order (a stop too: `conditional` changes nothing on one book)."""
        config = self._begin()
        self._sync_live(config)
        order = services.cancel_order(
            account=self.account,
            symbol=symbol,
            exchange_order_id=exchange_order_id,
            client_order_id=client_order_id,
            now=timezone.now(),
        )
        return to_exchange_order(order)

    def fetch_order(
        self,
        *,
        symbol: str,
        exchange_order_id: str = "",
        client_order_id: str = "",
        conditional: bool = False,
    ) -> ExchangeOrder:
        """An order by either id (a stop too: `conditional` changes nothing on one book)."""
        config = self._begin()
        self._sync_live(config)
        order = services.find_order(
            account=self.account,
            symbol=symbol,
            exchange_order_id=exchange_order_id,
            client_order_id=client_order_id,
        )
        return to_exchange_order(order)

    def fetch_open_orders(self, symbol: str | None = None) -> list[ExchangeOrder]:
        """Open plain orders and stops alike (untriggered stops with their trigger_price)."""
        config = self._begin()
        self._sync_live(config)
        orders = PaperOrder.objects.filter(account=self.account, status=PaperOrder.Status.OPEN)
        if symbol:
            orders = orders.filter(symbol=symbol)
        return [to_exchange_order(order) for order in orders]

    def close(self) -> None:
        """Nothing to release: the paper exchange is the database."""
