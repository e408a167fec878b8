"""A position's exit rule fired (initial stop, trailing stop, take profit): close it.

The rules loop decides on the rows it loaded; this re-checks under the position's lock, so a
position that moved on meanwhile (closed, or already selling: a take profit of the same tick)
is left alone and a quantity is never sold twice.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import transaction

from apps.core.message_figures import figures_of
from apps.positions.models import PositionGroup
from apps.positions.services import intents, resting_take_profit
from apps.positions.services.signals import close_group_locked
from apps.strategies.domain.catalog import RuleKind
from apps.strategies.domain.evaluation import Evaluation, fired_state


def close_by_rule(
    *, position_id: int, evaluation: Evaluation, last: Decimal, now: datetime
) -> bool:
    """Close the whole position at market because `evaluation` fired. Returns whether it did."""
    with transaction.atomic():
        position = (
            PositionGroup.objects.select_for_update(of=("self",))
            .select_related("owner", "account")
            .filter(pk=position_id, status=PositionGroup.Status.OPEN, quantity__gt=0)
            .exclude(intents.sell_in_flight())
            .first()
        )
        if position is None:
            return False
        if evaluation.rule.kind == RuleKind.TAKE_PROFIT and resting_take_profit.rule_rests(
            position
        ):
            return False  # its limit sell rests meanwhile: the exchange takes this profit
        position.last_price = last
        position.rule_state = fired_state(position.rule_state, evaluation, now)
        close_group_locked(
            position,
            purpose=evaluation.rule.kind.value,
            price=last,
            signal_id=None,
            now=now,
            # Its sentence ends before the close's: "...threshold 63,700.00); closing ...".
            why=evaluation.explain(figures_of(position).market.tick).removesuffix(".") + ";",
        )
    return True
