"""What the tests of orders resting on the (paper) exchange share: a ticket activated and
entered, the loops' ticks as the worker runs them, and the orders as the desk and the paper
exchange each hold them."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from apps.exchanges.models import PaperOrder
from apps.exchanges.paper.services import cancel_order as cancel_on_paper
from apps.positions.models import Order, PositionGroup
from apps.positions.services import sync_orders
from apps.positions.services.orders import RESTING_SYNC_EVERY
from apps.tickets.models import Trade
from apps.tickets.services import activate_ticket, evaluate_rules
from tests.positions.grouping import Desk
from tests.tickets.conftest import ticket


def activate(desk: Desk, account, **options) -> Trade:
    """A ticket (`options`: its rules and settings, as `ticket()` takes them) activated, its
    immediate entry fired and filled."""
    activation = desk.run(
        activate_ticket,
        user=account.owner,
        ticket=ticket(account, **options),
        trade=None,
        now=timezone.now(),
    )
    assert activation.ok, activation.plan.problems
    desk.run(evaluate_rules, now=timezone.now())
    activation.trade.refresh_from_db()
    return activation.trade


def tick(desk: Desk):
    return desk.run(evaluate_rules, now=timezone.now())


def sync_later(desk: Desk):
    """The order-sync loop a little later: it asks about a resting order every 15 s."""
    return desk.run(sync_orders, now=timezone.now() + RESTING_SYNC_EVERY)


# Where the pages say a position's protection acts once its resting orders were cancelled
# outside the desk three times.
GIVEN_UP = (
    "on the desk&#x27;s rules loop: its resting orders were cancelled on the exchange 3 times, "
    "not by the desk, so the desk places no more for this position"
)


def cancelled_outside(desk: Desk, account, position: PositionGroup, times: int) -> list[Order]:
    """The position's one resting order cancelled on the exchange, not by the desk, `times`
    times, each seen by the order-sync loop; the orders cancelled."""
    cancelled = []
    for _ in range(times):
        [order] = resting(position)
        cancel_on_paper(account=account, client_order_id=order.client_order_id, now=timezone.now())
        sync_later(desk)
        cancelled.append(order)
    return cancelled


def resting(position: PositionGroup) -> list[Order]:
    return list(position.orders.filter(protective=True, status__in=Order.LIVE).order_by("pk"))


def paper_order(order: Order) -> PaperOrder:
    return PaperOrder.objects.get(client_order_id=order.client_order_id)


def sells_filled(position: PositionGroup) -> Decimal:
    """What the exchange sold for the position: every paper sell's fill, summed."""
    ids = position.orders.filter(side="sell").values_list("client_order_id", flat=True)
    return sum(
        (o.filled for o in PaperOrder.objects.filter(client_order_id__in=list(ids))), Decimal(0)
    )
