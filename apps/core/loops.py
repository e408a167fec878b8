"""Periodic loops: one tick at a time across all workers, and a record of every tick."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from apps.core.locks import single_flight
from apps.core.models import LoopTick

logger = logging.getLogger(__name__)


def run_loop(name: str, tick: Callable[[], None]) -> bool:
    """Run one tick of loop `name` unless a tick is already running anywhere.

    Returns False when the tick was skipped because another worker holds the loop. The tick is
    recorded when it starts (that is what liveness means) and again when it ends, with its
    duration and error, whether it succeeded or raised; errors propagate.
    """
    with single_flight(f"loop:{name}", ttl_seconds=settings.CELERY_TASK_TIME_LIMIT + 10) as held:
        if not held:
            logger.info("Loop %s skipped: a tick is still running", name)
            return False
        started = time.monotonic()
        _record_start(name)
        error = ""
        try:
            tick()
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            _record_finish(name, int((time.monotonic() - started) * 1000), error)
    return True


def _record_start(name: str) -> None:
    # The loop's lock makes this the only writer of its row, so update-then-create cannot race.
    now = timezone.now()
    if not LoopTick.objects.filter(name=name).update(last_started_at=now, runs=F("runs") + 1):
        LoopTick.objects.create(name=name, last_started_at=now, runs=1)


def _record_finish(name: str, duration_ms: int, error: str) -> None:
    LoopTick.objects.filter(name=name).update(
        last_finished_at=timezone.now(), last_duration_ms=duration_ms, last_error=error
    )
