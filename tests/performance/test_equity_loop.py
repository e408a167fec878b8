"""The equity loop: snapshots every EQUITY_SNAPSHOT_SECONDS, a day's open at each UTC day's
start, one tick at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from apps.core.locks import single_flight
from apps.performance.models import EquitySnapshot
from apps.performance.services.snapshots import LOOP, equity_loop, record_snapshot, snapshot_due
from tests.tickets.conftest import paper  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db
NOON = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def account(settings, paper):  # noqa: F811
    settings.EQUITY_SNAPSHOT_SECONDS = 300
    return paper


def test_a_snapshot_every_interval_and_the_first_of_a_day_is_its_open(account):
    assert snapshot_due(now=NOON) == 1
    assert snapshot_due(now=NOON + timedelta(seconds=60)) == 0  # not due yet
    assert snapshot_due(now=NOON + timedelta(seconds=301)) == 1
    midnight = datetime(2026, 3, 2, 0, 0, 30, tzinfo=UTC)  # 12 h later: a new UTC day
    assert snapshot_due(now=midnight) == 1
    rows = list(EquitySnapshot.objects.filter(account=account).order_by("at"))
    assert [(s.at, s.day_open) for s in rows] == [
        (NOON, True),
        (NOON + timedelta(seconds=301), False),
        (midnight, True),
    ]
    # The paper account's equity: its initial balance, in its quote currency.
    assert rows[0].equity == Decimal("10000") and rows[0].quote_currency == "USDT"


def test_a_new_day_is_snapshotted_even_when_the_interval_has_not_passed(account, settings):
    settings.EQUITY_SNAPSHOT_SECONDS = 3600
    late = datetime(2026, 3, 1, 23, 59, 30, tzinfo=UTC)
    snapshot_due(now=late)
    assert snapshot_due(now=late + timedelta(seconds=60)) == 1
    assert EquitySnapshot.objects.filter(day_open=True).count() == 2


def test_a_day_is_opened_once_even_when_written_twice(account):
    first = record_snapshot(account=account, equity=Decimal(1), now=NOON)
    second = record_snapshot(account=account, equity=Decimal(2), now=NOON)
    assert first.day_open and not second.day_open


def test_inactive_accounts_are_not_snapshotted(account):
    account.is_active = False
    account.save()
    assert snapshot_due(now=NOON) == 0


def test_an_overlapping_tick_skips(account):
    with single_flight(f"loop:{LOOP}", ttl_seconds=30) as held:
        assert held
        assert equity_loop() is False
    assert not EquitySnapshot.objects.exists()
    assert equity_loop() is True
    assert EquitySnapshot.objects.count() == 1
