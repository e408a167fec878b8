"""Events and live rows of signals: every decision is explained, and pushed to the Signals page."""

from __future__ import annotations

from django.urls import reverse

from apps.core.broadcast import broadcast_fragment
from apps.core.events import Facts, record_event
from apps.core.models import Event
from apps.core.timeframes import timeframe_words
from apps.webhooks.models import Signal

SIGNAL_ROW_LIVE = "webhooks/signals.html#signal-row-live"

_KIND = {
    Signal.Status.EXECUTED: ("signal.executed", Event.Level.SUCCESS),
    Signal.Status.QUEUED: ("signal.queued", Event.Level.INFO),
    Signal.Status.DUPLICATE: ("signal.duplicate", Event.Level.INFO),
    Signal.Status.STALE: ("signal.stale", Event.Level.WARNING),
    Signal.Status.REJECTED: ("signal.rejected", Event.Level.WARNING),
}


def describe(signal: Signal) -> str:
    """`signal 12 (entry BTC/USDT 15m on route TV main)`: what a trader recognises it by (the
    timeframe as traders write it; the event's data keeps TradingView's own)."""
    parts = [signal.action, signal.symbol_shown, timeframe_words(signal.timeframe)]
    what = " ".join(part for part in parts if part)
    return (
        f"Signal {signal.pk}" + (f" ({what})" if what else "") + f" on route {signal.route.label}"
    )


def signal_event(signal: Signal, *, level: str | None = None) -> Event:
    """The event of `signal`'s decision (its status and reason), for its owner's Logs page,
    the signal's timeline and notifications."""
    kind, default_level = _KIND[signal.status]
    verb = {
        Signal.Status.EXECUTED: "executed",
        Signal.Status.QUEUED: "queued",
        Signal.Status.DUPLICATE: "ignored as a duplicate",
        Signal.Status.STALE: "too old to act on",
        Signal.Status.REJECTED: "rejected",
    }[signal.status]
    message = f"{describe(signal)} {verb}"
    message += f": {signal.reason}" if signal.reason else "."
    data = {
        "route": signal.route.label,
        "action": signal.action,
        "timeframe": signal.timeframe,
        "signal": signal.pk,
        "group": signal.group_id,
        "orders": ", ".join(str(pk) for pk in signal.order_ids),
    }
    return record_event(
        kind=kind,
        message=message,
        user=signal.route.owner,
        account=signal.account,
        subject=signal,
        level=level or default_level,
        facts=signal_facts(signal, reason=signal.reason),
        data={name: value for name, value in data.items() if value not in ("", None)},
    )


def signal_facts(signal: Signal, *, reason: str) -> Facts:
    """What notifications show of a signal's decision, and the link to the signal's page."""
    return Facts(
        account=signal.account.label,
        symbol=signal.symbol_shown,
        reason=reason,
        url=reverse("webhooks:signal-detail", args=[signal.pk]),
    )


def push_row(signal: Signal, *, new: bool) -> None:
    """After commit, the signal's row on its owner's open Signals page: a new row at the top,
    or the existing row replaced."""
    broadcast_fragment(
        user_ids=[signal.route.owner_id],
        template=SIGNAL_ROW_LIVE,
        context={"signal": signal, "new": new},
        key=f"signal-{signal.pk}-{new}",
    )
