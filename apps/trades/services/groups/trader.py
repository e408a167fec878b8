"""What the trader does to a group from the Positions page."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from apps.trades.models import Order, PositionGroup
from apps.trades.services.groups.signals import SignalOutcome, close_group_locked


class GroupError(Exception):
    """An action the group's state does not allow; the message says why."""


def close_group(*, group: PositionGroup, now: datetime) -> SignalOutcome:
    """Close an open group, or one in Error, at market: its resting legs are cancelled and
    what it holds is sold (the way out of Error after a refused sell)."""
    with transaction.atomic():
        group = (
            PositionGroup.objects.select_for_update(of=("self",))
            .select_related("owner", "account")
            .get(pk=group.pk)
        )
        if group.status not in PositionGroup.POOL:
            raise GroupError(f"A {group.get_status_display().lower()} group cannot be closed.")
        return close_group_locked(
            group, purpose=Order.Purpose.CLOSE, price=None, signal_id=None, now=now
        )
