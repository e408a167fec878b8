"""Balances per account: fetched, cached and pushed live to the Portfolio panel."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from apps.core.broadcast import broadcast_fragment
from apps.core.loops import each_isolated
from apps.exchanges.adapters import get_adapter
from apps.exchanges.domain.types import Balance
from apps.exchanges.errors import ExchangeError
from apps.exchanges.models import BalanceSnapshot, ExchangeAccount
from apps.exchanges.selectors import portfolio
from apps.exchanges.services.markets import due_filter

logger = logging.getLogger(__name__)

PORTFOLIO_FRAGMENT = "exchanges/portfolio.html#portfolio"


def refresh_balances(*, account: ExchangeAccount, now: datetime) -> list[Balance]:
    balances = fetch_balances_of(account)
    store_balances(account, balances, now=now)
    return balances


def refresh_due_balances(*, now: datetime, batch: int = 50) -> None:
    """One tick of the balance loop."""
    due_before = now - timedelta(seconds=settings.BALANCES_REFRESH_SECONDS)
    # A paused account (by the trader or the kill switch) still holds what it holds: its
    # balances keep refreshing, so the Desk shows the closes that filled after the pause.
    due = ExchangeAccount.objects.filter(due_filter("balances_refreshed_at", due_before))

    def refresh(account: ExchangeAccount) -> None:
        try:
            refresh_balances(account=account, now=now)
        except ExchangeError as exc:
            logger.warning("Balances of account %s not refreshed: %s", account.pk, exc)

    each_isolated(
        "exchanges.refresh_balances",
        due.select_related("owner").order_by("balances_refreshed_at")[:batch],
        refresh,
        account_of=lambda account: account,
    )


def fetch_balances_of(account: ExchangeAccount) -> list[Balance]:
    adapter = get_adapter(account)
    try:
        return sorted(adapter.fetch_balance().values(), key=lambda balance: balance.asset)
    finally:
        adapter.close()


@transaction.atomic
def store_balances(account: ExchangeAccount, balances: list[Balance], *, now: datetime) -> None:
    for balance in balances:
        BalanceSnapshot.objects.update_or_create(
            account=account,
            asset=balance.asset,
            defaults={
                "free": balance.free,
                "used": balance.used,
                "total": balance.total,
                "fetched_at": now,
            },
        )
    BalanceSnapshot.objects.filter(account=account).exclude(
        asset__in=[balance.asset for balance in balances]
    ).delete()
    ExchangeAccount.objects.filter(pk=account.pk).update(balances_refreshed_at=now)
    account.balances_refreshed_at = now
    broadcast_fragment(
        user_ids=[account.owner_id],
        template=PORTFOLIO_FRAGMENT,
        context={"portfolio": portfolio(account=account)},
        key=f"portfolio-{account.pk}",
    )
