"""Processing recorded signals: in arrival order per lane, then the position groups.

A lane is one account and one symbol. Whichever task of a lane takes the lane's lease drains
it: it first finishes what an earlier holder left half done (below), then processes the lane's
waiting signals oldest first, and looks again after releasing the lease. A task that finds the
lane held simply returns, leaving its signal to the holder, which will see it (the holder's
last look comes after that task's try). So an exit received before an entry is acted on before
it, and no worker ever sits waiting for a lane. The lease lives in the cache (Redis in the
stack, memory in the embedded desk) for LANE_LEASE_SECONDS and is renewed in the background
while its holder drains (`apps.core.locks.lease`, with an owner token), so the lanes of a
worker that dies are free again within seconds, for the lane's next task or the sweep loop to
take over. No transaction is held while the position groups place orders. A drain stops after
DRAIN_SECONDS and hands the rest of its lane to a new task, well inside the task time limit.

Freshness is judged at arrival: a signal the desk received in time is acted on however long it
then waited for its lane (the webhook checks it on arrival; here the same check runs with the
arrival time as "now", for a route whose limit changed meanwhile).

Each signal is claimed (received → processing, stamped with the claim time) before it is
handed to the position groups and decided (processing → executed / queued / rejected) after,
each with a compare-and-swap update: a task that runs twice never hands the same signal over
twice. The groups write a signal's intent (its pyramid and orders with their client order ids,
its sell, its queue row) in one transaction that first checks, under the signal's row lock,
that the claim is still the one they were handed: a holder that lost its lane writes nothing
once the signal is taken over.

A signal still "processing" when a holder takes its lane was interrupted (its worker died). It
is finished from what it wrote, never guessed (`finish_interrupted`): orders written → executed
with those orders (any not sent yet are sent now; the order-sync loop would send them too); a
queue row → queued; an exit that closed its group → executed; nothing written → nothing
happened, so it goes back to "received" and is processed again in its place in the lane, at
most MAX_RETRIES times (each retry an event on its timeline), then rejected saying so. The
sweep loop hands the lanes of lost tasks and of dead holders to a task.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.core.background import enqueue
from apps.core.broadcast import live_updates_held
from apps.core.events import record_event
from apps.core.locks import Lease, is_held, lease
from apps.core.loops import run_loop
from apps.core.models import Event
from apps.positions.services import SignalOrder, act_on_signal, written_by_signal
from apps.positions.services.intents import sent_by_caller
from apps.positions.services.orders import send_order
from apps.webhooks.domain.access import staleness
from apps.webhooks.models import Signal
from apps.webhooks.services.decisions import decide_queued
from apps.webhooks.services.events import describe, push_row, signal_event

logger = logging.getLogger(__name__)

DRAIN_SECONDS = 15  # well below the task's soft time limit
# A lane's lease: renewed every third of this while its holder works; a dead holder's lapses.
LANE_LEASE_SECONDS = 6
# The sweep loop: a signal still "received" this long after arrival, in a lane nobody holds,
# lost its task (the broker was down, or the lane's holder died).
LOST_TASK_AFTER = timedelta(seconds=10)
# An interrupted signal that wrote nothing is processed again at most this many times.
MAX_RETRIES = 2
SWEEP_BATCH = 200
UNDECIDED = (Signal.Status.RECEIVED, Signal.Status.PROCESSING)


def lane_name(account_id: int, symbol: str) -> str:
    return f"signal-lane:{account_id}:{symbol}"


def lane_lease(account_id: int, symbol: str):
    """The lane's lease (a context manager yielding the Lease, or None when it is held)."""
    return lease(
        lane_name(account_id, symbol),
        seconds=LANE_LEASE_SECONDS,
        max_hold_seconds=settings.CELERY_TASK_TIME_LIMIT,
    )


def process_signal(*, signal_id: int) -> None:
    """Process signal `signal_id`, with every other signal waiting in its lane, in arrival
    order (finishing it first if a dead worker left it processing); or leave it to the task
    already draining the lane."""
    signal = Signal.objects.filter(pk=signal_id).only("account_id", "symbol", "status").first()
    if signal is None or signal.status not in UNDECIDED:
        return  # decided already (by the task of another signal of its lane)
    drain_lane(account_id=signal.account_id, symbol=signal.symbol)


