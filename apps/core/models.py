from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class AppendOnlyError(RuntimeError):
    """Raised when code tries to change or delete an audit event."""


class EventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("Events are append-only: they are never updated.")

    def delete(self):
        raise AppendOnlyError("Events are append-only: they are never deleted.")

    def about(self, subject: models.Model) -> EventQuerySet:
        """The events about one object (its timeline), as `record_event` files them."""
        return self.filter(subject_type=subject._meta.label_lower, subject_id=str(subject.pk))


class Event(models.Model):
    """One append-only audit record: who or what, when, about which object, what and why.

    Written only through `apps.core.events.record_event`. The timeline of every trade, signal
    and account is read from these rows, so they are never updated or deleted by the app.
    """

    class Level(models.TextChoices):
        INFO = "info", "Info"
        SUCCESS = "success", "Success"
        WARNING = "warning", "Warning"
        ERROR = "error", "Error"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # PROTECT: a user with history is deactivated, never deleted, so the audit stays whole.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        help_text="Whose object this is about; empty for system-wide events.",
    )
    account = models.ForeignKey(
        "exchanges.ExchangeAccount",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        help_text="The exchange account concerned, if any.",
    )
    kind = models.CharField(
        max_length=64, db_index=True, help_text="Dotted name, e.g. trade.activated."
    )
    # Derived once, when the event is recorded (never updated): what the Logs page filters on.
    # Stored rather than computed in the query so that each filter has an index to walk in
    # (user, value, newest first) order, on PostgreSQL and SQLite alike.
    category = models.CharField(
        max_length=32,
        blank=True,
        default="",
        help_text="What the event is about, from its kind: trade, position, signal, risk...",
    )
    symbol = models.CharField(
        max_length=64, blank=True, default="", help_text="The market concerned, if any."
    )
    level = models.CharField(max_length=8, choices=Level.choices, default=Level.INFO)
    subject_type = models.CharField(
        max_length=64, blank=True, help_text="Model label of the subject, e.g. trades.trade."
    )
    subject_id = models.CharField(max_length=64, blank=True)
    message = models.TextField()
    data = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        # The Logs page reads one user's events newest first by (created_at, id), 50 at a time
        # after a keyset cursor. Each filter has an index that walks exactly that order, so a
        # page costs ~50 index entries whatever the table holds (benchmarks/logs_filter.py).
        # The text search's trigram index is PostgreSQL-only: migration 0005 adds it.
        indexes = [
            # A subject's timeline (trade page, signal page) and the Logs "object" filter.
            models.Index(
                fields=["subject_type", "subject_id", "created_at"], name="event_subject_idx"
            ),
            # The Logs page unfiltered, the date range (created_at bounds), and the text
            # search when its term is common (the planner walks this and filters).
            models.Index(fields=["user", "-created_at", "-id"], name="event_user_recent_idx"),
            # Logs filtered by level.
            models.Index(
                fields=["user", "level", "-created_at", "-id"], name="event_user_level_idx"
            ),
            # Logs filtered by account.
            models.Index(
                fields=["user", "account", "-created_at", "-id"], name="event_user_account_idx"
            ),
            # Logs filtered by category.
            models.Index(
                fields=["user", "category", "-created_at", "-id"], name="event_user_category_idx"
            ),
            # Logs filtered by symbol; events without one (most account and loop events) are
            # left out of the index.
            models.Index(
                fields=["user", "symbol", "-created_at", "-id"],
                name="event_user_symbol_idx",
                condition=~models.Q(symbol=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("Events are append-only: they are never updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Events are append-only: they are never deleted.")


class LoopTick(models.Model):
    """The last run of one periodic loop; `/readyz` and the desk status read it.

    One row per loop, overwritten on every tick: the loops' history is not an audit trail,
    only their liveness matters here.
    """

    name = models.CharField(max_length=64, primary_key=True)
    last_started_at = models.DateTimeField()
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_duration_ms = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    runs = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Installation(models.Model):
    """This desk, once: the short code that starts every client order id it writes, so two
    desks trading one exchange account never reuse each other's ids and reconciliation can
    tell this desk's orders from others' (`apps.core.installation`). Generated on first use
    and never changed: the exchange holds orders with it."""

    code = models.CharField(max_length=4, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"installation {self.code}"
