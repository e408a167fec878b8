"""Strategies: save a ticket's sizing and rules under a name, to load into later tickets."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.core.events import record_event
from apps.strategies.models import Strategy
from apps.trades.services import Ticket


def save_strategy(*, user, name: str, ticket: Ticket) -> Strategy:
    """Save the ticket's side, sizing and rules as the strategy `name`.

    A strategy of that name is overwritten (a trader refines a strategy by saving it again);
    the account and symbol stay with the ticket, so one strategy serves any market.
    """
    name = " ".join(name.split())
    if not name:
        raise ValidationError({"strategy_name": "Name the strategy."})
    values = {
        "side": ticket.side.value,
        "sizing_kind": ticket.sizing.kind.value,
        "sizing_value": ticket.sizing.value,
        "rules": ticket.rules_json(),
    }
    with transaction.atomic():
        strategy, created = Strategy.objects.update_or_create(
            owner=user, name=name, defaults=values
        )
        labels = [rule.label for rule in ticket.rules.values() if rule is not None]
        record_event(
            kind="strategy.saved",
            message=(
                f"Strategy {name} {'saved' if created else 'overwritten'}: "
                f"{ticket.sizing.label}; {'; '.join(labels)}."
            ),
            user=user,
            subject=strategy,
            data={"created": created, **values, "sizing_value": str(ticket.sizing.value)},
        )
    return strategy
