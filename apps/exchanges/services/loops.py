"""Ticks of the exchange layer's periodic loops (scheduled in CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from django.utils import timezone

from apps.core.loops import run_loop
from apps.exchanges.services.balances import refresh_due_balances
from apps.exchanges.services.markets import refresh_due_markets


def market_loop() -> bool:
    return run_loop("exchanges.refresh_markets", lambda: refresh_due_markets(now=timezone.now()))


def balance_loop() -> bool:
    return run_loop("exchanges.refresh_balances", lambda: refresh_due_balances(now=timezone.now()))


def paper_price_loop() -> bool:
    from apps.exchanges.paper.services import advance_simulated_prices

    return run_loop("exchanges.paper_prices", lambda: advance_simulated_prices(now=timezone.now()))
