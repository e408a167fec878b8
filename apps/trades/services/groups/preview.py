"""The strategy form's warning: which legs of a grid would fall below the market's minimums,
for one account and symbol at the current price. Advice only: nothing is refused here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from apps.exchanges.errors import ExchangeError
from apps.exchanges.models import ExchangeAccount, Market
from apps.exchanges.services import market_data
from apps.exchanges.services.markets import rules_of
from apps.trades.domain import dca
from apps.trades.domain.sizing import Sizing, SizingError
from apps.trades.services.groups.signals import pyramid_capital


@dataclass(frozen=True)
class GridPreview:
    legs: tuple[dca.PlannedLeg, ...] = ()
    price: Decimal | None = None
    capital: Decimal | None = None
    note: str = ""  # why there is no preview

    def leg(self, index: int) -> dca.PlannedLeg | None:
        return self.legs[index] if index < len(self.legs) else None

    @property
    def warnings(self) -> list[dca.PlannedLeg]:
        return [leg for leg in self.legs if not leg.ok]


def preview_grid(
    *,
    account: ExchangeAccount,
    symbol: str,
    legs: Sequence[dca.LegSpec],
    sizing: Sizing,
    group_tp_pct: Decimal,
) -> GridPreview:
    """Lay the grid for a first pyramid at the current ask, sized as a signal would size it."""
    market = Market.objects.filter(account=account, symbol=symbol).first()
    if market is None:
        return GridPreview(note=f"{account.label} has no market {symbol}.")
    try:
        ticker = market_data.tickers(account=account, symbols=[symbol])[symbol]
    except (ExchangeError, KeyError) as exc:
        return GridPreview(note=f"No price for {symbol}: {exc}")
    price = ticker.ask or ticker.last
    try:
        capital = pyramid_capital(account=account, sizing=sizing, price=price)
    except SizingError as error:
        return GridPreview(price=price, note=f"No preview for this sizing: {error}")
    if capital <= 0:
        return GridPreview(price=price, note="The sizing gives no capital to lay a grid with.")
    planned = dca.lay_grid(
        dca.legs_or_single(legs, group_tp_pct=group_tp_pct),
        entry_price=price,
        capital=capital,
        rules=rules_of(market),
    )
    return GridPreview(legs=planned, price=price, capital=capital)
