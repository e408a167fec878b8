"""What the trader does to a group from the Positions page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction

from apps.exchanges.domain.types import OrderSide
from apps.positions.models import Order, PositionGroup
from apps.positions.services.intents import base_of, live_orders, prepare_sell
from apps.positions.services.signals import SignalOutcome, close_group_locked


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


@dataclass(frozen=True)
class ClosePreview:
    """What Close at market would sell now (read only; the close itself re-checks)."""

    base: str  # the base asset, "SOL" of SOL/USDT
    sells: Decimal | None  # the amount the market sell would carry, rounded to the step
    stays: Decimal  # what it leaves: dust below the step, or all of it when nothing can sell
    why_not: str  # why nothing can be sold (below the minimums, nothing held), or ""


def close_preview(*, group: PositionGroup) -> ClosePreview:
    """The sell `close_group` would write: the held quantity less what sells in flight will
    sell, rounded down to the market's step and checked against its minimums (`begin_close`)."""
    reserved = sum(
        (
            o.amount - o.filled
            for o in live_orders(group)
            if o.side == OrderSide.SELL and not o.protective  # a resting stop is cancelled first
        ),
        Decimal(0),
    )
    held = group.quantity - reserved
    price = group.last_price or group.average_entry
    sells, why_not = prepare_sell(group, held, price)
    stays = held - sells if sells is not None else max(held, Decimal(0))
    return ClosePreview(base_of(group.symbol), sells, stays, why_not)
