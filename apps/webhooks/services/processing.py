"""Processing recorded signals: in arrival order per lane, fresh ones only, then the groups.

A lane is one account and one symbol. `process_signal` takes the lane's lock and processes,
oldest first, every signal of the lane still waiting up to and including its own: whichever
task runs first, an exit received before an entry is acted on before it. The lock lives in the
cache (Redis in the stack, memory in the embedded desk), so no transaction is held while the
position groups place orders.

Each signal is claimed (received → processing) before it is handed to the position groups and
decided (processing → executed / rejected) after, each with a compare-and-swap update: a task
that runs twice never hands the same signal over twice. A signal left "processing" by a lost
worker is reported by the sweep loop rather than guessed at.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.core.background import enqueue
from apps.core.broadcast import live_updates_held
from apps.core.locks import waiting_lock
from apps.core.loops import run_loop
from apps.core.models import Event
from apps.webhooks.domain.access import staleness
from apps.webhooks.models import Signal
from apps.webhooks.services.events import push_row, signal_event

logger = logging.getLogger(__name__)

LANE_WAIT_SECONDS = 20  # below the task's soft time limit; a busier lane retries the task
# The sweep loop: a signal still "received" this long after arrival lost its task.
LOST_TASK_AFTER = timedelta(seconds=15)
SWEEP_BATCH = 200


class LaneBusy(Exception):
    """The lane stayed locked for LANE_WAIT_SECONDS; the task retries."""


def lane_name(account_id: int, symbol: str) -> str:
    return f"signal-lane:{account_id}:{symbol}"


def process_signal(*, signal_id: int) -> None:
    """Process signal `signal_id` and, first, every older signal waiting in its lane."""
    signal = Signal.objects.filter(pk=signal_id).only("account_id", "symbol", "status").first()
    if signal is None or signal.status != Signal.Status.RECEIVED:
        return  # decided already (by a task of a later signal of its lane)
    with waiting_lock(
        lane_name(signal.account_id, signal.symbol),
        ttl_seconds=settings.CELERY_TASK_TIME_LIMIT + 10,
        wait_seconds=LANE_WAIT_SECONDS,
    ) as held:
        if not held:
            raise LaneBusy(f"lane {signal.account_id}:{signal.symbol} busy")
        for waiting_id in _lane_up_to(signal_id):
            with live_updates_held():  # its orders go out before its rows are rendered
                _process_one(waiting_id)


def _lane_up_to(signal_id: int) -> list[int]:
    """Ids of the lane's waiting signals that arrived no later than `signal_id`, oldest first."""
    own = Signal.objects.filter(pk=signal_id).values("account_id", "symbol", "received_at").get()
    return list(
        Signal.objects.filter(
            account_id=own["account_id"], symbol=own["symbol"], status=Signal.Status.RECEIVED
        )
        .filter(
            Q(received_at__lt=own["received_at"])
            | Q(received_at=own["received_at"], pk__lte=signal_id)
        )
        .order_by("received_at", "pk")
        .values_list("pk", flat=True)
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
    these wait. Each order was committed first and also has its own task; `send_order` claims
    it by compare-and-swap, so whichever comes second finds it sent, and a failure here leaves
    it to that task."""
    from apps.trades.services import send_order

    for order_id in order_ids:
        try:
            send_order(order_id=order_id, now=timezone.now())
        except Exception:
            logger.exception("Order %s not sent inline; its own task sends it", order_id)


def _act(signal: Signal, now) -> tuple[str, str, int | None, list[int], str | None]:
    """Hand the signal to the position groups; their answer, or the error that stopped them."""
    parsed = signal.parsed
    try:
        # Imported here: the position groups live in the trades app, which may import us.
        from apps.trades.services.groups import SignalOrder, act_on_signal

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
