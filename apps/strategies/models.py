"""Strategies: a trader's saved ticket configurations, loaded into the ticket by name."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from apps.core.fields import MoneyField
from apps.strategies.domain import dca
from apps.strategies.domain.catalog import Side
from apps.strategies.domain.sizing import SIZING_LABELS, SizingKind

REST_TAKE_PROFIT_LABEL = (
    "Rest the take profit on the exchange (a limit sell; the stop then stays on the desk's "
    "rules loop)"
)
REST_TAKE_PROFIT_HELP = (
    "The take profit waits on the exchange as a limit sell at its target (the maker fee, and "
    "no wick missed between two ticks); the stop is then watched by the desk."
)


def validate_grid(value) -> None:
    """The admin's `dca_legs`: a grid the strategy page would save (`dca.grid_problems`)."""
    if not isinstance(value, list) or not all(isinstance(leg, dict) for leg in value):
        raise ValidationError('The grid is a list of legs, e.g. [{"gap_pct": "0", ...}].')
    problems = dca.grid_problems(value)
    if problems:
        raise ValidationError(
            [
                f"Leg {index + 1}: {message}" if index is not None else message
                for index, messages in problems.items()
                for message in messages
            ]
        )


class Strategy(models.Model):
    """Sizing and the four rules, reusable across tickets (and, later, webhook routes)."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="strategies"
    )
    name = models.CharField(max_length=80)
    side = models.CharField(
        max_length=5, choices=[(side.value, side.value.title()) for side in Side], default="long"
    )
    sizing_kind = models.CharField(
        max_length=20, choices=list(SIZING_LABELS.items()), default=SizingKind.QUOTE
    )
    sizing_value = MoneyField(default=Decimal(0), validators=[MinValueValidator(Decimal(0))])
    # Rule kind -> the rule as `Rule.to_dict()`; a kind left out has no rule.
    rules = models.JSONField(default=dict, blank=True)
    # What a signal does with a position group (apps.strategies.domain.dca): the DCA grid each
    # pyramid lays, as `LegSpec.to_dict()` legs (none: one leg at market with all the capital),
    # how profit is taken, and how many pyramids a group may hold.
    dca_legs = models.JSONField(default=list, blank=True, validators=[validate_grid])
    tp_mode = models.CharField(
        "take-profit mode",
        max_length=10,
        choices=list(dca.TP_MODE_LABELS.items()),
        default=dca.TpMode.AGGREGATE,
    )
    group_tp_pct = MoneyField(
        "group take profit %",
        default=Decimal(2),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(dca.MAX_TP_PCT)],
    )
    pyramid_limit = models.PositiveSmallIntegerField(
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(dca.MAX_PYRAMID_LIMIT)],
        help_text="Most pyramids (entries) one position group may hold.",
    )
    # The take profit rests on the exchange as limit sells (maker fee, no loop latency); the
    # stop then stays on the desk's rules loop: one coin backs only one resting sell on spot.
    rest_take_profit = models.BooleanField(
        "rest the take profit on the exchange",
        default=False,
        help_text=REST_TAKE_PROFIT_HELP,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "strategies"
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="strategy_owner_name_unique")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def grid(self) -> tuple[dca.LegSpec, ...]:
        """The grid each pyramid lays (validated when saved; one 100 % leg when empty)."""
        return dca.legs_or_single(dca.parse_grid(self.dca_legs), group_tp_pct=self.group_tp_pct)
