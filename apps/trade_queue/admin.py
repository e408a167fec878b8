from django.contrib import admin, messages
from django.utils import timezone

from apps.core.admin import ReadOnlyAdmin
from apps.trade_queue import services
from apps.trade_queue.models import PoolSettings, QueuedSignal


@admin.register(QueuedSignal)
class QueuedSignalAdmin(ReadOnlyAdmin):
    """The queue as operators see it; rows change only through the queue's services (the
    actions below, the trader's page, the promotion loop)."""

    list_display = [
        "pk",
        "account",
        "symbol",
        "timeframe",
        "side",
        "status",
        "replacements",
        "queued_at",
        "expires_at",
        "signal",
        "reason",
    ]
    list_filter = ["status", "timeframe", "side", "account", "queued_at"]
    search_fields = ["symbol", "reason", "account__label", "owner__username"]
    date_hierarchy = "queued_at"
    list_select_related = ["account", "signal"]
    actions = ["promote", "remove"]

    @admin.action(description="Promote: take the next free slot ahead of priority")
    def promote(self, request, queryset) -> None:
        self._act(request, queryset, services.request_promotion)

    @admin.action(description="Remove from the queue (its signal is cancelled)")
    def remove(self, request, queryset) -> None:
        self._act(request, queryset, services.remove_queued)

    def _act(self, request, queryset, service) -> None:
        by = f"operator {request.user.get_username()}"
        for queued in queryset.order_by("pk"):
            try:
                message = service(queued_id=queued.pk, now=timezone.now(), by=by)
            except services.QueueError as error:
                self.message_user(request, f"#{queued.pk}: {error}", messages.WARNING)
            else:
                self.message_user(request, f"#{queued.pk}: {message}", messages.SUCCESS)


@admin.register(PoolSettings)
class PoolSettingsAdmin(ReadOnlyAdmin):
    """Set by the trader on the Queue & Pool page (the pool's size is the account's
    max open groups)."""

    list_display = ["account", "pyramids_count", "queue_expiry_minutes", "updated_at"]
    list_filter = ["pyramids_count"]
    search_fields = ["account__label", "account__owner__username"]
    list_select_related = ["account"]
