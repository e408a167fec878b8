from django.contrib import admin

from apps.risk.models import AccountGuard, GroupRisk, RiskAction, RiskSettings


@admin.register(RiskSettings)
class RiskSettingsAdmin(admin.ModelAdmin):
    list_display = ["account", "enabled", "loss_threshold_pct", "max_winners", "updated_at"]
    list_filter = ["enabled"]


@admin.register(AccountGuard)
class AccountGuardAdmin(admin.ModelAdmin):
    list_display = [
        "account",
        "equity",
        "peak_equity",
        "breach_guard",
        "breaker_until",
        "killed_at",
    ]
    readonly_fields = [f.name for f in AccountGuard._meta.fields]


@admin.register(RiskAction)
class RiskActionAdmin(admin.ModelAdmin):
    list_display = [
        "pk",
        "account",
        "status",
        "trigger",
        "loser",
        "required",
        "covered",
        "created_at",
    ]
    list_filter = ["status", "trigger"]
    readonly_fields = [f.name for f in RiskAction._meta.fields]


admin.site.register(GroupRisk)
