"""Queue priority: which queued entry signal takes an account's next free pool slot.

Pure: values in (Decimal, aware datetimes, ints), an order out; no Django, no clock, no I/O.
The order is total: after the four criteria of the design (continuation, deepest loss, most
replacements, oldest) the row's id breaks any remaining tie, so two entries are never equal
and the ranking of a set does not depend on the order it was read in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class QueuedEntry:
    """What the priority looks at in one queued entry signal."""

    id: int
    queued_at: datetime  # when the key was first queued (a replacement keeps it)
    replacements: int = 0
    # A pyramid add to a group already open, queued because pyramids count toward the pool.
    continuation: bool = False
    loss_pct: Decimal | None = None  # see `loss_pct`; None without a signal or market price
    # The trader pressed Promote: the entry takes the next free slot ahead of priority.
    pinned_at: datetime | None = None


def loss_pct(
    *, signal_price: Decimal | None, market_price: Decimal | None, side: str
) -> Decimal | None:
    """The discount the market now offers on the signal's price, in % of that price, for the
    entry's side: positive when the entry would be better than the alert's (a long's market
    below the signal's price, a short's above it), negative when the market has moved away
    (the entry would pay more). It is what a position entered at the signal's price would
    have lost by now, hence the name; the Queue page writes it as the market's distance
    `below` / `above` the signal's price, never as a negative loss."""
    if signal_price is None or market_price is None or signal_price <= 0:
        return None
    moved = signal_price - market_price if side == "long" else market_price - signal_price
    return moved / signal_price * 100


def priority_key(entry: QueuedEntry) -> tuple:
    """Sort key, smallest first. Each criterion comes as (flag, value) where the flag alone
    orders entries that have no value, so None is never compared with a value.

    0. pinned by the trader's Promote, earliest first (an override ahead of priority);
    1. continuation of an open group;
    2. the biggest discount on the signal's price (`loss_pct`); an unknown one ranks after
       any known;
    3. highest replacement count;
    4. oldest queue time;
    5. the id: a total order even between entries equal on everything else.
    """
    return (
        entry.pinned_at is None,
        entry.pinned_at,
        not entry.continuation,
        entry.loss_pct is None,
        -entry.loss_pct if entry.loss_pct is not None else None,
        -entry.replacements,
        entry.queued_at,
        entry.id,
    )


def ranked(entries: Iterable[QueuedEntry]) -> list[QueuedEntry]:
    """The entries, highest priority first (rank 1 is index 0)."""
    return sorted(entries, key=priority_key)
