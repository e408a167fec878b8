from django.contrib import admin

from apps.core.admin import ReadOnlyAdmin, ReadOnlyInline
from apps.positions.models import DcaLeg, Order, PositionGroup, Pyramid


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
        "trigger_price",
        "protective",
        "amount",
        "filled",
        "average",
        "status",
    ]
    list_filter = ["status", "purpose", "side", "type", "protective"]
    search_fields = ["client_order_id", "exchange_order_id", "symbol", "account__label"]
    list_select_related = ["group", "account"]


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
    """Read-only, like tickets: positions change only through their services, which record why."""

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
