"""A paper account ready to trade, and a shorthand for tickets."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from apps.exchanges.models import ExchangeAccount, PaperSettings
from apps.exchanges.paper.services import open_paper_account, set_price
from apps.exchanges.services import refresh_balances, refresh_markets
from apps.strategies.domain.catalog import RuleKind, Side, parse_rule
from apps.strategies.domain.sizing import Sizing, SizingKind
from apps.tickets.services import Ticket
from tests.exchanges.factories import ExchangeAccountFactory

BTC = "BTC/USDT"

IMMEDIATELY = {"primary": "immediately", "condition": "at_market"}
STOP_2_PCT = {
    "primary": "last",
    "condition": "at_or_below",
    "secondary": "entry_price",
    "value": "-2",
    "unit": "percent",
}
TRAIL_1_5_PCT = {
    "primary": "last",
    "condition": "retraces_from",
    "secondary": "highest",
    "value": "1.5",
    "unit": "percent",
}
TAKE_3_PCT = {"primary": "pnl_pct", "condition": "at_or_above", "secondary": "fixed", "value": "3"}


@pytest.fixture
def paper(db) -> ExchangeAccount:
    """A paper account with 10000 USDT, fresh markets and balances, no slippage, 0.1 % fees,
    and BTC/USDT at 65000."""
    account = ExchangeAccountFactory(kind="paper", quote_currency="USDT")
    open_paper_account(account=account, initial_balance=Decimal("10000"))
    PaperSettings.objects.filter(account=account).update(slippage_rate=Decimal(0))
    set_price(symbol=BTC, price=Decimal("65000.00"))
    now = timezone.now()
    refresh_markets(account=account, now=now)
    refresh_balances(account=account, now=now)
    account.refresh_from_db()
    return account


def ticket(
    account: ExchangeAccount,
    *,
    symbol: str = BTC,
    sizing: tuple[str, str] = ("quote", "1000"),
    portfolio: bool = False,
    rest_take_profit: bool = False,
    **rules: dict | None,
) -> Ticket:
    """A ticket; rules by kind name (entry=..., initial_stop=...), entry immediate by default."""
    rules.setdefault("entry", IMMEDIATELY)
    return Ticket(
        account=account,
        symbol=symbol,
        side=Side.LONG,
        sizing=Sizing(SizingKind(sizing[0]), Decimal(sizing[1])),
        rules={
            kind: parse_rule(kind, Side.LONG, rules[kind.value]) if rules.get(kind.value) else None
            for kind in RuleKind
        },
        portfolio=portfolio,
        rest_take_profit=rest_take_profit,
    )
