"""Processing recorded signals: in arrival order per lane, fresh ones only, then the groups.

A lane is one account and one symbol. Whichever task of a lane takes the lane's lock drains
it: it processes the lane's waiting signals oldest first, and looks again after releasing the
lock. A task that finds the lane locked simply returns, leaving its signal to the holder, which
will see it (the holder's last look comes after that task's try). So an exit received before an
entry is acted on before it, and no worker ever sits waiting for a lane. The lock lives in the
cache (Redis in the stack, memory in the embedded desk); no transaction is held while the
position groups place orders. A drain stops after DRAIN_SECONDS and hands the rest of its lane
to a new task, well inside the task time limit.

Each signal is claimed (received → processing) before it is handed to the position groups and
decided (processing → executed / rejected) after, each with a compare-and-swap update: a task
that runs twice never hands the same signal over twice. A signal left "processing" by a lost
worker is reported by the sweep loop rather than guessed at.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.core.background import enqueue
from apps.core.broadcast import live_updates_held
from apps.core.locks import single_flight
from apps.core.loops import run_loop
from apps.core.models import Event
from apps.webhooks.domain.access import staleness
from apps.webhooks.models import Signal
from apps.webhooks.services.events import push_row, signal_event

logger = logging.getLogger(__name__)

DRAIN_SECONDS = 15  # well below the task's soft time limit
# The sweep loop: a signal still "received" this long after arrival lost its task.
LOST_TASK_AFTER = timedelta(seconds=15)
SWEEP_BATCH = 200


def lane_name(account_id: int, symbol: str) -> str:
    return f"signal-lane:{account_id}:{symbol}"


def process_signal(*, signal_id: int) -> None:
    """Process signal `signal_id`, with every other signal waiting in its lane, in arrival
    order; or leave it to the task already draining the lane."""
    signal = Signal.objects.filter(pk=signal_id).only("account_id", "symbol", "status").first()
    if signal is None or signal.status != Signal.Status.RECEIVED:
        return  # decided already (by the task of another signal of its lane)
    drain_lane(account_id=signal.account_id, symbol=signal.symbol)


def drain_lane(*, account_id: int, symbol: str) -> None:
    deadline = time.monotonic() + DRAIN_SECONDS
    name = lane_name(account_id, symbol)
    while (oldest := _oldest_waiting(account_id, symbol)) is not None:
        if time.monotonic() > deadline:
            from apps.webhooks import tasks

            # The rest in a fresh task, enqueued once the lane is released, so that it can
            # take the lane.
            enqueue(tasks.process_signal, oldest)
            return
        with single_flight(name, ttl_seconds=settings.CELERY_TASK_TIME_LIMIT + 10) as held:
            if not held:
                return  # the holder drains ours too: it looks again after releasing
            while time.monotonic() <= deadline and (
                waiting_id := _oldest_waiting(account_id, symbol)
            ):
                with live_updates_held():  # its orders go out before its rows are rendered
                    _process_one(waiting_id)


def _oldest_waiting(account_id: int, symbol: str) -> int | None:
    return (
        Signal.objects.filter(account_id=account_id, symbol=symbol, status=Signal.Status.RECEIVED)
        .order_by("received_at", "pk")
        .values_list("pk", flat=True)
        .first()
    )


def _process_one(signal_id: int) -> None:
    """1. Claim the signal, unless it is stale or its route was deactivated (decided at once).
    2. Hand it to the position groups, outside any transaction of ours. 3. Record the outcome."""
    now = timezone.now()
    with transaction.atomic():
        signal = (
            Signal.objects.select_for_update(of=("self",))
            .select_related("route__owner", "route__strategy", "account")
            .filter(pk=signal_id, status=Signal.Status.RECEIVED)
            .first()
        )
        if signal is None:
            return
        route = signal.route
        reason = staleness(
            fired_at=_fired_at(signal),
            received_at=signal.received_at,
            now=now,
            max_lag_seconds=route.max_lag_seconds,
            signal_max_lag=_int(signal.parsed.get("max_lag_seconds")),
        )
        if reason:
            _decide(signal, Signal.Status.STALE, reason, expected=Signal.Status.RECEIVED, now=now)
            return
        if not route.is_active:
            _decide(
                signal,
                Signal.Status.REJECTED,
                "Its route was deactivated.",
                expected=Signal.Status.RECEIVED,
                now=now,
            )
            return
        claimed = Signal.objects.filter(pk=signal_id, status=Signal.Status.RECEIVED).update(
            status=Signal.Status.PROCESSING, processed_at=now
        )
        if claimed != 1:
            return
        signal.status, signal.processed_at = Signal.Status.PROCESSING, now
        push_row(signal, new=False)

    status, reason, group_id, order_ids, level = _act(signal, now)
    _send_now(order_ids)
    signal.group_id, signal.order_ids = group_id, order_ids
    with transaction.atomic():
        _decide(
            signal,
            status,
            reason,
            expected=Signal.Status.PROCESSING,
            now=timezone.now(),
            level=level,
        )


def _send_now(order_ids: list[int]) -> None:
    """Send the signal's new orders from this task, before its decision is written, rather
    than behind the queue: the lane's later signals would otherwise hold the workers while
    these wait. Each order was committed first (no task was enqueued for it: `sent_by_caller`);
    one this fails to send is sent by the order-sync loop once its grace period has passed."""
    from apps.trades.services import send_order

    for order_id in order_ids:
        try:
            send_order(order_id=order_id, now=timezone.now())
        except Exception:
            logger.exception("Order %s not sent inline; the order-sync loop sends it", order_id)


def _act(signal: Signal, now) -> tuple[str, str, int | None, list[int], str | None]:
    """Hand the signal to the position groups; their answer, or the error that stopped them."""
    parsed = signal.parsed
    try:
        # Imported here: the position groups live in the trades app, which may import us.
        from apps.trades.services.groups import SignalOrder, act_on_signal
        from apps.trades.services.groups.intents import sent_by_caller

        with sent_by_caller():  # `_send_now` sends them
            outcome = act_on_signal(
                account=signal.account,
                strategy=signal.route.strategy,
                order=SignalOrder(
                    action=signal.action,
                    symbol=signal.symbol,
                    timeframe=parsed.get("timeframe", ""),
                    side=parsed.get("side", "long"),
                    price=_decimal(parsed.get("price")),
                    quantity=_decimal(parsed.get("quantity")),
                ),
                signal_id=signal.pk,
                now=now,
            )
    except Exception as error:
        logger.exception("Signal %s could not be acted on", signal.pk)
        reason = (
            f"The desk failed while acting on it ({type(error).__name__}: {error}). Check the "
            "account's positions and orders."
        )
        return Signal.Status.REJECTED, reason, None, [], Event.Level.ERROR
    status = outcome.decision if outcome.decision in Signal.Status.values else "rejected"
    if status in (Signal.Status.RECEIVED, Signal.Status.PROCESSING, Signal.Status.DUPLICATE):
        status = Signal.Status.REJECTED
    return status, outcome.reason, outcome.group_id, list(outcome.order_ids), None


def _decide(
    signal: Signal, status: str, reason: str, *, expected: str, now, level: str | None = None
) -> bool:
    """Move the signal from `expected` to its decision with one compare-and-swap update; only
    the caller that moved it records the event and pushes the row. Inside the caller's
    transaction."""
    moved = Signal.objects.filter(pk=signal.pk, status=expected).update(
        status=status,
        reason=reason,
        processed_at=now,
        group_id=signal.group_id,
        order_ids=signal.order_ids,
    )
    if moved != 1:
        return False
    signal.status, signal.reason, signal.processed_at = status, reason, now
    signal_event(signal, level=level)
    push_row(signal, new=False)
    return True


def _fired_at(signal: Signal) -> datetime | None:
    value = signal.parsed.get("fired_at")
    return datetime.fromisoformat(value) if value else None


def _decimal(value: str | None) -> Decimal | None:
    return Decimal(value) if value else None


def _int(value: str | None) -> int | None:
    return int(value) if value else None


# --- The sweep loop ------------------------------------------------------------------------


def sweep_loop() -> bool:
    return run_loop("webhooks.sweep", lambda: sweep(now=timezone.now()))


def sweep(*, now) -> None:
    """1. Re-enqueue signals still waiting long after they arrived (their task was lost: the
    broker was down at enqueue time). 2. Report signals left "processing" longer than a task
    may run (a worker died while the position groups had them): they are not handed over again,
    since orders may have been placed; the trader is told to check."""
    lost = (
        Signal.objects.filter(status=Signal.Status.RECEIVED, received_at__lt=now - LOST_TASK_AFTER)
        .order_by("received_at", "pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    from apps.webhooks import tasks

    for signal_id in lost:
        enqueue(tasks.process_signal, signal_id)

    cutoff = now - timedelta(seconds=2 * settings.CELERY_TASK_TIME_LIMIT)
    stuck = Signal.objects.filter(status=Signal.Status.PROCESSING, processed_at__lt=cutoff)
    for signal_id in stuck.values_list("pk", flat=True)[:SWEEP_BATCH]:
        with transaction.atomic():
            signal = (
                Signal.objects.select_for_update(of=("self",))
                .select_related("route__owner", "account")
                .filter(pk=signal_id, status=Signal.Status.PROCESSING)
                .first()
            )
            if signal is not None:
                _decide(
                    signal,
                    Signal.Status.REJECTED,
                    "Processing was interrupted after the signal was handed to the position "
                    "groups. Check the account's positions and orders.",
                    expected=Signal.Status.PROCESSING,
                    now=now,
                    level=Event.Level.ERROR,
                )
