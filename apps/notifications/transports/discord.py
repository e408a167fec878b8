"""Discord: one webhook message per batch, one embed per notification.

The webhook URL is a credential (whoever holds it can post to the channel), so no error raised
here ever includes it: httpx puts the request URL into its exception text, which is why every
message below is built from scratch rather than from `str(exc)`.
"""

from __future__ import annotations

import json
import logging
import re
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.core.exceptions import ValidationError

from apps.notifications.catalog import Severity
from apps.notifications.transports.base import (
    Message,
    PermanentDeliveryError,
    RejectedMessageError,
    TransientDeliveryError,
    Transport,
)

DEFAULT_PREFIXES = (
    "https://discord.com/api/webhooks/",
    "https://discordapp.com/api/webhooks/",
    "https://ptb.discord.com/api/webhooks/",
    "https://canary.discord.com/api/webhooks/",
)
WEBHOOK_ID = re.compile(r"[0-9]+")
WEBHOOK_TOKEN = re.compile(r"[A-Za-z0-9_-]+")
WEBHOOK_PATH = re.compile(r"(/webhooks/)[^\s\"'?#]+")  # for log redaction

# Discord's documented embed limits (characters).
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_VALUE_LIMIT = 1024
MESSAGE_TOTAL_LIMIT = 6000  # title + description + field names and values, over all embeds

COLOURS = {
    Severity.INFO: 0x3B82F6,  # blue
    Severity.SUCCESS: 0x22C55E,  # green
    Severity.WARNING: 0xF59E0B,  # amber
    Severity.ERROR: 0xEF4444,  # red
}
FIELD_NAMES = {
    "account": "Account",
    "symbol": "Symbol",
    "side": "Side",
    "quantity": "Quantity",
    "price": "Price",
    "pnl": "PnL",
    "reason": "Reason",
}
# When Discord says a bucket is empty after a success, wait this long at most before returning;
# a longer wait is left to the 429 that would follow (its retry_after is honoured).
MAX_COURTESY_SLEEP_SECONDS = 2.0


class RedactWebhookURLs(logging.Filter):
    """httpx logs each request's full URL at INFO (seen under `celery worker -l info`); for a
    webhook that URL is the secret, so the id and token are cut from any logged webhook path."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/webhooks/" in message:
            record.msg, record.args = WEBHOOK_PATH.sub(r"\1[redacted]", message), ()
        return True


def _redact_httpx_logs() -> None:
    httpx_logger = logging.getLogger("httpx")
    if not any(isinstance(f, RedactWebhookURLs) for f in httpx_logger.filters):
        httpx_logger.addFilter(RedactWebhookURLs())


_redact_httpx_logs()


def webhook_prefixes() -> tuple[str, ...]:
    return tuple(getattr(settings, "DISCORD_WEBHOOK_PREFIXES", DEFAULT_PREFIXES))


def validate_webhook_url(url: str) -> None:
    """Accept only a Discord channel webhook URL: a known prefix, then an id and a token."""
    prefixes = webhook_prefixes()
    url = (url or "").strip()
    prefix = next((p for p in prefixes if url.startswith(p)), None)
    if prefix is None:
        raise ValidationError(
            f"A Discord webhook URL starts with {prefixes[0]} (Server settings → Integrations → "
            "Webhooks → Copy webhook URL).",
            code="discord_prefix",
        )
    parts = urlsplit(url)
    segments = [s for s in parts.path[len(urlsplit(prefix).path) :].split("/") if s]
    if (
        len(segments) != 2
        or not WEBHOOK_ID.fullmatch(segments[0])
        or not WEBHOOK_TOKEN.fullmatch(segments[1])
    ):
        raise ValidationError(
            "This Discord webhook URL is incomplete: after …/api/webhooks/ it needs the webhook's "
            "number and its token (copy the whole URL with Copy webhook URL).",
            code="discord_incomplete",
        )


class DiscordTransport(Transport):
    max_batch = 10  # Discord accepts up to 10 embeds in one webhook message
    # A webhook allows about 5 requests per 2 seconds; two per second stays clear of it.
    min_interval_seconds = 0.5

    def send(self, destination, messages: list[Message]) -> None:
        """POST one webhook message; raise a DeliveryError that says whether to retry.

        No retries here (the sender schedules them), and `from None` on every re-raise: httpx's
        exception text includes the webhook URL, and a chained exception would carry it into
        task tracebacks and logs.
        """
        payload = {"username": "TradeDesk", "embeds": build_embeds(messages)}
        timeout = settings.DISCORD_TIMEOUT_SECONDS
        try:
            response = httpx.post(
                destination.discord_webhook_url,
                json=payload,
                headers={"User-Agent": "TradeDesk"},
                timeout=timeout,
                follow_redirects=False,
            )
        except httpx.TimeoutException as exc:
            raise TransientDeliveryError(
                f"Discord did not answer within {timeout:g} seconds ({type(exc).__name__}); "
                "will retry."
            ) from None
        # A host name IDNA cannot encode (https://xn--/x) raises its UnicodeError unwrapped.
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, UnicodeError):
            raise PermanentDeliveryError(
                "The saved webhook URL is not a valid https URL. Paste it again."
            ) from None
        except httpx.TransportError as exc:
            raise TransientDeliveryError(
                f"Could not reach Discord ({type(exc).__name__}); will retry."
            ) from None
        except httpx.HTTPError as exc:  # e.g. a garbled answer body: still not worth failing
            raise TransientDeliveryError(
                f"Discord's answer could not be read ({type(exc).__name__}); will retry."
            ) from None
        _check(response)
        _respect_empty_bucket(response)


def _check(response: httpx.Response) -> None:
    status = response.status_code
    if status in (200, 204):
        return
    if status == 429:
        retry_after = _retry_after(response)
        wait = f" for {retry_after:g} seconds" if retry_after is not None else ""
        raise TransientDeliveryError(
            f"Discord is rate limiting this webhook (429); waiting{wait} as asked.",
            retry_after=retry_after,
        )
    if status >= 500 or status == 408:
        raise TransientDeliveryError(f"Discord had a temporary error ({status}); will retry.")
    if status == 400:
        raise RejectedMessageError(
            "Discord rejected the message TradeDesk built (400): this is a TradeDesk bug, "
            f"not your webhook. Discord said: {_discord_message(response)}"
        )
    if status == 404:
        raise PermanentDeliveryError(
            "Discord says this webhook does not exist (404): it was deleted or the URL is wrong."
        )
    if status in (401, 403):
        raise PermanentDeliveryError(
            f"Discord refused this webhook ({status}): its token is wrong or was reset. "
            "Paste the webhook URL again."
        )
    if 300 <= status < 400:
        raise PermanentDeliveryError(
            f"The webhook URL redirects elsewhere ({status}) instead of reaching Discord's "
            "webhook API: the URL is wrong."
        )
    raise PermanentDeliveryError(f"Discord refused the message ({status}).")


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait, from the JSON body's `retry_after` (may be a float) or `Retry-After`."""
    candidates = []
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        candidates.append(body.get("retry_after"))
    candidates.append(response.headers.get("Retry-After"))
    for candidate in candidates:
        try:
            seconds = float(candidate)
        except (TypeError, ValueError):
            continue
        if seconds >= 0:
            return seconds
    return None


