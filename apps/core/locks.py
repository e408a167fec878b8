"""Locks shared by every process (Redis cache in the stack, memory when embedded).

* `single_flight`: held for a fixed TTL; an overlapping caller skips (periodic loops).
* `lease`: held for a few seconds at a time and renewed in the background while its holder
  works, so a holder that dies frees it within seconds (a webhook lane).

Each holder has its own token, and only the holder renews or releases: compare-and-act is one
Lua script in Redis, and a process-wide mutex around the in-memory cache (which only this
process can see).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)

_RENEW = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
)
_RELEASE = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
)
# Makes add / compare-and-act atomic for the in-memory cache of the embedded desk.
_local = threading.Lock()


def _token() -> int:
    # An int, which Django's Redis cache stores as its digits (not pickled): the Lua scripts
    # compare it as it is stored.
    return secrets.randbits(62)


def _add(key: str, token: int, seconds: float) -> bool:
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        return backend.add(key, token, timeout=seconds)
    with _local:
        return backend.add(key, token, timeout=seconds)


def _if_holder(key: str, token: int, *, extend_ms: int | None) -> bool:
    """Extend (by `extend_ms`) or delete (None) lock `key` if `token` still holds it."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        client = backend._cache.get_client(write=True)  # redis-py; Django's cache has no CAS
        args = (token,) if extend_ms is None else (token, extend_ms)
        script = _RELEASE if extend_ms is None else _RENEW
        return bool(client.eval(script, 1, backend.make_and_validate_key(key), *args))
    with _local:
        if backend.get(key) != token:
            return False
        if extend_ms is None:
            backend.delete(key)
        else:
            backend.touch(key, timeout=extend_ms / 1000)
        return True


def is_held(name: str) -> bool:
    """Whether anyone holds lock `name` right now (a lease, or a single-flight lock)."""
    return cache.get(f"lock:{name}") is not None


@contextmanager
def single_flight(name: str, *, ttl_seconds: int) -> Iterator[bool]:
    """Yield True when this caller holds lock `name`, False when another holder has it.

    `cache.add` is atomic in Redis and in the local-memory cache, so exactly one caller wins.
    The TTL frees the lock if its holder dies; keep it above the task's hard time limit so a
    slow but live holder is never overlapped.
    """
    key = f"lock:{name}"
    token = _token()
    acquired = _add(key, token, ttl_seconds)
    try:
        yield acquired
    finally:
        # Only release our own lock (it may have expired and been taken by someone else).
        if acquired:
            _if_holder(key, token, extend_ms=None)


class Lease:
    """A held lease: `held` says whether it is still ours. Renewed by a keeper thread every
    third of its length, until the holder leaves or `max_hold_seconds` have passed (a holder
    that hangs longer than a task may run lets its lease go rather than block the lock)."""

    def __init__(self, key: str, token: int, *, seconds: int, max_hold_seconds: float) -> None:
        self.key, self.token, self.seconds = key, token, seconds
        started = time.monotonic()
        self._expires = started + seconds  # no later than the cache's own expiry
        self._hold_until = started + max_hold_seconds
        self._lost = threading.Event()
        self._stop = threading.Event()

    @property
    def held(self) -> bool:
        return not self._lost.is_set() and time.monotonic() < self._expires

    def renew(self) -> bool:
        """Extend the lease by its length if it is still ours; False (and lost) if not."""
        asked_at = time.monotonic()
        if asked_at >= self._hold_until or not _if_holder(
            self.key, self.token, extend_ms=self.seconds * 1000
        ):
            self._lost.set()
            return False
        self._expires = asked_at + self.seconds
        return True

    def _keep(self) -> None:
        while not self._stop.wait(self.seconds / 3) and not self._lost.is_set():
            try:
                self.renew()
            except Exception:  # the cache is briefly unreachable: try again until it expires
                logger.warning("Lease %s not renewed", self.key, exc_info=True)
                if time.monotonic() >= self._expires:
                    self._lost.set()


@contextmanager
def lease(name: str, *, seconds: int, max_hold_seconds: float) -> Iterator[Lease | None]:
    """Yield a `Lease` when this caller holds lock `name`, None when another holder has it.

    The lease lasts `seconds` and is renewed in the background while the block runs, so a
    holder that dies (its process killed, its machine gone) frees it within `seconds`. Check
    `held` between steps: a holder that could not renew in time has lost it, and another may
    hold it now.
    """
    key = f"lock:{name}"
    token = _token()
    if not _add(key, token, seconds):
        yield None
        return
    held = Lease(key, token, seconds=seconds, max_hold_seconds=max_hold_seconds)
    keeper = threading.Thread(target=held._keep, name=f"lease:{name}", daemon=True)
    keeper.start()
    try:
        yield held
    finally:
        held._stop.set()
        keeper.join()
        _if_holder(key, token, extend_ms=None)  # a no-op once someone else holds it
