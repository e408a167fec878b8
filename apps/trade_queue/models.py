"""The execution pool's settings and its queue: entry signals that found the pool full."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from apps.core.fields import MoneyField
from apps.core.market_formats import FormatSlot
from apps.core.timeframes import timeframe_words

DEFAULT_EXPIRY_MINUTES = 60
MAX_EXPIRY_MINUTES = 7 * 24 * 60


class PoolSettings(models.Model):
    """An account's pool beyond its size (`ExchangeAccount.max_open_groups`). An account
    without a row uses the defaults; the Queue & Pool page creates it when first saved."""

    account = models.OneToOneField(
        "exchanges.ExchangeAccount", on_delete=models.CASCADE, related_name="pool_settings"
    )
    # Off: a pool slot is a group, and adding to an open group is free. On: every pyramid
    # takes a slot, so an add can wait in the queue too (and ranks first there).
    pyramids_count = models.BooleanField(
        default=False, help_text="Pyramid adds take a slot of the pool too."
    )
    queue_expiry_minutes = models.PositiveIntegerField(
        default=DEFAULT_EXPIRY_MINUTES,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_EXPIRY_MINUTES)],
        help_text="A queued signal not promoted within this time expires.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "pool settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(queue_expiry_minutes__gte=1)
                & Q(queue_expiry_minutes__lte=MAX_EXPIRY_MINUTES),
                name="pool_settings_expiry_range",
            )
        ]

    def __str__(self) -> str:
        return f"Pool settings of {self.account}"


class QueuedSignal(models.Model):
    """One entry that found its account's pool full, waiting for a free slot.

    One row per account, symbol, timeframe and side while it waits: a newer entry for the key
    replaces the signal it holds (the row keeps its queue time and counts the replacement).
    The fields a later promotion needs are kept here, so it can act without re-reading the
    webhook body; `signal` is empty when the entry did not come from a webhook.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        PROMOTING = "promoting", "Promoting"  # claimed by a promotion, being acted on
        PROMOTED = "promoted", "Promoted"  # executed into a pool slot
        REJECTED = "rejected", "Rejected"  # promoted, then refused by the re-validation
        EXPIRED = "expired", "Expired"
        CANCELLED = "cancelled", "Cancelled by exit"
        REMOVED = "removed", "Removed"  # by the trader or an operator

    WAITING = (Status.QUEUED, Status.PROMOTING)

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="queued_signals"
    )
    account = models.ForeignKey(
        "exchanges.ExchangeAccount", on_delete=models.CASCADE, related_name="queued_signals"
    )
    symbol = models.CharField(max_length=40)
    fmt = FormatSlot()  # the market's tick, step and units for its figures
    timeframe = models.CharField(max_length=10)
    side = models.CharField(max_length=5, default="long")
    signal = models.ForeignKey(
        "webhooks.Signal",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="queue_entries",
    )
    strategy = models.ForeignKey(
        "strategies.Strategy",
        null=True,
        on_delete=models.SET_NULL,
        related_name="queued_signals",
    )
    # The parsed order, as the signal gave it.
    signal_price = MoneyField(null=True, blank=True)
    quantity = MoneyField(null=True, blank=True)
    # The market's price when last looked at (queueing, the promotion loop): the discount on
    # the signal's price (`domain.priority.loss_pct`) and so the priority are computed from
    # it, without a network call under the pool's lock.
    market_price = MoneyField(null=True, blank=True)
    market_price_at = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField()  # the first time the key was queued; kept on replacement
    replacements = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField()
    pinned_at = models.DateTimeField(null=True, blank=True)  # the trader's Promote
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    reason = models.TextField(blank=True)  # the last decision about it
    decided_at = models.DateTimeField(null=True, blank=True)
    group_id = models.BigIntegerField(null=True, blank=True)  # the group it was promoted into

    class Meta:
        ordering = ["queued_at", "pk"]
        constraints = [
            # One waiting entry per key: a newer entry replaces it rather than queueing twice.
            models.UniqueConstraint(
                fields=["account", "symbol", "timeframe", "side"],
                condition=Q(status__in=["queued", "promoting"]),
                name="queued_signal_key_unique",
            ),
        ]
        indexes = [
            # The queue-promotion loop and the Queue & Pool page read an account's waiting rows.
            models.Index(
                fields=["account", "queued_at"],
                name="queue_promotion_loop_idx",
                condition=Q(status__in=["queued", "promoting"]),
            ),
        ]

    def __str__(self) -> str:
        return f"queued {self.key} #{self.pk}"

    @property
    def dom_id(self) -> str:
        return f"queued-{self.pk}"

    @property
    def key(self) -> str:
        """`ETH/USDT 15m long`: the timeframe as traders write it (TradingView's "15")."""
        return f"{self.symbol} {timeframe_words(self.timeframe)} {self.side}"
