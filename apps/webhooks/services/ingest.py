"""Receiving a webhook: authenticate, size-limit, record the raw request, answer.

TradingView gives up after 3 seconds and resends only on a 5xx, so the request does the least
it can: one route lookup, one market lookup and one insert. Parsing is pure and takes
microseconds, so a body the desk cannot read is answered "rejected" at once, with its reason.
Everything slow (freshness at processing time, lanes, orders) runs in the processing task,
enqueued on commit. Any answer in 2xx means the request is recorded; a 5xx means it is not,
and TradingView will resend it.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache, partial

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, IntegrityError, connection, transaction

from apps.core.background import enqueue
from apps.core.events import record_event
from apps.core.models import Event
from apps.exchanges.models import Market
from apps.webhooks.domain.access import is_allowed, staleness
from apps.webhooks.domain.envelope import (
    MAX_BODY_BYTES,
    Envelope,
    SignalKey,
    idempotency_key,
    open_envelope,
    redact_secret,
    secret_of,
)
from apps.webhooks.domain.parsing import Intent, Unreadable, parse_intent
from apps.webhooks.domain.symbols import MarketIndex, MarketRef, symbol_query
from apps.webhooks.models import Signal, WebhookRoute
from apps.webhooks.services.events import push_row, signal_event

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answer:
    """What the webhook answers: an HTTP status and a small JSON body."""

    http_status: int
    status: str  # accepted, duplicate, rejected; refused (4xx) or error (5xx)
    reason: str = ""
    signal_id: int | None = None

    def payload(self) -> dict:
        return {"status": self.status, "signal_id": self.signal_id, "reason": self.reason}


NOT_FOUND = Answer(404, "refused", "Unknown webhook.")
TOO_LARGE = Answer(413, "refused", f"The body is larger than {MAX_BODY_BYTES // 1024} KB.")
FORBIDDEN = Answer(403, "refused", "This address may not post to this webhook.")
RATE_LIMITED = Answer(429, "refused", "Too many signals this minute for this webhook.")
BAD_SECRET = Answer(401, "refused", "Wrong or missing secret.")
NOT_RECORDED = Answer(503, "error", "The signal could not be recorded; send it again.")


@dataclass(frozen=True)
class Reading:
    """What the desk made of a body at the door."""

    status: str
    reason: str = ""
    parsed: dict = field(default_factory=dict)
    action: str = ""
    symbol: str = ""


def client_ip(meta: Mapping[str, str]) -> str | None:
    """The caller's address: the socket peer, or behind a proxy (`BEHIND_PROXY`) the address in
    `CLIENT_IP_HEADER` as that proxy set it. Never a header a direct caller could forge."""
    if settings.BEHIND_PROXY and settings.CLIENT_IP_HEADER:
        name = "HTTP_" + settings.CLIENT_IP_HEADER.upper().replace("-", "_")
        # X-Forwarded-For is a list; our proxy appended the peer it saw, last.
        value = _address(meta.get(name, "").split(",")[-1])
        if value:
            return value
    return _address(meta.get("REMOTE_ADDR", ""))


def _address(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:  # empty (a unix socket) or not an address: recorded as unknown
        return None


def receive_signal(
    *,
    token: str,
    content_length: int | None,
    read_body: Callable[[int], bytes],
    content_type: str,
    source_ip: str | None,
    now: datetime,
) -> Answer:
    """Check the request in this order, answering at the first failure: 1. the token names an
    active route (404), 2. the body is at most 16 KB (413), 3. the caller's address is on the
    route's allowlist (403), 4. the route's rate limit (429), 5. the body's secret (401).
    Then 6. read the body (format, symbol, freshness) and 7. record it, its secret redacted:
    new, or a duplicate of a signal already received with the same key. A database failure
    before the signal is recorded answers 503."""
    try:
        route = WebhookRoute.objects.select_related("owner", "account").filter(token=token).first()
        if route is None or not route.is_active:
            _auth_failed(route, source_ip, now, "an unknown or deactivated webhook token")
            return NOT_FOUND
        if content_length is not None and content_length > MAX_BODY_BYTES:
            return TOO_LARGE
        body = read_body(MAX_BODY_BYTES + 1)
        if len(body) > MAX_BODY_BYTES:
            return TOO_LARGE
        if not is_allowed(source_ip, route.ip_allowlist):
            _auth_failed(route, source_ip, now, "an address not on the route's allowlist")
            return FORBIDDEN
        if not _within_rate_limit(route, now):
            return RATE_LIMITED
        envelope = open_envelope(body)
        if route.secret and not hmac.compare_digest(
            (secret_of(envelope) or "").encode(), route.secret.encode()
        ):
            _auth_failed(route, source_ip, now, "a wrong or missing secret")
            return BAD_SECRET
        # What is stored and shown has the body's secret replaced, whether or not the route
        # has one; authentication above and the key below read the body as it came.
        stored = redact_secret(body)
        reading = _read(route, envelope if stored == body else open_envelope(stored), now)
        key = idempotency_key(
            route_id=route.pk,
            envelope=envelope,
            has_fire_time=bool(reading.parsed.get("fired_at")),
            now=now,
            window_seconds=route.duplicate_window_seconds,
        )
        return _record(
            route=route,
            key=key,
            reading=reading,
            body=stored,
            content_type=content_type[:200],
            source_ip=source_ip,
            now=now,
        )
    except DatabaseError:
        logger.exception("A webhook request could not be recorded")
        return NOT_RECORDED


def _read(route: WebhookRoute, envelope: Envelope, now: datetime) -> Reading:
    reading = _read_unsafe(route, envelope, now)
    # PostgreSQL text and jsonb refuse NUL characters, which a body may put into a quoted
    # reason or a parsed value; the raw body keeps them (it is bytes).
    return Reading(
        reading.status,
        _no_nul(reading.reason),
        {name: _no_nul(value) for name, value in reading.parsed.items()},
        reading.action,
        reading.symbol,
    )


def _no_nul(text: str) -> str:
    return text.replace("\x00", "\ufffd")


def _read_unsafe(route: WebhookRoute, envelope: Envelope, now: datetime) -> Reading:
    """Parse, map the symbol to one of the account's markets, and check freshness."""
    try:
        intent = parse_intent(envelope)
    except Exception:  # a parser bug must not lose the signal: it is recorded, with a reason
        logger.exception("Parsing a webhook body failed")
        return Reading(
            Signal.Status.REJECTED, "The desk could not read this body (internal error)."
        )
    if isinstance(intent, Unreadable):
        parsed = {"format": intent.format} if intent.format else {}
        return Reading(Signal.Status.REJECTED, intent.reason, parsed)
    parsed = intent.to_dict()
    market, problem = _market(route, intent)
    if market is None:
        return Reading(Signal.Status.REJECTED, problem, parsed, intent.action)
    parsed["symbol"] = market.symbol
    reading = Reading(Signal.Status.RECEIVED, "", parsed, intent.action, market.symbol)
    stale = staleness(
        fired_at=intent.fired_at,
        received_at=now,
        now=now,
        max_lag_seconds=route.max_lag_seconds,
        signal_max_lag=intent.max_lag_seconds,
    )
    if stale:
        return Reading(Signal.Status.STALE, stale, parsed, intent.action, market.symbol)
    return reading


