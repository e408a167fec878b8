"""Where Celery tasks run: on the stack's workers, or in this process for the embedded desk.

Services never call `task.delay` directly; they call `enqueue_on_commit`, so a task only runs
once the rows it reads are committed. Three cases, chosen by configuration, not by code paths:

* stack (`REDIS_URL` set): the task goes to the Redis broker and a `celery worker` runs it;
* embedded desk (`manage.py rundesk`): an `InProcessRunner` runs the beat schedule and every
  enqueued task in worker threads of this process;
* no broker and no runner (a management command, a shell, tests): the task runs inline.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import Any

from asgiref.sync import sync_to_async
from celery import Celery, Task, current_app
from celery.schedules import maybe_schedule
from django.db import close_old_connections, transaction

logger = logging.getLogger(__name__)

_runner: InProcessRunner | None = None


def enqueue(task: Task | str, *args: Any, **kwargs: Any) -> None:
    """Run `task` (a task, or its registered name: "trades.send_order") where tasks run.

    Services name the task rather than import their app's tasks module, which imports them:
    tasks are entry points above the services, as views are."""
    if isinstance(task, str):
        task = _named(task)
    if _runner is not None:
        _runner.submit(task, args, kwargs)
    else:
        task.apply_async(args=args, kwargs=kwargs)


def _named(name: str) -> Task:
    if name not in current_app.tasks:
        # A worker imports every app's tasks module when it starts; a web process has not
        # needed them yet.
        current_app.loader.import_default_modules()
    return current_app.tasks[name]


def enqueue_on_commit(task: Task | str, *args: Any, **kwargs: Any) -> None:
    """Enqueue `task` (or the task of that name) once the current transaction commits (at once
    outside a transaction)."""
    transaction.on_commit(partial(enqueue, task, *args, **kwargs))


class InProcessRunner:
    """Celery beat and a Celery worker, inside the embedded server's asyncio loop.

    Beat entries are read from the Celery app's `beat_schedule` and judged with Celery's own
    schedule objects, so intervals and crontabs mean what they mean on the stack. Each task runs
    with `Task.apply` (the real task function, retries included) in a worker thread; the threads
    are started by `sync_to_async`, which is what lets the channel layer inside a task reach the
    server's event loop.
    """

    def __init__(self, app: Celery, loop: asyncio.AbstractEventLoop) -> None:
        self.app = app
        self.loop = loop
        self._beat: asyncio.Task | None = None
        self._running: set[asyncio.Future] = set()

    def start(self) -> None:
        global _runner
        # A worker imports every app's tasks module at start; so must we, or beat names miss.
        self.app.loader.import_default_modules()
        _runner = self
        self._beat = self.loop.create_task(self._run_beat())
        self._beat.add_done_callback(_log_crash)

    async def shutdown(self, timeout: float = 10.0) -> None:
        """Stop scheduling, and give tasks already running up to `timeout` seconds to finish."""
        global _runner
        _runner = None
        if self._beat is not None:
            self._beat.cancel()
        pending = [self._beat, *self._running] if self._beat else list(self._running)
        if pending:
            await asyncio.wait(pending, timeout=timeout)

    def submit(self, task: Task, args: tuple, kwargs: dict) -> None:
        """Run `task` in a worker thread; safe to call from any thread."""
        self.loop.call_soon_threadsafe(self._spawn, task, args, kwargs)

    def _spawn(self, task: Task, args: tuple, kwargs: dict) -> None:
        future = asyncio.ensure_future(
            sync_to_async(_run_task, thread_sensitive=False)(task, args, kwargs)
        )
        self._running.add(future)
        future.add_done_callback(self._running.discard)

    async def _run_beat(self) -> None:
        entries = {name: dict(entry) for name, entry in self.app.conf.beat_schedule.items()}
        last_run: dict[str, Any] = {}
        while True:
            sleep_for = 60.0
            for name, entry in entries.items():
                schedule = maybe_schedule(entry["schedule"], app=self.app)
                # Unlike beat, run every loop once at start-up: the desk shows live state at once.
                due, next_in = (
                    (True, None) if name not in last_run else schedule.is_due(last_run[name])
                )
                if due:
                    last_run[name] = self.app.now()
                    task = self.app.tasks[entry["task"]]
                    self._spawn(task, tuple(entry.get("args", ())), dict(entry.get("kwargs", {})))
                    next_in = schedule.remaining_estimate(last_run[name]).total_seconds()
                sleep_for = min(sleep_for, max(float(next_in), 0.05))
            await asyncio.sleep(sleep_for)


def _log_crash(beat: asyncio.Task) -> None:
    if not beat.cancelled() and beat.exception() is not None:
        logger.error("In-process beat stopped", exc_info=beat.exception())


def _run_task(task: Task, args: tuple, kwargs: dict) -> None:
    # A worker would close stale connections around each task; do the same in our threads.
    close_old_connections()
    try:
        result = task.apply(args=args, kwargs=kwargs)
        if result.failed():
            logger.error("Task %s failed:\n%s", task.name, result.traceback)
    finally:
        close_old_connections()
