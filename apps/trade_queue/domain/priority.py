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
    """How far the market has moved against the signal, in % of the signal's price: what a
    position entered at the signal's price would have lost by now. Positive is a discount on
    the price the alert decided at (a long's market below it), negative a premium."""
    if signal_price is None or market_price is None or signal_price <= 0:
        return None
    moved = signal_price - market_price if side == "long" else market_price - signal_price
    return moved / signal_price * 100


def priority_key(entry: QueuedEntry) -> tuple:
    """Sort key, smallest first. Each criterion comes as (flag, value) where the flag alone
    orders entries that have no value, so None is never compared with a value.

    0. pinned by the trader's Promote, earliest first (an override ahead of priority);
    1. continuation of an open group;
    2. deepest current loss % (the biggest discount); an unknown loss ranks after any known;
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
