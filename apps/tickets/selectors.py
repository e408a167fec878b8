"""Reads for the Desk's tickets table and a trade's page."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Case, IntegerField, Q, Value, When
from django.utils.functional import SimpleLazyObject

from apps.core.market_formats import attach_formats
from apps.core.models import Event
from apps.positions.models import Order
from apps.positions.selectors import GROUP_SUBJECT
from apps.tickets.models import Trade

TABLE_LIMIT = 200
TRADE_SUBJECT = "trades.trade"  # Event.subject_type of a trade's events


def trades_for_table(*, owner_id: int) -> SimpleLazyObject:
    """The owner's tickets, those still to act on first, then the finished ones, newest first,
    with what each row shows (the rules come from the revision).

    Lazy on purpose: `live.push_table` is called inside a service's transaction and renders
    after commit, so the table pushed is the committed one. A list taken before commit could
    arrive after a later push and show the trader a state that is already gone.

    The rows must not reach for anything else: the rules loop pushes rows of trades it loaded
    with their revisions only, and a row that read the account would cost a query per trade.
    Each row's market format (`fmt`: tick, step, units) comes with one query for them all.
    """
    # Tickets still to act on (waiting, editable, running) first; finished ones after them.
    finished = Case(
        When(status__in=Trade.FINISHED, then=Value(1)),
        default=Value(0),
        output_field=IntegerField(),
    )
    trades = (
        Trade.objects.filter(owner_id=owner_id)
        .select_related("account", "revision", "position")
        .order_by(finished, "-created_at", "-pk")[:TABLE_LIMIT]
    )
    return SimpleLazyObject(lambda: _with_formats(trades))


def _with_formats(trades) -> list[Trade]:
    """The trades with their market's format, shared with the positions they opened."""
    trades = attach_formats(trades)
    for trade in trades:
        if trade.position_or_none is not None:
            trade.position_or_none.fmt = trade.fmt
    return trades


@dataclass(frozen=True)
class Timeline:
    """Why a trade did what it did, as one story: the ticket's events and its position's,
    oldest first, and the position's orders."""

    events: list[Event]
    orders: list[Order]


def timeline(trade: Trade) -> Timeline:
    subjects = Q(subject_type=TRADE_SUBJECT, subject_id=str(trade.pk))
    position = trade.position_or_none
    orders: list[Order] = []
    if position is not None:
        subjects |= Q(subject_type=GROUP_SUBJECT, subject_id=str(position.pk))
        orders = list(
            position.orders.select_related("leg", "leg__pyramid").order_by("created_at", "pk")
        )
    events = Event.objects.filter(subjects).order_by("created_at", "id")
    return Timeline(events=list(events), orders=orders)
