"""Webhook routes (a trader's TradingView URLs) and the signals received on them."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from apps.core.fields import EncryptedTextField

# TradingView's published webhook source addresses (support article 43000529348).
TRADINGVIEW_IPS = "52.89.214.238\n34.212.75.30\n54.218.53.128\n52.32.178.7"
DUPLICATE_WINDOW_DEFAULT = 30
DUPLICATE_WINDOW_MAX = 3600
MAX_LAG_MAX = 86_400  # a day: a longer freshness limit is no limit (as in a body's max_lag)
RATE_LIMIT_MAX = 10_000


class WebhookRoute(models.Model):
    """One webhook URL: who may post to it, which account it trades on, and which strategy says
    what a signal does."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_routes"
    )
    label = models.CharField(max_length=60)
    token = models.CharField(max_length=64, unique=True)  # the secret part of the URL
    secret = EncryptedTextField(blank=True)  # optional body secret
    ip_allowlist = models.TextField(blank=True, default=TRADINGVIEW_IPS)
    account = models.ForeignKey(
        "exchanges.ExchangeAccount", on_delete=models.PROTECT, related_name="webhook_routes"
    )
    strategy = models.ForeignKey(
        "strategies.Strategy", on_delete=models.PROTECT, related_name="webhook_routes"
    )
    max_lag_seconds = models.PositiveIntegerField(  # 0: no freshness check
        default=300, validators=[MinValueValidator(0), MaxValueValidator(MAX_LAG_MAX)]
    )
    rate_limit_per_minute = models.PositiveIntegerField(  # 0: no limit
        default=60, validators=[MinValueValidator(0), MaxValueValidator(RATE_LIMIT_MAX)]
    )
    # How long an identical body without an id or a fire time counts as a resend (a duplicate)
    # rather than the alert firing again; it covers TradingView's resends (3, 5 s apart).
    duplicate_window_seconds = models.PositiveIntegerField(
        default=DUPLICATE_WINDOW_DEFAULT,
        validators=[MinValueValidator(1), MaxValueValidator(DUPLICATE_WINDOW_MAX)],
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    rotated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["label"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "label"], name="webhook_route_label_unique"),
            models.CheckConstraint(
                condition=Q(duplicate_window_seconds__gte=1)
                & Q(duplicate_window_seconds__lte=DUPLICATE_WINDOW_MAX),
                name="webhook_route_duplicate_window_range",
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def dom_id(self) -> str:
        return f"route-{self.pk}"


class Signal(models.Model):
    """One received webhook request: the raw bytes, kept forever, and what was decided."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"  # recorded, waiting for its lane
        PROCESSING = "processing", "Processing"  # handed to the position groups
        EXECUTED = "executed", "Executed"
        QUEUED = "queued", "Queued"
        DUPLICATE = "duplicate", "Duplicate"
        STALE = "stale", "Stale"
        REJECTED = "rejected", "Rejected"
        # Later decisions of a queued entry (apps.trade_queue): it executes when promoted, or
        # ends as one of these.
        EXPIRED = "expired", "Expired"
        CANCELLED = "cancelled", "Cancelled"  # by an exit signal, or removed from the queue
        REPLACED = "replaced", "Replaced"  # by a newer entry for the same symbol and timeframe

    route = models.ForeignKey(WebhookRoute, on_delete=models.PROTECT, related_name="signals")
    # The route's account when the signal arrived: the account it trades on, and with `symbol`
    # its lane (signals of one lane are processed in arrival order).
    account = models.ForeignKey(
        "exchanges.ExchangeAccount", on_delete=models.PROTECT, related_name="signals"
    )
    received_at = models.DateTimeField()
    body = models.BinaryField()
    content_type = models.CharField(max_length=200, blank=True)
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    # Idempotency key: explicit id, else a body hash (with a time bucket when the body has no
    # fire time either; see apps.webhooks.domain.envelope.idempotency_key).
    key = models.CharField(max_length=128)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    reason = models.TextField(blank=True)
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="duplicates"
    )
    # The parsed intent (strings, Decimals exactly as given): format, action, timeframe, price,
    # quantity, fired_at, note; empty when the body could not be read.
    parsed = models.JSONField(default=dict, blank=True)
    action = models.CharField(max_length=5, blank=True)  # entry / exit, once parsed
    symbol = models.CharField(max_length=40, blank=True)  # the account's market, once parsed
    # What the position groups did with it (SignalOutcome): the group and the orders placed.
    group_id = models.BigIntegerField(null=True, blank=True)
    order_ids = models.JSONField(default=list, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [
            # A repeated delivery is recorded too, as a duplicate: only the first one is unique.
            models.UniqueConstraint(
                fields=["route", "key"],
                condition=~Q(status="duplicate"),
                name="signal_route_key_unique",
            )
        ]
        indexes = [
            # The processing task drains a lane's waiting signals oldest first, and the sweep
            # loop finds signals whose task was lost.
            models.Index(
                fields=["account", "symbol", "received_at"],
                name="signal_lane_idx",
                condition=Q(status__in=["received", "processing"]),
            ),
            # The Signals page: a route's newest signals.
            models.Index(fields=["route", "-received_at"], name="signal_route_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"signal {self.pk} on {self.route}"

    @property
    def dom_id(self) -> str:
        return f"signal-{self.pk}"

    @property
    def symbol_shown(self) -> str:
        """The market, or the symbol as the signal wrote it when none matched."""
        return self.symbol or self.parsed.get("symbol_given", "")

    @property
    def timeframe(self) -> str:
        return self.parsed.get("timeframe", "")

    @property
    def body_text(self) -> str:
        """The raw body as text (undecodable bytes shown as �), for pages and the admin."""
        return bytes(self.body).decode("utf-8", errors="replace")
