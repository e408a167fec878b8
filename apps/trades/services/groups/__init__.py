"""Position groups: what signals open, add to (pyramids, each laying a DCA grid) and exit, the
take-profit loop, and the recording of their orders.

The webhooks app calls `act_on_signal`, and `written_by_signal` to finish a signal whose
processing was interrupted; the trades app's order services hand group orders to
`record_group_order`; the beat runs `take_profit`.
"""

from apps.trades.services.groups.cancels import cancel_order
from apps.trades.services.groups.fills import record_group_order, refused_group_order
from apps.trades.services.groups.recovery import Written, written_by_signal
from apps.trades.services.groups.signals import (
    SignalOrder,
    SignalOutcome,
    act_on_signal,
)
from apps.trades.services.groups.take_profit import take_profit
from apps.trades.services.groups.trader import GroupError, close_group

__all__ = [
    "GroupError",
    "SignalOrder",
    "SignalOutcome",
    "Written",
    "act_on_signal",
    "cancel_order",
    "close_group",
    "record_group_order",
    "refused_group_order",
    "take_profit",
    "written_by_signal",
]
