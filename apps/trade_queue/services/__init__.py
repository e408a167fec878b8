"""The execution pool's queue: entries queued while the pool is full (`queueing`, called by
the position groups under the account's lock), promotion into freed slots (`promotion`, a task
on commit and a beat loop), the trader's Promote and Remove, and the pool's settings."""

from apps.trade_queue.services.pool_settings import update_pool_settings
from apps.trade_queue.services.promotion import (
    QueueError,
    promote_account,
    promotion_loop,
    remove_queued,
    request_promotion,
)
from apps.trade_queue.services.queueing import on_pool_changed

__all__ = [
    "QueueError",
    "on_pool_changed",
    "promote_account",
    "promotion_loop",
    "remove_queued",
    "request_promotion",
    "update_pool_settings",
]
