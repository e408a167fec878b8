"""Webhook routes (a trader's TradingView URLs) and the signals received on them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core.fields import EncryptedTextField

# TradingView's published webhook source addresses (support article 43000529348).
TRADINGVIEW_IPS = "52.89.214.238\n34.212.75.30\n54.218.53.128\n52.32.178.7"


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
    max_lag_seconds = models.PositiveIntegerField(default=300)
    rate_limit_per_minute = models.PositiveIntegerField(default=60)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    rotated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["label"]

    def __str__(self) -> str:
        return self.label


class Signal(models.Model):
    """One received webhook request: the raw bytes, kept forever, and what was decided."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"  # recorded, not processed yet
        EXECUTED = "executed", "Executed"
        QUEUED = "queued", "Queued"
        DUPLICATE = "duplicate", "Duplicate"
        STALE = "stale", "Stale"
        REJECTED = "rejected", "Rejected"

    route = models.ForeignKey(WebhookRoute, on_delete=models.PROTECT, related_name="signals")
    received_at = models.DateTimeField()
    body = models.BinaryField()
    content_type = models.CharField(max_length=200, blank=True)
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    key = models.CharField(max_length=128)  # idempotency key: explicit id, else a body hash
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    reason = models.TextField(blank=True)
    parsed = models.JSONField(default=dict, blank=True)
    symbol = models.CharField(max_length=40, blank=True)  # the account's market, once parsed
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

    def __str__(self) -> str:
        return f"signal {self.pk} on {self.route}"

    @property
    def dom_id(self) -> str:
        return f"signal-{self.pk}"
