"""Positions: what signals and tickets open, add to (pyramids, each laying a DCA grid) and exit;
the one gate for opening (`opening`), the order pipeline (`intents` writes an order before it is
sent, `orders` sends and syncs it, `fills` records it), the take-profit loop, and the hooks the
apps above connect to (`hooks`).

The webhooks app calls `act_on_signal`, and `written_by_signal` to finish a signal whose
processing was interrupted; the tickets app opens a ticket's position through `opening` and
closes it with `close_group`; the beat runs the order-sync, take-profit and reconciliation
loops. A position's stop rests on the exchange where it can (`protection`).
"""

from apps.positions.services.cancels import cancel_order
from apps.positions.services.fills import record_group_order, refused_group_order
from apps.positions.services.loops import order_sync_loop, take_profit_loop
from apps.positions.services.orders import record_order, send_order, sync_orders
from apps.positions.services.reconcile import reconcile_account, reconcile_loop
from apps.positions.services.recovery import Written, written_by_signal
from apps.positions.services.signals import (
    SignalOrder,
    SignalOutcome,
    act_on_signal,
)
from apps.positions.services.take_profit import take_profit
from apps.positions.services.trader import GroupError, close_group

__all__ = [
    "GroupError",
    "SignalOrder",
    "SignalOutcome",
    "Written",
    "act_on_signal",
    "cancel_order",
    "close_group",
    "order_sync_loop",
    "reconcile_account",
    "reconcile_loop",
    "record_group_order",
    "record_order",
    "refused_group_order",
    "send_order",
    "sync_orders",
    "take_profit",
    "take_profit_loop",
    "written_by_signal",
]
