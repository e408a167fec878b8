"""Cancelling an order on the exchange: intent first (`intents.request_cancel` marks it in the
transaction that decided it), then the exchange call outside any transaction, then the outcome
recorded like any other report of the order."""

from __future__ import annotations

import logging
from datetime import datetime

from apps.exchanges.adapters import get_adapter
from apps.exchanges.errors import ExchangeError, OrderNotFound
from apps.positions.models import Order
from apps.positions.services.fills import cancelled_unsent

logger = logging.getLogger(__name__)


def cancel_order(*, order_id: int, now: datetime) -> None:
    """Cancel a live order whose cancel was requested; safe to call again (the task, then the
    order-sync loop until the exchange reports the order done).

    1. Ask the exchange to cancel it by its ids. The answer is the order as the exchange now
       knows it: cancelled, or filled first (the fill is recorded, nothing is lost).
    2. After OrderNotFound, fetch the order: the cancel may have worked and only the read
       failed (the adapter protocol's rule).
    3. Not found either: if its sender is done with it (an unknown outcome, or a send that
       stopped long ago), it never reached the exchange and is recorded as cancelled; a send
       still in progress is left for the sync loop to try again.
    """
    from apps.positions.services.orders import SEND_GRACE, record_order

    order = Order.objects.select_related("account").filter(pk=order_id).first()
    if order is None or order.status not in Order.LIVE or order.cancel_requested_at is None:
        return
    adapter = get_adapter(order.account)
    ids = {
        "symbol": order.symbol,
        "exchange_order_id": order.exchange_order_id,
        "client_order_id": order.client_order_id,
        "conditional": order.is_stop,
    }
    try:
        try:
            reported = adapter.cancel_order(**ids)
        except OrderNotFound:
            reported = adapter.fetch_order(**ids)
    except OrderNotFound:
        sender_done = order.status == Order.Status.UNKNOWN or (
            order.sent_at is not None and order.sent_at <= now - SEND_GRACE
        )
        if sender_done:
            cancelled_unsent(
                order_id=order.pk, now=now, why="Cancelled: it never reached the exchange."
            )
        return
    except ExchangeError as exc:
        logger.warning("Cancel of %s not done yet: %s", order.client_order_id, exc)
        return
    finally:
        adapter.close()
    record_order(order_id=order.pk, reported=reported, now=now)
