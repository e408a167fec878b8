"""Promotion: a free pool slot goes to the queue's first entry, re-validated as if new.

A slot frees when a group closes (or starts closing): `on_pool_changed` enqueues
`promote_account` for the account on commit, and the `trade_queue.promotion` loop (beat)
catches anything missed (a lost task, a busy lane, a cap raised, an account resumed). Both
may run at once on many workers: the account's row lock, compare-and-swap claims and the
signal lanes keep them from promoting too much or the same entry twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.core.loops import each_isolated, run_loop
from apps.exchanges.errors import ExchangeError
from apps.exchanges.models import ExchangeAccount
from apps.exchanges.services import market_data
from apps.positions.services import SignalOrder, act_on_signal
from apps.trade_queue.models import QueuedSignal
from apps.trade_queue.selectors import pool_of, ranked_queue, waiting
from apps.trade_queue.services.live import push_queue
from apps.trade_queue.services.queueing import conclude, queue_event
from apps.webhooks.domain.access import staleness
from apps.webhooks.models import Signal
from apps.webhooks.services.processing import lane_lease

logger = logging.getLogger(__name__)

MAX_PROMOTIONS_PER_RUN = 50
ACCOUNTS_PER_TICK = 200
# A row claimed this long ago by a promotion that never finished (its worker died before
# acting) goes back to the queue. Safe: a promotion that executed marked its row promoted in
# the transaction that opened the group.
STUCK_AFTER = timedelta(seconds=2 * settings.CELERY_TASK_TIME_LIMIT)
# Signals the queue may still see in these states: not yet decided "queued" (its processing
# task is finishing), or queued.
UNDECIDED = (Signal.Status.RECEIVED, Signal.Status.PROCESSING)


class QueueError(Exception):
    """A trader's action the queue row's state does not allow; the message says why."""


def promotion_loop() -> bool:
    return run_loop("trade_queue.promotion", lambda: promote_all(now=timezone.now()))


def promote_all(*, now: datetime) -> None:
    """One tick: every account with waiting entries (a bounded batch), one after the other."""
    account_ids = list(
        QueuedSignal.objects.filter(status__in=QueuedSignal.WAITING)
        .order_by("account_id")
        .values_list("account_id", flat=True)
        .distinct()[:ACCOUNTS_PER_TICK]
    )
    # One account's trouble must not hold the others' queues: it is recorded (an event, the
    # loop's error on /readyz) and skipped.
    each_isolated(
        "trade_queue.promotion",
        ExchangeAccount.objects.filter(pk__in=account_ids).select_related("owner").order_by("pk"),
        lambda account: promote_account(account_id=account.pk, now=now),
        account_of=lambda account: account,
    )


def promote_account(*, account_id: int, now: datetime | None = None) -> list[QueuedSignal]:
    """Fill the account's free pool slots from its queue, by priority.

    1. Expire what is overdue, give stuck claims back and drop rows whose signal was decided
       elsewhere (the clock runs while an account is paused).
    2. A paused account stops here: its queue is frozen until it is resumed.
    3. Refresh the waiting entries' market prices (one ticker batch, outside any transaction):
       they move the loss % and so the order.
    4. While a slot is free: take the first entry's lane (its symbol's signals are processed
       one at a time, so an exit that arrives meanwhile waits for the promotion, or the other
       way round), claim it, act on it as on a new signal, and record what became of it. A
       busy lane ends the run rather than promoting a lower entry ahead of it; the loop comes
       back.

    Returns the rows acted on.
    """
    now = now or timezone.now()
    tidy(account_id=account_id, now=now)
    account = ExchangeAccount.objects.filter(pk=account_id).first()
    if account is None or not account.is_active or not waiting(account_id).exists():
        return []
    refresh_market_prices(account=account, now=now)
    acted: list[QueuedSignal] = []
    for _ in range(MAX_PROMOTIONS_PER_RUN):
        first = _first_in_line(account)
        if first is None:
            break
        # The lane's short lease, renewed while the promotion works, as the webhook
        # processing holds it: a promoter that dies frees its lane within seconds.
        with _lane_lease(account_id, first.symbol) as held:
            if held is None:
                logger.info("Queue promotion of %s waits: lane of %s busy", first.pk, first.symbol)
                break
            claimed = _claim(account_id=account_id, queued_id=first.pk, now=timezone.now())
            if claimed is None:
                continue
            if not held.held:  # lost while claiming: another may hold the lane now
                _back_in_line(claimed)
                break
            _promote(claimed, now=timezone.now())
            acted.append(claimed)
    return acted


def _lane_lease(account_id: int, symbol: str):
    return lane_lease(account_id, symbol)


def _first_in_line(account: ExchangeAccount) -> QueuedSignal | None:
    """The entry a free slot goes to (None when no slot is free, or when the first entry's
    signal is still being decided: it is promoted once it is, never skipped)."""
    pool = pool_of(account)
    promoting = waiting(account.pk).filter(status=QueuedSignal.Status.PROMOTING).count()
    if pool.free - promoting <= 0:
        return None
    for row in ranked_queue(account.pk, pyramids_count=pool.pyramids_count):
        queued = row.queued
        if queued.status != QueuedSignal.Status.QUEUED:
            continue
        if queued.signal_id and queued.signal.status in UNDECIDED:
            return None
        return queued
    return None


def _claim(*, account_id: int, queued_id: int, now: datetime) -> QueuedSignal | None:
    """Under the account's row lock: a slot is still free (counting the rows other
    promotions hold), `queued_id` is still first, and it moves queued → promoting."""
    with transaction.atomic():
        account = ExchangeAccount.objects.select_for_update().get(pk=account_id)
        if not account.is_active:
            return None
        first = _first_in_line(account)
        if first is None or first.pk != queued_id:
            return None
        claimed = QueuedSignal.objects.filter(
            pk=queued_id, status=QueuedSignal.Status.QUEUED
        ).update(status=QueuedSignal.Status.PROMOTING, decided_at=now)
        if claimed != 1:
            return None
    first.status, first.decided_at = QueuedSignal.Status.PROMOTING, now
    return first


def _promote(queued: QueuedSignal, *, now: datetime) -> None:
    """Act on a claimed row as on a new signal.

    1. Its own rules first: the queue's expiry, and its signal's freshness judged now, with
       its route's max lag, as if it had just arrived; a deactivated route rejects it.
    2. `act_on_signal`: fresh markets and ticker, precision and minimums, buying power, the
       pool. Executed: it recorded the promotion in the transaction that opened the group.
       The pool full again (a slot taken meanwhile): back in the queue, first in line.
       Rejected: the row and its signal are rejected with the reason.
    """
    signal = (
        Signal.objects.select_related("route__strategy").filter(pk=queued.signal_id).first()
        if queued.signal_id
        else None
    )
    problem = _own_rules(queued, signal, now=now)
    if problem is not None:
        _end(queued, *problem, now=now)
        return
    strategy = signal.route.strategy if signal else queued.strategy
    if strategy is None:
        _end(queued, QueuedSignal.Status.REJECTED, "Its strategy no longer exists.", now=now)
        return
    try:
        outcome = act_on_signal(
            account=ExchangeAccount.objects.get(pk=queued.account_id),
            strategy=strategy,
            order=SignalOrder(
                action="entry",
                symbol=queued.symbol,
                timeframe=queued.timeframe,
                side=queued.side,
                price=queued.signal_price,
                quantity=queued.quantity,
            ),
            signal_id=queued.signal_id,
            now=now,
            queued_id=queued.pk,
        )
    except Exception as error:
        logger.exception("Queued signal %s could not be promoted", queued.pk)
        reason = f"The desk failed while promoting it ({type(error).__name__}: {error})."
        _end(queued, QueuedSignal.Status.REJECTED, reason, now=now)
        return
    if outcome.decision == "executed":
        return
    if outcome.decision == "queued":
        _back_in_line(queued)
        return
    _end(
        queued, QueuedSignal.Status.REJECTED, f"Promoted, then rejected: {outcome.reason}", now=now
    )


def _back_in_line(queued: QueuedSignal) -> None:
    """A claimed row that was not promoted waits again, first in line (its queue time kept)."""
    with transaction.atomic():
        QueuedSignal.objects.filter(pk=queued.pk, status=QueuedSignal.Status.PROMOTING).update(
            status=QueuedSignal.Status.QUEUED, decided_at=None
        )
        push_queue(queued.account_id)


def _own_rules(
    queued: QueuedSignal, signal: Signal | None, *, now: datetime
) -> tuple[str, str] | None:
    if now >= queued.expires_at:
        return QueuedSignal.Status.EXPIRED, _expired_reason(queued, now)
    if signal is None:
        return None
    if not signal.route.is_active:
        return QueuedSignal.Status.REJECTED, "Its route was deactivated while it was queued."
    stale = _staleness(signal, now=now)
    if stale:
        return QueuedSignal.Status.EXPIRED, f"Expired in the queue. {stale}"
    return None


def _staleness(signal: Signal, *, now: datetime) -> str:
    fired = signal.parsed.get("fired_at")
    own = signal.parsed.get("max_lag_seconds")
    return staleness(
        fired_at=datetime.fromisoformat(fired) if fired else None,
        received_at=signal.received_at,
        now=now,
        max_lag_seconds=signal.route.max_lag_seconds,
        signal_max_lag=int(own) if own else None,
    )


def _expired_reason(queued: QueuedSignal, now: datetime) -> str:
    signal = queued.signal if queued.signal_id else None
    stale = _staleness(signal, now=now) if signal is not None else ""
    if stale:
        return f"Expired in the queue. {stale}"
    waited = int((now - queued.queued_at).total_seconds() // 60)
    return (
        f"Expired: no pool slot went to it before {queued.expires_at:%Y-%m-%d %H:%M:%S} UTC "
        f"(queued {waited} min)."
    )


def _end(queued: QueuedSignal, status: str, reason: str, *, now: datetime) -> None:
    with transaction.atomic():
        conclude(queued, status, reason, now=now, expected=QueuedSignal.Status.PROMOTING)


def tidy(*, account_id: int, now: datetime) -> None:
    """1. Expire overdue rows. 2. Give claims stuck in "promoting" back to the queue.
    3. Drop rows whose signal was decided other than "queued" (the sweep loop reported its
    processing as interrupted): nothing is left to promote."""
    rows = waiting(account_id).select_related("signal__route", "account", "owner")
    for queued in rows.filter(status=QueuedSignal.Status.QUEUED, expires_at__lte=now):
        with transaction.atomic():
            if _lock_queued(queued.pk):
                conclude(queued, QueuedSignal.Status.EXPIRED, _expired_reason(queued, now), now=now)
    stuck = rows.filter(status=QueuedSignal.Status.PROMOTING, decided_at__lt=now - STUCK_AFTER)
    if stuck.update(status=QueuedSignal.Status.QUEUED, decided_at=None):
        push_queue(account_id)
    orphans = rows.filter(status=QueuedSignal.Status.QUEUED, signal__isnull=False).exclude(
        signal__status__in=[*UNDECIDED, Signal.Status.QUEUED]
    )
    for queued in orphans:
        with transaction.atomic():
            if _lock_queued(queued.pk):
                decided = queued.signal.get_status_display().lower()
                queued.signal_id = None  # its decision stands; only the row ends
                conclude(
                    queued,
                    QueuedSignal.Status.REMOVED,
                    f"Its signal was decided otherwise ({decided}).",
                    now=now,
                )


def _lock_queued(queued_id: int) -> bool:
    return (
        QueuedSignal.objects.select_for_update()
        .filter(pk=queued_id, status=QueuedSignal.Status.QUEUED)
        .exists()
    )


def refresh_market_prices(*, account: ExchangeAccount, now: datetime) -> None:
    """The waiting entries' market price (the ask, what an entry pays), from one ticker
    batch; the page is pushed when one moved."""
    symbols = sorted(set(waiting(account.pk).values_list("symbol", flat=True)))
    try:
        tickers = market_data.tickers(account=account, symbols=symbols)
    except ExchangeError as error:
        logger.warning("Queue prices for account %s not refreshed: %s", account.pk, error)
        return
    moved = 0
    for symbol, ticker in tickers.items():
        price = ticker.ask or ticker.last
        moved += (
            waiting(account.pk)
            .filter(symbol=symbol)
            .exclude(market_price=price)
            .update(market_price=price, market_price_at=now)
        )
    if moved:
        push_queue(account.pk)


# --- The trader's actions -----------------------------------------------------------------


def request_promotion(*, queued_id: int, now: datetime, by: str = "The trader") -> str:
    """Promote: the entry takes the next free slot ahead of priority (at once when one is
    free), never beyond the pool's size. Returns what happened, for the trader."""
    with transaction.atomic():
        queued = _locked_for_action(queued_id)
        queued.pinned_at = now
        queued.save(update_fields=["pinned_at"])
        queue_event(
            queued,
            "queue.promote_requested",
            f"{queued.key} entry: {by} promoted it; it takes the next free slot ahead of priority.",
        )
        push_queue(queued.account_id)
    promote_account(account_id=queued.account_id, now=now)
    queued.refresh_from_db()
    if queued.status not in QueuedSignal.WAITING:
        return queued.reason
    account = ExchangeAccount.objects.get(pk=queued.account_id)
    if not account.is_active:
        return (
            f"{account.label} is paused, so its queue is frozen; {queued.key} goes first "
            "when it is resumed."
        )
    pool = pool_of(account)
    return (
        f"{queued.key} takes the next free slot ahead of priority ({account.label}'s pool: "
        f"{pool.used} of {pool.size} used)."
    )


def remove_queued(*, queued_id: int, now: datetime, by: str = "the trader") -> str:
    """Remove: the entry leaves the queue and its signal is decided "cancelled"."""
    with transaction.atomic():
        queued = _locked_for_action(queued_id)
        reason = f"Removed from the queue by {by}."
        conclude(queued, QueuedSignal.Status.REMOVED, reason, now=now)
    return f"{queued.key} entry removed from the queue."


def _locked_for_action(queued_id: int) -> QueuedSignal:
    queued = (
        QueuedSignal.objects.select_for_update(of=("self",))
        .select_related("account", "owner")
        .filter(pk=queued_id)
        .first()
    )
    if queued is None or queued.status != QueuedSignal.Status.QUEUED:
        state = queued.get_status_display().lower() if queued else "gone"
        raise QueueError(f"This entry is no longer queued ({state}).")
    return queued
