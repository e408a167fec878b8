"""Strategies: a trader's saved ticket configurations, loaded into the ticket by name."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models

from apps.core.fields import MoneyField
from apps.trades.domain.catalog import Side
from apps.trades.domain.sizing import SIZING_LABELS, SizingKind


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
    sizing_value = MoneyField(default=Decimal(0))
    # Rule kind -> the rule as `Rule.to_dict()`; a kind left out has no rule.
    rules = models.JSONField(default=dict, blank=True)
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
