"""Paper accounts opened the way the desk opens them, and helpers to read their books."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.exchanges.adapters.paper import PaperExchange
from apps.exchanges.models import ExchangeAccount, PaperBalance, PaperSettings
from apps.exchanges.paper.services import open_paper_account, set_price
from tests.exchanges.factories import ExchangeAccountFactory


def free(account: ExchangeAccount, asset: str) -> Decimal:
    row = PaperBalance.objects.filter(account=account, asset=asset).first()
    return row.free if row else Decimal(0)


def used(account: ExchangeAccount, asset: str) -> Decimal:
    row = PaperBalance.objects.filter(account=account, asset=asset).first()
    return row.used if row else Decimal(0)


def books(account: ExchangeAccount) -> dict[str, tuple[Decimal, Decimal]]:
    """Every balance of the account as {asset: (free, used)}, zero rows left out."""
    return {
        row.asset: (row.free, row.used)
        for row in PaperBalance.objects.filter(account=account)
        if row.free or row.used
    }


def configure(account: ExchangeAccount, **fields) -> None:
    PaperSettings.objects.filter(account=account).update(**fields)


@pytest.fixture
def account(db) -> ExchangeAccount:
    """A paper account holding 10000 USDT, no slippage, 0.1 % fees, BTC/USDT at 65000."""
    account = ExchangeAccountFactory(kind="paper", quote_currency="USDT")
    open_paper_account(account=account, initial_balance=Decimal("10000"))
    configure(account, slippage_rate=Decimal(0))
    set_price(symbol="BTC/USDT", price=Decimal("65000.00"))
    return account


@pytest.fixture
def exchange(account: ExchangeAccount) -> PaperExchange:
    return PaperExchange(account)
