"""Which events a trader can be notified of, and how loud each one is. Pure: no Django.

Features record events with these kinds (apps.core.events.record_event); a destination
subscribes to any of them. A kind that no feature records yet is still listed so that a
trader can subscribe before the feature lands.
"""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    INFO = "info"
    SUCCESS = "success"
    WARNING = "warning"
    ERROR = "error"


# kind -> (what the trader sees in the settings, severity)
NOTIFIABLE: dict[str, tuple[str, Severity]] = {
    "trade.activated": ("Trade activated", Severity.INFO),
    "trade.rejected": ("Trade activation refused", Severity.WARNING),
    "trade.entry_waiting": ("Entry waiting for a pool slot", Severity.WARNING),
    "trade.entry_filled": ("Entry filled", Severity.SUCCESS),
    "trade.entry_failed": ("Entry failed (nothing filled)", Severity.ERROR),
    "trade.take_profit_hit": ("Take profit hit", Severity.SUCCESS),
    "trade.stop_hit": ("Stop hit", Severity.WARNING),
    "position.closed": ("Position closed", Severity.INFO),
    "protection.stop_cancelled": ("Resting order cancelled on the exchange", Severity.WARNING),
    "protection.stop_refused": ("Resting order refused by the exchange", Severity.WARNING),
    "reconcile.missed_fill": ("Reconciliation: a missed fill recorded", Severity.WARNING),
    "reconcile.never_placed": ("Reconciliation: an order never placed", Severity.WARNING),
    "reconcile.cancelled_outside": ("Reconciliation: an order cancelled outside", Severity.WARNING),
    "reconcile.unknown_order": ("Reconciliation: an unknown order with our prefix", Severity.ERROR),
    "reconcile.stale_open": ("Reconciliation: a cancelled order still open", Severity.WARNING),
    "signal.rejected": ("Signal rejected", Severity.WARNING),
    "signal.stale": ("Signal too old", Severity.WARNING),
    "signal.queued": ("Signal queued", Severity.INFO),
    "signal.promoted": ("Signal promoted", Severity.INFO),
    "signal.expired": ("Signal expired", Severity.WARNING),
    "risk.action": ("Risk action", Severity.WARNING),
    "guard.breached": ("Guard breached", Severity.ERROR),
    "account.kill_switch": ("Kill switch", Severity.ERROR),
    "exchange.error": ("Exchange error", Severity.ERROR),
    "markets.refresh_failed": ("Markets could not be refreshed", Severity.ERROR),
    "webhook.auth_failed": ("Webhook authentication failure", Severity.ERROR),
    "webhook.rate_limited": ("Webhook rate limit exceeded", Severity.WARNING),
}

# What a new destination receives until the trader chooses: everything.
DEFAULT_KINDS = list(NOTIFIABLE)

TEST_KIND = "notification.test"  # "Send test": delivered whatever the subscriptions say


def label_of(kind: str) -> str:
    if kind == TEST_KIND:
        return "Test notification"
    return NOTIFIABLE.get(kind, (kind, Severity.INFO))[0]


def severity_of(kind: str, level: str = "") -> Severity:
    """The catalog's severity, raised to the event's own level when that is louder."""
    order = [Severity.INFO, Severity.SUCCESS, Severity.WARNING, Severity.ERROR]
    severity = NOTIFIABLE.get(kind, (kind, Severity.INFO))[1]
    if level in order and order.index(Severity(level)) > order.index(severity):
        return Severity(level)
    return severity
