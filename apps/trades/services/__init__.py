"""Trades: the ticket's actions, the rules loop, orders and fills, and the indicator cache."""

from apps.trades.services.engine import evaluate_rules
from apps.trades.services.groups import act_on_signal, cancel_order, close_group
from apps.trades.services.loops import (
    market_data_loop,
    order_sync_loop,
    rules_loop,
    take_profit_loop,
)
from apps.trades.services.orders import record_order, send_order, sync_orders
from apps.trades.services.tickets import (
    Activation,
    Ticket,
    TicketError,
    activate_ticket,
    cancel_trade,
    close_trade,
    discard_revision,
    modify_trade,
    save_ticket,
)

__all__ = [
    "Activation",
    "Ticket",
    "TicketError",
    "act_on_signal",
    "activate_ticket",
    "cancel_order",
    "cancel_trade",
    "close_group",
    "close_trade",
    "discard_revision",
    "evaluate_rules",
    "market_data_loop",
    "modify_trade",
    "order_sync_loop",
    "record_order",
    "rules_loop",
    "save_ticket",
    "send_order",
    "sync_orders",
    "take_profit_loop",
]
