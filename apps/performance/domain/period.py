"""A period of UTC days, as the Performance page filters by."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Period:
    """UTC days, both ends included; None is open-ended."""

    since: date | None
    until: date | None

    @property
    def label(self) -> str:
        if self.since is None and self.until is None:
            return "all time"
        start = self.since.isoformat() if self.since else "the start"
        end = self.until.isoformat() if self.until else "today"
        return f"{start} to {end} (UTC)"
