from django.contrib import admin, messages

from apps.core.admin import ReadOnlyAdmin
from apps.webhooks import services
from apps.webhooks.models import Signal, WebhookRoute


@admin.register(WebhookRoute)
class WebhookRouteAdmin(ReadOnlyAdmin):
    """The token (the URL's secret part) and the body secret never appear here, not even
    masked. Operators can deactivate a route (say, one posting garbage at its rate limit)."""

    fields = [
        "label",
        "owner",
        "account",
        "strategy",
        "has_secret",
        "ip_allowlist",
        "max_lag_seconds",
        "rate_limit_per_minute",
        "duplicate_window_seconds",
        "is_active",
        "created_at",
        "rotated_at",
    ]
    readonly_fields = fields
    list_display = ["label", "owner", "account", "strategy", "has_secret", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["label", "owner__username", "account__label"]
    list_select_related = ["owner", "account", "strategy"]
    actions = ["deactivate"]

    @admin.display(boolean=True, description="Body secret")
    def has_secret(self, route: WebhookRoute) -> bool:
        return bool(route.secret)

    @admin.action(description="Deactivate the selected routes (their URLs answer 404)")
    def deactivate(self, request, queryset) -> None:
        for route in queryset.select_related("owner", "account"):
            services.set_route_active(route=route, active=False)
        messages.success(request, "Deactivated.")


@admin.register(Signal)
class SignalAdmin(ReadOnlyAdmin):
    """Signals are the audit trail of what TradingView sent: read-only, raw body included."""

    fields = [
        "route",
        "account",
        "received_at",
        "status",
        "reason",
        "duplicate_of",
        "action",
        "symbol",
        "parsed",
        "group_id",
        "order_ids",
        "processed_at",
        "source_ip",
        "content_type",
        "key",
        "raw_body",
    ]
    readonly_fields = fields
    list_display = ["pk", "received_at", "route", "status", "action", "symbol", "reason"]
    list_filter = ["status", "received_at"]
    search_fields = ["symbol", "reason", "route__label", "route__owner__username"]
    date_hierarchy = "received_at"
    list_select_related = ["route"]

    @admin.display(description="Raw body")
    def raw_body(self, signal: Signal) -> str:
        return signal.body_text
