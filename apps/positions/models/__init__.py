"""The engine's models: positions (pyramids, DCA legs) and their orders.

Their tables keep the names they had in the trades app (`trades_positiongroup`, …): the models
moved in state only (migration `positions/0001`), so no installed desk rewrites a row.
"""

from apps.positions.models.groups import DcaLeg, PositionGroup, Pyramid
from apps.positions.models.orders import Order

__all__ = ["DcaLeg", "Order", "PositionGroup", "Pyramid"]
