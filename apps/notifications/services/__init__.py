"""Notifications: destinations per trader, and deliveries that never hold up trading."""

from apps.notifications.services.delivery import (
    BACKOFF_BASE_SECONDS,
    MAX_ATTEMPTS,
    deliver,
    deliver_due,
    notify_event,
    queue_delivery,
    render_message,
    send_test,
    warn_owner_by_email,
)
from apps.notifications.services.destinations import (
    create_destination,
    remove_destination,
    resume,
    set_paused,
    update_destination,
)

__all__ = [
    "BACKOFF_BASE_SECONDS",
    "MAX_ATTEMPTS",
    "create_destination",
    "deliver",
    "deliver_due",
    "notify_event",
    "queue_delivery",
    "remove_destination",
    "render_message",
    "resume",
    "send_test",
    "set_paused",
    "update_destination",
    "warn_owner_by_email",
]
