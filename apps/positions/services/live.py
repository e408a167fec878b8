"""Live updates of the Positions page (after commit, per owner).

A changed group is pushed as its row, swapped in by its id wherever the trader's page shows
it; a new group is pushed to the top of the unfiltered table. The rows are rendered from a
lazy queryset after the transaction commits, so what arrives is the committed state.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from apps.core.broadcast import broadcast_fragment
from apps.positions.models import PositionGroup
from apps.positions.services import hooks

POSITIONS_LIVE = "positions/positions_live.html"


def push_group(group: PositionGroup, *, created: bool = False) -> None:
    """The position's row on every page that shows it, after commit; a ticket's position also
    tells its ticket (`hooks.position_changed`), whose Desk row shows its size and entry."""
    from apps.positions.selectors import groups_for_rows

    if group.trade_id and not created:
        hooks.position_changed(position=group)

    broadcast_fragment(
        user_ids=[group.owner_id],
        template=POSITIONS_LIVE,
        context={"groups": groups_for_rows(ids=[group.pk]), "created": created},
        key=f"group-{group.pk}-{created}",
    )


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
            context={"groups": groups_for_rows(ids=ids), "created": False},
        )
