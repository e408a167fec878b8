"""Fault injection for tests and drills: latency, transient errors and lost answers.

The random draws come from an RNG seeded with the account's PaperSettings.seed, so a given
adapter instance fails on exactly the same calls every run. Draws are integers compared with
the Decimal rate: no float is involved in the decision.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from apps.exchanges.errors import (
    BadRequest,
    ExchangeUnavailable,
    NetworkFailure,
    RateLimited,
    RequestTimedOut,
    TransientExchangeError,
)

# Only transient errors can be injected: they are what a healthy exchange does now and then.
INJECTABLE: dict[str, type[TransientExchangeError]] = {
    error.__name__: error
    for error in (NetworkFailure, RequestTimedOut, RateLimited, ExchangeUnavailable)
}
_RESOLUTION = 1_000_000


class FaultInjector:
    def __init__(self, *, seed: int) -> None:
        self._rng = random.Random(seed)  # noqa: S311 - a reproducible drill, not security

    def hit(self, rate: Decimal) -> bool:
        """True with probability `rate` (0 never draws, so it never shifts the sequence)."""
        if rate <= 0:
            return False
        return Decimal(self._rng.randrange(_RESOLUTION)) < rate * _RESOLUTION

    def before_call(self, *, latency_ms: int, error_rates: Mapping[str, object]) -> None:
        """Sleep `latency_ms`, then raise each configured error with its rate, in name order.

        An unknown error name or a rate that is not a number is a configuration mistake and is
        refused loudly, so a drill never silently runs without its faults.
        """
        if latency_ms:
            time.sleep(latency_ms / 1000)
        for name in sorted(error_rates):
            error = INJECTABLE.get(name)
            if error is None:
                raise BadRequest(
                    f"Paper settings inject unknown error {name!r}; "
                    f"use one of {', '.join(sorted(INJECTABLE))}."
                )
            try:
                rate = Decimal(str(error_rates[name]))
            except InvalidOperation:
                raise BadRequest(
                    f"Paper settings give {name} a rate that is not a number."
                ) from None
            if self.hit(rate):
                raise error(f"{name} injected by the paper exchange's fault settings.")
