"""Strategies: save a ticket's sizing and rules under a name, to load into later tickets; and
what signals do with position groups (DCA grid, take profit, pyramid limit)."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.core.events import record_event
from apps.strategies.models import Strategy
from apps.trades.domain import dca
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


def update_strategy_grid(
    *,
    user,
    strategy: Strategy,
    dca_legs: list[dict[str, str]],
    tp_mode: str,
    group_tp_pct: Decimal,
    pyramid_limit: int,
) -> Strategy:
    """Save what a signal does with position groups: the DCA grid, the take-profit mode and
    the pyramid limit. Validated by the domain; a ValidationError names each problem (leg
    problems under "legs", keyed by leg index). Groups already open keep their own copy."""
    problems = dca.grid_problems(dca_legs)
    settings_problems = dca.tp_settings_problems(
        pyramid_limit=pyramid_limit, group_tp_pct=group_tp_pct
    )
    if tp_mode not in dca.TpMode.__members__.values():
        settings_problems["tp_mode"] = f"Unknown take-profit mode {tp_mode!r}."
    if problems or settings_problems:
        raise ValidationError(
            {**settings_problems, **({"legs": str(dca.GridError(problems))} if problems else {})}
        )
    legs = [leg.to_dict() for leg in dca.parse_grid(dca_legs)]
    with transaction.atomic():
        strategy = Strategy.objects.select_for_update().get(pk=strategy.pk, owner=user)
        strategy.dca_legs = legs
        strategy.tp_mode = tp_mode
        strategy.group_tp_pct = group_tp_pct
        strategy.pyramid_limit = pyramid_limit
        strategy.save(
            update_fields=["dca_legs", "tp_mode", "group_tp_pct", "pyramid_limit", "updated_at"]
        )
        grid = "; ".join(
            f"-{leg['gap_pct']} % × {leg['weight_pct']} % (TP {leg['tp_pct']} %)" for leg in legs
        )
        record_event(
            kind="strategy.saved",
            message=(
                f"Strategy {strategy.name}: {dca.TpMode(tp_mode).label.lower()} take profit "
                f"(group {group_tp_pct.normalize():f} %), up to {pyramid_limit} pyramids, "
                f"grid {grid or 'one leg at market'}."
            ),
            user=user,
            subject=strategy,
            data={
                "dca_legs": legs,
                "tp_mode": tp_mode,
                "group_tp_pct": str(group_tp_pct),
                "pyramid_limit": pyramid_limit,
            },
        )
    return strategy
