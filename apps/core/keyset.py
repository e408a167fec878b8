"""The Logs page's reads, as values: its filters and its keyset cursor (no forms, no I/O)."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta

from apps.core.numbers import BIGINT_MAX

PAGE_SIZE = 50
# `<microseconds since the epoch>_<id>`: digits only, so a cursor is short and readable.
_CURSOR = re.compile(r"(\d{1,16})_(\d{1,19})", re.ASCII)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class LogFilters:
    level: str = ""
    category: str = ""
    account: object | None = None  # the trader's own ExchangeAccount
    symbol: str = ""
    subject_type: str = ""
    subject_id: str = ""
    since: datetime | None = None  # inclusive, UTC
    until: datetime | None = None  # exclusive, UTC (the day after "to")
    text: str = ""

    @property
    def active(self) -> bool:
        return any(getattr(self, field.name) not in ("", None) for field in fields(self))


@dataclass(frozen=True)
class Cursor:
    """A position in the newest-first order: the (created_at, id) of a row on a page edge."""

    created_at: datetime
    pk: int

    @classmethod
    def of(cls, event) -> str:
        return cls.of_values(event.created_at, event.pk)

    @staticmethod
    def of_values(created_at: datetime, pk: int) -> str:
        delta = created_at - _EPOCH
        micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        return f"{micros}_{pk}"

    @classmethod
    def parse(cls, raw: str) -> Cursor | None:
        match = _CURSOR.fullmatch(raw or "")
        if not match:
            return None
        micros, pk = int(match[1]), int(match[2])
        if pk > BIGINT_MAX:
            return None
        try:
            return cls(created_at=_EPOCH + timedelta(microseconds=micros), pk=pk)
        except OverflowError:  # past year 9999
            return None
