"""Single-flight locks shared by every process (Redis cache in the stack, memory when embedded)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.cache import cache


@contextmanager
def single_flight(name: str, *, ttl_seconds: int) -> Iterator[bool]:
    """Yield True when this caller holds lock `name`, False when another holder has it.

    `cache.add` is atomic in Redis and in the local-memory cache, so exactly one caller wins.
    The TTL frees the lock if its holder dies; keep it above the task's hard time limit so a
    slow but live holder is never overlapped.
    """
    key = f"lock:{name}"
    token = secrets.token_hex(8)
    acquired = cache.add(key, token, timeout=ttl_seconds)
    try:
        yield acquired
    finally:
        # Only release our own lock (it may have expired and been taken by someone else).
        if acquired and cache.get(key) == token:
            cache.delete(key)
