from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from apps.core.events import record_event


@transaction.atomic
def ensure_user(*, username: str, password: str, is_staff: bool = False):
    """The login `username`, created with `password` if it does not exist (an existing login,
    and the password its owner may have changed, are left alone)."""
    User = get_user_model()
    existing = User.objects.filter(username=username).first()
    if existing is not None:
        return existing
    user = User.objects.create_user(
        username=username, password=password, is_staff=is_staff, is_superuser=is_staff
    )
    record_event(
        kind="account.created",
        message=f"Login {username} created as {user.role}.",
        user=user,
        subject=user,
    )
    return user
