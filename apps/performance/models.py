"""Equity snapshots: the equity curve the Performance page draws and its daily returns."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from apps.core.fields import MoneyField


class EquitySnapshot(models.Model):
    """One account's equity (every balance valued in its quote currency) at one moment.

    Written by the equity loop every EQUITY_SNAPSHOT_SECONDS. The first snapshot of a UTC day
    is marked `day_open`: the daily equity points (and so the daily returns, drawdown, Sharpe)
    are read from those marks, so a day keeps its open however many snapshots follow.
    """

    account = models.ForeignKey(
        "exchanges.ExchangeAccount", on_delete=models.CASCADE, related_name="equity_snapshots"
    )
    at = models.DateTimeField()
    equity = MoneyField()
    quote_currency = models.CharField(max_length=12)
    # Balances that had no price in the quote currency (left out of `equity`), for the record.
    unpriced = models.JSONField(default=list, blank=True)
    day = models.DateField()  # the UTC day of `at`, for the one-open-per-day constraint
    day_open = models.BooleanField(default=False)

    class Meta:
        ordering = ["account", "at"]
        constraints = [
            # One open per account and UTC day, even when two workers race at midnight.
            models.UniqueConstraint(
                fields=["account", "day"],
                condition=Q(day_open=True),
                name="equity_snapshot_one_open_per_day",
            ),
        ]
        indexes = [
            # The Performance page reads an account's snapshots over a date range.
            models.Index(fields=["account", "at"], name="equity_snapshot_account_at_idx"),
            # The page's daily curve reads only the day opens.
            models.Index(
                fields=["account", "at"],
                name="equity_snapshot_day_open_idx",
                condition=Q(day_open=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.at:%Y-%m-%d %H:%M} {self.equity} {self.quote_currency}"
