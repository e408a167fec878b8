"""Periodic loops: one tick at a time across all workers, and a record of every tick."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from contextvars import ContextVar
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F, Model
from django.utils import timezone

from apps.core.events import record_event
from apps.core.locks import lease
from apps.core.models import Event, LoopTick

logger = logging.getLogger(__name__)

T = TypeVar("T")
# The failures of the loop tick running in this context, for its LoopTick row.
_failures: ContextVar[list[str] | None] = ContextVar("loop_failures", default=None)
# One event per loop and failing item per this many seconds: a row that fails on every tick
# must not flood the audit trail.
FAILURE_EVENT_EVERY_SECONDS = 600


# A loop's tick holds a lease of this length, renewed while it runs: a worker killed mid-tick
# frees its loop within seconds, so a restarted desk runs its loops at once (with a fixed lock
# as long as a task may run, a kill -9 left the rules loop idle for over a minute).
LOOP_LEASE_SECONDS = 10


def run_loop(name: str, tick: Callable[[], None]) -> bool:
    """Run one tick of loop `name` unless a tick is already running anywhere.

    Returns False when the tick was skipped because another worker holds the loop. The tick is
    recorded when it starts (that is what liveness means) and again when it ends, with its
    duration and error, whether it succeeded or raised; errors propagate.
    """
    with lease(
        f"loop:{name}",
        seconds=LOOP_LEASE_SECONDS,
        max_hold_seconds=settings.CELERY_TASK_TIME_LIMIT + 10,
    ) as held:
        if held is None:
            logger.info("Loop %s skipped: a tick is still running", name)
            return False
        started = time.monotonic()
        _record_start(name)
        error = ""
        failures: list[str] = []
        token = _failures.set(failures)
        try:
            tick()
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            _failures.reset(token)
            if failures and not error:
                error = f"{len(failures)} failed this tick (the others went on): " + "; ".join(
                    failures[:3]
                )
            _record_finish(name, int((time.monotonic() - started) * 1000), error[:2000])
    return True


def each_isolated(
    loop: str, items: Iterable[T], act: Callable[[T], object], *, account_of=None
) -> int:
    """Call `act` on every item; an item that raises is logged, recorded as an event (for its
    account, at most every FAILURE_EVENT_EVERY_SECONDS) and skipped, and the others go on. The
    tick then ends with the failures as its error, which `/readyz` shows. Returns how many
    failed.

    One trader's hostile setting or one broken row must not stop a loop for every account
    after it. Each item runs in a savepoint when the caller holds a transaction, so a database
    error in one item does not poison the rest; the loops call this outside any transaction.
    """
    failed = 0
    for item in items:
        try:
            with transaction.atomic() if connection.in_atomic_block else nullcontext():
                act(item)
        except Exception as exc:
            failed += 1
            _item_failed(loop, item, exc, account_of(item) if account_of else None)
    return failed


def _item_failed(loop: str, item: object, exc: Exception, account) -> None:
    what = f"{type(item).__name__} {item.pk}" if isinstance(item, Model) else str(item)[:80]
    reason = f"{type(exc).__name__}: {str(exc)[:300]}"
    logger.error("Loop %s: %s failed: %s", loop, what, reason, exc_info=exc)
    failures = _failures.get()
    if failures is not None:
        failures.append(f"{what}: {reason}")
    try:
        throttle = f"loop-failed:{loop}:{what.replace(' ', '-')}"
        if not cache.add(throttle, 1, timeout=FAILURE_EVENT_EVERY_SECONDS):
            return
    except Exception:
        logger.exception("Loop failure throttle not checked")
    try:
        record_event(
            kind="loop.item_failed",
            message=f"The {loop} loop skipped {what} this tick: {reason}. The other accounts "
            "were handled; it is tried again at the next tick.",
            user=getattr(account, "owner", None),
            account=account,
            subject=item if isinstance(item, Model) else None,
            level=Event.Level.ERROR,
            data={"loop": loop, "item": what, "error": reason},
        )
    except Exception:
        logger.exception("Loop failure event not recorded")


def _record_start(name: str) -> None:
    # The loop's lock makes this the only writer of its row, so update-then-create cannot race.
    now = timezone.now()
    if not LoopTick.objects.filter(name=name).update(last_started_at=now, runs=F("runs") + 1):
        LoopTick.objects.create(name=name, last_started_at=now, runs=1)


def _record_finish(name: str, duration_ms: int, error: str) -> None:
    LoopTick.objects.filter(name=name).update(
        last_finished_at=timezone.now(), last_duration_ms=duration_ms, last_error=error
    )
