"""Deliveries: turn recorded events into deliveries, and deliver them off the trading path.

`notify_event` runs inside the transaction that records an event: it only writes Delivery rows
and enqueues the delivery task on commit. Sending happens in `deliver`, a Celery task: never in
a request, never in a trading loop.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone

from apps.core.background import enqueue_on_commit
from apps.core.events import FACT_KEYS, absolute_url, record_event
from apps.core.locks import single_flight
from apps.core.loops import each_isolated
from apps.core.models import Event
from apps.notifications import catalog
from apps.notifications.models import Delivery, DeliveryAttempt, Destination
from apps.notifications.transports.base import (
    DeliveryError,
    Message,
    TransientDeliveryError,
    Transport,
)

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 5
BACKOFF_CAP_SECONDS = 15 * 60
# One delivery task sends at most this many batches, then hands over to a fresh task.
BATCHES_PER_RUN = 5
# How long a claimed delivery may stay "sending" before the retry loop takes it back.
SENDING_LEASE = timedelta(minutes=5)


def transport_for(destination: Destination) -> Transport:
    if destination.kind == Destination.Kind.DISCORD:
        from apps.notifications.transports.discord import DiscordTransport

        return DiscordTransport()
    from apps.notifications.transports.email import EmailTransport

    return EmailTransport()


# --- From events to deliveries ---------------------------------------------------------------


def notify_event(event: Event) -> None:
    """Queue `event` for every unpaused destination of its owner that subscribes to its kind
    (a failing destination collects them too: they wait for its resume).

    Runs inside the transaction that records the event, so it must never fail that
    transaction: a notification problem is logged, the trade that caused it stands.
    """
    if event.user_id is None or event.kind not in catalog.NOTIFIABLE:
        return
    try:
        with transaction.atomic():  # a savepoint: our rows go, the caller's stay
            destinations = [
                destination
                # A failing destination still collects (they wait for its resume); a
                # paused one has asked for nothing.
                for destination in Destination.objects.filter(
                    owner_id=event.user_id, is_paused=False
                )
                if event.kind in destination.event_kinds
            ]
            if not destinations:
                return
            message = render_message(event)
            for destination in destinations:
                queue_delivery(destination=destination, message=message, event=event)
    except Exception:
        logger.exception("Notifications for event %s could not be queued", event.pk)


def send_test(*, destination: Destination) -> Delivery:
    """A test delivery, whatever the subscriptions and pause say: it proves the path works."""
    message = Message(
        kind=catalog.TEST_KIND,
        subject="TradeDesk test notification",
        body=f"This is a test from TradeDesk to {destination.label}. If you read this, "
        "notifications reach you here.",
        severity=catalog.Severity.INFO,
    )
    return queue_delivery(destination=destination, message=message)


def render_message(event: Event) -> Message:
    context = {"event": event, "label": catalog.label_of(event.kind), "data": event.data}
    fields = {
        name: str(event.data[name]) for name in FACT_KEYS if event.data.get(name) not in (None, "")
    }
    return Message(
        kind=event.kind,
        subject=render_to_string("notifications/subject.txt", context).strip(),
        body=render_to_string("notifications/body.txt", context).strip(),
        severity=catalog.severity_of(event.kind, event.level),
        fields=fields,
        url=event.data.get("url", ""),
    )


@transaction.atomic
def queue_delivery(*, destination: Destination, message: Message, event=None) -> Delivery:
    delivery = Delivery.objects.create(
        destination=destination,
        event=event,
        kind=message.kind,
        subject=message.subject[: Delivery._meta.get_field("subject").max_length],
        body=message.body,
        severity=message.severity,
        data={"fields": message.fields, "url": message.url},
        next_attempt_at=timezone.now(),
    )
    deliver_later(destination.pk)
    return delivery


def deliver_later(destination_id: int) -> None:
    enqueue_on_commit("notifications.deliver", destination_id)


# --- Delivering -------------------------------------------------------------------------------


def deliver(*, destination_id: int) -> None:
    """Send a destination's due deliveries, a batch at a time, one worker at a time.

    1. Hold the destination's lock: one sender per destination keeps its rate in check.
    2. Claim up to the transport's batch of due, pending deliveries (compare-and-swap).
    3. Send outside any transaction and record the attempt: sent, retry later, or failed.
    4. Repeat for a few batches, pacing sends; what remains is handed to a new task.
    """
    with single_flight(f"notify:{destination_id}", ttl_seconds=120) as held:
        if not held:
            return  # the holder will see our deliveries; the retry loop catches any race
        destination = Destination.objects.select_related("owner").filter(pk=destination_id).first()
        if destination is None:
            return  # removed after the task was queued; its deliveries went with it
        transport = transport_for(destination)
        for batch_number in range(BATCHES_PER_RUN):
            if batch_number and _due(destination).exists():
                time.sleep(transport.min_interval_seconds)
            batch = _claim(destination, limit=transport.max_batch)
            if not batch:
                return
            if not _send(destination, transport, batch):
                return
        if _due(destination).exists():
            deliver_later(destination.pk)


def deliver_due(*, now: datetime) -> None:
    """The retry loop: take back expired "sending" leases, then enqueue every destination
    with something due."""
    Delivery.objects.filter(status=Delivery.Status.SENDING, next_attempt_at__lte=now).update(
        status=Delivery.Status.PENDING
    )
    due = Delivery.objects.filter(
        status=Delivery.Status.PENDING,
        next_attempt_at__lte=now,
        destination__is_paused=False,
        destination__status=Destination.Status.ACTIVE,
    ).values("destination_id")
    # The webhook URL is left unread here and read for each destination on its own: one whose
    # saved URL cannot be read (say, encrypted under a key since rotated) is recorded and
    # skipped rather than stopping the query, and so the hand-over, of every other one.
    each_isolated(
        "notifications.retry_due",
        Destination.objects.filter(pk__in=due).defer("discord_webhook_url").order_by("pk"),
        _hand_over,
    )


def _hand_over(destination: Destination) -> None:
    if destination.kind == Destination.Kind.DISCORD:
        destination.discord_webhook_url  # noqa: B018 - loads and decrypts it, or raises
    deliver_later(destination.pk)


def _due(destination: Destination):
    return destination.deliveries.filter(
        status=Delivery.Status.PENDING, next_attempt_at__lte=timezone.now()
    )


def _claim(destination: Destination, *, limit: int) -> list[Delivery]:
    with transaction.atomic():
        due = _due(destination)
        if not destination.accepts_deliveries:
            due = due.filter(kind=catalog.TEST_KIND)  # paused or failing: only "Send test"
        batch = list(due.order_by("created_at", "id").select_for_update(skip_locked=True)[:limit])
        # A lease: if this worker dies mid-send, the retry loop puts them back after it.
        Delivery.objects.filter(pk__in=[d.pk for d in batch]).update(
            status=Delivery.Status.SENDING, next_attempt_at=timezone.now() + SENDING_LEASE
        )
    return batch


def _send(destination: Destination, transport: Transport, batch: list[Delivery]) -> bool:
    """Send one batch; returns True when it went out (so the next batch may follow)."""
    started_at, started = timezone.now(), time.monotonic()
    batch = _without_unreadable(destination, batch, started_at=started_at)
    if not batch:
        return True
    messages = [_message_of(delivery) for delivery in batch]
    try:
        transport.send(destination, messages)
    except Exception as exc:
        # Anything unexpected is worth retrying; a delivery is never left in "sending".
        if not isinstance(exc, DeliveryError):
            logger.exception("Unexpected error delivering to destination %s", destination.pk)
        error = exc if isinstance(exc, DeliveryError) else TransientDeliveryError(repr(exc))
        duration = int((time.monotonic() - started) * 1000)
        _record_failure(destination, batch, error, started_at=started_at, duration_ms=duration)
        return False
    duration = int((time.monotonic() - started) * 1000)
    now = timezone.now()
    with transaction.atomic():
        for delivery in batch:
            DeliveryAttempt.objects.create(
                delivery=delivery,
                started_at=started_at,
                duration_ms=duration,
                outcome=DeliveryAttempt.Outcome.SENT,
            )
        Delivery.objects.filter(pk__in=[d.pk for d in batch]).update(
            status=Delivery.Status.SENT, sent_at=now, attempts=F("attempts") + 1, last_error=""
        )
    return True


def _without_unreadable(destination, batch: list[Delivery], *, started_at) -> list[Delivery]:
    """The batch less the deliveries whose stored row cannot be made into a message (say, data
    that is not an object): each of those counts a failed try, and the others go out."""
    readable = []
    for delivery in batch:
        try:
            _message_of(delivery)
        except Exception as exc:
            logger.exception("Delivery %s cannot be made into a message", delivery.pk)
            error = TransientDeliveryError(f"The stored notification cannot be read: {exc!r}")
            _record_failure(destination, [delivery], error, started_at=started_at, duration_ms=0)
        else:
            readable.append(delivery)
    return readable


def _record_failure(destination, batch, error: DeliveryError, *, started_at, duration_ms) -> None:
    now = timezone.now()
    with transaction.atomic():
        for delivery in batch:
            # Waiting out a rate limit is not a failed try: it never uses up MAX_ATTEMPTS.
            attempts = delivery.attempts + (0 if error.retry_after is not None else 1)
            if error.breaks_destination:
                # Held, not dropped: _claim skips a failing destination; resume sends them.
                outcome, status, delay = DeliveryAttempt.Outcome.FAILED, Delivery.Status.PENDING, 0
            elif error.permanent or attempts >= MAX_ATTEMPTS:
                outcome, status, delay = DeliveryAttempt.Outcome.FAILED, Delivery.Status.FAILED, 0
            else:
                outcome, status = DeliveryAttempt.Outcome.RETRY, Delivery.Status.PENDING
                delay = _retry_delay(max(attempts, 1), error.retry_after).total_seconds()
            DeliveryAttempt.objects.create(
                delivery=delivery,
                started_at=started_at,
                duration_ms=duration_ms,
                outcome=outcome,
                error=str(error),
            )
            Delivery.objects.filter(pk=delivery.pk).update(
                status=status,
                attempts=attempts,
                last_error=str(error),
                next_attempt_at=now + timedelta(seconds=delay),
            )
        if error.breaks_destination:
            _mark_failing(destination, reason=str(error), now=now)


def _mark_failing(destination: Destination, *, reason: str, now: datetime) -> None:
    changed = Destination.objects.filter(
        pk=destination.pk, status=Destination.Status.ACTIVE
    ).update(status=Destination.Status.FAILING, failing_reason=reason, failing_since=now)
    if not changed:
        return
    record_event(
        kind="notification.destination_failing",
        message=f"Notifications to {destination.label} stopped: {reason}",
        level=Event.Level.ERROR,
        user=destination.owner,
        subject=destination,
        data={"destination": destination.label, "kind": destination.kind},
    )
    if destination.kind == Destination.Kind.DISCORD and destination.owner.email:
        enqueue_on_commit("notifications.warn_owner_by_email", destination.pk)


def warn_owner_by_email(*, destination_id: int) -> None:
    """Tell the trader by email that their Discord destination stopped working."""
    from django.core.mail import send_mail

    destination = Destination.objects.select_related("owner").get(pk=destination_id)
    context = {"destination": destination, "site_url": settings.SITE_URL}
    send_mail(
        subject=render_to_string("notifications/failing_subject.txt", context).strip(),
        message=render_to_string("notifications/failing_body.txt", context),
        from_email=None,
        recipient_list=[destination.owner.email],
    )


def _retry_delay(attempts: int, retry_after: float | None) -> timedelta:
    if retry_after is not None:
        # Bounded: an answer asking for a day (or for ever) must not overflow the date.
        return timedelta(seconds=min(retry_after, BACKOFF_CAP_SECONDS))
    return timedelta(seconds=min(BACKOFF_BASE_SECONDS * 2 ** (attempts - 1), BACKOFF_CAP_SECONDS))


def _message_of(delivery: Delivery) -> Message:
    return Message(
        kind=delivery.kind,
        subject=delivery.subject,
        body=delivery.body,
        severity=delivery.severity,
        fields=delivery.data.get("fields", {}),
        # Deliveries queued before every event link was absolute kept a bare path, which
        # Discord refuses as an embed url.
        url=absolute_url(delivery.data.get("url", "")),
        occurred_at=delivery.event.created_at if delivery.event_id else delivery.created_at,
    )
