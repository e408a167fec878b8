from django.contrib import admin

from apps.core.admin import PlainNumbersAdmin
from apps.strategies.models import Strategy


@admin.register(Strategy)
class StrategyAdmin(PlainNumbersAdmin):
    list_display = ["name", "owner", "side", "sizing_kind", "sizing_value", "updated_at"]
    list_filter = ["side", "sizing_kind"]
    search_fields = ["name", "owner__username"]
    list_select_related = ["owner"]
    # The rules were validated by the rule catalog when the trader saved them; a hand edit here
    # could store a rule the ticket then refuses to load.
    readonly_fields = ["owner", "rules", "created_at", "updated_at"]
