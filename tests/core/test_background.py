"""The embedded desk's in-process runner: beat schedule honoured, tasks run off the caller."""

import asyncio
import threading

import pytest
from django.db import transaction

from apps.core import background
from apps.core.background import InProcessRunner, enqueue_on_commit
from apps.core.models import LoopTick
from tradedesk.celery import app as celery_app

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def runner():
    """A runner on an event loop in its own thread, as daphne's loop is in `rundesk`."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    runner = InProcessRunner(celery_app, loop)
    loop.call_soon_threadsafe(runner.start)
    yield runner
    asyncio.run_coroutine_threadsafe(runner.shutdown(), loop).result(timeout=15)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=5)
    loop.close()


def wait_for(predicate, seconds=5.0):
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_the_beat_schedule_runs_the_loops_repeatedly(runner):
    # HEARTBEAT_SECONDS is 1 under test: several ticks arrive within a few seconds.
    assert wait_for(lambda: LoopTick.objects.filter(name="core.heartbeat", runs__gte=3).exists())


callers: list[threading.Thread] = []


@celery_app.task(name="tests.core.record_caller")
def record_caller() -> None:
    """Not on the beat schedule (unlike the heartbeat), so only the enqueued call runs it."""
    callers.append(threading.current_thread())


def test_an_enqueued_task_runs_in_a_worker_thread_after_commit(runner):
    assert wait_for(lambda: background._runner is runner)
    callers.clear()
    with transaction.atomic():
        enqueue_on_commit(record_caller)
        assert callers == []  # not before commit
    assert wait_for(lambda: callers)
    assert callers[0] is not threading.current_thread()
