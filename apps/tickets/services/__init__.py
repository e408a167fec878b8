"""Tickets: the ticket's actions, the rules loop (ticket entries and every position's exit
rules), a ticket's entry, and the indicator cache."""

from apps.tickets.services.engine import evaluate_rules
from apps.tickets.services.loops import market_data_loop, rules_loop
from apps.tickets.services.tickets import (
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
    "activate_ticket",
    "cancel_trade",
    "close_trade",
    "discard_revision",
    "evaluate_rules",
    "market_data_loop",
    "modify_trade",
    "rules_loop",
    "save_ticket",
]
