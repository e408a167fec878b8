"""Hooks: how a lower app lets higher apps react to what it does without importing them.

The lower app declares a hook (`position_settled = Hook("positions.settled")`) and calls it
where the thing happens; a higher app connects a listener at start-up, in its `AppConfig.ready`
(as `notifications` subscribes to events). Apps then form no import cycle: the arrow points
from the listener's app down to the hook's.

Listeners run in the caller's thread and transaction, in the order they connected. A hook
that asks something (`Hook.ask`) returns the first answer that is not None.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Hook:
    def __init__(self, name: str) -> None:
        self.name = name
        self._listeners: list[Callable[..., Any]] = []

    def __repr__(self) -> str:
        return f"Hook({self.name!r}, {len(self._listeners)} listeners)"

    def connect(self, listener: Callable[..., Any]) -> None:
        """Add a listener (once: connecting it again changes nothing)."""
        if listener not in self._listeners:
            self._listeners.append(listener)

    def __call__(self, **kwargs: Any) -> None:
        """Tell every listener."""
        for listener in self._listeners:
            listener(**kwargs)

    def collect(self, **kwargs: Any) -> list[Any]:
        """Every listener's answer that is not None, in the order they connected."""
        answers = (listener(**kwargs) for listener in self._listeners)
        return [answer for answer in answers if answer is not None]

    def ask(self, **kwargs: Any) -> Any:
        """The first listener's answer that is not None (None when no one answers)."""
        for listener in self._listeners:
            answer = listener(**kwargs)
            if answer is not None:
                return answer
        return None
