from __future__ import annotations

from django.contrib.auth import get_user_model
from django.utils import timezone

from apps.core.broadcast import broadcast_fragment
from apps.core.dashboard import push_header
from apps.core.loops import run_loop
from apps.core.selectors import desk_status

DESK_STATUS_FRAGMENT = "core/desk_status.html"


def heartbeat() -> bool:
    """One tick of the heartbeat loop: push the desk status (the Status page) and each user's
    Desk header (equity, PnL, pool, guards, health) to their open pages. A user with no page
    open costs a presence check: nothing is rendered for them."""

    def tick() -> None:
        user_ids = list(
            get_user_model().objects.filter(is_active=True).values_list("pk", flat=True)
        )
        broadcast_fragment(
            user_ids=user_ids,
            template=DESK_STATUS_FRAGMENT,
            context={"status": desk_status(now=timezone.now())},
        )
        for user_id in user_ids:
            push_header(user_id)

    return run_loop("core.heartbeat", tick)
