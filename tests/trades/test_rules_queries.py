"""The rules loop's database cost does not grow with the number of trades."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.exchanges.paper.services import set_price
from apps.trades.models import Trade
from apps.trades.services import evaluate_rules
from tests.trades.bulk import running_trades
from tests.trades.conftest import BTC

pytestmark = pytest.mark.django_db


def queries_of_a_steady_tick(account, count: int, on_commit) -> int:
    running_trades(account, count)
    set_price(symbol=BTC, price=Decimal("65000.00"))
    with on_commit(execute=True):
        evaluate_rules(now=timezone.now())  # first look: every rule records its outcome
    set_price(symbol=BTC, price=Decimal("65100.00"))
    with CaptureQueriesContext(connection) as queries, on_commit(execute=True):
        report = evaluate_rules(now=timezone.now())  # prices moved, nothing fires
    assert report.evaluated == count
    assert not report.fired
    moved = Trade.objects.filter(account=account, last_price=Decimal("65100"))
    assert moved.count() == count
    return len(queries)


def test_a_tick_costs_the_same_queries_for_10_and_200_trades(
    paper, django_capture_on_commit_callbacks
):
    few = queries_of_a_steady_tick(paper, 10, django_capture_on_commit_callbacks)
    Trade.objects.all().delete()
    many = queries_of_a_steady_tick(paper, 200, django_capture_on_commit_callbacks)
    assert few == many, (few, many)
    assert many <= 10, many
