"""A page's markets are looked up once for all its rows (the core.market_formats hook)."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.core.market_formats import attach_formats
from apps.exchanges.models import Market
from tests.exchanges.factories import ExchangeAccountFactory

pytestmark = pytest.mark.django_db


def market(account, symbol, tick, step):
    base, quote = symbol.split("/")
    return Market.objects.create(
        account=account,
        symbol=symbol,
        base=base,
        quote=quote,
        tick_size=Decimal(tick),
        step_size=Decimal(step),
        refreshed_at=timezone.now(),
    )


def test_fifty_rows_on_many_markets_cost_one_query_and_each_gets_its_own_tick():
    account, other = ExchangeAccountFactory(), ExchangeAccountFactory()
    market(account, "BTC/USDT", "0.01", "0.00001")
    market(account, "ETH/USDT", "0.1", "0.001")
    market(other, "BTC/USDT", "0.5", "0.01")  # same symbol, another account's precision
    rows = [
        SimpleNamespace(account_id=acc.pk, symbol=sym)
        for acc, sym in [(account, "BTC/USDT"), (account, "ETH/USDT"), (other, "BTC/USDT")] * 17
    ][:50]
    with CaptureQueriesContext(connection) as queries:
        attach_formats(rows)
    assert len(queries) == 1
    assert rows[0].fmt.tick == Decimal("0.01") and rows[0].fmt.base == "BTC"
    assert rows[1].fmt.step == Decimal("0.001")
    assert rows[2].fmt.tick == Decimal("0.5")


def test_a_symbol_without_a_market_keeps_its_units_and_no_tick():
    account = ExchangeAccountFactory()
    (row,) = attach_formats([SimpleNamespace(account_id=account.pk, symbol="DOGE/USDT")])
    assert (row.fmt.base, row.fmt.quote, row.fmt.tick, row.fmt.step) == ("DOGE", "USDT", None, None)
