"""Single-flight locks shared by every process (Redis cache in the stack, memory when embedded)."""

from __future__ import annotations

import secrets
import time
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


@contextmanager
def waiting_lock(name: str, *, ttl_seconds: int, wait_seconds: float) -> Iterator[bool]:
    """Like `single_flight`, but wait up to `wait_seconds` for the holder to finish; yield True
    once held, False when the wait ran out.

    For work that must run one at a time *and* must not be skipped (a webhook lane: signals of
    one account and symbol). Polls with a short, growing interval; no transaction is held while
    waiting, and none is needed while holding it.
    """
    key = f"lock:{name}"
    token = secrets.token_hex(8)
    deadline = time.monotonic() + wait_seconds
    pause = 0.005
    while not (acquired := cache.add(key, token, timeout=ttl_seconds)):
        if time.monotonic() >= deadline:
            break
        time.sleep(pause)
        pause = min(pause * 2, 0.05)
    try:
        yield acquired
    finally:
        if acquired and cache.get(key) == token:
            cache.delete(key)
