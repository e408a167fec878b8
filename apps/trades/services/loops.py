"""Ticks of the trades' periodic loops (scheduled in CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from django.utils import timezone

from apps.core.loops import run_loop
from apps.trades.services.candles import refresh_due
from apps.trades.services.engine import evaluate_rules
from apps.trades.services.groups import take_profit
from apps.trades.services.orders import sync_orders


def rules_loop() -> bool:
    return run_loop("trades.rules", lambda: evaluate_rules(now=timezone.now()))


def order_sync_loop() -> bool:
    return run_loop("trades.sync_orders", lambda: sync_orders(now=timezone.now()))


def market_data_loop() -> bool:
    return run_loop("trades.market_data", lambda: refresh_due(now=timezone.now()))


def take_profit_loop() -> bool:
    return run_loop("trades.take_profit", lambda: take_profit(now=timezone.now()))
