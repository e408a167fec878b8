"""The trades app's models: trades and their orders, and position groups (pyramids, DCA legs)."""

from apps.trades.models.groups import DcaLeg, PositionGroup, Pyramid
from apps.trades.models.trades import CandleValue, Order, Trade, TradeRevision

__all__ = [
    "CandleValue",
    "DcaLeg",
    "Order",
    "PositionGroup",
    "Pyramid",
    "Trade",
    "TradeRevision",
]
