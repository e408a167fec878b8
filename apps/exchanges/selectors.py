from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

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
