"""The pool's settings, edited on the Queue & Pool page."""

from __future__ import annotations

from django.db import transaction

from apps.core.events import record_event
from apps.exchanges.models import ExchangeAccount
from apps.exchanges.services.accounts import set_pool_size
from apps.trade_queue.models import PoolSettings
from apps.trade_queue.selectors import pool_of
from apps.trade_queue.services.queueing import on_pool_changed


def update_pool_settings(
    *,
    account: ExchangeAccount,
    max_open_groups: int,
    pyramids_count: bool,
    queue_expiry_minutes: int,
) -> None:
    """Change the pool under the account's row lock (the lock every pool count takes). A pool
    that gains free slots promotes its queue at once; a cap lowered below what is open opens
    nothing new until enough groups close. A new expiry applies to entries queued from now
    on."""
    with transaction.atomic():
        account = ExchangeAccount.objects.select_for_update().get(pk=account.pk)
        before = pool_of(account)
        set_pool_size(account=account, max_open_groups=max_open_groups)
        PoolSettings.objects.update_or_create(
            account=account,
            defaults={
                "pyramids_count": pyramids_count,
                "queue_expiry_minutes": queue_expiry_minutes,
            },
        )
        after = pool_of(account)
        record_event(
            kind="pool.settings_changed",
            message=(
                f"{account.label}'s pool: {after.size} slots "
                f"({'pyramid adds count' if pyramids_count else 'pyramid adds are free'}), "
                f"queued signals expire after {queue_expiry_minutes} min."
            ),
            user=account.owner,
            account=account,
            subject=account,
            data={
                "account": account.label,
                "max_open_groups": after.size,
                "pyramids_count": pyramids_count,
                "queue_expiry_minutes": queue_expiry_minutes,
                "before": {"max_open_groups": before.size, "pyramids_count": before.pyramids_count},
            },
        )
        on_pool_changed(account_id=account.pk, freed=after.free > before.free)
