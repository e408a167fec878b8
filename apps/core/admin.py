from django.contrib import admin
from django.db import models

from apps.core.forms import plain_numbers
from apps.core.models import Event, LoopTick


class PlainNumbersAdmin(admin.ModelAdmin):
    """An admin whose whole numbers are read as the trader's forms read them (the bounded
    parser: `1_000` and `٣` refused, within the field's validators); money already is."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if (
            isinstance(db_field, models.IntegerField)
            and not isinstance(db_field, models.AutoField)
            and not db_field.choices
        ):
            return plain_numbers(db_field, **kwargs)
        return super().formfield_for_dbfield(db_field, request, **kwargs)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Operators read these rows; the application alone writes them."""

    actions = None

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    """Rows the services write; operators read them next to their parent row."""

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


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "level",
        "kind",
        "user",
        "account",
        "subject_type",
        "subject_id",
        "message",
    ]
    list_filter = ["level", "kind", "subject_type", "created_at"]
    search_fields = ["message", "kind", "subject_id", "user__username"]
    date_hierarchy = "created_at"
    list_select_related = ["user", "account"]


@admin.register(LoopTick)
class LoopTickAdmin(ReadOnlyAdmin):
    list_display = [
        "name",
        "last_started_at",
        "last_finished_at",
        "last_duration_ms",
        "runs",
        "last_error",
    ]
    search_fields = ["name"]
