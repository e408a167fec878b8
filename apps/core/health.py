"""Readiness checks for /readyz: each answers (ok, detail) within a couple of seconds."""

from __future__ import annotations

import asyncio
from datetime import datetime

import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection

from apps.core.selectors import loop_statuses

TIMEOUT_SECONDS = 2


def check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True, "vendor": connection.vendor}
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}


def check_redis() -> dict:
    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS
    )
    try:
        client.ping()
        return {"ok": True}
    except redis.RedisError as exc:
        return {"ok": False, "error": type(exc).__name__}
    finally:
        client.close()


async def _layer_round_trip() -> None:
    layer = get_channel_layer()
    channel = await layer.new_channel("readyz.")
    await layer.send(channel, {"type": "readyz.ping"})
    await asyncio.wait_for(layer.receive(channel), timeout=TIMEOUT_SECONDS)


def check_channel_layer() -> dict:
    try:
        async_to_sync(_layer_round_trip)()
        return {"ok": True}
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}


def readiness(*, now: datetime) -> tuple[bool, dict]:
    """(ready, report). Ready needs the database, Redis when configured, and the channel layer.

    Loop ages and their last tick's error are reported, and a stale loop, or one whose last
    tick failed (wholly, or for some accounts), makes the status "degraded", not down: the web
    process can serve pages while a worker restarts.
    """
    checks = {"database": check_database()}
    if settings.REDIS_URL:
        checks["redis"] = check_redis()
    checks["channel_layer"] = check_channel_layer()
    loops = {
        loop.name: {"age_seconds": loop.age_seconds, "stale": loop.stale, "error": loop.error}
        for loop in (loop_statuses(now=now) if checks["database"]["ok"] else [])
    }
    ready = all(check["ok"] for check in checks.values())
    degraded = not loops or any(loop["stale"] or loop["error"] for loop in loops.values())
    status = "down" if not ready else "degraded" if degraded else "ok"
    return ready, {"status": status, **checks, "loops": loops}
