"""The tickets app's models: trades built on the ticket, their revisions, the indicator cache."""

from apps.tickets.models.trades import CandleValue, Trade, TradeRevision

__all__ = ["CandleValue", "Trade", "TradeRevision"]
