"""Processing signals: lanes in arrival order, freshness, and what the position groups did."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.utils import timezone

from apps.core.broadcast import join_live
from apps.core.models import Event
from apps.positions.models import Order, PositionGroup
from apps.webhooks import tasks
from apps.webhooks.models import Signal
from apps.webhooks.services import process_signal, processing, set_route_active
from apps.webhooks.services.processing import sweep
from tests.webhooks.conftest import post

pytestmark = pytest.mark.django_db

ENTRY = {"action": "entry", "symbol": "BINANCE:BTCUSDT", "timeframe": "15"}
EXIT = {"action": "exit", "symbol": "BINANCE:BTCUSDT", "timeframe": "15"}


@pytest.fixture
def deliver(client, route, django_capture_on_commit_callbacks):
    """Post `body` as TradingView does, and run what the answer enqueued (the processing task,
    live pushes) as a worker would after COMMIT."""

    def run(body, **extra) -> Signal:
        with django_capture_on_commit_callbacks(execute=True):
            answer = post(route, body, **extra).json()
        return Signal.objects.get(pk=answer["signal_id"])

    return run


@pytest.fixture
def receive_only(client, route, django_capture_on_commit_callbacks):
    """Post `body` and record it, but hold its task back (as a slow broker would)."""

    def run(body) -> Signal:
        with django_capture_on_commit_callbacks(execute=False):
            answer = post(route, body).json()
        return Signal.objects.get(pk=answer["signal_id"])

    return run


def test_an_entry_signal_opens_a_paper_position_and_links_its_orders(deliver):
    signal = deliver(ENTRY | {"price": "65000.5"})

    group = PositionGroup.objects.get()
    assert (signal.status, signal.group_id) == (Signal.Status.EXECUTED, group.pk)
    assert signal.reason.startswith("Opened BTC/USDT 15m long position #")
    assert (group.symbol, group.timeframe, group.status) == ("BTC/USDT", "15", "open")
    assert signal.order_ids == list(
        Order.objects.filter(signal=signal).values_list("pk", flat=True)
    )
    assert signal.order_ids
    assert signal.processed_at >= signal.received_at
    event = Event.objects.get(kind="signal.executed")
    assert (event.subject_id, event.user, event.account) == (
        str(signal.pk),
        signal.route.owner,
        signal.account,
    )
    assert event.data["orders"] == ", ".join(map(str, signal.order_ids))


def test_duplicate_delivery_places_no_second_order(deliver):
    first = deliver(ENTRY | {"timenow": timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ")})
    again = deliver(bytes(first.body).decode(), content_type="application/json")

    assert first.status == Signal.Status.EXECUTED
    assert (again.status, again.duplicate_of) == (Signal.Status.DUPLICATE, first)
    assert PositionGroup.objects.count() == 1
    assert Order.objects.count() == len(first.order_ids)


def test_a_task_run_twice_hands_its_signal_over_once(deliver):
    signal = deliver(ENTRY)
    orders = Order.objects.count()

    process_signal(signal_id=signal.pk)
    tasks.process_signal.apply(args=[signal.pk])

    assert Order.objects.count() == orders
    assert Event.objects.filter(kind="signal.executed").count() == 1


def test_an_exit_closes_the_group_and_an_exit_without_one_is_rejected_with_the_reason(deliver):
    deliver(ENTRY)
    exit_ = deliver(EXIT)
    nothing = deliver(EXIT | {"id": "again"})

    assert exit_.status == Signal.Status.EXECUTED
    assert PositionGroup.objects.get().status == PositionGroup.Status.CLOSED
    assert nothing.status == Signal.Status.REJECTED
    assert nothing.reason
    event = Event.objects.get(kind="signal.rejected")
    assert event.data["reason"] == nothing.reason


# --- Arrival order per lane -------------------------------------------------------------------


def test_exit_then_entry_300_ms_apart_execute_in_order_whichever_task_runs_first(
    deliver, receive_only, django_capture_on_commit_callbacks
):
    first = deliver(ENTRY | {"id": "open"})
    exit_ = receive_only(EXIT | {"id": "close"})
    time.sleep(0.3)
    entry = receive_only(ENTRY | {"id": "reopen"})

    # The adversarial order: the entry's task runs first (a worker picked it up first).
    with django_capture_on_commit_callbacks(execute=True):  # and the orders are sent
        process_signal(signal_id=entry.pk)

    exit_.refresh_from_db()
    entry.refresh_from_db()
    old, new = PositionGroup.objects.order_by("pk")
    assert exit_.status == entry.status == Signal.Status.EXECUTED
    assert exit_.group_id == first.group_id == old.pk
    assert old.status == PositionGroup.Status.CLOSED
    # The entry opened a new group: acted on before the exit, it would have been a pyramid add
    # to the old group, which the exit would then have sold.
    assert entry.group_id == new.pk
    assert (new.status, new.pyramids.count()) == (PositionGroup.Status.OPEN, 1)
    assert exit_.processed_at < entry.processed_at
    assert max(exit_.order_ids) < min(entry.order_ids)

    process_signal(signal_id=exit_.pk)  # the exit's own task finds it done
    assert PositionGroup.objects.count() == 2


def test_a_task_drains_its_lane_later_signals_included_in_arrival_order(receive_only):
    exit_ = receive_only(EXIT)
    entry = receive_only(ENTRY)

    process_signal(signal_id=exit_.pk)

    exit_.refresh_from_db()
    entry.refresh_from_db()
    assert exit_.status == Signal.Status.REJECTED  # no group yet: nothing to exit
    assert entry.status == Signal.Status.EXECUTED
    assert exit_.processed_at < entry.processed_at


def test_a_task_finding_its_lane_busy_leaves_its_signal_to_the_holder(receive_only, monkeypatch):
    """The holder looks again after each signal, so one that arrives meanwhile, whose own task
    returned at once, is processed by the holder before it lets go of the lane."""

    first = receive_only(ENTRY | {"id": "first"})
    late: list[Signal] = []
    process_one = processing._process_one

    def arriving_meanwhile(signal_id: int) -> None:
        if not late:
            late.append(receive_only(ENTRY | {"id": "late", "timeframe": "60"}))
            process_signal(signal_id=late[0].pk)  # its task: the lane is held, so it returns
            late[0].refresh_from_db()
            assert late[0].status == Signal.Status.RECEIVED
        process_one(signal_id)

    monkeypatch.setattr(processing, "_process_one", arriving_meanwhile)
    process_signal(signal_id=first.pk)

    late[0].refresh_from_db()
    assert late[0].status == Signal.Status.EXECUTED


def test_other_symbols_are_other_lanes(route, receive_only):
    from apps.exchanges.paper.services import set_price

    set_price(symbol="ETH/USDT", price=Decimal("3000.00"))
    btc = receive_only(ENTRY)
    eth = receive_only(ENTRY | {"symbol": "ETHUSDT"})

    process_signal(signal_id=eth.pk)

    btc.refresh_from_db()
    eth.refresh_from_db()
    assert btc.status == Signal.Status.RECEIVED
    assert eth.status == Signal.Status.EXECUTED


@pytest.mark.django_db(transaction=True)
def test_concurrent_tasks_of_one_lane_still_act_in_arrival_order(route):
    """Real transactions on several connections: while a worker holds the lane, the exit's and
    the entry's tasks leave their signals waiting; the lane's next task is the entry's, and it
    acts on the exit first."""
    from apps.webhooks.services.ingest import receive_signal

    def received(body: bytes) -> Signal:
        try:
            return _received(body)
        finally:
            connection.close()  # each thread's own connection

    def _received(body: bytes) -> Signal:
        answer = receive_signal(
            token=route.token,
            content_length=len(body),
            read_body=lambda size: body[:size],
            content_type="application/json",
            source_ip="52.89.214.238",
            now=timezone.now(),
        )
        return Signal.objects.get(pk=answer.signal_id)

    # Recording runs each task inline on commit; the entry that opens the group is done.
    opened = received(b'{"action": "entry", "symbol": "BTCUSDT", "timeframe": "15", "id": "1"}')
    assert opened.status == Signal.Status.EXECUTED
    # Hold the lane, as a worker draining it would: the next two tasks return at once and leave
    # their signals waiting.
    from apps.core.locks import single_flight
    from apps.webhooks.services.processing import lane_name

    with single_flight(lane_name(route.account_id, "BTC/USDT"), ttl_seconds=60) as held:
        assert held
        exit_body = b'{"action": "exit", "symbol": "BTCUSDT", "timeframe": "15"}'
        exit_ = threading.Thread(target=received, args=(exit_body,))
        exit_.start()
        time.sleep(0.3)
        entry_body = b'{"action": "entry", "symbol": "BTCUSDT", "timeframe": "15", "id": "2"}'
        entry = threading.Thread(target=received, args=(entry_body,))
        entry.start()
        for thread in (exit_, entry):
            thread.join(timeout=30)
        assert Signal.objects.filter(status=Signal.Status.RECEIVED).count() == 2
    # The lane's next task (here the entry's, run again as the sweep loop would) drains it.
    later = Signal.objects.filter(status=Signal.Status.RECEIVED).order_by("-received_at").first()
    process_signal(signal_id=later.pk)

    signals = list(Signal.objects.order_by("received_at"))
    assert [s.status for s in signals] == ["executed"] * 3
    assert signals[1].action == "exit" and signals[1].processed_at < signals[2].processed_at
    assert PositionGroup.objects.filter(status="closed").count() == 1
    assert PositionGroup.objects.filter(status="open").count() == 1


# --- Freshness and route state at processing time ---------------------------------------------


def test_a_signal_that_arrived_past_its_max_lag_is_stale_and_places_nothing(receive_only):
    """Judged at arrival: it fired 6 minutes before the desk received it (a late delivery)."""
    signal = receive_only(ENTRY)
    fired = (signal.received_at - timedelta(minutes=6)).isoformat()
    Signal.objects.filter(pk=signal.pk).update(parsed=signal.parsed | {"fired_at": fired})

    process_signal(signal_id=signal.pk)

    signal.refresh_from_db()
    assert signal.status == Signal.Status.STALE
    assert signal.reason == "Stale: fired 360 s ago, more than the 300 s allowed."
    assert not Order.objects.exists()
    assert Event.objects.filter(kind="signal.stale", subject_id=str(signal.pk)).exists()


def test_a_signal_of_a_route_deactivated_before_processing_is_rejected(route, receive_only):
    signal = receive_only(ENTRY)
    set_route_active(route=route, active=False)

    process_signal(signal_id=signal.pk)

    signal.refresh_from_db()
    assert (signal.status, signal.reason) == (Signal.Status.REJECTED, "Its route was deactivated.")
    assert not Order.objects.exists()


def test_a_failure_inside_the_groups_is_recorded_with_an_error_event(receive_only, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("exchange adapter exploded")

    monkeypatch.setattr(processing, "act_on_signal", broken)  # fault injection, not a stand-in
    signal = receive_only(ENTRY)

    process_signal(signal_id=signal.pk)

    signal.refresh_from_db()
    assert signal.status == Signal.Status.REJECTED
    assert "RuntimeError: exchange adapter exploded" in signal.reason
    assert Event.objects.get(kind="signal.rejected").level == Event.Level.ERROR


# --- The sweep loop ---------------------------------------------------------------------------


def test_the_sweep_processes_a_signal_whose_task_was_lost(receive_only):
    signal = receive_only(ENTRY)
    sweep(now=timezone.now())  # too young: its task may still be on its way
    signal.refresh_from_db()
    assert signal.status == Signal.Status.RECEIVED

    sweep(now=timezone.now() + timedelta(seconds=20))

    signal.refresh_from_db()
    assert signal.status == Signal.Status.EXECUTED


def test_the_sweep_retries_a_signal_a_lost_worker_left_processing_before_it_wrote_anything(
    receive_only,
):
    signal = receive_only(ENTRY)
    Signal.objects.filter(pk=signal.pk).update(
        status=Signal.Status.PROCESSING, processed_at=timezone.now() - timedelta(minutes=10)
    )

    sweep(now=timezone.now())

    signal.refresh_from_db()
    assert signal.status == Signal.Status.EXECUTED
    assert signal.order_ids == list(
        Order.objects.filter(signal=signal).values_list("pk", flat=True)
    )
    assert Event.objects.filter(kind="signal.retried", subject_id=str(signal.pk)).count() == 1


# --- Live rows ----------------------------------------------------------------------------------


def drain(layer, channel) -> list[str]:
    async def receive_all() -> list[str]:
        messages = []
        while True:
            try:
                messages.append((await asyncio.wait_for(layer.receive(channel), 1))["html"])
            except TimeoutError:
                return messages

    return async_to_sync(receive_all)()


def test_each_signal_is_pushed_to_its_owners_signals_page_when_received_and_decided(route, deliver):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(join_live)(layer, user_id=route.owner_id, channel_name=channel)

    signal = deliver(ENTRY)

    pushed = [html for html in drain(layer, channel) if f'id="{signal.dom_id}"' in html]
    assert 'hx-swap-oob="afterend:#signal-head"' in pushed[0]  # new, on top
    assert any('hx-swap-oob="true"' in html and "Executed" in html for html in pushed)


@pytest.mark.django_db(transaction=True)
def test_simultaneous_deliveries_of_one_alert_record_one_signal_and_one_execution(route):
    """TradingView's resends and a proxy's retries can race: the unique key decides."""
    from apps.webhooks.services.ingest import receive_signal

    body = b'{"action": "entry", "symbol": "BTCUSDT", "timeframe": "15", "id": "once"}'
    start = threading.Barrier(5)
    answers = []

    def deliver_once():
        try:
            start.wait()
            answers.append(
                receive_signal(
                    token=route.token,
                    content_length=len(body),
                    read_body=lambda size: body[:size],
                    content_type="application/json",
                    source_ip="52.89.214.238",
                    now=timezone.now(),
                ).status
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver_once) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(answers) == ["accepted"] + ["duplicate"] * 4
    assert Signal.objects.exclude(status=Signal.Status.DUPLICATE).get().status == "executed"
    assert PositionGroup.objects.count() == 1
    assert Order.objects.filter(side="buy").count() == 1


# --- Sending a signal's orders ------------------------------------------------------------------


def test_a_signals_orders_are_sent_by_its_task_with_no_send_task_enqueued(
    receive_only, django_capture_on_commit_callbacks
):
    from apps.core.background import enqueue
    from apps.positions import tasks as position_tasks

    signal = receive_only(ENTRY)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        process_signal(signal_id=signal.pk)

    signal.refresh_from_db()
    assert signal.status == Signal.Status.EXECUTED
    assert Order.objects.get(signal=signal).status == Order.Status.FILLED
    # Each callback is `enqueue(task or task name, *args)`.
    enqueued = [c.args[0] for c in callbacks if getattr(c, "func", None) is enqueue]
    names = [getattr(task, "name", task) for task in enqueued]
    assert position_tasks.send_order.name not in names


def test_an_order_its_signals_task_failed_to_send_is_sent_by_the_order_sync_loop(
    receive_only, monkeypatch
):
    from apps.positions.services import orders as order_services

    def refuse(**kwargs):
        raise RuntimeError("worker lost its network")

    signal = receive_only(ENTRY)
    monkeypatch.setattr(processing, "send_order", refuse)
    process_signal(signal_id=signal.pk)
    monkeypatch.undo()

    order = Order.objects.get(signal=signal)
    assert order.status == Order.Status.PENDING
    later = timezone.now() + order_services.SEND_GRACE + timedelta(seconds=1)
    order_services.sync_orders(now=later)
    order.refresh_from_db()
    assert order.status == Order.Status.FILLED


def test_a_long_drain_hands_the_rest_of_its_lane_to_a_task_that_can_take_the_lane(
    receive_only, monkeypatch
):
    from types import SimpleNamespace

    from apps.core.locks import single_flight

    first = receive_only(ENTRY | {"id": "a"})
    second = receive_only(ENTRY | {"id": "b", "timeframe": "60"})
    clock = [0.0]
    monkeypatch.setattr(processing, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    process_one = processing._process_one

    def slow(signal_id: int) -> None:
        process_one(signal_id)
        clock[0] += processing.DRAIN_SECONDS + 1  # this one took the whole drain

    handed = []

    def enqueue(task, signal_id):
        with single_flight(
            processing.lane_name(first.account_id, first.symbol), ttl_seconds=5
        ) as free:
            handed.append((task, signal_id, free))

    monkeypatch.setattr(processing, "_process_one", slow)
    monkeypatch.setattr(processing, "enqueue", enqueue)
    process_signal(signal_id=first.pk)

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == Signal.Status.EXECUTED
    assert second.status == Signal.Status.RECEIVED
    assert handed == [("webhooks.process_signal", second.pk, True)]  # the lane was free


@pytest.mark.parametrize("broken", [{"fired_at": "not a time"}, {"max_lag_seconds": "1e99999"}])
def test_a_signal_with_an_unreadable_stored_value_is_rejected_and_its_lane_goes_on(
    receive_only, broken
):
    first = receive_only({**ENTRY, "id": "first"})
    second = receive_only({**ENTRY, "id": "second"})
    Signal.objects.filter(pk=first.pk).update(parsed={**first.parsed, **broken})

    process_signal(signal_id=first.pk)

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == Signal.Status.REJECTED
    assert first.reason.startswith("Its stored fire time or lag could not be read")
    assert second.status == Signal.Status.EXECUTED