def drain_lane(*, account_id: int, symbol: str) -> None:
    deadline = time.monotonic() + DRAIN_SECONDS
    while (oldest := _oldest(account_id, symbol, UNDECIDED)) is not None:
        if time.monotonic() > deadline:
            # The rest in a fresh task, enqueued once the lane is released, so that it can
            # take the lane.
            enqueue("webhooks.process_signal", oldest)
            return
        with lane_lease(account_id, symbol) as held:
            if held is None:
                return  # the holder drains ours too: it looks again after releasing
            if not _drain_held(account_id, symbol, held, deadline):
                return


def _drain_held(account_id: int, symbol: str, held: Lease, deadline: float) -> bool:
    """Finish the lane's interrupted signals, then process its waiting ones until the
    deadline; False when the lease was lost (another holder may have the lane now)."""
    while held.held and (interrupted := _oldest(account_id, symbol, [Signal.Status.PROCESSING])):
        finish_interrupted(interrupted)
    while (
        held.held
        and time.monotonic() <= deadline
        and (waiting_id := _oldest(account_id, symbol, [Signal.Status.RECEIVED]))
    ):
        with live_updates_held():  # its orders go out before its rows are rendered
            _process_one(waiting_id)
    return held.held


def _oldest(account_id: int, symbol: str, statuses) -> int | None:
    return (
        Signal.objects.filter(account_id=account_id, symbol=symbol, status__in=statuses)
        .order_by("received_at", "pk")
        .values_list("pk", flat=True)
        .first()
    )


def _process_one(signal_id: int) -> None:
    """1. Claim the signal, unless it was stale on arrival or its route was deactivated
    (decided at once). 2. Hand it to the position groups, outside any transaction of ours.
    3. Send its orders and record the outcome."""
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
        try:
            reason = staleness(
                fired_at=_fired_at(signal),
                received_at=signal.received_at,
                now=signal.received_at,  # judged at arrival: the wait for its lane is ours
                max_lag_seconds=route.max_lag_seconds,
                signal_max_lag=_int(signal.parsed.get("max_lag_seconds")),
            )
        except (ValueError, TypeError, OverflowError) as error:
            # A stored value the ingest would not have written: decided here, or it would hold
            # its lane for ever (every drain would stop at it).
            _decide(
                signal,
                Signal.Status.REJECTED,
                f"Its stored fire time or lag could not be read ({type(error).__name__}).",
                expected=Signal.Status.RECEIVED,
                now=now,
            )
            return
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

    done = _act(signal, now)
    _send_now(list(done.order_ids))
    signal.group_id, signal.order_ids = done.group_id, list(done.order_ids)
    with transaction.atomic():
        _decide(
            signal,
            done.status,
            done.reason,
            expected=Signal.Status.PROCESSING,
            now=timezone.now(),
            level=done.level,
        )


@dataclass(frozen=True)
class _Done:
    status: str
    reason: str
    group_id: int | None = None
    order_ids: tuple[int, ...] = ()
    level: str | None = None


def _send_now(order_ids: list[int]) -> None:
    """Send the signal's new orders from this task, before its decision is written, rather
    than behind the queue: the lane's later signals would otherwise hold the workers while
    these wait. Each order was committed first (no task was enqueued for it: `sent_by_caller`);
    one this fails to send is sent by the order-sync loop once its grace period has passed."""
    for order_id in order_ids:
        try:
            send_order(order_id=order_id, now=timezone.now())
        except Exception:
            logger.exception("Order %s not sent inline; the order-sync loop sends it", order_id)


def _act(signal: Signal, claimed_at: datetime) -> _Done:
    """Hand the signal to the position groups; their answer, or (when they raised) what the
    signal had written by then."""
    parsed = signal.parsed

    try:
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
                now=claimed_at,
                still_claimed=_claim_check(signal.pk, claimed_at),
            )
    except Exception as error:
        logger.exception("Signal %s could not be acted on", signal.pk)
        written = written_by_signal(signal_id=signal.pk, action=signal.action)
        if written is not None:  # it failed after its intent was committed
            return _Done(
                written.outcome.decision,
                written.outcome.reason,
                written.outcome.group_id,
                written.outcome.order_ids,
                Event.Level.WARNING,
            )
        reason = (
            f"The desk failed while acting on it ({type(error).__name__}: {error}); "
            "it placed no order."
        )
        return _Done(Signal.Status.REJECTED, reason, level=Event.Level.ERROR)
    status = outcome.decision if outcome.decision in Signal.Status.values else "rejected"
    if status in (Signal.Status.RECEIVED, Signal.Status.PROCESSING, Signal.Status.DUPLICATE):
        status = Signal.Status.REJECTED
    return _Done(status, outcome.reason, outcome.group_id, tuple(outcome.order_ids))


