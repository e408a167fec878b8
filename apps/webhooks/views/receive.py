"""The webhook TradingView posts to: `POST /webhooks/tv/<token>/`, no login, no CSRF (the
token in the URL authenticates).

A bare ASGI application, routed in `tradedesk.asgi` ahead of Django's handler. A webhook is a
machine's call, and TradingView gives up after 3 seconds: it needs none of what the browser
middleware does (sessions, CSRF, login lockout, CSP, static files), and under a burst of
alerts on one bar close that middleware, with its hops between the event loop and threads,
cost more than the recording. So the request goes straight to `receive_signal`, run in a
thread pool (each call borrows a pooled database connection), and its answer goes straight
back.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections
from django.http.request import split_domain_port, validate_host
from django.utils import timezone

from apps.webhooks.domain.envelope import MAX_BODY_BYTES
from apps.webhooks.services import Answer, client_ip, receive_signal

PATH = "webhooks/tv/<str:token>/"  # the trailing slash is optional (tradedesk.asgi)


def path_of(token: str) -> str:
    """A route's webhook path, e.g. to show its URL."""
    return "/" + PATH.replace("<str:token>", token)


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]

# Where the recording runs: False is the thread pool (concurrent deliveries in parallel). The
# test suite sets True, so the recording uses the test's own connection and sees the rows its
# uncommitted test transaction holds; the browser tests and benchmarks cover the pool.
RECORD_ON_SHARED_THREAD = False

JSON = [(b"content-type", b"application/json")]
BAD_HOST = Answer(400, "refused", "This desk does not answer to that host name (ALLOWED_HOSTS).")


async def tradingview_webhook(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["method"] != "POST":
        await _respond(send, 405, b"", [(b"allow", b"POST")])
        return
    headers = _meta(scope)
    body = await _read_body(receive)
    if body is None:
        return  # the caller hung up before sending the whole body: nothing to answer
    if not _host_allowed(headers.get("HTTP_HOST", "")):
        await _respond(send, BAD_HOST.http_status, _json(BAD_HOST), JSON)
        return
    record = sync_to_async(_record, thread_sensitive=RECORD_ON_SHARED_THREAD)
    answer = await record(scope["url_route"]["kwargs"]["token"], headers, body)
    await _respond(send, answer.http_status, _json(answer), JSON)


def _json(answer: Answer) -> bytes:
    return json.dumps(answer.payload(), ensure_ascii=False).encode()


def _host_allowed(host: str) -> bool:
    """Django's ALLOWED_HOSTS check, which its middleware made before this endpoint bypassed
    it: the Host header must name this desk."""
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]  # as Django allows in DEBUG
    domain, _ = split_domain_port(host)
    return bool(domain) and validate_host(domain, allowed)


def _meta(scope: Scope) -> dict[str, str]:
    """The request's headers in the names Django's `request.META` uses, and the peer."""
    meta = {
        "HTTP_" + name.decode("latin-1").upper().replace("-", "_"): value.decode("latin-1")
        for name, value in scope.get("headers", [])
    }
    meta["CONTENT_TYPE"] = meta.pop("HTTP_CONTENT_TYPE", "")
    meta["CONTENT_LENGTH"] = meta.pop("HTTP_CONTENT_LENGTH", "")
    meta["REMOTE_ADDR"] = (scope.get("client") or ("", 0))[0] or ""
    return meta


async def _read_body(receive: Receive) -> bytes | None:
    """The body, cut at one byte past the limit (enough to answer 413); the rest is read and
    dropped. None when the caller disconnects first."""
    kept = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        if len(kept) <= MAX_BODY_BYTES:
            kept += message.get("body", b"")[: MAX_BODY_BYTES + 1 - len(kept)]
        if not message.get("more_body", False):
            return bytes(kept)


def _record(token: str, meta: dict[str, str], body: bytes) -> Answer:
    if RECORD_ON_SHARED_THREAD:
        return _answer(token, meta, body)
    # Not one of Django's request threads: like a request, drop a connection that broke
    # before, and give the connection back to the pool after.
    close_old_connections()
    try:
        return _answer(token, meta, body)
    finally:
        close_old_connections()


def _answer(token: str, meta: dict[str, str], body: bytes) -> Answer:
    return receive_signal(
        token=token,
        content_length=_content_length(meta.get("CONTENT_LENGTH")),
        read_body=lambda limit: body[:limit],
        content_type=meta.get("CONTENT_TYPE", ""),
        source_ip=client_ip(meta),
        now=timezone.now(),
    )


def _content_length(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None  # the body's real length is checked as it is read


async def _respond(send: Send, status: int, body: bytes, headers: list) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
