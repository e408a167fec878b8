"""The audit trail: `record_event` is how every feature says what it did and why."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import models

from apps.core.broadcast import broadcast_fragment
from apps.core.models import Event

EVENT_ROW_LIVE = "core/logs.html#event-row-live"

# Features that react to every recorded event (notifications) subscribe here at start-up, so
# core never imports them. A listener runs inside the recording transaction: it may only write
# rows and enqueue work on commit, never do I/O.
_listeners: list[Callable[[Event], None]] = []


def subscribe(listener: Callable[[Event], None]) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def record_event(
    *,
    kind: str,
    message: str,
    user=None,
    account=None,
    subject: models.Model | None = None,
    level: str = Event.Level.INFO,
    data: dict[str, Any] | None = None,
) -> Event:
    """Append one event, tell the subscribers (notifications), and after commit push it to the
    owner's open Logs page.

    `kind` is a dotted name (`trade.activated`), `message` the sentence a trader reads, and
    `data` the inputs of the decision (Decimals are stored as strings). Call it inside the
    service's transaction so the event commits, or rolls back, with what it describes.
    Secrets never go into `message` or `data`.
    """
    event = Event.objects.create(
        kind=kind,
        message=message,
        user=user,
        account=account,
        level=level,
        subject_type=subject._meta.label_lower if subject is not None else "",
        subject_id=str(subject.pk) if subject is not None else "",
        data=data or {},
    )
    if event.user_id is not None:
        broadcast_fragment(
            user_ids=[event.user_id], template=EVENT_ROW_LIVE, context={"event": event}
        )
    for listener in _listeners:
        listener(event)
    return event