def _claim_check(signal_id: int, claimed_at: datetime) -> Callable[[], bool]:
    """Inside the groups' intent transaction: the signal is still processing under this claim
    (not finished or re-claimed by the lane's next holder). Locks the signal's row until that
    transaction ends, so `finish_interrupted` sees its intent or none of it."""

    def still_claimed() -> bool:
        return (
            Signal.objects.select_for_update()
            .filter(pk=signal_id, status=Signal.Status.PROCESSING, processed_at=claimed_at)
            .values_list("pk", flat=True)
            .first()
            is not None
        )

    return still_claimed


def finish_interrupted(signal_id: int) -> None:
    """Finish a signal a dead holder left "processing", from what it wrote.

    1. Lock its row (so a holder still writing its intent, unaware it lost the lane, finishes
       first or writes nothing) and read what it wrote (`written_by_signal`).
    2. Something → the decision those rows say, with their group and orders; an entry whose
       queue row has ended since is decided queued, then that end.
    3. Nothing → back to "received" with a "signal.retried" event, to be processed again in
       its place; after MAX_RETRIES such retries it is rejected, saying nothing was placed.
    4. After commit, send its orders that were never sent.
    """
    now = timezone.now()
    with transaction.atomic():
        signal = (
            Signal.objects.select_for_update(of=("self",))
            .select_related("route__owner", "account")
            .filter(pk=signal_id, status=Signal.Status.PROCESSING)
            .first()
        )
        if signal is None:
            return
        written = written_by_signal(signal_id=signal.pk, action=signal.action)
        if written is None:
            _retry_or_reject(signal, now=now)
            return
        outcome = written.outcome
        signal.group_id, signal.order_ids = outcome.group_id, list(outcome.order_ids)
        _decide(
            signal,
            outcome.decision,
            outcome.reason,
            expected=Signal.Status.PROCESSING,
            now=now,
            level=Event.Level.WARNING if outcome.decision == Signal.Status.EXECUTED else None,
        )
        if written.ended is not None:
            status, reason = written.ended
            decide_queued(signal_id=signal.pk, status=status, reason=reason, now=now)
    _send_now(list(written.unsent))


def _retry_or_reject(signal: Signal, *, now: datetime) -> None:
    retries = Event.objects.filter(
        kind="signal.retried", subject_type="webhooks.signal", subject_id=str(signal.pk)
    ).count()
    if retries >= MAX_RETRIES:
        _decide(
            signal,
            Signal.Status.REJECTED,
            f"Its processing was interrupted {retries + 1} times before it wrote anything; it "
            "placed no order and is not tried again.",
            expected=Signal.Status.PROCESSING,
            now=now,
            level=Event.Level.ERROR,
        )
        return
    moved = Signal.objects.filter(pk=signal.pk, status=Signal.Status.PROCESSING).update(
        status=Signal.Status.RECEIVED, processed_at=None
    )
    if moved != 1:
        return
    signal.status, signal.processed_at = Signal.Status.RECEIVED, None
    record_event(
        kind="signal.retried",
        message=f"{describe(signal)}: its processing was interrupted before it placed any "
        f"order or queued anything, so it is processed again (retry {retries + 1} of "
        f"{MAX_RETRIES}).",
        user=signal.route.owner,
        account=signal.account,
        subject=signal,
        level=Event.Level.WARNING,
        data={"signal": signal.pk, "retry": retries + 1},
    )
    push_row(signal, new=False)


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
    """Hand each lane that nobody holds but that has work left to a task: signals still
    waiting long after they arrived (their task was lost: the broker was down at enqueue time,
    or the lane's holder died), and signals left "processing" by a holder whose lease has
    lapsed (its worker died). The task takes the lane, finishes the interrupted signals from
    what they wrote, then drains the rest in arrival order. One task per lane."""
    left = (
        Signal.objects.filter(
            Q(status=Signal.Status.RECEIVED, received_at__lt=now - LOST_TASK_AFTER)
            | Q(
                status=Signal.Status.PROCESSING,
                processed_at__lt=now - timedelta(seconds=LANE_LEASE_SECONDS),
            )
        )
        .order_by("received_at", "pk")
        .values_list("pk", "account_id", "symbol")[:SWEEP_BATCH]
    )
    lanes: set[tuple[int, str]] = set()
    for signal_id, account_id, symbol in left:
        if (account_id, symbol) in lanes or is_held(lane_name(account_id, symbol)):
            continue  # handed over already, or its holder is alive and will see it
        lanes.add((account_id, symbol))
        enqueue("webhooks.process_signal", signal_id)
