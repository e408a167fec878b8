import time

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from apps.core import locks, loops
from apps.core.broadcast import join_live
from apps.core.locks import single_flight
from apps.core.loops import run_loop
from apps.core.models import LoopTick
from apps.core.services import heartbeat
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_tick_is_recorded_with_its_duration():
    assert run_loop("test.loop", lambda: None) is True
    assert run_loop("test.loop", lambda: None) is True
    tick = LoopTick.objects.get(name="test.loop")
    assert tick.runs == 2
    assert tick.last_finished_at >= tick.last_started_at
    assert tick.last_duration_ms is not None
    assert tick.last_error == ""


def test_a_tick_is_skipped_while_another_holds_the_loop():
    ran = []
    with single_flight("loop:test.loop", ttl_seconds=30) as held:
        assert held
        assert run_loop("test.loop", lambda: ran.append(1)) is False
    assert ran == []
    assert not LoopTick.objects.filter(name="test.loop").exists()
    assert run_loop("test.loop", lambda: ran.append(1)) is True  # released on exit
    assert ran == [1]


def test_a_tick_whose_worker_died_frees_its_loop_within_the_lease(monkeypatch):
    """kill -9 mid-tick: nothing renews the loop's lease any more, and the restarted desk's
    next tick runs once the lease lapses (seconds), not after a task's whole time limit."""
    monkeypatch.setattr(loops, "LOOP_LEASE_SECONDS", 1)
    monkeypatch.setattr(locks.Lease, "_keep", lambda lease: None)  # the dead worker's keeper
    ran = []

    def dying_tick():
        # The worker hangs here forever, as far as the others can tell; meanwhile a fresh
        # worker's tick is refused at once and runs after the lease's second.
        assert run_loop("test.loop", lambda: ran.append("too soon")) is False
        time.sleep(1.3)
        assert run_loop("test.loop", lambda: ran.append("after the lease")) is True

    run_loop("test.loop", dying_tick)

    assert ran == ["after the lease"]


def test_a_failing_tick_records_its_error_and_raises():
    def tick():
        raise ValueError("exchange said no")

    with pytest.raises(ValueError):
        run_loop("test.loop", tick)
    assert LoopTick.objects.get(name="test.loop").last_error == "ValueError: exchange said no"
    assert run_loop("test.loop", lambda: None) is True  # the lock did not leak


@pytest.mark.django_db(transaction=True)
def test_heartbeat_pushes_the_desk_status_to_active_users_only():
    active, inactive = UserFactory(), UserFactory(is_active=False)
    layer = get_channel_layer()
    channels = {}
    for user in (active, inactive):
        channels[user] = async_to_sync(layer.new_channel)()
        async_to_sync(join_live)(layer, user_id=user.pk, channel_name=channels[user])

    assert heartbeat() is True

    # Read in one event loop: the Redis layer's receive buffer belongs to the loop it runs on.
    received = async_to_sync(_receive_all)(layer, channels[active], 1.0)
    status = [html for html in received if 'id="desk-status"' in html]
    header = [html for html in received if '<section id="desk-header"' in html]
    assert len(status) == 1 and "core.heartbeat" in status[0]
    # Then the user's Desk header, swapped in by its id, with the loops' health.
    assert len(header) == 1 and 'hx-swap-oob="true"' in header[0]
    assert 'id="figure-health"' in header[0]
    assert LoopTick.objects.get(name="core.heartbeat").runs == 1
    with pytest.raises(TimeoutError):
        async_to_sync(_receive_within)(layer, channels[inactive], 0.3)


async def _receive_all(layer, channel, quiet_seconds):
    """Every message until none arrives for `quiet_seconds`."""
    import asyncio

    messages = []
    while True:
        try:
            message = await asyncio.wait_for(layer.receive(channel), quiet_seconds)
        except TimeoutError:
            return messages
        messages.append(message["html"])


async def _receive_within(layer, channel, seconds):
    import asyncio

    return await asyncio.wait_for(layer.receive(channel), seconds)
