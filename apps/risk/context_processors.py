"""The guard banner on every page: each guard in force on the user's accounts."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone


def guard_banner(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from apps.risk.services.live import banner_for

    return {"guard_banner": banner_for(user.pk, now=timezone.now())}
