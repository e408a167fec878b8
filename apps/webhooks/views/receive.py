"""The webhook TradingView posts to: `POST /webhooks/tv/<token>/`, no login, no CSRF (the
token in the URL authenticates).

A bare ASGI application, routed in `tradedesk.asgi` ahead of Django's handler. A webhook is a
machine's call, and TradingView gives up after 3 seconds: it needs none of what the browser
middleware does (sessions, CSRF, login lockout, CSP, static files), and under a burst of
alerts on one bar close that middleware, with its hops between the event loop and threads,
cost more than the recording. So the request goes straight to `receive_signal`, and its answer
goes straight back.

TradingView never resends a request it gave up on, but resends a 5xx after 5 s (three times).
So when the desk cannot record a signal it must say so quickly, and it must never say 503
about a signal it then stores. How the recording is run, step by step:

1. The arrival time is taken as the request arrives, in the event loop: it is the signal's
   `received_at` (staleness and duplicate windows are judged from it), however late a thread
   gets to it.
2. The recording runs on this module's own threads (`WEBHOOK_THREADS`), not on the loop's
   default executor that other sync code shares, behind a bounded queue (`WEBHOOK_QUEUE`):
   a full queue answers 503 at once.
3. Each of those threads keeps its own PostgreSQL connection, open across requests, outside
   the process's pool, with a short connect timeout (`WEBHOOK_DATABASE_OPTIONS`). So a
   recording never waits for a pool slot, nor for the pool's reconnect backoff after an
   outage (which kept answers slow for seconds after PostgreSQL returned): a broken connection
   is found by the health check and reopened by the next request itself, and a thread that
   cannot reach the database gives up within the connect timeout.
4. The event loop waits for the answer until `WEBHOOK_RECORD_SECONDS` (1 s) after arrival,
   then answers 503 and abandons the delivery. Unless the threads are busy rather than
   stuck: when other recordings have committed since this request arrived (a burst of
   alerts on one bar close), it waits on, up to `WEBHOOK_BUSY_SECONDS` (2 s, still inside
   TradingView's 3 s), since a 503 would delay that signal by 5 s for nothing.
   The whole recording is one transaction that this module commits only if the delivery was
   not abandoned first (a lock decides which came first), so an abandoned delivery stores
   nothing: a job still queued never runs, a running one rolls back. One case cannot be
   prevented: a COMMIT already sent when the deadline passes. Then the answer is 503 though
   the signal may be stored, and TradingView's resend of it is recorded as a duplicate (same
   idempotency key, received within the window).
5. The answer is sent as soon as the transaction commits; what runs on commit (enqueueing the
   processing task, live rows) runs after, on the recording thread.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from datetime import datetime
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    close_old_connections,
    connections,
    transaction,
)
from django.db.utils import load_backend
from django.http.request import split_domain_port, validate_host
from django.utils import timezone

from apps.webhooks.domain.envelope import MAX_BODY_BYTES
from apps.webhooks.services import Answer, client_ip, receive_signal
from apps.webhooks.services.ingest import NOT_RECORDED

logger = logging.getLogger(__name__)

PATH = "webhooks/tv/<str:token>/"  # the trailing slash is optional (tradedesk.asgi)


def path_of(token: str) -> str:
    """A route's webhook path, e.g. to show its URL."""
    return "/" + PATH.replace("<str:token>", token)


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]

# Where the recording runs: False is this module's threads (concurrent deliveries in
# parallel, with the deadline). The test suite sets True, so the recording uses the test's own
# connection and sees the rows its uncommitted test transaction holds; the stack tests (and
# the browser tests and benchmarks) cover the threads.
RECORD_ON_SHARED_THREAD = False

JSON = [(b"content-type", b"application/json")]
BAD_HOST = Answer(400, "refused", "This desk does not answer to that host name (ALLOWED_HOSTS).")


async def tradingview_webhook(scope: Scope, receive: Receive, send: Send) -> None:
    received_at, arrived = timezone.now(), time.monotonic()  # step 1: before any wait
    if scope["method"] != "POST":
        await _respond(send, 405, b"", [(b"allow", b"POST")])
        return
    headers = _meta(scope)
    body = await _read_body(receive)
    if body is None:
        return  # the caller hung up before sending the whole body: nothing to answer
    if not _host_allowed(headers.get("HTTP_HOST", "")):
        await _respond(send, BAD_HOST.http_status, _json(BAD_HOST), JSON)
        return
    token = scope["url_route"]["kwargs"]["token"]
    if RECORD_ON_SHARED_THREAD:
        record = sync_to_async(_record, thread_sensitive=True)
        answer = await record(token, headers, body, received_at, None)
    else:
        answer = await _record_by_deadline(token, headers, body, received_at, arrived)
    await _respond(send, answer.http_status, _json(answer), JSON)


