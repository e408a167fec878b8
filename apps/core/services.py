from __future__ import annotations

from django.contrib.auth import get_user_model
from django.utils import timezone

from apps.core.broadcast import broadcast_fragment
from apps.core.loops import run_loop
from apps.core.selectors import desk_status

DESK_STATUS_FRAGMENT = "core/desk_status.html"


def heartbeat() -> bool:
    """One tick of the heartbeat loop: push the desk status to every active user's open pages."""

    def tick() -> None:
        user_ids = get_user_model().objects.filter(is_active=True).values_list("pk", flat=True)
        broadcast_fragment(
            user_ids=list(user_ids),
            template=DESK_STATUS_FRAGMENT,
            context={"status": desk_status(now=timezone.now())},
        )

    return run_loop("core.heartbeat", tick)
