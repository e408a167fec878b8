"""The circuit breaker: after N consecutive exchange errors on an account within a window, new
entries pause for a cool-down, with the reason shown (and given to every rejected signal).

Only errors that leave an order failed or unknown after the desk's own recovery count: an
error the desk resolves by itself (a timeout whose order a lookup by client order id then
finds, a transient failure that a re-send gets through) says nothing about the exchange being
unusable. They are counted from two places: every `exchange.error` event (a refused order, an
order never found after its re-sends, an entry that ended with nothing filled), through an
event listener, so no order path needs to know about the breaker; and
`record_exchange_error`, which the order-sync loop calls when an order is still unknown after
a minute of lookups (`apps.positions.services.orders.RECOVERY_GRACE`). `record_exchange_success`
(an order placed, or an unknown one found) breaks the streak.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction

from apps.core.models import Event
from apps.exchanges.models import ExchangeAccount
from apps.risk.domain import guards
from apps.risk.models import AccountGuard
from apps.risk.selectors import settings_of
from apps.risk.services import live
from apps.risk.services.events import risk_event


def locked_guard(account_id: int) -> AccountGuard:
    """The account's guard row, locked (created on first use)."""
    guard, _ = AccountGuard.objects.select_for_update().get_or_create(account_id=account_id)
    return guard


def record_exchange_error(*, account_id: int, error: str, now: datetime) -> bool:
    """Count one exchange error; returns True when it trips the breaker."""
    with transaction.atomic():
        account = ExchangeAccount.objects.select_related("owner").get(pk=account_id)
        settings = settings_of(account)
        guard = locked_guard(account_id)
        streak = guards.after_error(
            guards.ErrorStreak(guard.error_count, guard.error_streak_started_at),
            now=now,
            window=timedelta(minutes=settings.breaker_window_minutes),
        )
        guard.error_count, guard.error_streak_started_at = streak.count, streak.started_at
        tripped = guards.breaker_trips(streak, threshold=settings.breaker_errors)
        if tripped:
            until = now + timedelta(minutes=settings.breaker_cooldown_minutes)
            guard.breaker_until = until
            guard.breaker_reason = (
                f"circuit breaker: {streak.count} exchange errors in a row on {account.label} "
                f"since {streak.started_at:%H:%M:%S} UTC (last: {error}); new entries pause "
                f"until {until:%Y-%m-%d %H:%M} UTC"
            )
            guard.error_count, guard.error_streak_started_at = 0, None
            risk_event(
                account,
                "guard.breached",
                f"Guard breached on {account.label}: {guard.breaker_reason}.",
                level=Event.Level.ERROR,
                data={"guard": guards.CIRCUIT_BREAKER, "reason": guard.breaker_reason},
            )
            live.push_banner(account)
        guard.save()
    return tripped


def record_exchange_success(*, account_id: int) -> None:
    """An exchange call went through: the streak of errors is broken."""
    AccountGuard.objects.filter(account_id=account_id, error_count__gt=0).update(
        error_count=0, error_streak_started_at=None
    )


def on_event(event: Event) -> None:
    """Event listener (registered at start-up): an `exchange.error` counts against the
    account's breaker. Runs inside the recording transaction, so it only writes rows."""
    if event.kind != "exchange.error" or event.account_id is None:
        return
    record_exchange_error(
        account_id=event.account_id,
        error=str(event.data.get("reason", event.message))[:200],
        now=event.created_at,
    )


def breaker_block(guard: AccountGuard, *, now: datetime) -> str | None:
    if guard.breaker_until is not None and guard.breaker_until > now:
        return guard.breaker_reason
    return None
