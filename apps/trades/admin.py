from django.contrib import admin

from apps.core.admin import ReadOnlyAdmin
from apps.trades.models import (
    CandleValue,
    DcaLeg,
    Order,
    PositionGroup,
    Pyramid,
    Trade,
    TradeRevision,
)


class ReadOnlyInline(admin.TabularInline):
    """Rows the services write; operators read them next to their trade."""

    extra = 0
    can_delete = False
    show_change_link = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class RevisionInline(ReadOnlyInline):
    model = TradeRevision
    fields = ["number", "sizing_kind", "sizing_value", "rules", "created_at", "activated_at"]


class OrderInline(ReadOnlyInline):
    model = Order
    fields = [
        "created_at",
        "purpose",
        "side",
        "type",
        "amount",
        "price",
        "filled",
        "average",
        "fee_cost",
        "status",
        "client_order_id",
        "exchange_order_id",
        "error",
    ]


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


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "client_order_id",
        "group",
        "account",
        "purpose",
        "side",
        "type",
        "amount",
        "filled",
        "average",
        "status",
    ]
    list_filter = ["status", "purpose", "side", "type"]
    search_fields = ["client_order_id", "exchange_order_id", "symbol", "account__label"]
    list_select_related = ["group", "account"]


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


class PyramidInline(ReadOnlyInline):
    model = Pyramid
    fields = ["index", "entry_price", "capital", "signal", "created_at"]


class DcaLegInline(ReadOnlyInline):
    model = DcaLeg
    fields = [
        "pyramid",
        "index",
        "gap_pct",
        "weight_pct",
        "tp_pct",
        "price",
        "amount",
        "status",
        "filled",
        "quantity",
        "closed_quantity",
        "fill_price",
        "cost",
        "problem",
    ]


class GroupOrderInline(OrderInline):
    fields = ["leg", *OrderInline.fields]


@admin.register(PositionGroup)
class PositionGroupAdmin(ReadOnlyAdmin):
    """Read-only, like trades: positions change only through their services, which record why."""

    list_display = [
        "pk",
        "opened_at",
        "owner",
        "account",
        "symbol",
        "timeframe",
        "side",
        "trade",
        "status",
        "tp_mode",
        "quantity",
        "average_entry",
        "realised_pnl",
    ]
    list_filter = ["status", "tp_mode", "side"]
    search_fields = ["symbol", "timeframe", "owner__username", "account__label"]
    date_hierarchy = "opened_at"
    list_select_related = ["owner", "account"]
    inlines = [PyramidInline, DcaLegInline, GroupOrderInline]
