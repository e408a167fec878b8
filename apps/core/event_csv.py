"""The Logs page's CSV: every column of every event of the filtered view."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from django.core.serializers.json import DjangoJSONEncoder

from apps.core.events import category_label
from apps.core.models import Event

CSV_HEADER = [
    "time_utc",
    "level",
    "kind",
    "category",
    "account",
    "symbol",
    "subject_type",
    "subject_id",
    "message",
    "data",
]
# Rows fetched per query (by keyset, see selectors.iter_filtered_events): a million-event
# download holds one chunk in memory at a time.
CHUNK_SIZE = 1000


def csv_rows(events: Iterable[Event]) -> Iterator[list]:
    for event in events:
        yield [
            event.created_at,
            event.level,
            event.kind,
            category_label(event.category),
            event.account.label if event.account_id else "",
            event.symbol,
            event.subject_type,
            event.subject_id,
            event.message,
            json.dumps(event.data, cls=DjangoJSONEncoder, ensure_ascii=False, sort_keys=True),
        ]
