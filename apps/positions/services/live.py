"""Live updates of the Positions page (after commit, per owner).

A changed group is pushed as its row, swapped in by its id wherever the trader's page shows
it; a new group is pushed to the top of the unfiltered table. The rows are rendered from a
lazy queryset after the transaction commits, so what arrives is the committed state.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable

from django.core.cache import cache
from django.utils.functional import SimpleLazyObject

from apps.core.broadcast import broadcast_fragment
from apps.core.dashboard import push_header
from apps.core.market_formats import attach_formats
from apps.positions.models import PositionGroup
from apps.positions.services import hooks
from apps.positions.services.chart import chart_state, position_timeframe

POSITIONS_LIVE = "positions/positions_live.html"
POSITION_PAGE_LIVE = "positions/position_live.html"
DESK_POSITIONS = "positions/desk_positions.html"
# The Desk list's sort, remembered per trader so a pushed list keeps the order they chose.
_DESK_SORT_KEY = "desk-sort:{}"
_DESK_SORT_SECONDS = 30 * 24 * 3600


def push_group(group: PositionGroup, *, created: bool = False) -> None:
    """The position's row on every page that shows it, after commit; a ticket's position also
    tells its ticket (`hooks.position_changed`), whose Desk row shows its size and entry."""
    from apps.positions.selectors import groups_for_rows

    if group.trade_id and not created:
        hooks.position_changed(position=group)

    broadcast_fragment(
        user_ids=[group.owner_id],
        template=POSITIONS_LIVE,
        context={"groups": _rows(groups_for_rows(ids=[group.pk])), "created": created},
        key=f"group-{group.pk}-{created}",
    )
    push_pages(group.owner_id, [group.pk])
    push_desk(group.owner_id)


def push_rows(groups: Iterable[PositionGroup]) -> None:
    """Rows whose price moved (a take-profit tick), one message per owner."""
    from apps.positions.selectors import groups_for_rows

    by_owner: dict[int, list[int]] = defaultdict(list)
    for group in groups:
        by_owner[group.owner_id].append(group.pk)
    for owner_id, ids in by_owner.items():
        broadcast_fragment(
            user_ids=[owner_id],
            template=POSITIONS_LIVE,
            context={"groups": _rows(groups_for_rows(ids=ids)), "created": False},
        )
        push_pages(owner_id, ids)
        push_desk(owner_id)


def _rows(groups) -> SimpleLazyObject:
    """The rows with their markets' formats, read when rendered (after commit)."""
    return SimpleLazyObject(lambda: attach_formats(groups))


def push_pages(owner_id: int, ids: list[int]) -> None:
    """After commit, each position's page: its facts (where its protection acts, too) and its
    chart's state (last price, levels, fills). Computed only when rendered, that is when the
    owner has a page open. (Protection is imported here: it imports this module's callers.)"""
    from apps.positions.selectors import groups_for_page_push
    from apps.positions.services.protection import where_it_acts

    def pages() -> list[tuple[PositionGroup, str, dict]]:
        return [
            (
                group,
                json.dumps(chart_state(group, timeframe=position_timeframe(group))),
                where_it_acts(group, list(group.orders.filter(protective=True))),
            )
            for group in attach_formats(groups_for_page_push(ids=ids))
        ]

    broadcast_fragment(
        user_ids=[owner_id],
        template=POSITION_PAGE_LIVE,
        context={"pages": SimpleLazyObject(pages)},
        key=f"position-pages-{owner_id}-{sorted(ids)}",
    )


def desk_sort_of(owner_id: int) -> str:
    """The sort the trader last chose for the Desk's list (newest first until they do)."""
    from apps.positions.selectors import DESK_SORT_DEFAULT, desk_sort

    return desk_sort(cache.get(_DESK_SORT_KEY.format(owner_id))) or DESK_SORT_DEFAULT


def remember_desk_sort(owner_id: int, sort: str) -> None:
    cache.set(_DESK_SORT_KEY.format(owner_id), sort, _DESK_SORT_SECONDS)


def push_desk(owner_id: int) -> None:
    """After commit, the owner's Desk: the list of open positions with its totals (a handful
    of rows: the pool bounds them), in the order they chose, and the header's figures."""
    from apps.positions.selectors import desk_positions

    desk = SimpleLazyObject(  # computed when rendered: after commit, and only if watched
        lambda: desk_positions(owner_id=owner_id, sort=desk_sort_of(owner_id))
    )
    broadcast_fragment(
        user_ids=[owner_id],
        template=DESK_POSITIONS,
        context={"desk": desk, "oob": True},
        key=f"desk-positions-{owner_id}",
    )
    push_header(owner_id)
