"""A lane is held by a short lease renewed while its holder drains: a dead holder's lane is
taken over within seconds, a long drain keeps its lane, and waiting does not make a signal
stale (freshness is judged at arrival)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from apps.core.locks import is_held, lease
from apps.exchanges.models import PaperSettings
from apps.positions.models import Order
from apps.webhooks import tasks
from apps.webhooks.models import Signal
from apps.webhooks.services import process_signal, processing
from apps.webhooks.services.processing import lane_lease, lane_name
from tests.webhooks.conftest import post
from tests.webhooks.crash import hold_in_another_process, kill

ENTRY = {"action": "entry", "symbol": "BTCUSDT", "timeframe": "15"}


def received(route, body: dict) -> Signal:
    """Record `body` while its lane is held, so its own task leaves it waiting."""
    with lane_lease(route.account_id, "BTC/USDT") as held:
        assert held is not None
        answer = post(route, body).json()
    return Signal.objects.get(pk=answer["signal_id"])


# --- The lease itself -------------------------------------------------------------------------


def test_only_the_holder_renews_or_releases_its_lease(db):
    first_hold = lease("lane-x", seconds=5, max_hold_seconds=60)
    first = first_hold.__enter__()
    assert first is not None and first.held
    with lease("lane-x", seconds=5, max_hold_seconds=60) as busy:
        assert busy is None
    cache.delete("lock:lane-x")  # as if it had lapsed (its holder stalled past its end)
    with lease("lane-x", seconds=5, max_hold_seconds=60) as second:
        assert second is not None
        assert not first.renew()  # no longer its own: it cannot extend the new holder's
        assert not first.held
        first_hold.__exit__(None, None, None)  # the first holder leaves late
        assert is_held("lane-x")  # and releases nothing of the second's
        assert second.renew()
    assert not is_held("lane-x")


def test_a_lease_held_three_times_its_length_stays_held_while_its_holder_works(db):
    with lease("lane-y", seconds=1, max_hold_seconds=60) as held:
        for _ in range(6):
            time.sleep(0.5)
            with lease("lane-y", seconds=1, max_hold_seconds=60) as other:
                assert other is None
        assert held.held
    assert not is_held("lane-y")


# --- A dead holder ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_killed_holders_lane_is_taken_over_within_seconds(route):
    """A worker holding the lane is killed with -9; the lane's next task (a redelivery, the
    next signal's, the sweep's) drains it as soon as the lease lapses."""
    seconds = processing.LANE_LEASE_SECONDS
    name = lane_name(route.account_id, "BTC/USDT")
    holder = hold_in_another_process(name, lease_seconds=seconds)
    try:
        answer = post(route, ENTRY).json()  # its task finds the lane held and returns
        signal = Signal.objects.get(pk=answer["signal_id"])
        assert signal.status == Signal.Status.RECEIVED
    finally:
        kill(holder)
    killed_at = time.monotonic()

    while signal.status == Signal.Status.RECEIVED and time.monotonic() - killed_at < 30:
        tasks.process_signal.apply(args=[signal.pk])
        signal.refresh_from_db()
        time.sleep(0.1)
    taken_over_after = time.monotonic() - killed_at

    assert signal.status == Signal.Status.EXECUTED
    assert taken_over_after < seconds + 2  # not the old lock's 70 s
    assert Order.objects.filter(signal=signal).count() == len(signal.order_ids) > 0


@pytest.mark.django_db(transaction=True)
def test_the_sweep_hands_a_dead_holders_waiting_signals_to_a_task(route, monkeypatch):
    name = lane_name(route.account_id, "BTC/USDT")
    holder = hold_in_another_process(name, lease_seconds=processing.LANE_LEASE_SECONDS)
    try:
        answer = post(route, ENTRY).json()
        signal = Signal.objects.get(pk=answer["signal_id"])
        later = timezone.now() + processing.LOST_TASK_AFTER + timedelta(seconds=1)
        processing.sweep(now=later)  # the holder is alive: its lane is left to it
        signal.refresh_from_db()
        assert signal.status == Signal.Status.RECEIVED
    finally:
        kill(holder)
    while is_held(name):
        time.sleep(0.1)

    processing.sweep(now=later)

    signal.refresh_from_db()
    assert signal.status == Signal.Status.EXECUTED


# --- A long drain ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_drain_longer_than_its_lease_keeps_its_lane(route, monkeypatch):
    """Each paper call takes 1.2 s, so the signal takes about 2.4 s (ticker, then its order)
    under a 1 s lease: the renewal keeps the lane, and other tasks of the lane return."""
    monkeypatch.setattr(processing, "LANE_LEASE_SECONDS", 1)
    signal = received(route, ENTRY)
    PaperSettings.objects.filter(account_id=route.account_id).update(latency_ms=1200)

    def drain() -> None:
        try:
            process_signal(signal_id=signal.pk)
        finally:
            connection.close()

    draining = threading.Thread(target=drain)
    draining.start()
    tries = []
    for _ in range(4):
        time.sleep(0.5)
        with lane_lease(route.account_id, "BTC/USDT") as other:
            tries.append(other is None)
    draining.join(timeout=30)

    signal.refresh_from_db()
    assert tries == [True, True, True, True]  # 0.5 to 2 s in: held, though the lease is 1 s
    assert signal.status == Signal.Status.EXECUTED
    assert not is_held(lane_name(route.account_id, "BTC/USDT"))


# --- Freshness at arrival ----------------------------------------------------------------------


@pytest.mark.django_db
def test_a_signal_received_in_time_but_processed_late_is_not_stale(route):
    signal = received(route, ENTRY)
    # Received in time 10 minutes ago (max lag 300 s), and only processed now.
    Signal.objects.filter(pk=signal.pk).update(received_at=timezone.now() - timedelta(minutes=10))

    process_signal(signal_id=signal.pk)

    signal.refresh_from_db()
    assert signal.status == Signal.Status.EXECUTED, signal.reason
    assert Order.objects.filter(signal=signal).exists()
