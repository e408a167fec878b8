"""The rules loop's database cost does not grow with the number of tickets and positions."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.exchanges.paper.services import set_price
from apps.positions.models import PositionGroup
from apps.tickets.models import Trade
from apps.tickets.services import evaluate_rules
from tests.tickets.bulk import delete_running, running_trades
from tests.tickets.conftest import BTC

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
    # Every waiting ticket and every open position was priced, and each position's highest
    # price since it opened followed.
    moved = Trade.objects.filter(
        account=account, status=Trade.Status.PENDING, last_price=Decimal("65100")
    )
    assert moved.count() == count // 2
    held = PositionGroup.objects.filter(
        account=account, trade__isnull=False, last_price=Decimal("65100"), highest=Decimal("65100")
    )
    assert held.count() == count // 2
    return len(queries)


def test_a_tick_costs_the_same_queries_for_10_and_200_tickets_and_positions(
    paper, django_capture_on_commit_callbacks
):
    few = queries_of_a_steady_tick(paper, 10, django_capture_on_commit_callbacks)
    delete_running()
    many = queries_of_a_steady_tick(paper, 200, django_capture_on_commit_callbacks)
    assert few == many, (few, many)
    # Tickets, positions, accounts; the paper account's settings and prices; the indicator
    # cache; one UPDATE per kind (tickets, positions); and the two savepoints' pairs the test's
    # own transaction adds around the ticker batch and the writes; and the resting stops of
    # the positions whose trailing level may have risen (one query for all of them).
    assert many <= 13, many
