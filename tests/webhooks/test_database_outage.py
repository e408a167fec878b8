"""When PostgreSQL is away the webhook answers 503 within a second, and stores nothing it
answered 503 for; when it returns, signals are recorded again at once, stamped on arrival.

The outage is real: daphne reaches the test database through a TCP proxy that the test cuts
(every connection dropped, new ones left unanswered). The other tests run the recording on the
webhook's own threads in this process, where a database lock holds a recording up.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.db import connection, transaction
from django.utils import timezone

from apps.webhooks.models import Signal
from tests.servers import PYTHON, database_url_of_tests, free_port, get, serve
from tests.tcp_proxy import TcpProxy
from tests.webhooks.conftest import apost, post, url_of

pytestmark = pytest.mark.django_db(transaction=True)

ENTRY = {"action": "entry", "symbol": "BINANCE:BTCUSDT", "timeframe": "15", "price": "65000.5"}
# The budget is 1 s (WEBHOOK_RECORD_SECONDS); the rest is slack for a loaded CI machine.
PROMPT = 1.5


def send(url: str, body: dict) -> tuple[int, dict, float]:
    """POST as TradingView does; (status, JSON answer, seconds to the answer)."""
    headers = {"Content-Type": "application/json"}
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers)  # noqa: S310
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
            status, content = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, content = error.code, error.read()
    return status, json.loads(content), time.monotonic() - started


@pytest.fixture
def desk_behind_a_proxy():
    """daphne serving `tradedesk.asgi` on the test database, reached through a TcpProxy."""
    params = connection.settings_dict
    target = (params.get("HOST") or "127.0.0.1", int(params.get("PORT") or 5432))
    with TcpProxy(target) as proxy:
        through_proxy = database_url_of_tests().replace(
            f"@{target[0]}:{target[1]}/", f"@127.0.0.1:{proxy.port}/"
        )
        assert str(proxy.port) in through_proxy
        port = free_port()
        command = [PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
        # No worker runs: the processing task goes to an in-memory broker and stays there.
        env = {"DATABASE_URL": through_proxy, "CELERY_BROKER_URL": "memory://"}
        with serve([*command, "tradedesk.asgi:application"], port=port, env=env) as server:
            yield server, proxy


@pytest.mark.stack
def test_with_the_database_cut_the_webhook_answers_503_at_once_and_records_again_after(
    route, desk_behind_a_proxy
):
    server, proxy = desk_behind_a_proxy
    url = server.base_url + url_of(route)
    status, answer, _ = send(url, ENTRY | {"id": "before"})
    assert (status, answer["status"]) == (200, "accepted")
    assert proxy.connections >= 1  # the desk holds connections through the proxy

    proxy.cut()
    # More deliveries at once than the webhook has threads (8): some wait in its queue.
    with ThreadPoolExecutor(12) as senders:
        answers = list(senders.map(lambda n: send(url, ENTRY | {"id": f"cut-{n}"}), range(12)))
        health = get(server.base_url + "/healthz", timeout=PROMPT)

    assert [(status, answer["status"]) for status, answer, _ in answers] == [(503, "error")] * 12
    slowest = max(seconds for _, _, seconds in answers)
    assert slowest < PROMPT, f"a 503 took {slowest:.2f} s"
    assert health == (200, b'{"status": "ok"}')  # the rest of the desk still answers

    proxy.cut(refuse=True)  # PostgreSQL stopped: connections refused rather than unanswered
    refused = [send(url, ENTRY | {"id": f"refused-{n}"}) for n in range(3)]
    assert [(status, answer["status"]) for status, answer, _ in refused] == [(503, "error")] * 3
    assert max(seconds for _, _, seconds in refused) < PROMPT

    proxy.restore()
    sent_at = timezone.now()
    status, answer, seconds = send(url, ENTRY | {"id": "after"})
    assert (status, answer["status"]) == (200, "accepted"), answer
    assert seconds < PROMPT
    after = Signal.objects.get(pk=answer["signal_id"])
    assert timedelta(0) <= after.received_at - sent_at < timedelta(seconds=0.5)

    # The recordings that were answered 503 never store their signal, even now that they could.
    time.sleep(3)  # past the connect timeout (2 s) of any recording still under way
    assert sorted(Signal.objects.values_list("key", flat=True)) == ["id:after", "id:before"]


# --- On the webhook's own threads, in this process ---------------------------------------------


@pytest.fixture
def own_threads(monkeypatch, settings):
    """The recording on the webhook's threads (2 of them here), as daphne runs it."""
    from apps.webhooks.views import receive

    settings.WEBHOOK_THREADS = 2
    receive.stop_recorder()
    monkeypatch.setattr(receive, "RECORD_ON_SHARED_THREAD", False)
    yield receive
    receive.stop_recorder()  # closes the threads' connections before the database is flushed


