"""Ticks of the tickets' periodic loops (scheduled in CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from django.utils import timezone

from apps.core.loops import run_loop
from apps.tickets.services.candles import refresh_due
from apps.tickets.services.engine import evaluate_rules


def rules_loop() -> bool:
    return run_loop("trades.rules", lambda: evaluate_rules(now=timezone.now()))


def market_data_loop() -> bool:
    return run_loop("trades.market_data", lambda: refresh_due(now=timezone.now()))
