from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from apps.core.formatting import MarketFormat
from apps.core.scoping import owned
from apps.exchanges.models import BalanceSnapshot, ExchangeAccount, Market


def accounts_for(user):
    return owned(ExchangeAccount, user, owner_field="owner")


@dataclass(frozen=True)
class Portfolio:
    account: ExchangeAccount
    balances: list[BalanceSnapshot]
    buying_power: Decimal  # free balance in the account's quote currency
    refreshed_at: datetime | None

    @property
    def dom_id(self) -> str:
        return f"portfolio-{self.account.pk}"


def portfolio(*, account: ExchangeAccount) -> Portfolio:
    balances = list(BalanceSnapshot.objects.filter(account=account))
    quote = next((b for b in balances if b.asset == account.quote_currency), None)
    return Portfolio(
        account=account,
        balances=balances,
        buying_power=quote.free if quote else Decimal(0),
        refreshed_at=account.balances_refreshed_at,
    )


def markets_of(*, account: ExchangeAccount):
    return Market.objects.filter(account=account)


def market_formats(*, pairs: set[tuple[int, str]]) -> dict[tuple[int, str], MarketFormat]:
    """The tick, step and units of every (account id, symbol) asked, in one query (the
    `core.market_formats` hook: a page's figures on their markets' precision)."""
    if not pairs:
        return {}
    rows = Market.objects.filter(
        account_id__in={account_id for account_id, _ in pairs},
        symbol__in={symbol for _, symbol in pairs},
    ).values_list("account_id", "symbol", "base", "quote", "tick_size", "step_size")
    return {
        (account_id, symbol): MarketFormat(base=base, quote=quote, tick=tick, step=step)
        for account_id, symbol, base, quote, tick, step in rows
        if (account_id, symbol) in pairs
    }
