"""Live updates of the Queue & Pool page: an account's pool and queue, pushed as one block.

Any queue move changes every rank below it, and a group opening or closing changes the slots,
so the account's whole section is pushed (a handful of rows), rendered after commit from what
was committed, swapped in by its id (`pool-<account>`).
"""

from __future__ import annotations

from django.utils.functional import SimpleLazyObject

from apps.core.broadcast import broadcast_fragment
from apps.exchanges.models import ExchangeAccount

QUEUE_LIVE = "trade_queue/queue.html#account-pool-live"


def push_queue(account_id: int) -> None:
    from apps.trade_queue.selectors import account_queue

    account = ExchangeAccount.objects.filter(pk=account_id).only("owner_id").first()
    if account is None:
        return

    def load():
        return account_queue(ExchangeAccount.objects.get(pk=account_id))

    broadcast_fragment(
        user_ids=[account.owner_id],
        template=QUEUE_LIVE,
        context={"aq": SimpleLazyObject(load)},
        key=f"queue:{account_id}",  # pushed once per held block, in its final state
    )
