"""Reads for the desk status, the Logs page and /readyz."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet

from apps.core.keyset import PAGE_SIZE, Cursor, LogFilters
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


def filtered_events(user, filters: LogFilters | None = None) -> QuerySet[Event]:
    """The user's events matching `filters`, newest first by (created_at, id): the Logs page
    and its CSV. Each filter is an equality or a range on an indexed column (see Event.Meta)."""
    events = owned(Event, user).select_related("account")
    if filters is None:
        return events.order_by("-created_at", "-id")
    exact = {
        "level": filters.level,
        "category": filters.category,
        "account": filters.account,
        "symbol": filters.symbol,
        "subject_type": filters.subject_type,
        "subject_id": filters.subject_id,
    }
    events = events.filter(**{name: value for name, value in exact.items() if value})
    if filters.since:
        events = events.filter(created_at__gte=filters.since)
    if filters.until:
        events = events.filter(created_at__lt=filters.until)
    if filters.text:
        events = events.filter(message__icontains=filters.text)
    return events.order_by("-created_at", "-id")


def _older_than(at: datetime, pk: int) -> Q:
    # The redundant `created_at <=` bound lets PostgreSQL start the index walk at the cursor;
    # the OR alone would be a filter applied to every newer row on the way there.
    return (Q(created_at__lt=at) | Q(created_at=at, id__lt=pk)) & Q(created_at__lte=at)


def _newer_than(at: datetime, pk: int) -> Q:
    return (Q(created_at__gt=at) | Q(created_at=at, id__gt=pk)) & Q(created_at__gte=at)


def iter_filtered_events(
    user, filters: LogFilters | None = None, *, chunk: int = 1000
) -> Iterator[Event]:
    """Every event of `filtered_events`, newest first, read `chunk` rows at a time by keyset
    (the CSV): each chunk is one short index walk, so the first rows leave at once whatever
    the view holds, and only one chunk is in memory. (A server-side cursor would let
    PostgreSQL plan for the whole result: a sort of every matching row before the first.)"""
    events = filtered_events(user, filters)
    rows = list(events[:chunk])
    while rows:
        yield from rows
        if len(rows) < chunk:
            return
        last = rows[-1]
        rows = list(events.filter(_older_than(last.created_at, last.pk))[:chunk])


@dataclass(frozen=True)
class EventPage:
    events: list[Event]
    older: str  # the cursor of the next page back in time, "" on the oldest page
    newer: str  # the cursor of the page before this one, "" on the newest page


def events_for(
    user,
    *,
    filters: LogFilters | None = None,
    cursor: Cursor | None = None,
    direction: str = "before",
    size: int = PAGE_SIZE,
) -> EventPage:
    """One page of the user's Logs: `size` events after `cursor` in `direction` ("before":
    older than it, "after": newer), by keyset, never OFFSET: a page deep in a million events
    costs what the first one does. Two queries at most: the page (one row more, to know whether
    there is another page that way) and, after a cursor, whether there is one the other way.
    """
    events = filtered_events(user, filters)
    if cursor is None:
        rows = list(events[: size + 1])
        return EventPage(rows[:size], Cursor.of(rows[size - 1]) if len(rows) > size else "", "")
    at, pk = cursor.created_at, cursor.pk
    older_than, newer_than = _older_than(at, pk), _newer_than(at, pk)
    if direction == "after":
        rows = list(events.filter(newer_than).order_by("created_at", "id")[: size + 1])
        more_newer = len(rows) > size
        rows = rows[:size][::-1]
        more_older = events.filter(older_than).exists()
    else:
        rows = list(events.filter(older_than)[: size + 1])
        more_older = len(rows) > size
        rows = rows[:size]
        more_newer = events.filter(newer_than).exists()
    if not rows:  # a cursor past either end: the cursor itself leads back
        here = Cursor.of_values(at, pk)
        return EventPage([], here if more_older else "", here if more_newer else "")
    return EventPage(
        rows,
        Cursor.of(rows[-1]) if more_older else "",
        Cursor.of(rows[0]) if more_newer else "",
    )
