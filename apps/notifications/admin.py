from django.contrib import admin

from apps.core.admin import PlainNumbersAdmin, ReadOnlyAdmin
from apps.notifications.models import Delivery, DeliveryAttempt, Destination


@admin.register(Destination)
class DestinationAdmin(PlainNumbersAdmin):
    # The Discord webhook URL is a credential: never shown, not even masked.
    exclude = ["discord_webhook_url"]
    readonly_fields = ["kind", "failing_since", "created_at"]
    list_display = ["label", "owner", "kind", "status", "is_paused", "failing_since"]
    list_filter = ["kind", "status", "is_paused"]
    search_fields = ["label", "owner__username", "email_address"]
    list_select_related = ["owner"]


class AttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    readonly_fields = ["started_at", "duration_ms", "outcome", "error"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    """Operators see every delivery, its attempts and errors."""

    list_display = [
        "created_at",
        "destination",
        "kind",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
    ]
    list_filter = ["status", "kind", "destination__kind"]
    search_fields = ["subject", "destination__label", "destination__owner__username"]
    list_select_related = ["destination"]
    inlines = [AttemptInline]
