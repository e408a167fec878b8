"""A signal whose worker is killed mid-processing is finished from what it wrote, not guessed.

Each test kills the processing for real (another process, SIGKILL: see tests/webhooks/crash.py)
at one step: before the intent, between the intent and the send, after a send. The signal is
then left exactly as a dead worker leaves it (status "processing", its lane's lease lapsing),
the sweep loop runs, and the signal's decision, group and order ids must match the Order rows,
with every order on the exchange exactly once.
"""

from __future__ import annotations

import time

import pytest
from django.utils import timezone

from apps.core.locks import is_held
from apps.core.models import Event
from apps.exchanges.models import PaperOrder, PaperSettings
from apps.positions.models import Order, PositionGroup, Pyramid
from apps.positions.services.orders import sync_orders
from apps.webhooks.models import Signal
from apps.webhooks.services import processing
from apps.webhooks.services.processing import lane_lease, lane_name, sweep
from tests.webhooks.conftest import post
from tests.webhooks.crash import kill_processing_when

pytestmark = pytest.mark.django_db(transaction=True)

ENTRY = {"action": "entry", "symbol": "BTCUSDT", "timeframe": "15", "price": "65000"}
EXIT = {"action": "exit", "symbol": "BTCUSDT", "timeframe": "15"}
# Two legs: leg 0 at market, leg 1 resting 2 % lower, so there is a step after the first send.
TWO_LEGS = [
    {"gap_pct": "0", "weight_pct": "50", "tp_pct": "2"},
    {"gap_pct": "2", "weight_pct": "50", "tp_pct": "2"},
]
LATENCY_MS = 1500  # every paper exchange call sleeps this long first: where the kill lands


@pytest.fixture
def route(route):
    strategy = route.strategy
    strategy.dca_legs = TWO_LEGS
    strategy.save()
    return route


@pytest.fixture(autouse=True)
def short_lease(monkeypatch):
    monkeypatch.setattr(processing, "LANE_LEASE_SECONDS", 1)  # the killed process's, too


def received(route, body: dict) -> Signal:
    """Record `body` while its lane is held, so its own task leaves it waiting."""
    with lane_lease(route.account_id, "BTC/USDT") as held:
        assert held is not None
        answer = post(route, body).json()
    signal = Signal.objects.get(pk=answer["signal_id"])
    assert signal.status == Signal.Status.RECEIVED
    return signal


def latency(route, ms: int) -> None:
    PaperSettings.objects.filter(account_id=route.account_id).update(latency_ms=ms)


def sweep_after_the_dead_holder(route, signal: Signal) -> None:
    """The drill is over (no more latency); once the killed holder's lease has lapsed, the
    sweep loop runs, as the beat would."""
    latency(route, 0)
    deadline = time.monotonic() + 10
    while is_held(lane_name(route.account_id, "BTC/USDT")):
        assert time.monotonic() < deadline, "the dead holder's lease never lapsed"
        time.sleep(0.05)
    signal.refresh_from_db()
    assert signal.status == Signal.Status.PROCESSING  # as the dead worker left it
    time.sleep(max(0.0, (signal.processed_at - timezone.now()).total_seconds() + 1.1))
    sweep(now=timezone.now())


def assert_decision_matches_the_orders(signal: Signal) -> list[Order]:
    signal.refresh_from_db()
    orders = list(Order.objects.filter(signal=signal).order_by("pk"))
    assert signal.status == Signal.Status.EXECUTED, signal.reason
    assert orders
    assert signal.order_ids == [order.pk for order in orders]
    assert {order.group_id for order in orders} == {signal.group_id}
    for order in orders:  # each sent, and on the exchange once
        assert order.status in (Order.Status.FILLED, Order.Status.OPEN), order
        assert PaperOrder.objects.filter(client_order_id=order.client_order_id).count() == 1
    return orders


