"""Live updates: services push server-rendered fragments to a user's open pages.

A fragment is the *same* partial the page renders, rendered without a request after the
transaction commits, and sent to the user's channel group. The consumer forwards it to the
browser, where htmx's ws extension swaps it in by element id (out-of-band).

Nothing is rendered for users with no page open: each open page keeps a presence mark in the
cache (`join_live`), and a push to users none of whom has a mark is dropped before rendering.
The loops push every few seconds, and most of the time nobody is looking.

Sending does not hold up the service that pushed: on a channel layer shared between processes
(Redis), each process hands its fragments to one publisher thread, which keeps its event loop
and its connection and sends them one after another, in the order they were pushed (a row's
"processing" must not overtake its "executed"). Opening an event loop and a Redis connection per
push cost a webhook answer or a signal's processing tens of milliseconds each time.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.core.cache import cache
from django.db import transaction
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

FRAGMENT_EVENT = "desk.fragment"  # handled by DeskConsumer.desk_fragment
# An open page renews its presence mark every PRESENCE_RENEW_SECONDS; a mark left by a page that
# closed expires after PRESENCE_SECONDS (pushes to it until then are rendered for nothing).
PRESENCE_SECONDS = 180
PRESENCE_RENEW_SECONDS = 60
# At exit, how long a process waits for its publisher to send what is still queued.
EXIT_FLUSH_SECONDS = 2.0


def user_group(user_id: int) -> str:
    """The channel group of one user's open pages; nothing else ever joins it."""
    return f"user.{user_id}"


def _presence_key(user_id: int) -> str:
    return f"live-presence:{user_id}"


async def join_live(layer, *, user_id: int, channel_name: str) -> None:
    """Join `channel_name` (an open page) to its user's group and mark the user present. The
    consumer calls it on connect and again every PRESENCE_RENEW_SECONDS."""
    await layer.group_add(user_group(user_id), channel_name)
    await cache.aset(_presence_key(user_id), 1, timeout=PRESENCE_SECONDS)


def is_watched(user_id: int) -> bool:
    """Whether the user has a page open: work done only to be pushed can be skipped if not."""
    return bool(_watched((user_id,)))


def _watched(recipients: tuple[int, ...]) -> tuple[int, ...]:
    """The recipients with a page open (all of them when the cache cannot tell)."""
    try:
        present = cache.get_many([_presence_key(user_id) for user_id in recipients])
    except Exception:
        logger.exception("Live presence not checked")
        return recipients
    return tuple(user_id for user_id in recipients if _presence_key(user_id) in present)


_held = threading.local()  # the live updates of a `live_updates_held` block, by key


@contextmanager
def live_updates_held() -> Iterator[None]:
    """Hold this thread's live updates until the block ends, then send them in order, each key
    once. A signal's processing runs in such a block: its orders are not kept waiting while its
    rows are rendered, and a row pushed several times is rendered once, in its final state."""
    if getattr(_held, "updates", None) is not None:
        yield  # nested: the outer block sends
        return
    _held.updates = {}
    try:
        yield
    finally:
        updates, _held.updates = _held.updates, None
        for send in updates.values():
            send()


def broadcast_fragment(
    *,
    user_ids: Iterable[int],
    template: str,
    context: dict[str, Any],
    key: str | None = None,
) -> None:
    """After the current transaction commits, render `template` once and push it to each user.

    `key` names what the fragment shows (a row): inside `live_updates_held`, a later push with
    the same key replaces an earlier one, since both would render the same final state.
    Delivery is best effort by design: a page that is not open misses the push and renders the
    current state when it next loads. A broken channel layer is logged and never fails the
    service that called us.
    """
    recipients = tuple(sorted(set(user_ids)))
    if not recipients:
        return

    def send() -> None:
        watching = _watched(recipients)
        if not watching:
            return
        html = render_to_string(template, context)
        layer = get_channel_layer()
        if isinstance(layer, InMemoryChannelLayer):
            # The embedded desk: the in-memory layer lives on the server's event loop, which
            # async_to_sync reaches from the server's worker threads.
            try:
                async_to_sync(_send_to_all)(layer, watching, html)
            except Exception:
                logger.exception("Live update %s could not be sent", template)
        else:
            _publisher.submit(layer, watching, html)

    transaction.on_commit(partial(_send_or_hold, send, key))


def _send_or_hold(send: Callable[[], None], key: str | None) -> None:
    updates = getattr(_held, "updates", None)
    if updates is None:
        send()
    else:
        updates[key if key is not None else object()] = send


async def _send_to_all(layer, recipients: tuple[int, ...], html: str) -> None:
    for user_id in recipients:
        await layer.group_send(user_group(user_id), {"type": FRAGMENT_EVENT, "html": html})


class _Publisher:
    """One daemon thread per process running an event loop that sends queued fragments in
    order. Started on first use, and again in a forked child (a Celery worker process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue | None = None
        self._pending = 0  # submitted, not yet sent: read by `flush`

    def submit(self, layer, recipients: tuple[int, ...], html: str) -> None:
        loop, queue = self._started()
        with self._lock:
            self._pending += 1
        loop.call_soon_threadsafe(queue.put_nowait, (layer, recipients, html))

    def flush(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for everything submitted to be sent; True if it was."""
        deadline = time.monotonic() + timeout
        while self._pending and self._pid == os.getpid() and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self._pending

    def _started(self) -> tuple[asyncio.AbstractEventLoop, asyncio.Queue]:
        with self._lock:
            if self._pid != os.getpid():
                ready = threading.Event()
                self._pending = 0
                threading.Thread(
                    target=self._run, args=(ready,), name="live-updates", daemon=True
                ).start()
                ready.wait()
                self._pid = os.getpid()
            return self._loop, self._queue

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop, self._queue = loop, asyncio.Queue()
        ready.set()
        loop.run_until_complete(self._send_forever())

    async def _send_forever(self) -> None:
        while True:
            layer, recipients, html = await self._queue.get()
            try:
                await _send_to_all(layer, recipients, html)
            except Exception:
                logger.exception("A live update could not be sent")
            finally:
                with self._lock:
                    self._pending -= 1


_publisher = _Publisher()


@atexit.register
def _flush_at_exit() -> None:
    # A management command or a test run that pushed just before exiting: let it be sent.
    _publisher.flush(EXIT_FLUSH_SECONDS)


def flush_live_updates(timeout: float = EXIT_FLUSH_SECONDS) -> bool:
    """Wait for this process's pushes to be sent (for tests and commands that end at once)."""
    return _publisher.flush(timeout)
