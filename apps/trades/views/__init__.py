"""The Desk (portfolio, ticket, controls and trades table), a trade's page, and Positions."""

from apps.trades.views.desk import desk, rule_row, symbols, ticket
from apps.trades.views.detail import trade_detail
from apps.trades.views.positions import (
    orders_csv,
    position_close,
    position_detail,
    positions,
    positions_csv,
)

__all__ = [
    "desk",
    "orders_csv",
    "position_close",
    "position_detail",
    "positions",
    "positions_csv",
    "rule_row",
    "symbols",
    "ticket",
    "trade_detail",
]