def test_killed_before_its_intent_the_signal_is_processed_again_once(route):
    signal = received(route, ENTRY)
    latency(route, LATENCY_MS)

    kill_processing_when(
        signal.pk,
        lambda: Signal.objects.filter(pk=signal.pk, status=Signal.Status.PROCESSING).exists(),
    )
    assert not Order.objects.exists()  # killed while fetching the ticker: nothing written
    sweep_after_the_dead_holder(route, signal)

    orders = assert_decision_matches_the_orders(signal)
    assert len(orders) == 2
    assert PositionGroup.objects.count() == 1
    assert Pyramid.objects.filter(signal=signal).count() == 1
    retried = Event.objects.get(kind="signal.retried", subject_id=str(signal.pk))
    assert "retry 1 of 2" in retried.message


def test_killed_between_its_intent_and_the_send_the_signal_is_executed_and_its_orders_sent(route):
    signal = received(route, ENTRY)
    latency(route, LATENCY_MS)

    kill_processing_when(signal.pk, lambda: Order.objects.filter(signal=signal).exists())
    assert not PaperOrder.objects.exists()  # killed while sending leg 0
    assert set(Order.objects.values_list("status", flat=True)) == {Order.Status.PENDING}
    sweep_after_the_dead_holder(route, signal)

    orders = assert_decision_matches_the_orders(signal)
    assert len(orders) == 2
    assert signal.reason.startswith("Finished after its processing was interrupted")
    assert PositionGroup.objects.count() == 1
    assert not Event.objects.filter(kind="signal.retried").exists()


def test_killed_after_a_send_the_signal_is_executed_with_every_order_once(route):
    signal = received(route, ENTRY)
    latency(route, LATENCY_MS)

    kill_processing_when(
        signal.pk,
        lambda: Order.objects.filter(signal=signal, status=Order.Status.FILLED).exists(),
    )
    assert PaperOrder.objects.count() == 1  # leg 0 filled; killed while sending leg 1
    sweep_after_the_dead_holder(route, signal)

    orders = assert_decision_matches_the_orders(signal)
    assert [order.status for order in orders] == [Order.Status.FILLED, Order.Status.OPEN]
    assert PositionGroup.objects.count() == 1


def test_an_exit_killed_after_writing_its_sell_is_executed_and_the_group_closes(route):
    entry = received(route, ENTRY)
    processing.process_signal(signal_id=entry.pk)
    entry.refresh_from_db()
    assert entry.status == Signal.Status.EXECUTED
    exit_ = received(route, EXIT)
    latency(route, LATENCY_MS)

    kill_processing_when(exit_.pk, lambda: Order.objects.filter(signal=exit_, side="sell").exists())
    assert not PaperOrder.objects.filter(side="sell").exists()
    sweep_after_the_dead_holder(route, exit_)
    sync_orders(now=timezone.now())  # the order-sync loop: the resting leg's cancel is done

    (sell,) = assert_decision_matches_the_orders(exit_)
    assert (sell.side, sell.status) == ("sell", Order.Status.FILLED)
    assert PositionGroup.objects.get().status == PositionGroup.Status.CLOSED


@pytest.mark.django_db
def test_a_holder_whose_claim_was_taken_over_writes_nothing(route):
    """A holder that lost its lane (it could not renew its lease in time) while the signal was
    handed to the lane's next holder: its intent transaction finds the claim is not its own."""
    from datetime import timedelta

    from apps.positions.services import SignalOrder, act_on_signal
    from apps.positions.services.signals import TAKEN_OVER

    signal = received(route, ENTRY)
    claimed_at = timezone.now()
    # Claimed by the first holder, then given back and claimed again by the next one.
    Signal.objects.filter(pk=signal.pk).update(
        status=Signal.Status.PROCESSING, processed_at=claimed_at + timedelta(seconds=8)
    )

    outcome = act_on_signal(
        account=route.account,
        strategy=route.strategy,
        order=SignalOrder("entry", "BTC/USDT", "15", "long", None),
        signal_id=signal.pk,
        now=claimed_at,
        still_claimed=processing._claim_check(signal.pk, claimed_at),
    )

    assert (outcome.decision, outcome.reason) == ("rejected", TAKEN_OVER)
    assert not Order.objects.exists()
    assert not PositionGroup.objects.exists()
