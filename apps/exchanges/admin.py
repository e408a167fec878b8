from django.contrib import admin

from apps.core.admin import PlainNumbersAdmin, ReadOnlyAdmin
from apps.exchanges.models import (
    BalanceSnapshot,
    ExchangeAccount,
    Market,
    PaperBalance,
    PaperOrder,
    PaperPrice,
    PaperSettings,
)
from apps.exchanges.services import SECRET_FIELDS


@admin.register(ExchangeAccount)
class ExchangeAccountAdmin(PlainNumbersAdmin):
    # Credentials never appear here, not even masked: operators see only whether they are set.
    exclude = SECRET_FIELDS
    readonly_fields = [
        "kind",
        "created_at",
        "markets_refreshed_at",
        "balances_refreshed_at",
        "reconciled_at",
        "reconciliation",
    ]
    list_display = [
        "label",
        "owner",
        "kind",
        "sandbox",
        "quote_currency",
        "has_credentials",
        "is_active",
        "markets_refreshed_at",
    ]
    list_filter = ["kind", "sandbox", "is_active"]
    search_fields = ["label", "owner__username"]
    list_select_related = ["owner"]

    @admin.display(boolean=True, description="Credentials saved")
    def has_credentials(self, account: ExchangeAccount) -> bool:
        return account.is_paper or account.has_credentials


@admin.register(Market)
class MarketAdmin(ReadOnlyAdmin):
    list_display = [
        "symbol",
        "account",
        "tick_size",
        "step_size",
        "min_amount",
        "min_notional",
        "active",
        "refreshed_at",
    ]
    list_filter = ["active", "quote"]
    search_fields = ["symbol", "account__label"]
    list_select_related = ["account"]


@admin.register(BalanceSnapshot)
class BalanceSnapshotAdmin(ReadOnlyAdmin):
    list_display = ["account", "asset", "free", "used", "total", "fetched_at"]
    search_fields = ["asset", "account__label"]
    list_select_related = ["account"]


@admin.register(PaperSettings)
class PaperSettingsAdmin(PlainNumbersAdmin):
    """Editable: operators tune fees, slippage and injected faults for drills."""

    list_display = [
        "account",
        "price_source",
        "taker_fee_rate",
        "slippage_rate",
        "latency_ms",
        "timeout_after_placing_rate",
    ]
    list_filter = ["price_source"]
    search_fields = ["account__label"]


@admin.register(PaperBalance)
class PaperBalanceAdmin(ReadOnlyAdmin):
    list_display = ["account", "asset", "free", "used"]
    search_fields = ["asset", "account__label"]


@admin.register(PaperOrder)
class PaperOrderAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "account",
        "symbol",
        "side",
        "type",
        "price",
        "trigger_price",
        "triggered_at",
        "amount",
        "filled",
        "status",
        "client_order_id",
    ]
    list_filter = ["status", "side", "type", "symbol"]
    search_fields = ["client_order_id", "exchange_order_id", "account__label"]


@admin.register(PaperPrice)
class PaperPriceAdmin(ReadOnlyAdmin):
    list_display = ["symbol", "last", "updated_at", "steps"]
