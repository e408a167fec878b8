"""Destinations: add, change, pause, resume and remove where a trader's notifications go."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.notifications import catalog
from apps.notifications.models import Destination
from apps.notifications.services.delivery import deliver_later


@transaction.atomic
def resume(*, destination: Destination) -> None:
    """After fixing a failing destination: clear the failure; pending deliveries go out."""
    Destination.objects.filter(pk=destination.pk).update(
        status=Destination.Status.ACTIVE, failing_reason="", failing_since=None
    )
    deliver_later(destination.pk)
    _record(destination, "notification.destination_resumed", f"{destination} resumed.")


@transaction.atomic
def create_destination(
    *,
    owner,
    kind: str,
    label: str,
    email_address: str = "",
    discord_webhook_url: str = "",
    event_kinds: list[str] | None = None,
) -> Destination:
    """Add a destination; it receives every notifiable kind unless told otherwise."""
    destination = Destination(owner=owner, kind=kind, label=label)
    _apply(destination, email_address, discord_webhook_url, event_kinds)
    destination.save()
    _record(destination, "notification.destination_added", f"{destination} added.")
    return destination


@transaction.atomic
def update_destination(
    *,
    destination: Destination,
    label: str,
    email_address: str = "",
    discord_webhook_url: str = "",
    event_kinds: list[str] | None = None,
) -> Destination:
    """Change a destination. A blank webhook URL keeps the saved one (it is never shown)."""
    destination.label = label
    _apply(destination, email_address, discord_webhook_url, event_kinds)
    destination.save()
    _record(destination, "notification.destination_changed", f"{destination} changed.")
    return destination


@transaction.atomic
def set_paused(*, destination: Destination, paused: bool) -> None:
    Destination.objects.filter(pk=destination.pk).update(is_paused=paused)
    destination.is_paused = paused
    if not paused:
        deliver_later(destination.pk)
    verb = "paused" if paused else "unpaused"
    _record(destination, f"notification.destination_{verb}", f"{destination} {verb}.")


@transaction.atomic
def remove_destination(*, destination: Destination) -> None:
    _record(destination, "notification.destination_removed", f"{destination} removed.")
    destination.delete()


def _apply(destination: Destination, email_address, discord_webhook_url, event_kinds) -> None:
    if destination.kind not in Destination.Kind.values:
        raise ValidationError({"kind": "Choose email or Discord."})
    unknown = set(event_kinds or []) - set(catalog.NOTIFIABLE)
    if unknown:
        raise ValidationError(
            {"event_kinds": f"Unknown event kinds: {', '.join(sorted(unknown))}."}
        )
    destination.event_kinds = catalog.DEFAULT_KINDS if event_kinds is None else list(event_kinds)
    if destination.kind == Destination.Kind.EMAIL:
        destination.email_address = email_address
        if not destination.recipient:
            raise ValidationError(
                {"email_address": "Your login has no email address: give one here."}
            )
        return
    if discord_webhook_url:
        from apps.notifications.transports.discord import validate_webhook_url

        try:
            validate_webhook_url(discord_webhook_url)
        except ValidationError as error:
            raise ValidationError({"discord_webhook_url": error.messages}) from error
        destination.discord_webhook_url = discord_webhook_url
    if not destination.discord_webhook_url:
        raise ValidationError(
            {"discord_webhook_url": "A Discord destination needs its webhook URL."}
        )


def _record(destination: Destination, kind: str, message: str) -> None:
    from apps.core.events import record_event

    # Names and kinds only: the webhook URL is a secret and never goes into an event.
    record_event(
        kind=kind,
        message=message,
        user=destination.owner,
        subject=destination,
        data={"destination": destination.label, "kind": destination.kind},
    )
