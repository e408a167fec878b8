"""Webhook signals through the queue: each queue move is the signal's decision, an event on its
timeline, and a live update of the Signals page and of the Queue & Pool page."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from apps.core.broadcast import join_live, user_group
from apps.core.models import Event
from apps.positions.models import Order, PositionGroup
from apps.trade_queue.models import QueuedSignal
from apps.trade_queue.services import promote_account
from apps.webhooks.models import Signal
from apps.webhooks.services import create_route
from tests.tickets.factories import StrategyFactory
from tests.trade_queue.conftest import row
from tests.webhooks.conftest import post

pytestmark = pytest.mark.django_db

ENTRY = {"action": "entry", "symbol": "BINANCE:BTCUSDT", "timeframe": "15"}
EXIT = {"action": "exit", "symbol": "BINANCE:BTCUSDT", "timeframe": "15"}
ETH = {"symbol": "BINANCE:ETHUSDT"}


@pytest.fixture
def route(pool):
    return create_route(
        owner=pool.owner,
        label="TV main",
        account=pool,
        strategy=StrategyFactory(owner=pool.owner, name="Breakout"),
        ip_allowlist="",
        max_lag_seconds=300,
        rate_limit_per_minute=0,
    )


@pytest.fixture
def deliver(client, route, django_capture_on_commit_callbacks):
    """Post as TradingView does and run what it enqueues (processing, promotions, sends)."""

    def run(body) -> Signal:
        with django_capture_on_commit_callbacks(execute=True):
            answer = post(route, body).json()
        return Signal.objects.get(pk=answer["signal_id"])

    return run


def drain(layer, channel) -> list[str]:
    async def receive_all() -> list[str]:
        messages = []
        while True:
            try:
                messages.append((await asyncio.wait_for(layer.receive(channel), 0.5))["html"])
            except TimeoutError:
                return messages

    return async_to_sync(receive_all)()


def kinds_of(signal: Signal) -> list[str]:
    return list(
        Event.objects.filter(subject_type="webhooks.signal", subject_id=str(signal.pk))
        .order_by("pk")
        .values_list("kind", flat=True)
    )


def test_a_queued_signal_is_replaced_cancelled_by_exit_and_promoted_each_a_decision(pool, deliver):
    assert deliver(ENTRY).status == "executed"

    first = deliver(ENTRY | ETH | {"price": "3200"})
    assert (first.status, first.group_id) == ("queued", None)
    assert first.reason.startswith("Queued at rank 1 of 1: ")

    second = deliver(ENTRY | ETH | {"price": "3190", "id": "newer"})
    first.refresh_from_db()
    assert second.status == "queued"
    assert first.status == "replaced"
    assert first.reason.startswith(
        f"Replaced in the queue by a newer ETH/USDT 15m long entry (signal {second.pk}); "
    )
    assert row(pool, "ETH/USDT").replacements == 1

    exit_ = deliver(EXIT | ETH)
    second.refresh_from_db()
    assert exit_.status == "executed"
    assert second.status == "cancelled"
    assert second.reason == (
        f"Cancelled by exit signal {exit_.pk}: the ETH/USDT 15m long entry waiting for a slot "
        "is dropped."
    )

    third = deliver(ENTRY | ETH | {"id": "again"})
    assert third.status == "queued"
    deliver(EXIT)  # BTC closes: its slot goes to the queued ETH entry at once

    third.refresh_from_db()
    group = PositionGroup.objects.get(symbol="ETH/USDT")
    assert third.status == "executed"
    assert third.reason.startswith("Promoted from the queue (waited ")
    assert third.group_id == group.pk
    assert third.order_ids == list(Order.objects.filter(group=group).values_list("pk", flat=True))
    assert kinds_of(first) == ["signal.queued", "signal.replaced"]
    assert kinds_of(second) == ["signal.queued", "signal.cancelled"]
    assert kinds_of(third) == ["signal.queued", "signal.promoted"]
    promoted = Event.objects.get(kind="signal.promoted")
    assert (
        promoted.data["group"] == group.pk and promoted.data["queued"] == row(pool, "ETH/USDT").pk
    )


def test_a_queued_signal_expires_when_its_routes_max_lag_runs_out_first(pool, deliver):
    deliver(ENTRY)
    queued_signal = deliver(ENTRY | ETH)
    queued = row(pool, "ETH/USDT")
    # The route allows 300 s from arrival: sooner than the queue's 60 min.
    assert queued.expires_at == queued_signal.received_at + timedelta(seconds=300)

    promote_account(account_id=pool.pk, now=queued_signal.received_at + timedelta(seconds=301))

    queued_signal.refresh_from_db()
    assert row(pool, "ETH/USDT").status == "expired"
    assert queued_signal.status == "expired"
    assert queued_signal.reason == (
        "Expired in the queue. Stale: received 301 s ago, more than the 300 s allowed."
    )
    assert kinds_of(queued_signal) == ["signal.queued", "signal.expired"]


def test_a_promotion_checks_its_signals_freshness_as_if_it_had_just_arrived(
    pool, deliver, route, django_capture_on_commit_callbacks
):
    deliver(ENTRY)
    queued_signal = deliver(ENTRY | ETH)
    # Its route's max lag was shortened while it waited: promoted now, it is too old.
    Signal.objects.filter(pk=queued_signal.pk).update(
        received_at=queued_signal.received_at - timedelta(seconds=120)
    )
    route.max_lag_seconds = 60
    route.save(update_fields=["max_lag_seconds"])

    deliver(EXIT)

    queued_signal.refresh_from_db()
    assert queued_signal.status == "expired"
    assert queued_signal.reason.startswith("Expired in the queue. Stale: received 12")
    assert not PositionGroup.objects.filter(symbol="ETH/USDT").exists()
    assert QueuedSignal.objects.get().status == "expired"


def listen(user_id: int):
    """A fresh channel in the user's group (each drain runs its own event loop)."""
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(join_live)(layer, user_id=user_id, channel_name=channel)
    return layer, channel


def test_queue_moves_are_pushed_live_to_the_queue_page_and_the_signals_page(pool, deliver):
    deliver(ENTRY)
    layer, channel = listen(pool.owner_id)

    queued_signal = deliver(ENTRY | ETH)

    pushed = drain(layer, channel)
    pool_block = [html for html in pushed if f'id="pool-{pool.pk}"' in html]
    assert pool_block and 'hx-swap-oob="true"' in pool_block[-1]
    assert f'id="queued-{row(pool, "ETH/USDT").pk}"' in pool_block[-1]
    assert "1 / 1" in pool_block[-1]
    assert any(f'id="{queued_signal.dom_id}"' in html and "Queued" in html for html in pushed)

    async_to_sync(layer.group_discard)(user_group(pool.owner_id), channel)
    layer, channel = listen(pool.owner_id)
    deliver(EXIT)

    pushed = drain(layer, channel)
    last_pool = [html for html in pushed if f'id="pool-{pool.pk}"' in html][-1]
    assert "ETH/USDT" not in last_pool.split("<tbody>")[1]  # promoted: out of the queue
    assert "1 / 1" in last_pool  # ETH holds the slot BTC freed
    assert any(f'id="{queued_signal.dom_id}"' in html and "Executed" in html for html in pushed)