async def _record_by_deadline(
    token: str, meta: dict[str, str], body: bytes, received_at: datetime, arrived: float
) -> Answer:
    """Steps 2 and 4: the answer of the recording thread, or 503 at the deadline."""
    threads = recorder()
    delivery = Delivery(asyncio.get_running_loop(), threads)
    job = threads.submit(_record_on_own_thread, delivery, token, meta, body, received_at)
    if job is None:
        logger.warning("Webhook answered 503: all recording threads busy, queue full")
        return NOT_RECORDED
    for limit in (settings.WEBHOOK_RECORD_SECONDS, settings.WEBHOOK_BUSY_SECONDS):
        try:
            waiting = asyncio.shield(delivery.answered)
            return await asyncio.wait_for(waiting, arrived + limit - time.monotonic())
        except TimeoutError:
            if not threads.committed_since(arrived):
                break  # nothing recorded since this request came: the database is away
    job.cancel()  # still queued: it never runs
    delivery.answered.cancel()  # what the thread may still hand over goes nowhere
    stored = "" if delivery.abandon() else " (its commit was under way: it may be stored)"
    logger.warning("Webhook answered 503: not recorded within the deadline%s", stored)
    return NOT_RECORDED


class Delivery:
    """One request handed to a recording thread: whether it may still commit, and its answer.

    The event loop abandons it at the deadline; the thread asks before committing. The lock
    makes those two one decision: either the commit goes ahead and the answer will be its
    outcome, or the delivery is abandoned and nothing is stored.
    """

    QUEUED, RUNNING, COMMITTING, ABANDONED = "queued", "running", "committing", "abandoned"

    def __init__(
        self, loop: asyncio.AbstractEventLoop | None = None, recorder: Recorder | None = None
    ) -> None:
        self.state = self.QUEUED
        self._lock = threading.Lock()
        self._loop = loop
        self._recorder = recorder
        self.answered: asyncio.Future[Answer] | None = loop.create_future() if loop else None
        self.answer: Answer | None = None

    def _move(self, to: str, *, allowed: tuple[str, ...]) -> bool:
        with self._lock:
            if self.state not in allowed:
                return False
            self.state = to
            return True

    def start(self) -> bool:
        return self._move(self.RUNNING, allowed=(self.QUEUED,))

    def may_commit(self, answer: Answer) -> bool:
        self.answer = answer
        return self._move(self.COMMITTING, allowed=(self.RUNNING,))

    def abandon(self) -> bool:
        """False when the commit was already under way (its outcome is not known here)."""
        return self._move(self.ABANDONED, allowed=(self.QUEUED, self.RUNNING))

    def committed(self) -> None:
        """On commit, before any other on-commit work: the caller need not wait for that."""
        if self._recorder is not None:
            self._recorder.last_commit = time.monotonic()
        self.settle(self.answer)

    def settle(self, answer: Answer | BaseException) -> None:
        """Hand the answer (or the error) to the event loop; safe to call more than once."""
        if self._loop is None:
            return
        # A closed loop (the server shutting down) has nobody waiting.
        with suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._resolve, answer)

    def _resolve(self, answer: Answer | BaseException) -> None:
        if self.answered.done():  # answered already, or given up on at the deadline
            return
        if isinstance(answer, BaseException):
            self.answered.set_exception(answer)
        else:
            self.answered.set_result(answer)


class Recorder:
    """The webhook's recording threads (step 2), each with its own connection (step 3)."""

    def __init__(self, *, threads: int, queue: int) -> None:
        # Queued or running jobs: beyond this many, a request is answered 503 at once.
        self._room = threading.BoundedSemaphore(threads + queue)
        self.last_commit = 0.0  # time.monotonic() of the last recording committed
        self._lock = threading.Lock()
        self._connections: list = []
        self._executor = ThreadPoolExecutor(
            threads, thread_name_prefix="webhook-record", initializer=self._own_connection
        )

    def submit(self, function: Callable, /, *args: Any) -> Future | None:
        if not self._room.acquire(blocking=False):
            return None
        try:
            job = self._executor.submit(function, *args)
        except RuntimeError:  # shut down
            self._room.release()
            return None
        job.add_done_callback(lambda _: self._room.release())  # run, failed or cancelled
        return job

    def committed_since(self, moment: float) -> bool:
        return self.last_commit > moment

    def close(self) -> None:
        """Wait for the threads to finish and close their connections (tests, shutdown)."""
        self._executor.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            for wrapper in self._connections:
                if wrapper.connection is not None:
                    wrapper.connection.close()
            self._connections.clear()

    def _own_connection(self) -> None:
        wrapper = webhook_connection()
        if wrapper is not None:
            # This thread's "default" connection, as Django's LiveServerThread overrides one.
            connections[DEFAULT_DB_ALIAS] = wrapper
            with self._lock:
                self._connections.append(wrapper)


