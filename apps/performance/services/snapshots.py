"""The equity loop: a snapshot of each active account's equity every EQUITY_SNAPSHOT_SECONDS,
and one as soon as a UTC day begins (that day's open).

The beat runs the tick every EQUITY_TICK_SECONDS (a minute); each tick snapshots only the
accounts whose last snapshot is older than EQUITY_SNAPSHOT_SECONDS or from an earlier UTC day,
so the day's open is taken within a minute of midnight whatever the snapshot interval.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from apps.core.loops import each_isolated, run_loop
from apps.exchanges.errors import ExchangeError
from apps.exchanges.models import ExchangeAccount
from apps.performance.models import EquitySnapshot
from apps.risk.selectors import fetch_equity
from apps.risk.services.guards import today

logger = logging.getLogger(__name__)
LOOP = "performance.equity"


def equity_loop() -> bool:
    return run_loop(LOOP, lambda: snapshot_due(now=timezone.now()))


def snapshot_due(*, now: datetime, batch: int = 200) -> int:
    """Snapshot every active account that is due (see the module docstring). Returns how many
    snapshots were written. An exchange error skips the account until the next tick."""
    last = EquitySnapshot.objects.filter(account=OuterRef("pk")).order_by("-at").values("at")[:1]
    accounts = (
        ExchangeAccount.objects.filter(is_active=True)
        .annotate(last_at=Subquery(last))
        .order_by("pk")[:batch]
    )
    due_before = now - timedelta(seconds=settings.EQUITY_SNAPSHOT_SECONDS)
    written = 0

    def snap(account: ExchangeAccount) -> None:
        nonlocal written
        if (
            account.last_at
            and account.last_at > due_before
            and today(account.last_at) == today(now)
        ):
            return
        try:
            equity, unpriced = fetch_equity(account=account)
        except ExchangeError as exc:
            logger.warning("Equity loop: account %s: %s", account.pk, exc)
            return
        record_snapshot(account=account, equity=equity, unpriced=unpriced, now=now)
        written += 1

    each_isolated(LOOP, accounts, snap, account_of=lambda account: account)
    return written


def record_snapshot(
    *, account: ExchangeAccount, equity, unpriced=(), now: datetime
) -> EquitySnapshot:
    """Write one snapshot; the first of its UTC day is marked as the day's open.

    The mark is claimed by the conditional unique constraint, so two workers racing at
    midnight cannot both open the day: the loser writes an ordinary snapshot.
    """
    fields = {
        "account": account,
        "at": now,
        "day": today(now),
        "equity": equity,
        "quote_currency": account.quote_currency,
        "unpriced": list(unpriced),
    }
    if not EquitySnapshot.objects.filter(account=account, day=today(now), day_open=True).exists():
        try:
            with transaction.atomic():
                return EquitySnapshot.objects.create(**fields, day_open=True)
        except IntegrityError:
            pass  # another worker opened the day first
    return EquitySnapshot.objects.create(**fields)
