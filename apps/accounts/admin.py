from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from apps.accounts.models import User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "email", "role", "is_active", "last_login", "date_joined"]
    list_filter = ["is_staff", "is_active", "is_superuser"]
    search_fields = ["username", "email", "first_name", "last_name"]

    @admin.display(description="Role", ordering="is_staff")
    def role(self, user: User) -> str:
        return user.role
