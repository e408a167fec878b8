"""Moves into and out of the queue that happen while a signal is acted on: an entry queued
(or replacing the one queued for its key), an exit cancelling a queued entry, and a promotion
recorded. The engine calls these through its waiting-room hooks (connected in
`TradeQueueConfig.ready`) inside its transaction, holding the account's row lock, so the pool
count, the queue and its ranks change together.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.urls import reverse

from apps.core.background import enqueue_on_commit
from apps.core.events import Facts, record_event
from apps.core.models import Event
from apps.exchanges.models import ExchangeAccount
from apps.positions.services.hooks import Entry, QueueBusy, Queued
from apps.trade_queue.models import QueuedSignal
from apps.trade_queue.selectors import Pool, ranked_queue, waiting
from apps.trade_queue.services.live import push_queue
from apps.webhooks.models import Signal
from apps.webhooks.services.decisions import decide_queued


def queue_event(
    queued: QueuedSignal, kind: str, message: str, *, level: str = Event.Level.INFO, data=None
) -> None:
    """A queue move, on the timeline of the signal it holds (or of the queue row, for an
    entry that did not come from a webhook)."""
    record_event(
        kind=kind,
        message=message,
        user=queued.owner,
        account=queued.account,
        subject=queued.signal if queued.signal_id else queued,
        level=level,
        facts=Facts(
            account=queued.account.label,
            symbol=queued.symbol,
            side=queued.side,
            url=reverse("trade_queue:queue"),
        ),
        data={
            "timeframe": queued.timeframe,
            "queued": queued.pk,
            "replacements": queued.replacements,
        }
        | (data or {}),
    )


# A queue row that ended while its signal was still undecided -> that signal's later status.
_ENDED = {
    QueuedSignal.Status.REJECTED: "rejected",
    QueuedSignal.Status.EXPIRED: "expired",
    QueuedSignal.Status.CANCELLED: "cancelled",
    QueuedSignal.Status.REMOVED: "cancelled",
}


def queued_of_signal(*, signal_id: int) -> Queued | None:
    """The queue row signal `signal_id` wrote (its newest), as the engine's recovery reads it."""
    queued = QueuedSignal.objects.filter(signal_id=signal_id).order_by("-pk").first()
    if queued is None:
        return None
    return Queued(queued.reason, queued.group_id, _ENDED.get(queued.status, ""))


def entries_waiting(*, account_id: int) -> int:
    """Entries already queued for the account's next free slot."""
    return waiting(account_id).filter(status=QueuedSignal.Status.QUEUED).count()


def queue_entry(
    *,
    account: ExchangeAccount,
    strategy,
    entry: Entry,
    signal_id: int | None,
    market_price: Decimal,
    pool: Pool,
    why: str,
    now: datetime,
) -> str:
    """Queue an entry that found the pool full (or behind others already waiting) and return
    the reason its signal is decided "queued" with.

    1. A waiting row for the key is replaced: it takes the newer signal's order and price,
       keeps its queue time and counts the replacement; the replaced signal is decided
       "replaced". A row being promoted right now cannot be replaced (QueueBusy).
    2. Otherwise a new row, expiring after the account's queue expiry, or earlier when the
       signal's own freshness rule (its route's max lag) runs out first.
    3. Its rank among the account's waiting rows, and the page pushed.
    """
    expires_at = _expiry(signal_id, now=now, minutes=pool.expiry_minutes)
    queued = (
        waiting(account.pk)
        .select_for_update()
        .filter(symbol=entry.symbol, timeframe=entry.timeframe, side=entry.side)
        .first()
    )
    if queued is not None and queued.status == QueuedSignal.Status.PROMOTING:
        raise QueueBusy(f"The queued {entry.key} entry is being promoted right now.")
    replaced = None
    if queued is None:
        queued = QueuedSignal(
            owner_id=account.owner_id, account=account, queued_at=now, replacements=0
        )
    else:
        replaced = queued.signal_id
        queued.replacements += 1
    queued.account = account
    queued.symbol, queued.timeframe, queued.side = entry.symbol, entry.timeframe, entry.side
    queued.signal_id, queued.strategy = signal_id, strategy
    queued.signal_price, queued.quantity = entry.price, entry.quantity
    queued.market_price, queued.market_price_at = market_price, now
    queued.expires_at = expires_at
    queued.reason = why
    queued.save()

    rows = ranked_queue(account.pk, pyramids_count=pool.pyramids_count)
    rank = next(row.rank for row in rows if row.queued.pk == queued.pk)
    reason = f"Queued at rank {rank} of {len(rows)}: {why}"
    if queued.replacements:
        reason += f" It replaces the entry queued before it (replacement {queued.replacements})."
    if replaced is not None:
        decide_queued(
            signal_id=replaced,
            status=Signal.Status.REPLACED,
            reason=f"Replaced in the queue by a newer {entry.key} entry"
            + (f" (signal {signal_id})" if signal_id else "")
            + f"; the entry keeps its place from {queued.queued_at:%Y-%m-%d %H:%M:%S} UTC.",
            now=now,
            data={"queued": queued.pk, "replacements": queued.replacements},
        )
    if signal_id is None:
        # A webhook signal's own decision ("queued") is its event; others get this one.
        kind = "queue.replaced" if queued.replacements else "queue.queued"
        queue_event(queued, kind, f"{entry.key} entry: {reason}")
    push_queue(account.pk)
    return reason


def _expiry(signal_id: int | None, *, now: datetime, minutes: int) -> datetime:
    expires_at = now + timedelta(minutes=minutes)
    stale_at = _stale_at(signal_id)
    return min(expires_at, stale_at) if stale_at else expires_at


