"""One base for every way a notification leaves the desk; its errors say whether to retry."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Message:
    """A rendered notification, ready for any transport."""

    kind: str
    subject: str
    body: str
    severity: str  # apps.notifications.catalog.Severity value
    fields: dict[str, str] = field(default_factory=dict)  # account, symbol, side, quantity, ...
    url: str = ""  # link to the trade or signal, when there is one
    occurred_at: datetime | None = None  # when the event happened (not when it is sent)


class DeliveryError(Exception):
    """Sending failed. `str()` is shown to the trader, so it never contains the webhook URL."""

    permanent = False
    breaks_destination = False

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after  # seconds the receiver asked us to wait (Discord 429)


class TransientDeliveryError(DeliveryError):
    """Worth retrying later: timeouts, connection errors, 5xx, rate limits."""


class PermanentDeliveryError(DeliveryError):
    """Retrying cannot help (unknown webhook, refused recipient): the destination is failing."""

    permanent = True
    breaks_destination = True


class RejectedMessageError(PermanentDeliveryError):
    """This message cannot be sent (the receiver refused its content), but the destination
    itself works: fail the message, keep the destination."""

    breaks_destination = False


class Transport:
    """Send up to `max_batch` messages to one destination in one go, or raise DeliveryError."""

    max_batch = 1
    # Least time between two sends to one destination, so bursts respect the receiver's limits.
    min_interval_seconds = 0.0

    def send(self, destination, messages: list[Message]) -> None:
        raise NotImplementedError
