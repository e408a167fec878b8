"""Trades built on the ticket, their revisions, and the indicator cache."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core.fields import MoneyField
from apps.core.market_formats import FormatSlot
from apps.core.numbers import ZERO
from apps.positions.models.rules import parse_stored
from apps.strategies.domain.catalog import Rule, RuleKind, Side
from apps.strategies.domain.sizing import SIZING_LABELS, Sizing, SizingKind


class Trade(models.Model):
    """One ticket, from Draft to Closed: what the trader builds. Its entry opens a position
    (`position`), which its exit rules then manage; the trade's status follows it."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SAVED = "saved", "Saved"
        PENDING = "pending", "Active / Pending"  # activated, waiting for the entry rule
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"
        CANCELLED = "cancelled", "Cancelled"
        REJECTED = "rejected", "Rejected"  # activation failed; still editable
        ERROR = "error", "Error"  # needs attention

    EDITABLE = (Status.DRAFT, Status.SAVED, Status.REJECTED)
    RUNNING = (Status.PENDING, Status.OPEN)
    FINISHED = (Status.CLOSED, Status.CANCELLED)

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="trades"
    )
    account = models.ForeignKey(
        "exchanges.ExchangeAccount", on_delete=models.PROTECT, related_name="trades"
    )
    symbol = models.CharField(max_length=40)
    fmt = FormatSlot()  # the market's tick, step and units for its figures
    side = models.CharField(
        max_length=5, choices=[(side.value, side.value.title()) for side in Side], default="long"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    portfolio = models.BooleanField(
        default=False, help_text="Apply the portfolio filters (buying power) on activation."
    )
    # Copied onto the position when it opens (`PositionGroup.rest_take_profit`).
    rest_take_profit = models.BooleanField(
        default=False, help_text="Rest the take profit on the exchange as a limit sell."
    )
    strategy = models.ForeignKey(
        "strategies.Strategy",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="trades",
    )
    # The revision in force, and the one being edited by Modify (swapped in on Activate).
    revision = models.ForeignKey(
        "TradeRevision", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    next_revision = models.ForeignKey(
        "TradeRevision", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Per rule kind: {"memory": {...}, "outcome": "..."}; the rules loop's state (crossings).
    rule_state = models.JSONField(default=dict, blank=True)
    # Activation errors by field ("symbol", "sizing", "entry.value", ...), shown on the ticket.
    errors = models.JSONField(default=dict, blank=True)

    last_price = MoneyField(null=True, blank=True)  # as last seen by the rules loop
    # Why an entry that fired has not opened its position yet (the pool is full): shown on the
    # ticket; cleared when the position opens.
    waiting_reason = models.TextField(blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            # The rules loop polls tickets waiting for their entry.
            models.Index(
                fields=["status"],
                name="trade_rules_loop_idx",
                condition=Q(status="pending"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.symbol} {self.side} #{self.pk}"

    @property
    def dom_id(self) -> str:
        return f"trade-{self.pk}"

    @property
    def is_editable(self) -> bool:
        return self.status in self.EDITABLE

    @property
    def is_running(self) -> bool:
        return self.status in self.RUNNING

    @property
    def sizing_words(self) -> str:
        """The running revision's sizing in the market's units: `200 USDT`, `0.01 BTC`,
        `5 % of buying power` (empty without a revision)."""
        if self.revision is None:
            return ""
        base, _, quote = self.symbol.partition("/")
        return self.revision.sizing.words(base, quote.split(":")[0])

    @property
    def position_or_none(self):
        """The position its entry opened, if it has opened one."""
        try:
            return self.position
        except models.ObjectDoesNotExist:
            return None


class TradeRevision(models.Model):
    """One version of a trade's sizing and rules. Modify writes a new one; Activate swaps it in."""

    trade = models.ForeignKey(Trade, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    sizing_kind = models.CharField(
        max_length=20, choices=list(SIZING_LABELS.items()), default=SizingKind.QUOTE
    )
    sizing_value = MoneyField(default=ZERO)
    # Rule kind -> `Rule.to_dict()`; a kind left out has no rule.
    rules = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["trade", "number"]
        constraints = [
            models.UniqueConstraint(fields=["trade", "number"], name="revision_trade_number_unique")
        ]

    def __str__(self) -> str:
        return f"{self.trade} r{self.number}"

    @property
    def sizing(self) -> Sizing:
        return Sizing(SizingKind(self.sizing_kind), self.sizing_value.normalize())

    def parsed_rules(self, side: str) -> dict[RuleKind, Rule | None]:
        """The stored rules, read back through the catalog (they were validated when saved)."""
        return parse_stored(side, self.rules)


class CandleValue(models.Model):
    """Indicator cache: a candle source's value on the last closed candle of a timeframe.

    Written by the market-data loop, read in one query per rules tick.
    """

    account = models.ForeignKey(
        "exchanges.ExchangeAccount", on_delete=models.CASCADE, related_name="candle_values"
    )
    symbol = models.CharField(max_length=40)
    source = models.CharField(max_length=10)  # close, ema, sma, rsi
    period = models.PositiveSmallIntegerField(default=0)  # 0 for the candle close
    timeframe = models.CharField(max_length=4)
    candle_at = models.DateTimeField(help_text="Open time of the closed candle the value is for.")
    value = MoneyField()
    refreshed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "symbol", "source", "period", "timeframe"],
                name="candle_value_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.symbol} {self.source}({self.period}, {self.timeframe}) = {self.value}"
