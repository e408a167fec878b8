"""The notification retry loop hands every due destination over, whatever one of them holds."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from apps.core.models import Event, LoopTick
from apps.notifications import services
from apps.notifications.models import Delivery, DeliveryAttempt, Destination
from apps.notifications.tasks import retry_due
from apps.notifications.transports.base import Message
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "https://discord.com/api/webhooks/123/abc_DEF-456"


def message(subject: str) -> Message:
    return Message(kind="trade.stop_hit", subject=subject, body="Stop hit.", severity="warning")


def inbox(username: str) -> Destination:
    owner = UserFactory(username=username, email=f"{username}@example.com")
    return services.create_destination(owner=owner, kind=Destination.Kind.EMAIL, label="Inbox")


def test_a_destination_whose_saved_url_cannot_be_read_is_skipped_and_the_others_delivered(
    client, django_capture_on_commit_callbacks, mailoutbox
):
    first = inbox("ada")
    owner = UserFactory(username="bob")
    unreadable = services.create_destination(
        owner=owner, kind=Destination.Kind.DISCORD, label="Channel", discord_webhook_url=URL
    )
    last = inbox("cy")
    # Written straight to the column, as by a key rotation that forgot the old key: not a
    # token the current key can open.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE notifications_destination SET discord_webhook_url = %s WHERE id = %s",
            ["gAAAAA-not-a-token", unreadable.pk],
        )
    for destination in (first, unreadable, last):
        services.queue_delivery(destination=destination, message=message(f"To {destination.pk}"))

    with django_capture_on_commit_callbacks(execute=True):
        assert retry_due() is True

    assert sorted(m.to[0] for m in mailoutbox) == ["ada@example.com", "cy@example.com"]
    assert Delivery.objects.get(destination=unreadable).status == Delivery.Status.PENDING
    event = Event.objects.get(kind="loop.item_failed")
    assert event.data["item"] == f"Destination {unreadable.pk}"
    assert "DecryptionError" in event.message
    tick = LoopTick.objects.get(name="notifications.retry_due")
    assert tick.last_error.startswith("1 failed this tick (the others went on)")
    assert f"Destination {unreadable.pk}: DecryptionError" in tick.last_error
    assert client.get("/readyz").json()["loops"]["notifications.retry_due"]["error"]


def test_a_delivery_that_cannot_be_read_counts_a_failed_try_and_its_batch_goes_out(
    django_capture_on_commit_callbacks, mailoutbox
):
    destination = inbox("ada")
    deliveries = [
        services.queue_delivery(destination=destination, message=message(f"Stop {n}"))
        for n in range(3)
    ]
    # Not an object: the embed fields of this row cannot be read.
    Delivery.objects.filter(pk=deliveries[1].pk).update(data=["not", "an", "object"])

    with django_capture_on_commit_callbacks(execute=True):
        services.deliver(destination_id=destination.pk)

    assert sorted(m.subject for m in mailoutbox) == ["Stop 0", "Stop 2"]
    broken = Delivery.objects.get(pk=deliveries[1].pk)
    assert (broken.status, broken.attempts) == (Delivery.Status.PENDING, 1)
    assert broken.next_attempt_at > timezone.now()
    (attempt,) = broken.attempt_log.all()
    assert attempt.outcome == DeliveryAttempt.Outcome.RETRY
    assert "cannot be read" in attempt.error
