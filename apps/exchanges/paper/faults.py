"""Fault injection for tests and drills: latency, transient errors and lost answers.

Faults are drawn from one sequence per account that advances with every adapter call that
has a fault to draw: call number n of the account (PaperSettings.fault_draws, counted in the
database, so every adapter instance, thread and worker process takes the next number) makes
its draws from SHA-256 of (seed, n, what is drawn). The observed rates therefore match the
configured ones whatever builds the adapter, and a drill replays exactly by setting the same
seed and putting fault_draws back to 0. Draws are integers compared with the Decimal rate: no
float is involved in the decision. Pure: no Django, no I/O except the configured latency.
"""

from __future__ import annotations

import hashlib
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
TIMEOUT_AFTER_PLACING = "timeout_after_placing"
_RESOLUTION = 1_000_000


def error_rates_of(error_rates: Mapping[str, object]) -> dict[str, Decimal]:
    """The configured rates as Decimals, by error name.

    An unknown error name or a rate that is not a number is a configuration mistake and is
    refused loudly, so a drill never silently runs without its faults.
    """
    rates: dict[str, Decimal] = {}
    for name in sorted(error_rates):
        if name not in INJECTABLE:
            raise BadRequest(
                f"Paper settings inject unknown error {name!r}; "
                f"use one of {', '.join(sorted(INJECTABLE))}."
            )
        try:
            rates[name] = Decimal(str(error_rates[name]))
        except InvalidOperation:
            raise BadRequest(f"Paper settings give {name} a rate that is not a number.") from None
    return rates


def draws_faults(error_rates: Mapping[str, Decimal], timeout_after_placing_rate: Decimal) -> bool:
    """Whether a call has anything to draw (a zero rate never draws, so never shifts the
    sequence: a call without faults takes no number)."""
    return timeout_after_placing_rate > 0 or any(rate > 0 for rate in error_rates.values())


class FaultInjector:
    """The draws of one adapter call: call number `call` of the account's fault sequence."""

    def __init__(self, *, seed: int, call: int | None) -> None:
        self._seed, self._call = seed, call

    def hit(self, rate: Decimal, *, what: str) -> bool:
        """True with probability `rate`, fixed by (seed, call, what)."""
        if rate <= 0 or self._call is None:
            return False
        digest = hashlib.sha256(f"{self._seed}:{self._call}:{what}".encode()).digest()
        return Decimal(int.from_bytes(digest[:8], "big") % _RESOLUTION) < rate * _RESOLUTION

    def before_call(self, *, latency_ms: int, error_rates: Mapping[str, Decimal]) -> None:
        """Sleep `latency_ms`, then raise each configured error with its rate, in name order."""
        if latency_ms:
            time.sleep(latency_ms / 1000)
        for name in sorted(error_rates):
            if self.hit(error_rates[name], what=name):
                raise INJECTABLE[name](f"{name} injected by the paper exchange's fault settings.")
