"""The Desk (portfolio, ticket, controls, open positions and tickets) and a trade's page."""

from apps.tickets.views.desk import desk, rule_row, symbols, ticket
from apps.tickets.views.detail import trade_chart, trade_detail

__all__ = ["desk", "rule_row", "symbols", "ticket", "trade_chart", "trade_detail"]
