"""Live updates of the trades table and a trade's page (after commit, per owner)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from apps.core.broadcast import broadcast_fragment
from apps.trades.models import Trade
from apps.trades.selectors import TABLE_LIMIT

TRADES_TABLE = "trades/trades_table.html"
TRADE_PRICES = "trades/trade_rows_live.html"


def push_table(*, owner_id: int) -> None:
    """The owner's whole trades table: after a status change, a fill or a new trade."""
    from apps.trades.selectors import trades_for_table

    broadcast_fragment(
        user_ids=[owner_id],
        template=TRADES_TABLE,
        context={"trades": trades_for_table(owner_id=owner_id), "live": True},
    )


def push_rows(trades: Iterable[Trade]) -> None:
    """The last price and unrealised PnL cells of trades whose price moved, one message per
    owner; a rules tick pushes these, not whole rows (a row's links and rules cost ten times
    as much to render)."""
    by_owner: dict[int, list[Trade]] = defaultdict(list)
    for trade in trades:
        by_owner[trade.owner_id].append(trade)
    for owner_id, rows in by_owner.items():
        # The table shows the newest TABLE_LIMIT trades: a moved trade outside the newest
        # TABLE_LIMIT moved ones cannot be on it, so its row is not rendered at all.
        rows.sort(key=lambda trade: (trade.created_at, trade.pk), reverse=True)
        visible = rows[:TABLE_LIMIT]
        broadcast_fragment(user_ids=[owner_id], template=TRADE_PRICES, context={"trades": visible})