def _discord_message(response: httpx.Response) -> str:
    # Discord's 400 body names the offending field; it never echoes the URL. Keep it short.
    try:
        body = response.json()
    except ValueError:
        return "(no details)"
    return json.dumps(body)[:300]


def _respect_empty_bucket(response: httpx.Response) -> None:
    """After a success that emptied the webhook's bucket, wait for its reset when that is short.

    The sender paces itself with `min_interval_seconds`; this covers a bucket shared with other
    posters to the same webhook, which our pacing cannot see.
    """
    if response.headers.get("X-RateLimit-Remaining") != "0":
        return
    try:
        reset_after = float(response.headers.get("X-RateLimit-Reset-After", ""))
    except ValueError:
        return
    if 0 < reset_after <= MAX_COURTESY_SLEEP_SECONDS:
        time.sleep(reset_after)


# --- Embeds -------------------------------------------------------------------------------------


def build_embeds(messages: list[Message], *, now: datetime | None = None) -> list[dict]:
    """One embed per message, each within Discord's limits and all within the 6000 total."""
    sent_at = now or datetime.now(UTC)
    embeds = [_embed(message, (message.occurred_at or sent_at).isoformat()) for message in messages]
    _fit_total(embeds)
    _drop_empty_descriptions(embeds)
    return embeds


def _embed(message: Message, timestamp: str) -> dict:
    embed: dict = {
        "title": truncate(message.subject, TITLE_LIMIT),
        "description": truncate(message.body, DESCRIPTION_LIMIT),
        "color": COLOURS.get(message.severity, COLOURS[Severity.INFO]),
        "fields": [
            {
                "name": FIELD_NAMES.get(name, name.replace("_", " ").capitalize()),
                "value": truncate(str(value), FIELD_VALUE_LIMIT),
                "inline": True,
            }
            for name, value in _in_reading_order(message.fields)
            if str(value).strip()  # Discord rejects an empty field value
        ],
        "timestamp": timestamp,
    }
    if message.url:
        embed["url"] = message.url
    return embed


def _in_reading_order(fields: dict[str, str]) -> list[tuple[str, str]]:
    # The known fields first, in FIELD_NAMES order: stored JSON (jsonb) keeps no key order.
    order = list(FIELD_NAMES)
    return sorted(
        fields.items(), key=lambda item: order.index(item[0]) if item[0] in order else len(order)
    )


def _drop_empty_descriptions(embeds: list[dict]) -> None:
    # Discord refuses an empty description; an embed without one is fine.
    for embed in embeds:
        if not embed.get("description"):
            embed.pop("description", None)


def _fit_total(embeds: list[dict]) -> None:
    """Shorten the longest texts (descriptions, long field values) until the message fits.

    Titles and field names are short and stay; short values (symbol, price) stay whole too,
    because the budget is shared by capping only the texts longer than an equal share.
    """
    fixed = sum(len(e["title"]) + sum(len(f["name"]) for f in e["fields"]) for e in embeds)
    slots: list[tuple[dict, str]] = []  # (the dict holding a text, its key)
    for embed in embeds:
        slots.append((embed, "description"))
        slots.extend((field, "value") for field in embed["fields"])
    shared = _share([holder[key] for holder, key in slots], MESSAGE_TOTAL_LIMIT - fixed)
    for (holder, key), text in zip(slots, shared, strict=True):
        holder[key] = text
    for embed in embeds:
        # Discord refuses empty texts: a cut-to-nothing value shows an ellipsis instead.
        embed["fields"] = [{**f, "value": f["value"] or "…"} for f in embed["fields"]]


def _share(texts: list[str], budget: int) -> list[str]:
    """Truncate the longest texts first so that together they fit in `budget` characters."""
    budget = max(budget, 0)
    if sum(len(t) for t in texts) <= budget:
        return texts
    # The largest per-text cap that fits: short texts stay whole, long ones share the rest.
    cap, remaining, pending = 0, budget, sorted(len(t) for t in texts)
    while pending:
        share = remaining // len(pending)
        if pending[0] > share:
            cap = share
            break
        remaining -= pending.pop(0)
    return [truncate(t, cap) for t in texts]


def truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 1] + "…" if limit > 0 else ""