def _stale_at(signal_id: int | None) -> datetime | None:
    """When the signal's own freshness rule says it is too old to act on: its route's max lag
    (tightened by the signal's own max_lag) from when it fired, else from when it arrived, as
    `apps.webhooks.domain.access.staleness` judges it. None without a limit."""
    if signal_id is None:
        return None
    signal = Signal.objects.select_related("route").filter(pk=signal_id).first()
    if signal is None:
        return None
    own = signal.parsed.get("max_lag_seconds")
    limits = [limit for limit in (signal.route.max_lag_seconds, int(own) if own else 0) if limit]
    if not limits:
        return None
    fired = signal.parsed.get("fired_at")
    start = signal.received_at
    if fired:
        start = min(datetime.fromisoformat(fired), signal.received_at)
    return start + timedelta(seconds=min(limits))


def cancel_for_exit(
    *, account: ExchangeAccount, entry: Entry, signal_id: int | None, now: datetime
) -> QueuedSignal | None:
    """An exit for a key with a queued entry removes it ("cancelled by exit"); the queued row,
    or None when nothing was queued for the key."""
    queued = (
        waiting(account.pk)
        .select_for_update(of=("self",))
        .select_related("account", "owner")
        .filter(
            symbol=entry.symbol,
            timeframe=entry.timeframe,
            side=entry.side,
            status=QueuedSignal.Status.QUEUED,
        )
        .first()
    )
    if queued is None:
        return None
    by = f"exit signal {signal_id}" if signal_id else "an exit signal"
    reason = f"Cancelled by {by}: the {entry.key} entry waiting for a slot is dropped."
    conclude(
        queued, QueuedSignal.Status.CANCELLED, reason, now=now, data={"exit_signal": signal_id}
    )
    return queued


def record_promotion(
    *,
    queued_id: int,
    reason: str,
    group_id: int | None,
    order_ids: tuple[int, ...],
    now: datetime,
) -> None:
    """The promoted entry executed: the row is Promoted and its signal executed, in the
    transaction that opened the group (so a crash can never leave a group opened for a row
    that would be promoted again)."""
    queued = QueuedSignal.objects.select_related("account", "owner").get(pk=queued_id)
    text = f"Promoted from the queue (waited {_waited(queued, now)}): {reason}"
    queued.group_id = group_id
    _finish(
        queued,
        QueuedSignal.Status.PROMOTED,
        text,
        now=now,
        expected=QueuedSignal.Status.PROMOTING,
    )
    if queued.signal_id:
        decide_queued(
            signal_id=queued.signal_id,
            status=Signal.Status.EXECUTED,
            reason=text,
            now=now,
            group_id=group_id,
            order_ids=order_ids,
            data={"queued": queued.pk, "replacements": queued.replacements},
        )
    else:
        queue_event(
            queued, "queue.promoted", f"{queued.key} entry: {text}", level=Event.Level.SUCCESS
        )
    push_queue(queued.account_id)


def _waited(queued: QueuedSignal, now: datetime) -> str:
    seconds = int((now - queued.queued_at).total_seconds())
    return f"{seconds} s" if seconds < 120 else f"{seconds // 60} min"


# A queue row's end -> its signal's decision.
_SIGNAL_STATUS = {
    QueuedSignal.Status.REJECTED: Signal.Status.REJECTED,
    QueuedSignal.Status.EXPIRED: Signal.Status.EXPIRED,
    QueuedSignal.Status.CANCELLED: Signal.Status.CANCELLED,
    QueuedSignal.Status.REMOVED: Signal.Status.CANCELLED,
}


def conclude(
    queued: QueuedSignal,
    status: str,
    reason: str,
    *,
    now: datetime,
    expected: str = QueuedSignal.Status.QUEUED,
    data: dict | None = None,
) -> None:
    """End a row that is not promoted (rejected, expired, cancelled, removed) with its
    reason: a compare-and-swap from `expected`, its signal's decision (or a queue event for
    an entry without one) and the page pushed. Inside the caller's transaction."""
    _finish(queued, status, reason, now=now, expected=expected)
    if queued.signal_id:
        decide_queued(
            signal_id=queued.signal_id,
            status=_SIGNAL_STATUS[status],
            reason=reason,
            now=now,
            data={"queued": queued.pk, "replacements": queued.replacements} | (data or {}),
        )
    else:
        level = Event.Level.INFO if status == QueuedSignal.Status.CANCELLED else Event.Level.WARNING
        queue_event(queued, f"queue.{status}", f"{queued.key} entry: {reason}", level=level)
    push_queue(queued.account_id)


def _finish(
    queued: QueuedSignal,
    status: str,
    reason: str,
    *,
    now: datetime,
    expected: str = QueuedSignal.Status.QUEUED,
) -> None:
    """Move the row from `expected` to its end with a compare-and-swap update."""
    moved = QueuedSignal.objects.filter(pk=queued.pk, status=expected).update(
        status=status, reason=reason, decided_at=now, group_id=queued.group_id
    )
    if moved != 1:
        raise RuntimeError(f"Queued signal {queued.pk} was not {expected}.")
    queued.status, queued.reason, queued.decided_at = status, reason, now


def on_pool_changed(*, account_id: int, freed: bool) -> None:
    """A group took or left a slot: the page shows it after commit, and a freed slot promotes
    the queue's first entry at once (after commit, in a task)."""
    push_queue(account_id)
    if freed and waiting(account_id).exists():
        enqueue_on_commit("trade_queue.promote_account", account_id)
