"""What a webhook body is, before what it means: JSON, a form, or plain text. Pure.

TradingView posts `application/json` only when the rendered message is valid JSON and
`text/plain` otherwise (a stray unquoted placeholder is enough), and some relays post forms, so
the body is read by what it contains, never by its Content-Type header.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

MAX_BODY_BYTES = 16 * 1024
# Keys that name the sender's own idempotency key (TradeDesk `id`; a `signal_key` built from
# placeholders such as {{exchange}}:{{ticker}}|{{interval}}|{{strategy.order.id}}|{{time}}).
ID_KEYS = ("id", "signal_key")
MAX_KEY_LENGTH = 128


@dataclass(frozen=True)
class Envelope:
    """The body as text, and as a mapping when it is a JSON object or a form."""

    text: str
    data: dict[str, Any] | None = None
    json_error: str = ""  # why a body that looks like JSON is not
    problem: str = ""  # a body that is not even text
    kind: str = "text"  # "json", "form" or "text"
    lowered: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def get(self, *names: str) -> Any:
        """The first of `names` present in the mapping (case-insensitive), else None."""
        for name in names:
            value = self.lowered.get(name)
            if value is not None and value != "":
                return value
        return None


def open_envelope(body: bytes) -> Envelope:
    """Decode `body` (UTF-8, a BOM tolerated) and parse it as JSON, then as a form."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        return Envelope(text="", problem="The body is not UTF-8 text.")
    stripped = text.strip()
    if stripped[:1] in ("{", "[", '"'):
        try:
            value = json.loads(stripped, parse_float=Decimal)
        except (ValueError, RecursionError) as error:
            return Envelope(text=stripped, json_error=_json_error(error))
        if _holds_a_lone_surrogate(value):
            return Envelope(text=stripped, problem=LONE_SURROGATE)
        if isinstance(value, dict):
            return _mapping(stripped, value, "json")
        if isinstance(value, str):  # a JSON string holding a text command
            return Envelope(text=value.strip())
        if isinstance(value, list):
            return Envelope(
                text=stripped,
                problem="A JSON array (several orders in one alert) is not supported: send one "
                "JSON object per alert.",
            )
        return Envelope(text=stripped)
    if stripped and "=" in stripped and not any(ch.isspace() for ch in stripped):
        pairs = parse_qsl(stripped, keep_blank_values=True)
        if pairs:
            return _mapping(stripped, dict(pairs), "form")
    return Envelope(text=stripped)


LONE_SURROGATE = (
    "The body escapes a lone surrogate (\\ud800 to \\udfff), which is not a character: "
    "send UTF-8 text."
)


def _holds_a_lone_surrogate(value: Any) -> bool:
    """Whether a decoded JSON value holds a string (key or value) with a lone surrogate, which
    JSON's \\u escapes allow and no database text column can store. Iterative: the value
    may nest as deep as the parser allowed."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if any("\ud800" <= ch <= "\udfff" for ch in item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _mapping(text: str, data: dict[str, Any], kind: str) -> Envelope:
    lowered = {str(key).strip().lower(): value for key, value in data.items()}
    return Envelope(text=text, data=data, kind=kind, lowered=lowered)


def _json_error(error: Exception) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"not valid JSON ({error.msg} at line {error.lineno} column {error.colno})"
    return "not valid JSON"


def secret_of(envelope: Envelope) -> str | None:
    """The body's `secret` field; plain text cannot carry one."""
    value = envelope.get("secret")
    return str(value) if value is not None else None


# Redaction works on the raw bytes: a UTF-8 continuation byte is never `"` or `\`, so a JSON
# string is found byte-wise, and every byte outside a secret's value stays as it came.
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_UNTERMINATED = re.compile(rb'"(?:[^"\\]|\\.)*\\?\Z', re.DOTALL)
_COLON = re.compile(rb"\s*:\s*")
_SCALAR = re.compile(rb"[^\s,}\]]+")
# `name=value` in a form (`a=1&secret=x`) or among the words of a text command.
_FORM_FIELD = re.compile(rb"(?:^|(?<=[&;\s|,]))([^=&;\s|,]+)=([^&\s]*)")
REDACTED = b"***"


def redact_secret(body: bytes) -> bytes:
    """`body` with the value of every `secret` field (any case, any depth) replaced by `***`,
    every other byte unchanged: what the desk stores and shows of a request.

    Every `"secret": "…"` member has its string value replaced inside its quotes (a number or
    a bare word becomes `"***"`), in valid JSON or not (a stray placeholder breaks it, and a
    body that is not even UTF-8 may still carry one). A body that does not look like JSON has
    its `secret=…` fields replaced too, as a form or a text command writes them.
    """
    redacted = _redact_json(body)
    if body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"[", b'"'):
        return redacted
    return _redact_fields(redacted)


