from decimal import Decimal

from django.contrib import admin

from apps.core.admin import PlainNumbersAdmin
from apps.core.numbers import plain
from apps.risk.models import AccountGuard, GroupRisk, RiskAction, RiskSettings


@admin.register(RiskSettings)
class RiskSettingsAdmin(PlainNumbersAdmin):
    list_display = ["account", "enabled", "loss_threshold_pct", "max_winners", "updated_at"]
    list_filter = ["enabled"]


@admin.register(AccountGuard)
class AccountGuardAdmin(PlainNumbersAdmin):
    list_display = [
        "account",
        "equity",
        "peak_equity",
        "breach_guard",
        "breaker_until",
        "killed_at",
    ]
    readonly_fields = [f.name for f in AccountGuard._meta.fields]


_AMOUNTS = ["required", "covered"]


@admin.register(RiskAction)
class RiskActionAdmin(PlainNumbersAdmin):
    list_display = [
        "pk",
        "account",
        "status",
        "trigger",
        "loser",
        "required_amount",
        "covered_amount",
        "created_at",
    ]
    list_filter = ["status", "trigger"]
    # The amounts are shown by the methods below, never as fields: Django's number formatting
    # raises on a non-finite value, which an older version could store from a client's post.
    exclude = _AMOUNTS
    readonly_fields = [f.name for f in RiskAction._meta.fields if f.name not in _AMOUNTS] + [
        "required_amount",
        "covered_amount",
    ]

    @admin.display(description="required", ordering="required")
    def required_amount(self, action: RiskAction) -> str:
        return _amount(action.required)

    @admin.display(description="covered", ordering="covered")
    def covered_amount(self, action: RiskAction) -> str:
        return _amount(action.covered)


def _amount(value: Decimal | None) -> str:
    if value is None:
        return "-"
    return plain(value) if value.is_finite() else "not a number"


admin.site.register(GroupRisk)
