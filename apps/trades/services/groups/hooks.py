"""Who hears what happens to a position, without the engine importing them.

The engine calls `position_settled` when a position closes or falls into Error; features
above it (the ticket that opened the position) register a listener at start-up, as
notifications subscribe to events. A listener runs inside the engine's transaction, with the
position row locked: it may write rows and events, never do I/O.
"""

from __future__ import annotations

from collections.abc import Callable

from apps.trades.models import PositionGroup

Listener = Callable[[PositionGroup], None]
_listeners: list[Listener] = []


def on_position_settled(listener: Listener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def position_settled(position: PositionGroup) -> None:
    """The position is Closed or in Error (its status is already set, not yet saved)."""
    for listener in _listeners:
        listener(position)
