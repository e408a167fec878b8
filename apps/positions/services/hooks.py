"""The engine's hooks (`apps.core.hooks`): who hears what happens to positions and their
orders, without the engine importing them. Listeners connect at start-up in their app's
`AppConfig.ready`; each runs in the engine's transaction and may write rows and events, never
do I/O.

- `position_settled(position)`: the position is Closed or in Error (status set, not saved):
  the ticket that opened it follows.
- `position_changed(position)`: a fill or an order's end changed the position (saved; its
  row is pushed after commit): the pages of the ticket that opened it follow.
- `entry_check(account, symbol, now) -> str | None`: asked before any new position opens
  (`opening.refusal`); the first reason refuses it. The account guards answer.
- `position_added_to(position, now)`: an entry signal arrived for an open position (a
  pyramid, or one refused at its limit): the risk engine restarts its timer.
- `exchange_answered(account_id)` / `exchange_failed(account_id, error, now)`: an order call
  went through, or the desk's own recovery of an order failed: the circuit breaker counts.
- `pool_changed(account_id, freed)`: a position took or freed a pool slot: the queue
  promotes, the pages update.

The waiting room: an entry signal that finds the pool full waits in the queue, which connects
these at start-up (without it, such an entry is rejected):
- `pool_rules(account) -> pool.PoolRules`: how the pool counts, how long an entry may wait;
- `entries_waiting(account_id) -> int`: entries already waiting for a free slot;
- `queue_entry(account, strategy, entry, signal_id, market_price, pool, why, now) -> str`:
  queue the entry (the reason its signal is decided "queued"), or raise `QueueBusy`;
- `entry_promoted(queued_id, reason, group_id, order_ids, now)`: a queued entry executed;
- `exit_cancels_queued(account, entry, signal_id, now) -> queued row | None`: an exit removes
  the entry queued for its key;
- `queued_of_signal(signal_id) -> Queued | None`: the queue row a signal wrote, for the
  recovery of a signal whose processing was interrupted.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from apps.core.hooks import Hook
from apps.core.timeframes import timeframe_words

position_settled = Hook("positions.settled")
position_changed = Hook("positions.changed")
entry_check = Hook("positions.entry_check")
position_added_to = Hook("positions.added_to")
exchange_answered = Hook("positions.exchange_answered")
exchange_failed = Hook("positions.exchange_failed")
pool_changed = Hook("positions.pool_changed")
pool_rules = Hook("positions.pool_rules")
entries_waiting = Hook("positions.entries_waiting")
queue_entry = Hook("positions.queue_entry")
entry_promoted = Hook("positions.entry_promoted")
exit_cancels_queued = Hook("positions.exit_cancels_queued")
queued_of_signal = Hook("positions.queued_of_signal")


@dataclass(frozen=True)
class Entry:
    """An entry signal as the waiting room keeps it."""

    symbol: str
    timeframe: str
    side: str
    price: Decimal | None
    quantity: Decimal | None

    @property
    def key(self) -> str:
        return f"{self.symbol} {timeframe_words(self.timeframe)} {self.side}"


@dataclass(frozen=True)
class Queued:
    """A signal's queue row as the recovery reads it."""

    reason: str
    group_id: int | None
    ended: str  # the signal's status when the row ended undecided (rejected, expired...), or ""


class QueueBusy(Exception):
    """The key's queued entry is being promoted right now; the message says so."""