def _redact_json(body: bytes) -> bytes:
    parts, kept, position = [], 0, 0
    while (name := _JSON_STRING.search(body, position)) is not None:
        position = name.end()
        colon = _COLON.match(body, position)
        if colon is None or not _is_secret_name(name.group()):
            continue
        start = colon.end()
        if body[start : start + 1] == b'"':
            value = _JSON_STRING.match(body, start)
            replacement = b'"' + REDACTED + b'"'
            if value is not None and value.group() == b'""':
                continue  # nothing to hide
            if value is None:  # a string left open runs to the end of the body
                value = _UNTERMINATED.match(body, start)
                replacement = b'"' + REDACTED
        else:
            value = _SCALAR.match(body, start)
            if value is None or body[start : start + 1] in (b"{", b"["):
                continue  # an object or a list: its own secret fields are found in turn
            replacement = b'"' + REDACTED + b'"'
        parts += [body[kept:start], replacement]
        kept = position = value.end()
    return b"".join([*parts, body[kept:]])


def _is_secret_name(quoted: bytes) -> bool:
    try:
        name = json.loads(quoted.decode("utf-8", errors="replace"))
    except ValueError:
        return False
    return name.strip().lower() == "secret"


def _redact_fields(body: bytes) -> bytes:
    def replace(match: re.Match[bytes]) -> bytes:
        name = unquote_plus(match.group(1).decode("utf-8", errors="replace"))
        if name.lstrip("\ufeff").strip().lower() != "secret" or not match.group(2):
            return match.group()
        return match.group(1) + b"=" + REDACTED

    return _FORM_FIELD.sub(replace, body)


def explicit_id(envelope: Envelope) -> str | None:
    value = envelope.get(*ID_KEYS)
    if value is None or isinstance(value, dict | list):
        return None
    return str(value).strip() or None


@dataclass(frozen=True)
class SignalKey:
    """A signal's idempotency key (unique per route among non-duplicates).

    A windowed key ends in the number of its time bucket (the window's length). Two deliveries
    within the window of each other fall in the same bucket or in neighbouring ones: the
    `neighbours` are the keys the same body has in the bucket before and after (a resend across
    a bucket boundary; after, because arrival stamps and commits of racing deliveries may come
    in either order).
    """

    value: str
    neighbours: tuple[str, ...] = ()
    window_seconds: int = 0  # 0: an exact key, a duplicate whenever it comes again
    digest: str = ""

    @property
    def windowed(self) -> bool:
        return self.window_seconds > 0

    @property
    def lock_number(self) -> int:
        """A 60-bit number naming this body on its route, for a lock around the lookup of the
        neighbouring buckets and the insert."""
        return int(self.digest[:15], 16)


def idempotency_key(
    *,
    route_id: int,
    envelope: Envelope,
    has_fire_time: bool,
    now: datetime,
    window_seconds: int,
) -> SignalKey:
    """The signal's key, unique per route.

    1. The sender's explicit id when it gives one: the same id is the same signal, forever.
    2. Else a SHA-256 of the route and the normalised body (JSON by sorted keys, text
       stripped), so a re-delivery is recognised whatever whitespace or key order it has.
       A body with a fire time (`timenow`) is unique by that time, so its hash alone is its key.
    3. A body with neither (plain text, a 3Commas DCA message) repeats whenever the alert fires
       again: its hash is suffixed with a time bucket of `window_seconds`, so it is a duplicate
       only within the window that covers TradingView's resends (3 at most, 5 s apart).
    """
    given = explicit_id(envelope)
    if given is not None:
        key = f"id:{given}"
        # A NUL cannot be stored in a text column: such an id is kept by its hash, like a long one.
        if len(key) <= MAX_KEY_LENGTH and "\x00" not in key:
            return SignalKey(key)
        return SignalKey("id-sha256:" + hashlib.sha256(given.encode()).hexdigest())
    if envelope.data is not None:
        normal = json.dumps(envelope.data, sort_keys=True, separators=(",", ":"), default=str)
    else:
        normal = envelope.text.strip()
    digest = hashlib.sha256(f"{route_id}\n{normal}".encode()).hexdigest()
    if has_fire_time or window_seconds <= 0:
        return SignalKey(f"sha256:{digest}", digest=digest)
    bucket = int(now.timestamp()) // window_seconds
    return SignalKey(
        f"sha256:{digest}:{bucket}",
        neighbours=(f"sha256:{digest}:{bucket - 1}", f"sha256:{digest}:{bucket + 1}"),
        window_seconds=window_seconds,
        digest=digest,
    )
