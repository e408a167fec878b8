"""What a signal already did to the position groups, read back from the rows it wrote.

`act_on_signal` writes a signal's intent in one transaction: the pyramid and its orders (each
with its signal and client order id), the sell of an exit, the queue row of an entry that
waits, or the group event of an exit that had nothing to sell. So after a crash the webhooks
app can finish an interrupted signal from these rows instead of guessing, and the decision it
records matches the orders.
"""

from __future__ import annotations

from dataclasses import dataclass

from apps.core.models import Event
from apps.positions.models import Order, Pyramid
from apps.positions.services import hooks
from apps.positions.services.signals import EXECUTED, QUEUED, SignalOutcome


@dataclass(frozen=True)
class Written:
    """What a signal wrote: its outcome as `act_on_signal` would have answered it, the orders
    of it not sent yet, and, for an entry whose queue row has ended since, that end."""

    outcome: SignalOutcome
    unsent: tuple[int, ...] = ()
    ended: tuple[str, str] | None = None  # (signal status, reason)


def written_by_signal(*, signal_id: int, action: str) -> Written | None:
    """The outcome signal `signal_id` (an "entry" or an "exit") wrote, or None when it wrote
    nothing (acting on it again is then safe)."""
    orders = list(Order.objects.filter(signal_id=signal_id).order_by("pk"))
    if orders:
        return _from_orders(signal_id, action, orders)
    queued = hooks.queued_of_signal.ask(signal_id=signal_id)
    if queued is not None:
        outcome = SignalOutcome(QUEUED, f"Queued: {queued.reason}", queued.group_id, ())
        ended = (queued.ended, queued.reason) if queued.ended else None
        return Written(outcome, ended=ended)
    if action == "exit":
        return _exit_without_orders(signal_id)
    return None


def _from_orders(signal_id: int, action: str, orders: list[Order]) -> Written:
    group_id = orders[0].group_id
    ids = ", ".join(order.client_order_id for order in orders)
    pyramid = Pyramid.objects.filter(signal_id=signal_id).first()
    if action == "exit":
        what = f"closing position #{group_id} with order {ids}"
    elif pyramid is not None:
        what = f"pyramid {pyramid.index + 1} of position #{group_id} with orders {ids}"
    else:
        what = f"orders {ids} of position #{group_id}"
    outcome = SignalOutcome(
        EXECUTED,
        f"Finished after its processing was interrupted, from what it had written: {what}.",
        group_id,
        tuple(order.pk for order in orders),
    )
    unsent = tuple(order.pk for order in orders if order.status == Order.Status.PENDING)
    return Written(outcome, unsent=unsent)


def _exit_without_orders(signal_id: int) -> Written | None:
    # An exit with nothing to sell still closed its group (or cancelled a queued entry): the
    # event written in its transaction says so.
    closed = Event.objects.filter(kind="group.exit", data__signal=signal_id).first()
    if closed is not None:
        group_id = int(closed.subject_id)
        reason = f"Finished after its processing was interrupted: {closed.message}"
        return Written(SignalOutcome(EXECUTED, reason, group_id, ()))
    cancelled = Event.objects.filter(
        kind__in=["signal.cancelled", "queue.cancelled"], data__exit_signal=signal_id
    ).first()
    if cancelled is not None:
        reason = f"Finished after its processing was interrupted: {cancelled.message}"
        return Written(SignalOutcome(EXECUTED, reason, None, ()))
    return None
