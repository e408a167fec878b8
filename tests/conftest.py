"""Suite-wide setup: real PostgreSQL and Redis, checked once with a one-line error if missing."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest
import redis
from django.conf import settings
from django.core.cache import cache

from tradedesk.celery import app as celery_app


def _database_problem() -> str | None:
    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.postgresql":
        return f"the tests need PostgreSQL, but DATABASE_URL selects {database['ENGINE']}"
    host, port = database.get("HOST") or "localhost", database.get("PORT") or 5432
    try:
        psycopg.connect(
            host=host,
            port=port,
            user=database.get("USER"),
            password=database.get("PASSWORD"),
            dbname="postgres",
            connect_timeout=3,
        ).close()
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"PostgreSQL is not reachable at {host}:{port} ({reason})"
    return None


def _redis_problem() -> str | None:
    if not settings.REDIS_URL:
        return "the tests need Redis, but REDIS_URL is empty"
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        return f"Redis is not reachable at {settings.REDIS_URL} ({exc})"
    finally:
        client.close()
    return None


def pytest_sessionstart(session: pytest.Session) -> None:
    problems = [p for p in (_database_problem(), _redis_problem()) if p]
    if problems:
        pytest.exit(
            "; ".join(problems) + ". Start it, or set DATABASE_URL / REDIS_URL.", returncode=3
        )
    # No worker runs under pytest: enqueued tasks run inline, in the test's own transaction.
    celery_app.conf.task_always_eager = True


def chromium_problem() -> str | None:
    """Why the browser tests cannot run, if they cannot: no Chromium where Playwright looks."""
    path = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not Path(path).exists():
        return f"the browser tests need Chromium, but there is none at {path}"
    return None


def pytest_collection_finish(session: pytest.Session) -> None:
    """Stop before the first test, with one line, when a collected browser test could not run
    (rather than after every other test, with one error per browser test)."""
    if any(item.get_closest_marker("browser") for item in session.items):
        problem = chromium_problem()
        if problem:
            pytest.exit(
                problem + ". Install it (apt-get install chromium), set CHROMIUM_PATH, or "
                'deselect them with -m "not browser".',
                returncode=3,
            )


@pytest.fixture(autouse=True)
def _fast_passwords_and_clean_cache(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()  # locks and throttles must not leak from one test into the next


@pytest.fixture(autouse=True)
def _webhook_recording_on_the_test_connection(monkeypatch) -> None:
    """The webhook view records in a pool thread with its own connection, which cannot see a
    test's uncommitted rows; in-process tests record on the test's thread instead."""
    import importlib

    # The module, not the view function of the same name that the package re-exports.
    receive = importlib.import_module("apps.webhooks.views.receive")
    monkeypatch.setattr(receive, "RECORD_ON_SHARED_THREAD", True)
