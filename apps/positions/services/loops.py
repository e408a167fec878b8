"""Ticks of the positions' periodic loops (scheduled in CELERY_BEAT_SCHEDULE).

The loop names are the ones the trades app gave them: they name the loops' heartbeat rows and
the beat's schedule in installed desks.
"""

from __future__ import annotations

from django.utils import timezone

from apps.core.loops import run_loop
from apps.positions.services.orders import sync_orders
from apps.positions.services.take_profit import take_profit


def order_sync_loop() -> bool:
    return run_loop("trades.sync_orders", lambda: sync_orders(now=timezone.now()))


def take_profit_loop() -> bool:
    return run_loop("trades.take_profit", lambda: take_profit(now=timezone.now()))
