"""The risk engine's settings per account, its per-group controls, the guard state the risk
loop keeps per account, and the record of every risk action."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from apps.core.fields import MoneyField
from apps.risk.domain import selection
from apps.risk.domain.guards import GuardLimits

# Bounds a trader's settings stay within (the form reads them from these validators): a timer
# of a month, a group age of a year, so `timedelta(minutes=...)` and `now - age` never overflow.
MAX_WAIT_MINUTES = 60 * 24 * 30
MAX_GROUP_AGE_MINUTES = 60 * 24 * 365
MAX_BREAKER_ERRORS = 100
MAX_BREAKER_MINUTES = 60 * 24 * 7


def _between(minimum, maximum) -> list:
    return [MinValueValidator(minimum), MaxValueValidator(maximum)]


PERCENT = _between(Decimal(0), Decimal(100))


class RiskSettings(models.Model):
    """One exchange account's risk engine and guard settings (defaults until the trader saves)."""

    account = models.OneToOneField(
        "exchanges.ExchangeAccount", on_delete=models.CASCADE, related_name="risk_settings"
    )
    # The engine closes positions on its own, so it is off until the trader turns it on.
    enabled = models.BooleanField(default=False)
    loss_threshold_pct = MoneyField(
        default=Decimal(-5),
        validators=_between(Decimal(-100), Decimal(0)),
        help_text="A group qualifies as a loser at or below this unrealised PnL % (negative).",
    )
    require_all_pyramids = models.BooleanField(
        default=True, help_text="Only a group with all its pyramids (the strategy's limit)."
    )
    timer_start = models.CharField(
        max_length=20,
        choices=list(selection.TIMER_START_LABELS.items()),
        default=selection.TimerStart.LAST_PYRAMID,
    )
    wait_minutes = models.PositiveIntegerField(default=60, validators=_between(0, MAX_WAIT_MINUTES))
    replacement_resets_timer = models.BooleanField(
        default=True, help_text="A new entry signal for the group restarts its timer."
    )
    min_group_age_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=_between(0, MAX_GROUP_AGE_MINUTES),
        help_text="Optional: the group must be at least this old.",
    )
    max_winners = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(1), MaxValueValidator(10)]
    )
    shortfall = models.CharField(
        max_length=10,
        choices=list(selection.SHORTFALL_LABELS.items()),
        default=selection.Shortfall.PARTIAL,
        help_text="When the winners cannot cover the whole loss.",
    )
    # Guards (empty: off).
    daily_loss_limit = MoneyField(
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
        help_text="In the quote currency.",
    )
    daily_loss_limit_pct = MoneyField(
        null=True, blank=True, validators=PERCENT, help_text="% of the day's equity."
    )
    max_drawdown_pct = MoneyField(
        null=True, blank=True, validators=PERCENT, help_text="% below the equity peak."
    )
    max_symbol_exposure_pct = MoneyField(
        null=True, blank=True, validators=PERCENT, help_text="% of equity."
    )
    # Circuit breaker.
    breaker_errors = models.PositiveSmallIntegerField(
        default=5,
        validators=_between(0, MAX_BREAKER_ERRORS),
        help_text="Consecutive exchange errors that pause new entries (0: off).",
    )
    breaker_window_minutes = models.PositiveIntegerField(
        default=10, validators=_between(0, MAX_BREAKER_MINUTES)
    )
    breaker_cooldown_minutes = models.PositiveIntegerField(
        default=15, validators=_between(0, MAX_BREAKER_MINUTES)
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "risk settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(loss_threshold_pct__lt=0), name="risk_loss_threshold_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"Risk settings of {self.account}"

    def engine(self) -> selection.EngineSettings:
        return selection.EngineSettings(
            loss_threshold_pct=self.loss_threshold_pct,
            require_all_pyramids=self.require_all_pyramids,
            timer_start=selection.TimerStart(self.timer_start),
            wait=timedelta(minutes=self.wait_minutes),
            replacement_resets_timer=self.replacement_resets_timer,
            min_group_age=(
                timedelta(minutes=self.min_group_age_minutes)
                if self.min_group_age_minutes
                else None
            ),
            max_winners=self.max_winners,
            shortfall=selection.Shortfall(self.shortfall),
        )

    def limits(self) -> GuardLimits:
        return GuardLimits(
            daily_loss_quote=self.daily_loss_limit,
            daily_loss_pct=self.daily_loss_limit_pct,
            max_drawdown_pct=self.max_drawdown_pct,
            max_symbol_exposure_pct=self.max_symbol_exposure_pct,
        )


class AccountGuard(models.Model):
    """What the risk loop knows about one account: equity, the day's start, the peak, a
    breached guard, the circuit breaker and the kill switch. Written by the risk services only.
    """

    account = models.OneToOneField(
        "exchanges.ExchangeAccount", on_delete=models.CASCADE, related_name="risk_guard"
    )
    equity = MoneyField(null=True, blank=True)
    equity_at = models.DateTimeField(null=True, blank=True)
    day = models.DateField(null=True, blank=True)  # the UTC day `day_start_equity` belongs to
    day_start_equity = MoneyField(null=True, blank=True)
    peak_equity = MoneyField(null=True, blank=True)
    # A breached daily loss limit or drawdown; it holds until the day rolls over (daily loss)
    # or the operator resumes.
    breach_guard = models.CharField(max_length=20, blank=True)
    breach_reason = models.TextField(blank=True)
    breach_day = models.DateField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    # Symbols at or over the exposure limit at the last tick: {symbol: reason}.
    exposure = models.JSONField(default=dict, blank=True)
    # Circuit breaker.
    error_count = models.PositiveIntegerField(default=0)
    error_streak_started_at = models.DateTimeField(null=True, blank=True)
    breaker_until = models.DateTimeField(null=True, blank=True)
    breaker_reason = models.TextField(blank=True)
    # Kill switch: engaged until the operator resumes; the loop keeps the account flat.
    killed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Guards of {self.account}"


class GroupRisk(models.Model):
    """The trader's controls over one group, and when a replacement signal restarted its timer."""

    group = models.OneToOneField(
        "positions.PositionGroup", on_delete=models.CASCADE, related_name="risk"
    )
    blocked = models.BooleanField(default=False)
    skip_once = models.BooleanField(default=False)
    skipped_at = models.DateTimeField(null=True, blank=True)
    timer_reset_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Risk controls of position #{self.group_id}"


class RiskAction(models.Model):
    """One thing the risk engine did (or refused to do) with its whole calculation."""

    class Status(models.TextChoices):
        EXECUTED = "executed", "Executed"
        SKIPPED = "skipped", "Skipped"
        ABORTED = "aborted", "Aborted"

    class Trigger(models.TextChoices):
        LOOP = "loop", "Risk loop"
        MANUAL = "manual", "Run now"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="risk_actions"
    )
    account = models.ForeignKey(
        "exchanges.ExchangeAccount", on_delete=models.CASCADE, related_name="risk_actions"
    )
    loser = models.ForeignKey(
        "positions.PositionGroup",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="risk_actions",
    )
    status = models.CharField(max_length=10, choices=Status.choices)
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    required = MoneyField(null=True, blank=True)  # the loser's absolute loss, in quote
    covered = MoneyField(null=True, blank=True)  # the winners' planned realised PnL (gross)
    reason = models.TextField()
    # The calculation: loser, required, each winner's quantity, price and realised amount, what
    # was skipped and why, what changed since selection, the orders written.
    calculation = models.JSONField(default=dict)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["account", "-created_at"], name="risk_action_recent_idx")]

    def __str__(self) -> str:
        return f"Risk action #{self.pk} ({self.status})"

    @property
    def dom_id(self) -> str:
        return f"risk-action-{self.pk}"
