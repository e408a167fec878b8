"""Live updates of the trades table and a trade's page (after commit, per owner)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.utils.functional import SimpleLazyObject

from apps.core.broadcast import broadcast_fragment
from apps.core.market_formats import attach_formats
from apps.positions.models import PositionGroup
from apps.tickets.models import Trade
from apps.tickets.selectors import TABLE_LIMIT

TRADES_TABLE = "tickets/trades_table.html"
TRADE_PRICES = "tickets/trade_rows_live.html"


def push_table(*, owner_id: int) -> None:
    """The owner's whole trades table: after a status change, a fill or a new trade."""
    from apps.tickets.selectors import trades_for_table

    broadcast_fragment(
        user_ids=[owner_id],
        template=TRADES_TABLE,
        context={"trades": trades_for_table(owner_id=owner_id), "live": True},
    )


def push_table_of(position: PositionGroup) -> None:
    """The owner's trades table, after a fill changed the position a ticket opened (its row
    shows the position's size and entry)."""
    push_table(owner_id=position.owner_id)


def push_rows(trades: Iterable[Trade], positions: Iterable[PositionGroup] = ()) -> None:
    """The last price and PnL cells of the tickets whose price moved: waiting tickets
    (`trades`) and the positions tickets opened (`positions`; a signal's are skipped), one
    message per owner. A rules tick pushes these, not whole rows (a row's links and rules cost
    ten times as much to render)."""
    by_owner: dict[int, list[Trade]] = defaultdict(list)
    for trade in trades:
        by_owner[trade.owner_id].append(trade)
    positions_of: dict[int, list[PositionGroup]] = defaultdict(list)
    for position in positions:
        if position.trade_id is not None:
            positions_of[position.owner_id].append(position)
    for owner_id in by_owner.keys() | positions_of.keys():
        # The table shows the newest TABLE_LIMIT trades: a moved trade outside the newest
        # TABLE_LIMIT moved ones cannot be on it, so its row is not rendered at all.
        rows = sorted(by_owner[owner_id], key=lambda t: (t.created_at, t.pk), reverse=True)
        opened = sorted(positions_of[owner_id], key=lambda p: p.trade_id, reverse=True)
        broadcast_fragment(
            user_ids=[owner_id],
            template=TRADE_PRICES,
            context={
                "trades": _formatted(rows[:TABLE_LIMIT]),
                "positions": _formatted(opened[:TABLE_LIMIT]),
            },
        )


def _formatted(objects: list) -> SimpleLazyObject:
    """The objects with their markets' formats, looked up when rendered (if anyone watches)."""
    return SimpleLazyObject(lambda: attach_formats(objects))
