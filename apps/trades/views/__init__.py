"""The Desk (portfolio, ticket, controls and trades table) and a trade's page."""

from apps.trades.views.desk import desk, rule_row, symbols, ticket
from apps.trades.views.detail import trade_detail

__all__ = ["desk", "rule_row", "symbols", "ticket", "trade_detail"]
