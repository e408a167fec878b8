"""Reads for the desk status, the Logs page and /readyz."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection

from apps.core.models import Event, LoopTick
from apps.core.scoping import owned


@dataclass(frozen=True)
class LoopStatus:
    name: str
    last_started_at: datetime | None
    age_seconds: int | None
    duration_ms: int | None
    error: str
    stale: bool

    @property
    def dom_id(self) -> str:
        return "loop-" + self.name.replace(".", "-")


def loop_statuses(*, now: datetime) -> list[LoopStatus]:
    """Every scheduled loop with the age of its last tick; a loop that never ran is stale."""
    ticks = {tick.name: tick for tick in LoopTick.objects.all()}
    names = sorted({entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()} | set(ticks))
    statuses = []
    for name in names:
        tick = ticks.get(name)
        age = int((now - tick.last_started_at).total_seconds()) if tick else None
        statuses.append(
            LoopStatus(
                name=name,
                last_started_at=tick.last_started_at if tick else None,
                age_seconds=age,
                duration_ms=tick.last_duration_ms if tick else None,
                error=tick.last_error if tick else "",
                stale=age is None or age > settings.LOOP_STALE_SECONDS,
            )
        )
    return statuses


def runtime() -> dict[str, str]:
    """How this desk runs, in words a trader or operator recognises."""
    layer = settings.CHANNEL_LAYERS["default"]["BACKEND"]
    return {
        "database": connection.vendor,
        "channel_layer": "redis" if "redis" in layer.lower() else "in-memory",
        "mode": "stack" if settings.REDIS_URL else "embedded",
    }


def desk_status(*, now: datetime) -> dict:
    return {"now": now, "loops": loop_statuses(now=now), "runtime": runtime()}


def events_for(user, *, limit: int = 200):
    return owned(Event, user)[:limit]
