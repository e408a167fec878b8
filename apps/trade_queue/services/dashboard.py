"""The queue's figure in the Desk's header: entries waiting for a pool slot
(`apps.core.dashboard.desk_figures`, connected in `TradeQueueConfig.ready`)."""

from __future__ import annotations

from datetime import datetime

from django.urls import reverse

from apps.core.dashboard import Figure
from apps.trade_queue.models import QueuedSignal


def desk_figures(*, user_id: int, now: datetime) -> list[Figure]:
    waiting = QueuedSignal.objects.filter(
        account__owner_id=user_id, status__in=QueuedSignal.WAITING
    ).count()
    return [
        Figure(
            key="queued",
            label="Queued entries",
            value=str(waiting),
            detail="waiting for a pool slot" if waiting else "none waiting",
            tone="warning" if waiting else "",
            order=50,
            url=reverse("trade_queue:queue"),
        )
    ]
