"""The engine's models: positions (pyramids, DCA legs) and their orders.

Their tables keep the names they had in the trades app (`trades_positiongroup`, …): the models
moved in state only (migration `positions/0001`), so no installed desk rewrites a row.
"""

from apps.positions.models.groups import DcaLeg, PositionGroup, Pyramid, leg_label
from apps.positions.models.orders import EXIT_REASON_WORDS, SELL_CODES, Order

__all__ = [
    "EXIT_REASON_WORDS",
    "SELL_CODES",
    "DcaLeg",
    "Order",
    "PositionGroup",
    "Pyramid",
    "leg_label",
]