def test_a_signal_is_stamped_when_it_arrives_not_when_a_thread_is_free(route, own_threads):
    release = threading.Event()
    blockers = [own_threads.recorder().submit(release.wait) for _ in range(2)]
    threading.Timer(0.6, release.set).start()  # both threads busy for the first 0.6 s

    sent_at = timezone.now()
    started = time.monotonic()
    answer = post(route, ENTRY)
    waited = time.monotonic() - started

    assert all(blocker.done() for blocker in blockers)
    assert answer.status_code == 200 and waited >= 0.6  # the recording started late...
    signal = Signal.objects.get(pk=answer.json()["signal_id"])
    assert signal.received_at - sent_at < timedelta(seconds=0.3)  # ...stamped on arrival


def test_a_recording_held_past_the_deadline_answers_503_and_never_stores_it(route, own_threads):
    inserted, release = threading.Event(), threading.Event()

    def hold_the_same_key() -> None:
        # An uncommitted signal with the same key: the webhook's insert waits for this
        # transaction (the unique index), which rolls back once the webhook has answered.
        try:
            with transaction.atomic():
                Signal.objects.create(
                    route=route, account=route.account, received_at=timezone.now(),
                    body=b"held", key="id:held", status=Signal.Status.REJECTED,
                )  # fmt: skip
                inserted.set()
                release.wait(10)
                transaction.set_rollback(True)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_same_key)
    holder.start()
    assert inserted.wait(5)
    started = time.monotonic()
    answer = post(route, ENTRY | {"id": "held"})
    answered_in = time.monotonic() - started
    release.set()
    holder.join()

    assert (answer.status_code, answer.json()["status"]) == (503, "error")
    assert answered_in < PROMPT
    # Its insert goes through once the lock is gone, and the recording rolls it back.
    own_threads.stop_recorder()  # waits for the recording thread to finish
    assert not Signal.objects.filter(key="id:held").exists()
    assert post(route, ENTRY | {"id": "held"}).json()["status"] == "accepted"  # the resend


def test_a_burst_that_keeps_recording_is_answered_past_the_first_deadline(
    route, own_threads, settings
):
    # One thread, and a first deadline far shorter than the burst takes to record: each
    # request waits on because the others keep committing (busy, not stuck). An unknown symbol
    # is recorded (rejected) without a processing task, which would run inline under pytest.
    unknown = ENTRY | {"symbol": "NOPEUSDT"}
    settings.WEBHOOK_THREADS = 1
    # The first recording opens the thread's connection and warms the process's caches.
    assert post(route, unknown | {"id": "first"}).json()["status"] == "rejected"
    settings.WEBHOOK_RECORD_SECONDS = 0.3
    settings.WEBHOOK_BUSY_SECONDS = 20

    async def timed_post(n: int) -> tuple[int, float]:
        started = time.monotonic()
        reply = await apost(route, unknown | {"id": f"burst-{n}"})
        return reply.status_code, time.monotonic() - started

    async def burst() -> list[tuple[int, float]]:
        # 60 requests at once on one event loop, as daphne serves them (60 client threads in
        # this process would starve the recording thread of the GIL, which daphne's never is).
        return await asyncio.gather(*(timed_post(n) for n in range(60)))

    answers = async_to_sync(burst)()

    assert [status for status, _ in answers] == [200] * 60
    assert max(seconds for _, seconds in answers) > 0.3  # some waited past the first deadline
    assert Signal.objects.filter(key__startswith="id:burst-").count() == 60
