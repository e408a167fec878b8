"""A position group's events: its timeline, and what notifications say about it."""

from __future__ import annotations

from django.urls import reverse

from apps.core.events import Facts, record_event
from apps.core.models import Event
from apps.positions.models import PositionGroup


def times_told(group: PositionGroup, kind: str) -> int:
    """How many `kind` events the group's timeline holds."""
    return Event.objects.about(group).filter(kind=kind).count()


def group_event(
    group: PositionGroup, kind: str, message: str, *, level: str = Event.Level.INFO, data=None
) -> None:
    """Record `kind` on the group's timeline with the facts notifications show (account,
    symbol, side, the group's link) and the decision's own inputs in `data` (quantity, price,
    pnl, reason...). Call it inside the service's transaction, with the group's owner and
    account loaded."""
    record_event(
        kind=kind,
        message=message,
        user=group.owner,
        account=group.account,
        subject=group,
        level=level,
        facts=Facts(
            account=group.account.label,
            symbol=group.symbol,
            side=group.side,
            url=reverse("positions:detail", args=[group.pk]),
        ),
        data={"timeframe": group.timeframe, "group": group.pk} | (data or {}),
    )