def _market(route: WebhookRoute, intent: Intent) -> tuple[MarketRef | None, str]:
    account = route.account
    market = _market_index(account.pk, account.markets_refreshed_at).find(
        symbol_query(intent.symbol)
    )
    if market is None:
        reason = f"Unknown symbol {intent.symbol} on {account.label}"
        if account.markets_refreshed_at is None:
            reason += " (its markets are not loaded yet)"
        return None, reason + "."
    if not market.active:
        return None, f"{market.symbol} is not trading on {account.label} (market inactive)."
    return market, ""


@lru_cache(maxsize=64)
def _market_index(account_id: int, refreshed_at: datetime | None) -> MarketIndex:
    """The account's markets as of their last refresh, loaded once per web process: a refresh
    stamps the account, which makes a new key. (Matching in SQL scanned every market.)"""
    rows = Market.objects.filter(account_id=account_id).values_list(
        "symbol", "exchange_symbol", "base", "quote", "active"
    )
    return MarketIndex(MarketRef(*row) for row in rows)


def _record(
    *,
    route: WebhookRoute,
    key: SignalKey,
    reading: Reading,
    body: bytes,
    content_type: str,
    source_ip: str | None,
    now: datetime,
) -> Answer:
    values = {
        "route": route,
        "account_id": route.account_id,
        "received_at": now,
        "body": body,
        "content_type": content_type,
        "source_ip": source_ip,
        "key": key.value,
        "parsed": reading.parsed,
        "action": reading.action,
        "symbol": reading.symbol,
    }
    with transaction.atomic():
        if key.windowed:
            original = _original_in_window(route, key, now)
            if original is not None:
                return _duplicate(values, now, key, original)
        try:
            with transaction.atomic():  # a savepoint: a duplicate key rolls back only this
                signal = Signal.objects.create(
                    **values,
                    status=reading.status,
                    reason=reading.reason,
                    processed_at=None if reading.status == Signal.Status.RECEIVED else now,
                )
        except IntegrityError:
            return _duplicate(values, now, key)
        if signal.status == Signal.Status.RECEIVED:
            transaction.on_commit(partial(_start_processing, signal.pk), robust=True)
        else:
            signal_event(signal)
        push_row(signal, new=True)
    if signal.status == Signal.Status.RECEIVED:
        return Answer(200, "accepted", "", signal.pk)
    return Answer(200, "rejected", signal.reason, signal.pk)


