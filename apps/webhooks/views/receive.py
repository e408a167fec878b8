"""The webhook TradingView posts to: no login, no CSRF (the token in the URL authenticates)."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.db import close_old_connections
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from apps.webhooks.services import client_ip, receive_signal

# Where the recording runs: False is the thread pool (concurrent deliveries in parallel). The
# test suite sets True, so the recording uses the test's own connection and sees the rows its
# uncommitted test transaction holds; the browser tests and benchmarks cover the pool.
RECORD_ON_SHARED_THREAD = False


@csrf_exempt
@require_POST
async def receive(request: HttpRequest, token: str) -> JsonResponse:
    """Async so that concurrent deliveries do not queue: Django runs every sync view of a
    process in one thread, and TradingView gives up after 3 seconds. The recording itself is
    sync code, run in the thread pool (its own database connection per thread)."""
    record = sync_to_async(_receive, thread_sensitive=RECORD_ON_SHARED_THREAD)
    return await record(request, token)


def _receive(request: HttpRequest, token: str) -> JsonResponse:
    if RECORD_ON_SHARED_THREAD:
        return _answer(request, token)
    # Django's request signals manage connections only in its own sync thread; this is
    # another, so it honours CONN_MAX_AGE itself, as a request would.
    close_old_connections()
    try:
        return _answer(request, token)
    finally:
        close_old_connections()


def _answer(request: HttpRequest, token: str) -> JsonResponse:
    answer = receive_signal(
        token=token,
        content_length=_content_length(request.META.get("CONTENT_LENGTH")),
        read_body=request.read,
        content_type=request.META.get("CONTENT_TYPE", ""),
        source_ip=client_ip(request.META),
        now=timezone.now(),
    )
    return JsonResponse(
        answer.payload(), status=answer.http_status, json_dumps_params={"ensure_ascii": False}
    )


def _content_length(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None  # the body's real length is checked as it is read
