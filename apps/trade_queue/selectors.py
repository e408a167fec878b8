"""Reads of the execution pool and its queue: slots used, and the queue in priority order."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet

from apps.core.market_formats import attach_formats
from apps.core.scoping import owned
from apps.exchanges.models import ExchangeAccount
from apps.positions.models import PositionGroup
from apps.positions.services.pool import Pool, PoolRules, pool_of
from apps.trade_queue.domain.priority import QueuedEntry, loss_pct, ranked
from apps.trade_queue.models import PoolSettings, QueuedSignal


def settings_of(account: ExchangeAccount) -> PoolSettings:
    """The account's pool settings; the defaults (unsaved) when it has none yet."""
    return PoolSettings.objects.filter(account_id=account.pk).first() or PoolSettings(
        account=account
    )


def pool_rules(*, account: ExchangeAccount) -> PoolRules:
    """How the account's pool counts and how long its entries may wait (the engine asks this
    through `hooks.pool_rules` whenever it counts the pool)."""
    pool_settings = settings_of(account)
    return PoolRules(
        pyramids_count=pool_settings.pyramids_count,
        expiry_minutes=pool_settings.queue_expiry_minutes,
    )


def waiting(account_id: int) -> QuerySet[QueuedSignal]:
    return QueuedSignal.objects.filter(account_id=account_id, status__in=QueuedSignal.WAITING)


@dataclass
class QueueRow:
    """A waiting entry as the page and the CSV show it. `loss_pct` is the priority's
    (`domain.priority.loss_pct`): the discount the market offers on the signal's price for the
    entry's side, positive when better than the signal (the CSV keeps its name and sign)."""

    queued: QueuedSignal
    rank: int
    continuation: bool
    loss_pct: Decimal | None

    @property
    def gap_pct(self) -> Decimal | None:
        """How far the market is from the signal's price, in % of it, unsigned: the page
        says which way in words (`below` / `above`)."""
        return abs(self.loss_pct) if self.loss_pct is not None else None

    @property
    def market_vs_signal(self) -> str:
        """`below`, `above` or `at` the signal's price: where the market is, for any side."""
        signal, market = self.queued.signal_price, self.queued.market_price
        if signal is None or market is None:
            return ""
        return "below" if market < signal else "above" if market > signal else "at"


def entry_of(queued: QueuedSignal, *, continuation: bool) -> QueuedEntry:
    return QueuedEntry(
        id=queued.pk,
        queued_at=queued.queued_at,
        replacements=queued.replacements,
        continuation=continuation,
        loss_pct=loss_pct(
            signal_price=queued.signal_price, market_price=queued.market_price, side=queued.side
        ),
        pinned_at=queued.pinned_at,
    )


def ranked_queue(account_id: int, *, pyramids_count: bool) -> list[QueueRow]:
    """The account's waiting entries, highest priority first, from the last market prices
    seen. A continuation (an add to an open group) only ranks first when pyramids count
    toward the pool: otherwise an add is never queued for lack of a slot."""
    rows = attach_formats(waiting(account_id).select_related("signal", "account"))
    open_keys: set[tuple[str, str, str]] = set()
    if pyramids_count and rows:
        open_keys = set(
            PositionGroup.objects.filter(
                account_id=account_id, status=PositionGroup.Status.OPEN
            ).values_list("symbol", "timeframe", "side")
        )
    by_id = {row.pk: row for row in rows}
    entries = [
        entry_of(row, continuation=(row.symbol, row.timeframe, row.side) in open_keys)
        for row in rows
    ]
    return [
        QueueRow(
            queued=by_id[entry.id],
            rank=rank,
            continuation=entry.continuation,
            loss_pct=entry.loss_pct,
        )
        for rank, entry in enumerate(ranked(entries), start=1)
    ]


@dataclass
class AccountQueue:
    """One account's section of the Queue & Pool page."""

    account: ExchangeAccount
    pool: Pool
    settings: PoolSettings
    rows: list[QueueRow] = field(default_factory=list)
    form: Any = None  # the settings form, attached by the page's view (never pushed live)

    @property
    def dom_id(self) -> str:
        return f"pool-{self.account.pk}"


def account_queue(account: ExchangeAccount) -> AccountQueue:
    pool = pool_of(account)
    return AccountQueue(
        account=account,
        pool=pool,
        settings=settings_of(account),
        rows=ranked_queue(account.pk, pyramids_count=pool.pyramids_count),
    )


def accounts_of(user) -> QuerySet[ExchangeAccount]:
    return owned(ExchangeAccount, user, owner_field="owner").order_by("label", "pk")


def queue_page(user) -> list[AccountQueue]:
    return [account_queue(account) for account in accounts_of(user)]


def queued_of(user) -> QuerySet[QueuedSignal]:
    """The user's queue rows, for actions on one of them (another user's is a 404)."""
    return owned(QueuedSignal, user, owner_field="owner").select_related("account", "signal")
