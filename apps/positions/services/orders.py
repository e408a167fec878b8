"""Every order's path after its intent: sent to the exchange, synced, recorded.

Every order belongs to one position and is written, with its client order id, in the
transaction that decided it (`apps.positions.services.intents`).

1. After commit, `send_order` calls the exchange outside any transaction.
2. The order-sync loop (`sync_orders`) asks the exchange about every live order, sends the
   ones whose task was lost, looks up the ones whose outcome is unknown.
3. `record_order` hands what the exchange reports to the one fill recorder
   (`groups.fills.record_group_order`): one cost basis and one PnL formula, whoever opened
   the position.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db.models import F, Q
from django.utils import timezone

from apps.core.loops import each_isolated
from apps.exchanges.adapters import get_adapter
from apps.exchanges.domain.types import ExchangeOrder, OrderSide, OrderType
from apps.exchanges.errors import ExchangeError, OrderNotFound, PermanentExchangeError
from apps.positions.models import Order
from apps.positions.services import fills, hooks, intents

logger = logging.getLogger(__name__)

# An order not sent this long after its intent was written (a lost task) is sent by the sync loop.
SEND_GRACE = timedelta(seconds=10)
MAX_SEND_ATTEMPTS = 5
# A resting stop or take profit may rest for weeks: the sync loop asks about it this often, not
# every tick (an exchange's rate limit counts every lookup; the rules loop's own stop and
# reconciliation's open-orders list catch a fill in between).
RESTING_SYNC_EVERY = timedelta(seconds=15)
# How long the sync loop looks an unknown order up before a failed lookup counts against the
# circuit breaker: about twenty ticks, which transient faults do not outlast.
RECOVERY_GRACE = timedelta(seconds=60)


# --- Sending ---------------------------------------------------------------------------------


def send_order(*, order_id: int, now: datetime) -> None:
    """Send an intent to the exchange (or re-send it after an unknown outcome).

    1. Claim it with a compare-and-swap on its attempt count, so two senders never both send.
    2. Call the exchange outside any transaction. The client order id makes a re-send safe:
       the exchange (or our adapter) resolves a known id to the existing order.
    3. Record the outcome: the order as the exchange reports it, or why it was refused.

    Circuit breaker: a success breaks the error streak; a refusal counts through its
    `exchange.error` event; a transient error does not count here, because the sync loop's
    lookup by client order id usually resolves it (see `sync_orders`).
    """
    order = Order.objects.select_related("account").filter(pk=order_id).first()
    if order is None or order.status not in (Order.Status.PENDING, Order.Status.UNKNOWN):
        return
    if order.status == Order.Status.PENDING and intents.stop_holds_coins(order):
        return  # the resting stop's cancel comes first; `protection.protect` sends it then
    claimed = Order.objects.filter(
        pk=order.pk, status=order.status, attempts=order.attempts
    ).update(attempts=F("attempts") + 1, sent_at=now)
    if not claimed:
        return
    adapter = get_adapter(order.account)
    try:
        reported = adapter.create_order(
            symbol=order.symbol,
            side=OrderSide(order.side),
            type=OrderType(order.type),
            amount=order.amount,
            price=order.price,
            client_order_id=order.client_order_id,
            trigger_price=order.trigger_price,
        )
    except PermanentExchangeError as exc:
        _refused(order.pk, exc)
        return
    except ExchangeError as exc:
        # Timeouts and outages: the order may or may not exist; the sync loop finds out by id.
        error = f"{type(exc).__name__}: {exc}"
        Order.objects.filter(pk=order.pk, status__in=Order.LIVE).update(
            status=Order.Status.UNKNOWN, error=error
        )
        return
    finally:
        adapter.close()
    hooks.exchange_answered(account_id=order.account_id)
    record_order(order_id=order.pk, reported=reported, now=now)


def _lookup_failed(order: Order, exc: ExchangeError, now: datetime) -> None:
    """A lookup failed transiently. For an order whose outcome is unknown and that the loop
    has looked up for RECOVERY_GRACE since it was sent, the desk's own recovery has not
    worked: that counts against the circuit breaker (once per failed lookup)."""
    logger.warning("Order %s not synced: %s", order.client_order_id, exc)
    if order.status != Order.Status.UNKNOWN or order.sent_at is None:
        return
    if now - order.sent_at < RECOVERY_GRACE:
        return
    hooks.exchange_failed(
        account_id=order.account_id,
        error=f"order {order.client_order_id} still unknown after "
        f"{int((now - order.sent_at).total_seconds())} s: {type(exc).__name__}: {exc}",
        now=now,
    )


def _refused(order_id: int, exc: Exception) -> None:
    fills.refused_group_order(order_id=order_id, error=exc, now=timezone.now())


# --- Sync ------------------------------------------------------------------------------------


def sync_orders(*, now: datetime, batch: int = 100) -> int:
    """One tick of the order-sync loop: ask the exchange about every live order. Returns how
    many were checked.

    Orders never sent (their task was lost) are sent; orders with an unknown outcome are looked
    up by client order id and sent again only if the exchange has never heard of them; a
    resting stop is asked about every RESTING_SYNC_EVERY. Finding
    one breaks the circuit breaker's error streak; one still unknown after RECOVERY_GRACE of
    failed lookups counts against it (`_lookup_failed`).
    """
    resting_stop_checked = Q(
        protective=True,
        status=Order.Status.OPEN,
        cancel_requested_at__isnull=True,
        updated_at__gt=now - RESTING_SYNC_EVERY,
    )
    live_orders = list(
        Order.objects.filter(status__in=Order.LIVE)
        .filter(~Q(status=Order.Status.PENDING) | Q(created_at__lte=now - SEND_GRACE))
        .exclude(resting_stop_checked)
        .select_related("account__owner")
        .order_by("updated_at")[:batch]
    )
    # One order that cannot be synced (its account's exchange fails unexpectedly, its trade's
    # market is gone) is recorded and skipped; the others are synced.
    each_isolated(
        "trades.sync_orders",
        live_orders,
        lambda order: _sync_one(order, now),
        account_of=lambda order: order.account,
    )
    return len(live_orders)


def _sync_one(order: Order, now: datetime) -> None:
    if order.cancel_requested_at is not None:
        # Retried until the exchange reports the order done (cancelled, or filled first).
        from apps.positions.services.cancels import cancel_order

        cancel_order(order_id=order.pk, now=now)
        return
    if order.status == Order.Status.PENDING:
        send_order(order_id=order.pk, now=now)
        return
    adapter = get_adapter(order.account)
    try:
        reported = adapter.fetch_order(
            symbol=order.symbol,
            exchange_order_id=order.exchange_order_id,
            client_order_id=order.client_order_id,
            conditional=order.is_stop,
        )
    except OrderNotFound:
        if order.status == Order.Status.UNKNOWN and order.attempts < MAX_SEND_ATTEMPTS:
            send_order(order_id=order.pk, now=now)
        elif order.status == Order.Status.UNKNOWN:
            _refused(order.pk, OrderNotFound("never reached the exchange after retries"))
        return
    except ExchangeError as exc:
        _lookup_failed(order, exc, now)
        return
    finally:
        adapter.close()
    if order.status == Order.Status.UNKNOWN:
        # Found by its client order id: the send's error is resolved, the exchange works.
        hooks.exchange_answered(account_id=order.account_id)
    record_order(order_id=order.pk, reported=reported, now=now)


# --- Recording fills -------------------------------------------------------------------------


def record_order(*, order_id: int, reported: ExchangeOrder, now: datetime) -> None:
    """Apply the exchange's view of an order to it and its position (`record_group_order`)."""
    fills.record_group_order(order_id=order_id, reported=reported, now=now)
