"""Reads for the desk's trades table and a trade's page."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from apps.core.models import Event
from apps.core.scoping import owned
from apps.trades.models import Order, Trade

TABLE_LIMIT = 200
TRADE_SUBJECT = "trades.trade"  # Event.subject_type of a trade's events


def trades_for_table(*, owner_id: int) -> QuerySet[Trade]:
    """The owner's newest trades, with what each row shows (the rules come from the revision).

    Lazy on purpose: `live.push_table` is called inside a service's transaction and renders
    after commit, so the table pushed is the committed one. A list taken before commit could
    arrive after a later push and show the trader a state that is already gone.

    The rows must not reach for anything else: the rules loop pushes rows of trades it loaded
    with their revisions only, and a row that read the account would cost a query per trade.
    """
    return (
        Trade.objects.filter(owner_id=owner_id)
        .select_related("account", "revision")
        .order_by("-created_at", "-pk")[:TABLE_LIMIT]
    )


def trades_of(user):
    """The user's trades, for views that look one up (another user's trade is a 404)."""
    return owned(Trade, user, owner_field="owner").select_related(
        "account", "revision", "next_revision", "strategy"
    )


@dataclass(frozen=True)
class Timeline:
    """Why a trade did what it did: its events, oldest first, and its orders."""

    events: list[Event]
    orders: list[Order]


def timeline(trade: Trade) -> Timeline:
    events = Event.objects.filter(subject_type=TRADE_SUBJECT, subject_id=str(trade.pk)).order_by(
        "created_at", "id"
    )
    return Timeline(events=list(events), orders=list(trade.orders.order_by("created_at", "pk")))
