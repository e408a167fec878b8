"""Locking a group locks that row only, not its account or owner.

`select_for_update()` with `select_related` locks every joined row. A fill recorded on one
group then waited on the account row that an entry of another lane was holding, and the two
deadlocked under load. Real transactions on PostgreSQL, on two connections.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from apps.exchanges.models import ExchangeAccount
from apps.positions.models import PositionGroup
from apps.positions.services import fills
from tests.positions.grouping import Desk, grid_strategy, signal

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def desk(django_capture_on_commit_callbacks) -> Desk:
    return Desk(django_capture_on_commit_callbacks)


def while_account_locked(account_id: int, work) -> object:
    """Run `work` on another connection while this one holds the account row's lock; the
    other connection gives up after 2 s rather than wait (its error is the result)."""
    locked, done = threading.Event(), threading.Event()
    result: list[object] = []

    def hold() -> None:
        with transaction.atomic():
            ExchangeAccount.objects.select_for_update().get(pk=account_id)
            locked.set()
            done.wait(timeout=10)
        connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    locked.wait(timeout=10)
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            result.append(work())
    except Exception as exc:
        result.append(exc)
    finally:
        done.set()
        holder.join()
    return result[0]


def test_locking_a_group_for_its_fill_does_not_lock_its_account(paper, desk):
    desk.act(paper, grid_strategy(paper.owner), signal())
    group = PositionGroup.objects.get(account=paper)
    order = group.orders.first()

    got = while_account_locked(paper.pk, lambda: fills._lock(group.pk, order.pk))

    assert not isinstance(got, Exception), got
    assert got[0].pk == group.pk
