"""Live updates: services push server-rendered fragments to a user's open pages.

A fragment is the *same* partial the page renders, rendered without a request after the
transaction commits, and sent to the user's channel group. The consumer forwards it to the
browser, where htmx's ws extension swaps it in by element id (out-of-band).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

FRAGMENT_EVENT = "desk.fragment"  # handled by DeskConsumer.desk_fragment


def user_group(user_id: int) -> str:
    """The channel group of one user's open pages; nothing else ever joins it."""
    return f"user.{user_id}"


def broadcast_fragment(*, user_ids: Iterable[int], template: str, context: dict[str, Any]) -> None:
    """After the current transaction commits, render `template` once and push it to each user.

    Delivery is best effort by design: a page that is not open misses the push and renders the
    current state when it next loads. A broken channel layer is logged and never fails the
    service that called us.
    """
    recipients = sorted(set(user_ids))
    if not recipients:
        return

    async def send_to_all(html: str) -> None:
        layer = get_channel_layer()
        for user_id in recipients:
            await layer.group_send(user_group(user_id), {"type": FRAGMENT_EVENT, "html": html})

    def send() -> None:
        html = render_to_string(template, context)
        try:
            # One async_to_sync for all recipients: each call costs an event loop and a
            # connection, which a heartbeat fanned out to every user would pay per user.
            async_to_sync(send_to_all)(html)
        except Exception:
            logger.exception("Live update %s could not be sent", template)

    transaction.on_commit(send)
