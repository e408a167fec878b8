"""A trade's events: the timeline of its page, and what notifications say about it."""

from __future__ import annotations

from django.urls import reverse

from apps.core.events import Facts, record_event
from apps.core.models import Event
from apps.tickets.models import Trade


def trade_event(
    trade: Trade, kind: str, message: str, *, level: str = Event.Level.INFO, data=None
) -> None:
    """Record `kind` on the trade's timeline, with the facts notifications show (account,
    symbol, side, the trade's link) and the decision's own inputs in `data`."""
    record_event(
        kind=kind,
        message=message,
        user=trade.owner,
        account=trade.account,
        subject=trade,
        level=level,
        facts=Facts(
            account=trade.account.label,
            symbol=trade.symbol,
            side=trade.side,
            url=reverse("tickets:detail", args=[trade.pk]),
        ),
        data=data,
    )
