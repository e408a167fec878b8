"""One Redis connection pool per process for Django's cache.

Django keeps a cache object per thread and, under ASGI, per request context; each object
builds its own redis-py pool. In daphne that meant a new Redis connection for every request
that touched the cache (a webhook's rate limit, a live update's presence check), never reused.
`pool_class` is Django's documented hook: every cache object of a process now draws from the
same pool (redis-py's pools are thread-safe, and reset themselves in a forked child).
"""

from __future__ import annotations

import threading

import redis


class ProcessConnectionPool(redis.ConnectionPool):
    _pools: dict[tuple, redis.ConnectionPool] = {}
    _lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, **kwargs) -> redis.ConnectionPool:
        key = (url, tuple(sorted(kwargs.items())))
        with cls._lock:
            pool = cls._pools.get(key)
            if pool is None:
                pool = cls._pools[key] = super().from_url(url, **kwargs)
        return pool
