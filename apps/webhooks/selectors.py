"""Reads of a trader's routes and signals (the Signals page, its CSV, the route pages)."""

from __future__ import annotations

from django.db.models import Count, Max, Q, QuerySet

from apps.core.scoping import owned
from apps.positions.models import Order
from apps.webhooks.models import Signal, WebhookRoute

PAGE_LIMIT = 200  # the Signals page shows the newest; the CSV has them all


def routes_for(user) -> QuerySet[WebhookRoute]:
    return (
        owned(WebhookRoute, user, owner_field="owner")
        .select_related("account", "strategy")
        .annotate(signal_count=Count("signals"), last_signal_at=Max("signals__received_at"))
        .order_by("label")
    )


def signals_for(user, *, route_id: int | None = None, status: str = "") -> QuerySet[Signal]:
    signals = owned(Signal, user, owner_field="route__owner").select_related("route")
    if route_id is not None:
        signals = signals.filter(route_id=route_id)
    if status:
        signals = signals.filter(status=status)
    return signals.order_by("-received_at", "-pk")


def orders_of(signal: Signal):
    """The orders the signal's action wrote: those the position groups reported, and any order
    linked to the signal since (a grid's later legs)."""
    orders = Order.objects.filter(Q(pk__in=signal.order_ids) | Q(signal_id=signal.pk))
    # The leg and its pyramid name the order on its row (`client_id_meaning`).
    return orders.select_related("leg__pyramid").order_by("created_at", "pk")


DEMO_ROUTE = "TradingView demo"  # the label of the demo trader's route


def demo_route() -> WebhookRoute | None:
    """The demo trader's route, as `seed_demo` made it (for `rundesk`'s start banner)."""
    return (
        WebhookRoute.objects.select_related("account")
        .filter(owner__username="demo", label=DEMO_ROUTE, is_active=True)
        .first()
    )
