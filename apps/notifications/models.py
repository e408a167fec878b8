from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core.fields import EncryptedTextField


class Destination(models.Model):
    """Where one trader's notifications go: an email address or a Discord channel webhook."""

    class Kind(models.TextChoices):
        EMAIL = "email", "Email"
        DISCORD = "discord", "Discord"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        FAILING = "failing", "Failing"  # a permanent error: fix it, then resume

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="destinations"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    label = models.CharField(max_length=60)
    email_address = models.EmailField(blank=True, help_text="Empty: the login's own address.")
    # The webhook URL is a credential (anyone holding it can post to the channel).
    discord_webhook_url = EncryptedTextField(blank=True)
    event_kinds = models.JSONField(default=list, blank=True)
    is_paused = models.BooleanField(default=False)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    failing_reason = models.TextField(blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["label", "id"]

    def __str__(self) -> str:
        return f"{self.label} ({self.get_kind_display()})"

    @property
    def recipient(self) -> str:
        return self.email_address or self.owner.email

    @property
    def accepts_deliveries(self) -> bool:
        return not self.is_paused and self.status == self.Status.ACTIVE


class Delivery(models.Model):
    """One event to one destination, until it is sent or fails for good."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    destination = models.ForeignKey(
        Destination, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(
        "core.Event", on_delete=models.PROTECT, related_name="deliveries", null=True, blank=True
    )
    kind = models.CharField(max_length=64)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    severity = models.CharField(max_length=8)
    data = models.JSONField(default=dict, blank=True)  # the fields shown in a Discord embed
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The delivery task and the retry loop: a destination's due, unsent deliveries.
            models.Index(
                fields=["destination", "next_attempt_at"],
                condition=Q(status="pending"),
                name="delivery_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.destination} ({self.status})"


class DeliveryAttempt(models.Model):
    """One try at sending: what happened and how long it took."""

    class Outcome(models.TextChoices):
        SENT = "sent", "Sent"
        RETRY = "retry", "Will retry"
        FAILED = "failed", "Failed permanently"

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["started_at", "id"]

    def __str__(self) -> str:
        return f"{self.delivery_id} {self.outcome}"
