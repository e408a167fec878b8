"""What a signal asks for: entry or exit, which symbol and timeframe, at what price. Pure.

Four formats are read, told apart by their fields:

* **TradeDesk JSON**: `action` (entry / exit), `symbol`, `timeframe`, `price`, `quantity`,
  `timenow`, optional `id` and `secret`.
* **TradingView strategy placeholders**: `market_position`, `prev_market_position` and their
  sizes say whether an order fill opened, added to, reduced or closed the position; the words
  of the alert never decide it. An explicit `intent` (e.g. a Pine `alert_message` built per
  order) wins.
* **3Commas JSON**: the DCA-bot message (`pair` as QUOTE_BASE, `action:
  close_at_market_price` to close) and the Signal Bot message (`tv_instrument`, `action:
  enter_long / exit_long`, `trigger_price`, `timestamp`, `max_lag`).
* **Plain text**: `buy BTCUSDT`, `close BINANCE:BTCUSDT 15`, with optional `| close 64250.5`
  and `| fired 2024-06-12T14:45:00Z` segments; the sizing comes from the route's strategy.

Anything else becomes `Unreadable` with the reason a trader reads; nothing here raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from apps.webhooks.domain.envelope import Envelope
from apps.webhooks.domain.values import (
    BadValue,
    decimal_of,
    is_timeframe,
    seconds_of,
    time_of,
    timeframe_of,
)

ENTRY, EXIT = "entry", "exit"
LONG = "long"

TRADEDESK, TRADINGVIEW, THREE_COMMAS, TEXT = "tradedesk", "tradingview", "3commas", "text"
FORMAT_LABELS = {
    TRADEDESK: "TradeDesk JSON",
    TRADINGVIEW: "TradingView strategy",
    THREE_COMMAS: "3Commas JSON",
    TEXT: "Plain text",
}

ENTRY_WORDS = {"entry", "enter", "buy", "long", "open", "add", "enter_long"}
EXIT_WORDS = {"exit", "sell", "close", "flat", "exit_long", "close_long"}
SHORT_WORDS = {"short", "enter_short", "exit_short", "close_short"}
NO_SHORTS = "short positions are not supported: TradeDesk trades long only"
# The timeframe of a signal that gives none (plain text without one, 3Commas): such signals
# share one position group per symbol, apart from the groups of timeframed signals.
ANY_TIMEFRAME = "any"

# Field names, first match wins (looked up case-insensitively).
SYMBOL_KEYS = ("symbol", "tv_instrument", "pair", "instrument", "market")
TIMEFRAME_KEYS = ("timeframe", "interval", "tf", "tv_timeframe")
PRICE_KEYS = ("price", "order_price", "trigger_price", "close")
QUANTITY_KEYS = ("quantity", "qty", "contracts", "amount")
FIRED_KEYS = ("timenow", "fired_at", "timestamp")
THREE_COMMAS_SIGNAL_ACTIONS = ("enter_long", "exit_long", "enter_short", "exit_short")
STRATEGY_KEYS = (
    "market_position",
    "prev_market_position",
    "market_position_size",
    "prev_market_position_size",
    "position_size",
)


@dataclass(frozen=True)
class Intent:
    """A readable signal: what to do, on which symbol (as the signal writes it)."""

    format: str
    action: str  # ENTRY or EXIT
    symbol: str  # as written, e.g. "BINANCE:BTCUSDT"; mapped to a market by the service
    timeframe: str = ANY_TIMEFRAME
    side: str = LONG
    price: Decimal | None = None
    quantity: Decimal | None = None  # explicit base quantity; None sizes by the strategy
    fired_at: datetime | None = None
    max_lag_seconds: int | None = None  # the signal's own limit (3Commas `max_lag`)
    note: str = ""  # how the action was read, e.g. "pyramid add: long 0.0156 → 0.0328"

    def to_dict(self) -> dict[str, str]:
        """Strings only (Decimals exactly as given), for `Signal.parsed` and events."""
        values = {
            "format": self.format,
            "action": self.action,
            "symbol_given": self.symbol,
            "timeframe": self.timeframe,
            "side": self.side,
            "price": _text(self.price),
            "quantity": _text(self.quantity),
            "fired_at": self.fired_at.isoformat() if self.fired_at else "",
            "max_lag_seconds": "" if self.max_lag_seconds is None else str(self.max_lag_seconds),
            "note": self.note,
        }
        return {name: value for name, value in values.items() if value != ""}


@dataclass(frozen=True)
class Unreadable:
    reason: str
    format: str = ""


def _text(value: Decimal | None) -> str:
    return "" if value is None else str(value)


def parse_intent(envelope: Envelope) -> Intent | Unreadable:
    """Read `envelope` in whichever format it is written."""
    if envelope.problem:
        return Unreadable(envelope.problem)
    if envelope.json_error:
        return Unreadable(
            f"The body starts like JSON but is {envelope.json_error}. TradingView sends a "
            "message as text when a placeholder breaks its JSON: quote every placeholder."
        )
    fmt = _format_of(envelope)
    reader = {
        THREE_COMMAS: _three_commas,
        TRADINGVIEW: _tradingview_strategy,
        TRADEDESK: _tradedesk,
        TEXT: _from_text,
    }[fmt]
    try:
        return reader(envelope)
    except BadValue as problem:
        text = str(problem)
        return Unreadable(f"{text[:1].upper()}{text[1:]}.", fmt)


def _format_of(envelope: Envelope) -> str:
    if envelope.data is None:
        return TEXT
    action = _word(envelope.get("action"))
    if (
        envelope.get("tv_instrument", "bot_id", "email_token", "message_type") is not None
        or action in THREE_COMMAS_SIGNAL_ACTIONS
        or _is_3commas_pair(envelope.get("pair"))
    ):
        return THREE_COMMAS
    if any(envelope.get(key) is not None for key in STRATEGY_KEYS) or (
        _word(envelope.get("kind")) == "strategy"
    ):
        return TRADINGVIEW
    return TRADEDESK


def _word(value: Any) -> str:
    return str(value).strip().lower() if value is not None else ""


def _symbol(envelope: Envelope) -> str:
    symbol = envelope.get(*SYMBOL_KEYS)
    ticker = envelope.get("ticker")
    if symbol is None and ticker is not None:
        exchange = envelope.get("exchange")
        symbol = f"{exchange}:{ticker}" if exchange else ticker
    if symbol is None:
        return ""
    text = str(symbol).strip()
    if "{{" in text:
        raise BadValue(f"symbol is the unfilled placeholder {text}")
    return text


def _common(envelope: Envelope, fmt: str, action: str, **overrides: Any) -> Intent | Unreadable:
    symbol = overrides.pop("symbol", None) or _symbol(envelope)
    if not symbol:
        return Unreadable('No symbol: add e.g. "symbol": "{{exchange}}:{{ticker}}".', fmt)
    values: dict[str, Any] = {
        "timeframe": timeframe_of(envelope.get(*TIMEFRAME_KEYS)) or ANY_TIMEFRAME,
        "price": decimal_of("price", envelope.get(*PRICE_KEYS)),
        "quantity": decimal_of("quantity", envelope.get(*QUANTITY_KEYS)),
        "fired_at": time_of("timenow", envelope.get(*FIRED_KEYS)),
    }
    values |= overrides
    if action == EXIT and values["quantity"] is not None:
        # The position groups close whole positions; selling all of it for "sell 0.01" would
        # be worse than saying so.
        note = values.get("note", "")
        what = note if note.startswith("reduces") else f"quantity {values['quantity']}"
        return Unreadable(
            f"A partial exit ({what}) is not supported yet: an exit closes the whole position. "
            "Leave the quantity out to close it.",
            fmt,
        )
    return Intent(format=fmt, action=action, symbol=symbol, **values)


def _tradedesk(envelope: Envelope) -> Intent | Unreadable:
    action = _word(envelope.get("action"))
    if not action:
        return Unreadable('No action: add "action": "entry" or "action": "exit".', TRADEDESK)
    if action in SHORT_WORDS:
        return Unreadable(f"Action {action}: {NO_SHORTS}.", TRADEDESK)
    if action in ENTRY_WORDS:
        return _common(envelope, TRADEDESK, ENTRY)
    if action in EXIT_WORDS:
        return _common(envelope, TRADEDESK, EXIT)
    return Unreadable(f"Unknown action {action!r}: use entry or exit.", TRADEDESK)


def _tradingview_strategy(envelope: Envelope) -> Intent | Unreadable:
    """Entry, pyramid add, reduction or close, from the position before and after the fill."""
    intent = _word(envelope.get("intent", "command"))
    if intent in SHORT_WORDS:
        return Unreadable(f"Intent {intent}: {NO_SHORTS}.", TRADINGVIEW)
    if intent in EXIT_WORDS:
        close_pct = decimal_of("close_pct", envelope.get("close_pct"))
        if close_pct is not None and close_pct < 100:
            return Unreadable(
                f"close_pct {close_pct} is not supported: close 100 %, or give the quantity "
                "to sell with an exit.",
                TRADINGVIEW,
            )
        return _common(envelope, TRADINGVIEW, EXIT, quantity=None, note=f"intent {intent}")
    if intent in ENTRY_WORDS:
        return _common(envelope, TRADINGVIEW, ENTRY, note=f"intent {intent}")
    if intent:
        return Unreadable(f"Unknown intent {intent!r}: use entry or close.", TRADINGVIEW)

    before = _word(envelope.get("prev_market_position"))
    after = _word(envelope.get("market_position"))
    if not before or not after:
        return _strategy_by_order_action(envelope)
    for name, value in (("prev_market_position", before), ("market_position", after)):
        if value not in ("long", "short", "flat"):
            return Unreadable(f"{name} {value!r} is not long, short or flat.", TRADINGVIEW)
    size_before = decimal_of(
        "prev_market_position_size", envelope.get("prev_market_position_size"), allow_zero=True
    )
    size_after = decimal_of(
        "market_position_size", envelope.get("market_position_size"), allow_zero=True
    )
    move = f"{before} {_text(size_before) or '?'} → {after} {_text(size_after) or '?'}"

    if after == "long" and before != "long":
        return _common(envelope, TRADINGVIEW, ENTRY, note=f"opens a long: {move}")
    if after == "long":  # long → long: the size says add or reduce
        if size_before is None or size_after is None:
            return Unreadable(
                "long → long needs prev_market_position_size and market_position_size to tell "
                "a pyramid add from a reduction.",
                TRADINGVIEW,
            )
        if size_after > size_before:
            return _common(envelope, TRADINGVIEW, ENTRY, note=f"pyramid add: {move}")
        if size_after < size_before:
            return _common(
                envelope,
                TRADINGVIEW,
                EXIT,
                quantity=size_before - size_after,
                note=f"reduces the long: {move}",
            )
        return Unreadable(f"The position did not change ({move}).", TRADINGVIEW)
    if before == "long":  # long → flat, or long → short (whose short half is not traded)
        note = f"closes the long: {move}"
        if after == "short":
            note += " (the short side is not traded)"
        return _common(envelope, TRADINGVIEW, EXIT, quantity=None, note=note)
    if after == "short" or before == "short":
        return Unreadable(f"{move}: {NO_SHORTS}.", TRADINGVIEW)
    return Unreadable(f"The position did not change ({move}).", TRADINGVIEW)


def _strategy_by_order_action(envelope: Envelope) -> Intent | Unreadable:
    # Without both positions, {{strategy.order.action}} of a long-only strategy still says it.
    action = _word(envelope.get("action"))
    if action == "buy":
        return _common(envelope, TRADINGVIEW, ENTRY, note="order action buy")
    if action == "sell":
        return _common(envelope, TRADINGVIEW, EXIT, quantity=None, note="order action sell")
    return Unreadable(
        "A strategy alert needs prev_market_position and market_position "
        "({{strategy.prev_market_position}}, {{strategy.market_position}}) or an intent.",
        TRADINGVIEW,
    )


def _is_3commas_pair(value: Any) -> bool:
    return isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9]+_[A-Za-z0-9]+", value) is not None


def _three_commas(envelope: Envelope) -> Intent | Unreadable:
    action = _word(envelope.get("action"))
    if envelope.get("tv_instrument") is not None or action in THREE_COMMAS_SIGNAL_ACTIONS:
        return _three_commas_signal_bot(envelope, action)
    return _three_commas_bot(envelope, action)


def _three_commas_bot(envelope: Envelope, action: str) -> Intent | Unreadable:
    """The DCA-bot message: starts a deal unless it asks to close one."""
    if action in ("close_at_market_price", "close_at_market_price_all") or action in EXIT_WORDS:
        return _common(envelope, THREE_COMMAS, EXIT, note=f"3Commas {action}")
    if action in ("", "start_deal") or action in ENTRY_WORDS:
        return _common(envelope, THREE_COMMAS, ENTRY, note="3Commas deal start")
    return Unreadable(f"3Commas action {action!r} is not supported.", THREE_COMMAS)


def _three_commas_signal_bot(envelope: Envelope, action: str) -> Intent | Unreadable:
    if action in ("enter_short", "exit_short"):
        return Unreadable(f"3Commas {action}: {NO_SHORTS}.", THREE_COMMAS)
    if action not in ("enter_long", "exit_long"):
        return Unreadable(
            f"3Commas Signal Bot action {action!r}: use enter_long or exit_long.", THREE_COMMAS
        )
    max_lag = seconds_of("max_lag", envelope.get("max_lag"))
    order = envelope.get("order")
    quantity = None
    if isinstance(order, dict) and _word(order.get("currency_type")) == "base":
        quantity = decimal_of("order amount", order.get("amount"))
    return _common(
        envelope,
        THREE_COMMAS,
        ENTRY if action == "enter_long" else EXIT,
        quantity=quantity,
        max_lag_seconds=max_lag,
        note=f"3Commas Signal Bot {action}",
    )


# --- Plain text -------------------------------------------------------------------------------

_SYMBOL_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/-]*")
_SEGMENT_VALUE = re.compile(
    r"^(close|price|qty|quantity|fired|timenow|tf|timeframe|interval)\s*[:=]?\s*(\S+)$",
    re.IGNORECASE,
)
_FIELD_OF = {
    "close": "price",
    "price": "price",
    "qty": "quantity",
    "quantity": "quantity",
    "fired": "fired",
    "timenow": "fired",
    "tf": "timeframe",
    "timeframe": "timeframe",
    "interval": "timeframe",
}
TEXT_HELP = "not JSON nor a known text command (e.g. buy BTCUSDT 15, or close BTCUSDT)"


def _from_text(envelope: Envelope) -> Intent | Unreadable:
    """`<command> [symbol] [timeframe] [key=value…]` in any order, then optional `| …`
    segments of which `close <n>` / `price <n>`, `qty <n>` and `fired <time>` are read."""
    text = envelope.text
    if not text:
        return Unreadable("Empty body: " + TEXT_HELP + ".")
    head, *segments = text.split("|")
    fields: dict[str, str] = {}
    actions: list[str] = []
    symbols: list[str] = []
    for token in re.split(r"[\s,]+", head.strip()):
        if not token:
            continue
        lower = token.lower()
        if "=" in token:
            name, _, value = token.partition("=")
            field = _FIELD_OF.get(name.lower())
            if field:
                fields[field] = value
            continue
        if lower in ENTRY_WORDS or lower in EXIT_WORDS or lower in SHORT_WORDS:
            actions.append(lower)
        elif is_timeframe(token) and "timeframe" not in fields:
            fields["timeframe"] = token
        elif _SYMBOL_TOKEN.fullmatch(token):
            symbols.append(token)
    for segment in segments:
        match = _SEGMENT_VALUE.match(segment.strip())
        if match:
            fields.setdefault(_FIELD_OF[match.group(1).lower()], match.group(2))

    if not actions:
        return Unreadable(f"The text {_quote(head)} is {TEXT_HELP}.")
    if len(set(actions)) > 1:
        return Unreadable(f"The text {_quote(head)} has more than one command.", TEXT)
    action = actions[0]
    if action in SHORT_WORDS:
        return Unreadable(f"Command {action}: {NO_SHORTS}.", TEXT)
    if not symbols:
        return Unreadable(
            f"Command {action} has no symbol: plain text names it, e.g. {action} BTCUSDT.", TEXT
        )
    if len(symbols) > 1:
        return Unreadable(
            f"The text {_quote(head)} names more than one symbol ({', '.join(symbols)}).", TEXT
        )
    quantity = decimal_of("quantity", fields.get("quantity"))
    if action in EXIT_WORDS and quantity is not None:
        return Unreadable(
            f"A partial exit (quantity {quantity}) is not supported yet: an exit closes the "
            "whole position. Leave the quantity out to close it.",
            TEXT,
        )
    return Intent(
        format=TEXT,
        action=ENTRY if action in ENTRY_WORDS else EXIT,
        symbol=symbols[0],
        timeframe=timeframe_of(fields.get("timeframe")) or ANY_TIMEFRAME,
        price=decimal_of("price", fields.get("price")),
        quantity=quantity,
        fired_at=time_of("fired", fields.get("fired")),
        note=f"command {action}",
    )


def _quote(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return f"“{text[:limit]}…”" if len(text) > limit else f"“{text}”"
