from django.contrib import admin

from apps.core.admin import ReadOnlyAdmin, ReadOnlyInline
from apps.tickets.models import CandleValue, Trade, TradeRevision


class RevisionInline(ReadOnlyInline):
    model = TradeRevision
    fields = ["number", "sizing_kind", "sizing_value", "rules", "created_at", "activated_at"]


@admin.register(Trade)
class TradeAdmin(ReadOnlyAdmin):
    """Read-only: positions, money and states change only through the trade services, which
    record why; an edit here would leave the timeline unable to explain the trade."""

    list_display = [
        "pk",
        "created_at",
        "owner",
        "account",
        "symbol",
        "side",
        "status",
        "position",
    ]
    list_filter = ["status", "side", "portfolio"]
    search_fields = ["symbol", "owner__username", "account__label"]
    date_hierarchy = "created_at"
    list_select_related = ["owner", "account", "position"]
    inlines = [RevisionInline]


@admin.register(CandleValue)
class CandleValueAdmin(ReadOnlyAdmin):
    list_display = [
        "account",
        "symbol",
        "source",
        "period",
        "timeframe",
        "candle_at",
        "value",
        "refreshed_at",
    ]
    list_filter = ["source", "timeframe"]
    search_fields = ["symbol", "account__label"]
    list_select_related = ["account"]