def _original_in_window(route: WebhookRoute, key: SignalKey, now: datetime) -> Signal | None:
    """The signal of the same body in a neighbouring bucket, received within the window.

    Two identical deliveries either side of a bucket boundary insert different keys, so the
    unique constraint cannot tell them apart: a transaction lock per body (route and hash)
    makes the lookup and the insert one step. SQLite needs none: its transactions are
    IMMEDIATE (settings), so writers already go one at a time.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key.lock_number])
    window = timedelta(seconds=key.window_seconds)
    return (
        Signal.objects.filter(
            route=route,
            key__in=key.neighbours,
            received_at__gte=now - window,
            received_at__lte=now + window,
        )
        .exclude(status=Signal.Status.DUPLICATE)
        .order_by("received_at", "pk")
        .first()
    )


def _duplicate(
    values: dict, now: datetime, key: SignalKey, original: Signal | None = None
) -> Answer:
    if original is None:
        original = (
            Signal.objects.filter(route=values["route"], key=values["key"])
            .exclude(status=Signal.Status.DUPLICATE)
            .first()
        )
    reason = f"Already received as signal {original.pk}" if original else "Already received"
    if key.windowed:
        reason += f" within the route's {key.window_seconds} s duplicate window"
    reason += "."
    signal = Signal.objects.create(
        **values,
        status=Signal.Status.DUPLICATE,
        reason=reason,
        duplicate_of=original,
        processed_at=now,
    )
    signal_event(signal)
    push_row(signal, new=True)
    return Answer(200, "duplicate", reason, signal.pk)


def _start_processing(signal_id: int) -> None:
    # After commit, outside the answer's critical path: a broker that cannot take the task now
    # leaves the signal "received", and the sweep loop enqueues it again.
    try:
        enqueue("webhooks.process_signal", signal_id)
    except Exception:
        logger.exception("Signal %s recorded, but its processing could not be enqueued", signal_id)


def _within_rate_limit(route: WebhookRoute, now: datetime) -> bool:
    """At most `rate_limit_per_minute` requests per calendar minute (one atomic counter per
    route and minute, shared by every web process through the cache)."""
    limit = route.rate_limit_per_minute
    if not limit:
        return True
    key = f"webhook-rate:{route.pk}:{int(now.timestamp()) // 60}"
    try:
        cache.add(key, 0, timeout=120)
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=120)
        count = 1
    except Exception:  # the cache is down: do not refuse signals because of it
        logger.exception("Webhook rate limit not checked")
        return True
    if count == limit + 1:
        _security_event(
            route,
            "webhook.rate_limited",
            f"Route {route.label} received more than {limit} signals this minute; the rest of "
            "this minute's signals were refused (429) and not recorded.",
            Event.Level.WARNING,
            {"route": route.label, "limit": f"{limit} per minute"},
        )
    return count <= limit


def _auth_failed(
    route: WebhookRoute | None, source_ip: str | None, now: datetime, what: str
) -> None:
    """A security event, at most one per route (or unknown token) and address per minute, so
    a scanner cannot flood the audit trail. The token and the body are never recorded."""
    throttle = (
        f"webhook-authfail:{route.pk if route else '-'}:{source_ip}:{int(now.timestamp()) // 60}"
    )
    try:
        if not cache.add(throttle, 1, timeout=120):
            return
    except Exception:
        logger.exception("Webhook auth-failure throttle not checked")
    source = source_ip or "an unknown address"
    if route is None:
        message = f"A webhook call from {source} with {what} was refused (404)."
        data = {"source": source}
    else:
        message = f"A webhook call to route {route.label} from {source} with {what} was refused."
        data = {"route": route.label, "source": source}
    _security_event(route, "webhook.auth_failed", message, Event.Level.ERROR, data)


def _security_event(
    route: WebhookRoute | None, kind: str, message: str, level: str, data: dict
) -> None:
    try:
        record_event(
            kind=kind,
            message=message,
            user=route.owner if route else None,
            account=route.account if route else None,
            subject=route,
            level=level,
            data=data,
        )
    except DatabaseError:  # the answer (4xx) stands; only its audit row is missing
        logger.exception("Webhook security event not recorded: %s", message)
