"""Readiness checks for /readyz: each answers (ok, detail) within a couple of seconds."""

from __future__ import annotations

import asyncio
from datetime import datetime

import psycopg
import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection

from apps.core.selectors import loop_statuses

TIMEOUT_SECONDS = 2


def check_database() -> dict:
    try:
        if connection.vendor == "postgresql":
            _ping_postgresql()
        else:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        return {"ok": True, "vendor": connection.vendor}
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}


def _ping_postgresql() -> None:
    """A connection of its own with a short connect timeout: the pool would wait for a slot
    (or its reconnect backoff) up to its own 10 s timeout while the database is down."""
    params = connection.settings_dict
    with psycopg.connect(
        host=params.get("HOST") or None,
        port=params.get("PORT") or None,
        user=params.get("USER") or None,
        password=params.get("PASSWORD") or None,
        dbname=params.get("NAME"),
        connect_timeout=TIMEOUT_SECONDS,
    ) as conn:
        conn.execute("SELECT 1")


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
