"""Live updates of the Risk page and of the guard banner on every page (after commit, per
owner): the same partials the pages render, swapped in by id."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from apps.core.broadcast import broadcast_fragment
from apps.exchanges.models import ExchangeAccount

RISK_LIVE = "risk/risk_live.html"


class AfterCommit:
    """A list computed when the template first reads it: fragments render after commit, so
    what is pushed is the committed state."""

    def __init__(self, compute) -> None:
        self._compute, self._items = compute, None

    def _get(self) -> list:
        if self._items is None:
            self._items = list(self._compute())
        return self._items

    def __iter__(self):
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())

    def __bool__(self) -> bool:
        return bool(self._get())


BANNER = "risk/banner.html"


def banner_for(user_id: int, *, now: datetime) -> list[dict]:
    """Every guard in force on the user's accounts: [{"account": label, "reason": ...}]."""
    from apps.risk.models import AccountGuard
    from apps.risk.services.guards import active_reasons

    shown = []
    guarded = AccountGuard.objects.filter(account__owner_id=user_id).select_related("account")
    for guard in guarded.order_by("account__label"):
        for reason in active_reasons(guard.account, now=now):
            shown.append({"account": guard.account.label, "reason": reason})
    return shown


def push_banner(account: ExchangeAccount) -> None:
    """Push the owner's banner after commit (rendered then, from committed rows)."""
    from django.utils import timezone

    shown = AfterCommit(lambda: banner_for(account.owner_id, now=timezone.now()))
    broadcast_fragment(
        user_ids=[account.owner_id], template=BANNER, context={"guard_banner": shown, "oob": True}
    )


def push_account(
    account: ExchangeAccount, *, now: datetime, prices: Mapping[str, Decimal] | None = None
) -> None:
    """Push the account's Risk table and recent actions (rendered after commit) at `prices`
    (the last prices seen when not given)."""
    from apps.risk import selectors
    from apps.risk.services.engine import rows_of

    def rows():
        groups = list(selectors.open_groups(account))
        at = prices if prices is not None else selectors.stored_prices(groups)
        return rows_of(groups, account, at, None, now=now)

    broadcast_fragment(
        user_ids=[account.owner_id],
        template=RISK_LIVE,
        context={
            "account": account,
            "rows": AfterCommit(rows),
            "actions": selectors.recent_actions(account),  # lazy: evaluated when rendered
            "oob": True,
        },
    )