def webhook_connection():
    """A connection to the default database like Django's own, but outside the pool, kept
    open, health-checked, with `WEBHOOK_DATABASE_OPTIONS`. None when the settings give no such
    options (SQLite: the thread's own connection is already outside any pool)."""
    if not settings.WEBHOOK_DATABASE_OPTIONS:
        return None
    # The live settings, not a copy made at import: under pytest they name the test database.
    base = connections.settings[DEFAULT_DB_ALIAS]
    options = {name: value for name, value in base["OPTIONS"].items() if name != "pool"}
    params = {
        **base,
        "OPTIONS": options | settings.WEBHOOK_DATABASE_OPTIONS,
        "CONN_MAX_AGE": None,
        "CONN_HEALTH_CHECKS": True,
    }
    return load_backend(params["ENGINE"]).DatabaseWrapper(params, DEFAULT_DB_ALIAS)


_recorder: Recorder | None = None
_recorder_lock = threading.Lock()


def recorder() -> Recorder:
    global _recorder
    with _recorder_lock:
        if _recorder is None:
            _recorder = Recorder(threads=settings.WEBHOOK_THREADS, queue=settings.WEBHOOK_QUEUE)
        return _recorder


def stop_recorder() -> None:
    """Close the recording threads and their connections; the next request starts new ones."""
    global _recorder
    with _recorder_lock:
        stopping, _recorder = _recorder, None
    if stopping is not None:
        stopping.close()


def _json(answer: Answer) -> bytes:
    return json.dumps(answer.payload(), ensure_ascii=False).encode()


def _host_allowed(host: str) -> bool:
    """Django's ALLOWED_HOSTS check, which its middleware made before this endpoint bypassed
    it: the Host header must name this desk."""
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]  # as Django allows in DEBUG
    domain, _ = split_domain_port(host)
    return bool(domain) and validate_host(domain, allowed)


def _meta(scope: Scope) -> dict[str, str]:
    """The request's headers in the names Django's `request.META` uses, and the peer."""
    meta = {
        "HTTP_" + name.decode("latin-1").upper().replace("-", "_"): value.decode("latin-1")
        for name, value in scope.get("headers", [])
    }
    meta["CONTENT_TYPE"] = meta.pop("HTTP_CONTENT_TYPE", "")
    meta["CONTENT_LENGTH"] = meta.pop("HTTP_CONTENT_LENGTH", "")
    meta["REMOTE_ADDR"] = (scope.get("client") or ("", 0))[0] or ""
    return meta


async def _read_body(receive: Receive) -> bytes | None:
    """The body, cut at one byte past the limit (enough to answer 413); the rest is read and
    dropped. None when the caller disconnects first."""
    kept = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        if len(kept) <= MAX_BODY_BYTES:
            kept += message.get("body", b"")[: MAX_BODY_BYTES + 1 - len(kept)]
        if not message.get("more_body", False):
            return bytes(kept)


def _record_on_own_thread(
    delivery: Delivery, token: str, meta: dict[str, str], body: bytes, received_at: datetime
) -> None:
    if not delivery.start():
        return  # answered 503 before a thread was free: nothing was done, nothing will be
    # Not one of Django's request threads: like a request, drop a connection that broke
    # before (and health-check it on first use), and give it back after.
    close_old_connections()
    try:
        delivery.settle(_record(token, meta, body, received_at, delivery))
    except Exception as exc:  # raised in the handler: daphne logs it and answers 500
        delivery.settle(exc)
    finally:
        close_old_connections()


def _record(
    token: str,
    meta: dict[str, str],
    body: bytes,
    received_at: datetime,
    delivery: Delivery | None,
) -> Answer:
    """`receive_signal` in one transaction, committed unless the answer is a 5xx or the
    delivery was abandoned (step 4). Without a delivery (the shared thread) it always commits."""
    answer = NOT_RECORDED
    try:
        with transaction.atomic():
            if delivery is not None:
                # Registered first, so it runs first on commit: the answer need not wait.
                transaction.on_commit(delivery.committed)
            answer = _answer(token, meta, body, received_at)
            if answer.http_status >= 500 or (
                delivery is not None and not delivery.may_commit(answer)
            ):
                transaction.set_rollback(True)
                return answer if answer.http_status >= 500 else NOT_RECORDED
    # No connection, or the commit failed: nothing stored (if a failed COMMIT did reach the
    # server, the resend is recorded as a duplicate).
    except DatabaseError as exc:
        logger.warning("A webhook request could not be recorded: %s", _first_line(exc))
        return NOT_RECORDED if answer.http_status < 300 else answer
    return answer


def _answer(token: str, meta: dict[str, str], body: bytes, received_at: datetime) -> Answer:
    return receive_signal(
        token=token,
        content_length=_content_length(meta.get("CONTENT_LENGTH")),
        read_body=lambda limit: body[:limit],
        content_type=meta.get("CONTENT_TYPE", ""),
        source_ip=client_ip(meta),
        now=received_at,
    )


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _content_length(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None  # the body's real length is checked as it is read


# What Django's SecurityMiddleware would add, had this endpoint not bypassed it.
SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff")]


async def _respond(send: Send, status: int, body: bytes, headers: list) -> None:
    headers = [*headers, *SECURITY_HEADERS]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
