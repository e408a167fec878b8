from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from apps.core.events import record_event


@transaction.atomic
def ensure_user(*, username: str, password: str, is_staff: bool = False) -> bool:
    """Create login `username` unless it exists. Returns True when it was created."""
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        return False
    user = User.objects.create_user(
        username=username, password=password, is_staff=is_staff, is_superuser=is_staff
    )
    record_event(
        kind="account.created",
        message=f"Login {username} created as {user.role}.",
        user=user,
        subject=user,
    )
    return True
