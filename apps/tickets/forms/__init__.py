"""The Desk's forms: the trade ticket and its four rule rows."""

from apps.tickets.forms.rows import ROW_FIELDS, Cell, RuleRow, field_name, narrow, rule_fields
from apps.tickets.forms.ticket import (
    TicketForm,
    new_ticket_initial,
    sizing_and_rules,
    strategy_initial,
    trade_initial,
)

__all__ = [
    "ROW_FIELDS",
    "Cell",
    "RuleRow",
    "TicketForm",
    "field_name",
    "narrow",
    "new_ticket_initial",
    "rule_fields",
    "sizing_and_rules",
    "strategy_initial",
    "trade_initial",
]
