"""Later decisions of a queued signal: the queue moves it from "queued" to what became of it.

The first decision of a signal is taken by its processing task (`processing._decide`); an entry
that found its account's pool full is decided "queued" there and waits in apps.trade_queue. Its
end comes later, from the queue: executed when promoted into a free slot (or rejected by the
re-validation then), replaced by a newer entry for its key, cancelled by an exit signal or by
the trader, expired. Each is a compare-and-swap from "queued", an event on the signal's
timeline and a live push of its row on the Signals page.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from apps.core.events import record_event
from apps.core.models import Event
from apps.webhooks.models import Signal
from apps.webhooks.services.events import describe, push_row, signal_facts

# status -> (event kind, level, verb); the kinds notifications know are in their catalog.
_LATER = {
    Signal.Status.EXECUTED: ("signal.promoted", Event.Level.SUCCESS, "promoted from the queue"),
    Signal.Status.REJECTED: ("signal.rejected", Event.Level.WARNING, "rejected"),
    Signal.Status.EXPIRED: ("signal.expired", Event.Level.WARNING, "expired in the queue"),
    Signal.Status.CANCELLED: ("signal.cancelled", Event.Level.INFO, "cancelled"),
    Signal.Status.REPLACED: ("signal.replaced", Event.Level.INFO, "replaced in the queue"),
}


def decide_queued(
    *,
    signal_id: int,
    status: str,
    reason: str,
    now: datetime,
    group_id: int | None = None,
    order_ids: Sequence[int] = (),
    data: dict | None = None,
) -> bool:
    """Move queued signal `signal_id` to `status` with `reason`; False (and nothing recorded)
    when it is no longer queued. Call it inside the caller's transaction."""
    kind, level, verb = _LATER[status]
    changes = {"status": status, "reason": reason, "processed_at": now}
    if group_id is not None:
        changes |= {"group_id": group_id, "order_ids": list(order_ids)}
    if Signal.objects.filter(pk=signal_id, status=Signal.Status.QUEUED).update(**changes) != 1:
        return False
    signal = Signal.objects.select_related("route__owner", "account").get(pk=signal_id)
    payload = {
        "route": signal.route.label,
        "action": signal.action,
        "timeframe": signal.timeframe,
        "signal": signal.pk,
        "group": signal.group_id,
        "orders": ", ".join(str(pk) for pk in signal.order_ids),
    } | (data or {})
    record_event(
        kind=kind,
        message=f"{describe(signal)} {verb}: {reason}",
        user=signal.route.owner,
        account=signal.account,
        subject=signal,
        level=level,
        facts=signal_facts(signal, reason=reason),
        data={name: value for name, value in payload.items() if value not in ("", None)},
    )
    push_row(signal, new=False)
    return True
