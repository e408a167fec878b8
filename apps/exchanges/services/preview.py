"""Order preview against an account's stored rules, last price and cached balances."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from apps.exchanges.adapters import get_adapter
from apps.exchanges.domain.preview import OrderPreview, preview_order
from apps.exchanges.domain.types import OrderSide, OrderType
from apps.exchanges.errors import ExchangeError
from apps.exchanges.models import BalanceSnapshot, ExchangeAccount, Market
from apps.exchanges.services.markets import MarketsStale, ensure_markets_fresh, rules_of


def preview(
    *,
    account: ExchangeAccount,
    symbol: str,
    side: OrderSide,
    type: OrderType,
    amount: Decimal | None = None,
    quote_amount: Decimal | None = None,
    price: Decimal | None = None,
    now: datetime,
) -> OrderPreview:
    """What would be sent for this order on this account right now, or why it would be refused.

    1. The account's markets must be fresh and list the symbol.
    2. A market order is priced at the exchange's last price (fetched now).
    3. The pure preview rounds, checks the minimums and the cached free balances.
    """
    market = Market.objects.filter(account=account, symbol=symbol).first()
    reference = price or Decimal(0)
    try:
        ensure_markets_fresh(account=account, now=now)
    except MarketsStale as stale:
        return OrderPreview(symbol, side, type, None, reference, None, (str(stale),))
    if market is None:
        return OrderPreview(
            symbol, side, type, None, reference, None, (f"{account.label} has no market {symbol}.",)
        )
    if type == OrderType.MARKET or price is None:
        try:
            reference = _last_price(account, symbol)
        except ExchangeError as exc:
            return OrderPreview(
                symbol, side, type, None, reference, None, (f"No price for {symbol}: {exc}",)
            )
    free = {
        snapshot.asset: snapshot.free
        for snapshot in BalanceSnapshot.objects.filter(
            account=account, asset__in=[market.base, market.quote]
        )
    }
    return preview_order(
        rules_of(market),
        side=side,
        type=type,
        price=reference,
        amount=amount,
        quote_amount=quote_amount,
        free_base=free.get(market.base, Decimal(0)),
        free_quote=free.get(market.quote, Decimal(0)),
    )


def _last_price(account: ExchangeAccount, symbol: str) -> Decimal:
    adapter = get_adapter(account)
    try:
        return adapter.fetch_tickers([symbol])[symbol].last
    finally:
        adapter.close()
