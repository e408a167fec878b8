"""The audit trail: `record_event` is how every feature says what it did and why."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import models

from apps.core.broadcast import broadcast_fragment
from apps.core.models import Event

EVENT_ROW_LIVE = "core/logs.html#event-row-live"

# Features that react to every recorded event (notifications) subscribe here at start-up, so
# core never imports them. A listener runs inside the recording transaction: it may only write
# rows and enqueue work on commit, never do I/O.
_listeners: list[Callable[[Event], None]] = []


def subscribe(listener: Callable[[Event], None]) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


# What the Logs page filters by: the first part of an event's kind, with the words a trader
# uses. These are the prefixes the features record today (grep record_event); a new prefix
# still gets its own category, labelled by its name, until it is added here. The engine's
# `group.*` events are about positions, so they share the `position` category.
CATEGORIES = {
    "trade": "Trades (tickets)",
    "position": "Positions",
    "signal": "Signals",
    "queue": "Queue",
    "pool": "Execution pool",
    "risk": "Risk engine",
    "guard": "Account guards",
    "account": "Accounts and logins",
    "exchange": "Exchange errors",
    "protection": "Resting stops and take profits",
    "reconcile": "Reconciliation",
    "markets": "Markets",
    "webhook": "Webhooks",
    "strategy": "Strategies",
    "notification": "Notifications",
    "loop": "Background loops",
}
CATEGORY_ALIASES = {"group": "position"}


def category_of(kind: str) -> str:
    """`group.opened` -> `position`, `trade.activated` -> `trade`."""
    prefix = kind.split(".", 1)[0]
    return CATEGORY_ALIASES.get(prefix, prefix)[:32]


def category_label(category: str) -> str:
    return CATEGORIES.get(category, category.replace("_", " ").capitalize())


# The keys a trader reads first (the notification's fields, in this order). An event carries
# only those it knows: an empty one is left out, never written as "".
FACT_KEYS = ("account", "symbol", "side", "quantity", "price", "pnl", "reason")


@dataclass(frozen=True)
class Facts:
    """What notifications show about an event, and where its link leads.

    `account` is the account's label; money as Decimal (or the string of one), stored as its
    string; `url` a path on the desk (`/trades/12/`), made absolute from `settings.SITE_URL`
    because it goes into emails and Discord embeds as is.
    """

    account: str = ""
    symbol: str = ""
    side: str = ""
    quantity: Decimal | str | None = None
    price: Decimal | str | None = None
    pnl: Decimal | str | None = None
    reason: str = ""
    url: str = ""

    def as_data(self) -> dict[str, str]:
        values = {name: getattr(self, name) for name in FACT_KEYS} | {"url": self.url}
        return {name: str(value) for name, value in values.items() if value not in (None, "")}


def absolute_url(path: str) -> str:
    """`path` on the desk's public address; an address that already has a scheme is kept."""
    if not path or urlsplit(path).scheme:
        return path
    return settings.SITE_URL.rstrip("/") + "/" + path.lstrip("/")


def _stored(data: dict[str, Any]) -> dict[str, Any]:
    # The same rules for keys a caller put in `data` itself: no fact is written empty, money
    # is its string, and every link leaves absolute.
    shown = {*FACT_KEYS, "url"}
    stored = {
        name: str(value) if name in shown and isinstance(value, Decimal) else value
        for name, value in data.items()
        if name not in shown or value not in (None, "")
    }
    if "url" in stored:
        stored["url"] = absolute_url(str(stored["url"]))
    return stored


def record_event(
    *,
    kind: str,
    message: str,
    user=None,
    account=None,
    subject: models.Model | None = None,
    level: str = Event.Level.INFO,
    facts: Facts | None = None,
    data: Mapping[str, Any] | None = None,
    symbol: str = "",
) -> Event:
    """Append one event, tell the subscribers (notifications), and after commit push it to the
    owner's open Logs page.

    `kind` is a dotted name (`trade.activated`), `message` the sentence a trader reads,
    `facts` what notifications show first (account label, symbol, side, quantity, price, pnl,
    reason) and the link to the thing it is about, and `data` the inputs of the decision
    (Decimals are stored as strings; a key of `data` wins over the same fact). Call it inside
    the service's transaction so the event commits, or rolls back, with what it describes.
    Secrets never go into `message` or `data`. `symbol` (the Logs page's symbol filter) is
    taken from `data["symbol"]` or the facts' symbol when not given.
    """
    stored = _stored((facts.as_data() if facts else {}) | dict(data or {}))
    event = Event.objects.create(
        kind=kind,
        category=category_of(kind),
        symbol=str(symbol or stored.get("symbol") or "")[:64],
        message=message,
        user=user,
        account=account,
        level=level,
        subject_type=subject._meta.label_lower if subject is not None else "",
        subject_id=str(subject.pk) if subject is not None else "",
        data=stored,
    )
    if event.user_id is not None:
        broadcast_fragment(
            user_ids=[event.user_id], template=EVENT_ROW_LIVE, context={"event": event}
        )
    for listener in _listeners:
        listener(event)
    return event
