"""Ticks of the exchange layer's periodic loops (scheduled in CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from apps.core.loops import each_isolated, run_loop
from apps.exchanges.services.balances import refresh_balances, refresh_due_balances
from apps.exchanges.services.markets import refresh_due_markets


def market_loop() -> bool:
    return run_loop("exchanges.refresh_markets", lambda: refresh_due_markets(now=timezone.now()))


def balance_loop() -> bool:
    return run_loop("exchanges.refresh_balances", lambda: refresh_due_balances(now=timezone.now()))


def paper_price_loop() -> bool:
    return run_loop("exchanges.paper_prices", lambda: move_paper_prices(now=timezone.now()))


def move_paper_prices(*, now: datetime) -> None:
    """One step of the simulated prices; the accounts whose orders filled see it at once."""
    from apps.exchanges.models import ExchangeAccount, PaperOrder
    from apps.exchanges.paper.services import advance_simulated_prices

    advance_simulated_prices(now=now)
    filled = PaperOrder.objects.filter(updated_at__gte=now).values("account_id")
    # A fill changed its balances: push them now rather than at the next balance tick.
    each_isolated(
        "exchanges.paper_prices",
        ExchangeAccount.objects.filter(pk__in=filled).select_related("owner"),  # paused too
        lambda account: refresh_balances(account=account, now=now),
        account_of=lambda account: account,
    )
