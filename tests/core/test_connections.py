"""Connections a process keeps: one Redis pool for every cache object, and a worker's
database connection handed back to the pool after each task."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.core.cache import caches
from django.db import connection

from tradedesk.celery import _database_connections_around_a_task


def test_every_cache_object_of_a_process_draws_from_one_redis_pool():
    # Django makes a cache object per thread and per ASGI request; each used to open its own
    # Redis connections.
    first, second = caches.create_connection("default"), caches.create_connection("default")
    assert first is not second
    first.set("shared-pool-probe", 1, timeout=5)
    assert second.get("shared-pool-probe") == 1
    pool = first._cache.get_client(write=True).connection_pool
    assert second._cache.get_client(write=True).connection_pool is pool


def _task(*, eager: bool):
    return SimpleNamespace(request=SimpleNamespace(is_eager=eager))


@pytest.mark.django_db(transaction=True)
def test_a_worker_task_gives_its_connection_back_to_the_pool_afterwards():
    connection.ensure_connection()
    assert connection.pool is not None
    _database_connections_around_a_task(sender=_task(eager=False))
    assert connection.connection is None  # returned; the next query borrows one again
    assert connection.cursor().execute("SELECT 1") is not None


@pytest.mark.django_db
def test_a_task_run_inline_keeps_its_callers_transaction():
    connection.ensure_connection()
    _database_connections_around_a_task(sender=_task(eager=True))
    assert connection.connection is not None and connection.in_atomic_block
