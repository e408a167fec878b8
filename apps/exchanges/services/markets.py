"""Market rules per account: load, store, notice changes, and refuse stale ones."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from apps.core.events import record_event
from apps.core.loops import each_isolated
from apps.core.models import Event
from apps.exchanges.adapters import get_adapter
from apps.exchanges.domain.types import MarketRules, OrderType
from apps.exchanges.errors import ExchangeError
from apps.exchanges.models import ExchangeAccount, Market


class MarketsStale(Exception):
    """The account's market rules are too old to trust for a new order."""


def refresh_markets(*, account: ExchangeAccount, now: datetime) -> int:
    """Reload the account's markets from its exchange. Returns how many are stored."""
    markets = load_markets_of(account)
    store_markets(account, markets, now=now)
    return len(markets)


def refresh_due_markets(*, now: datetime, batch: int = 20) -> None:
    """One tick of the market loop: refresh accounts whose markets are older than the interval."""
    due_before = now - timedelta(minutes=settings.MARKETS_REFRESH_MINUTES)
    due = ExchangeAccount.objects.filter(is_active=True).filter(
        due_filter("markets_refreshed_at", due_before)
    )
    each_isolated(
        "exchanges.refresh_markets",
        due.select_related("owner").order_by("markets_refreshed_at")[:batch],
        lambda account: refresh_markets_or_record(account, now=now),
        account_of=lambda account: account,
    )


def refresh_markets_or_record(account: ExchangeAccount, *, now: datetime) -> bool:
    try:
        refresh_markets(account=account, now=now)
    except ExchangeError as exc:
        record_event(
            kind="markets.refresh_failed",
            message=f"Markets of {account.label} could not be refreshed: {exc}",
            level=Event.Level.WARNING,
            user=account.owner,
            account=account,
            subject=account,
            data={"error": type(exc).__name__},
        )
        return False
    return True


def ensure_markets_fresh(*, account: ExchangeAccount, now: datetime) -> None:
    """Refuse new orders on rules that may be out of date (the exchange may have changed them)."""
    limit = timedelta(minutes=settings.MARKETS_MAX_AGE_MINUTES)
    refreshed = account.markets_refreshed_at
    if refreshed is None:
        raise MarketsStale(
            f"The markets of {account.label} have not been loaded yet; new orders are refused "
            "until the market loop loads them (or use Test connection)."
        )
    if now - refreshed > limit:
        age_minutes = int((now - refreshed).total_seconds() // 60)
        raise MarketsStale(
            f"The markets of {account.label} were last refreshed {age_minutes} min ago (the "
            f"limit is {settings.MARKETS_MAX_AGE_MINUTES} min); new orders are refused until "
            "they are refreshed."
        )


def due_filter(field_name: str, before: datetime) -> Q:
    return Q(**{f"{field_name}__isnull": True}) | Q(**{f"{field_name}__lt": before})


def load_markets_of(account: ExchangeAccount) -> list[MarketRules]:
    adapter = get_adapter(account)
    try:
        return adapter.load_markets()
    finally:
        adapter.close()


@transaction.atomic
def store_markets(account: ExchangeAccount, markets: list[MarketRules], *, now: datetime) -> None:
    existing = {market.symbol: market for market in Market.objects.filter(account=account)}
    changed = []
    for rules in markets:
        values = {
            "exchange_symbol": rules.exchange_symbol,
            "base": rules.base,
            "quote": rules.quote,
            "tick_size": rules.tick_size,
            "step_size": rules.step_size,
            "min_amount": rules.min_amount,
            "max_amount": rules.max_amount,
            "min_notional": rules.min_notional,
            "active": rules.active,
            "stop_types": ",".join(rules.stop_types),
            "refreshed_at": now,
        }
        current = existing.pop(rules.symbol, None)
        if current is None:
            Market.objects.create(account=account, symbol=rules.symbol, **values)
            continue
        if rules_of(current) != rules:
            changed.append(rules.symbol)
        Market.objects.filter(pk=current.pk).update(**values)
    # Symbols the exchange no longer lists stop trading here too.
    Market.objects.filter(pk__in=[market.pk for market in existing.values()]).update(
        active=False, refreshed_at=now
    )
    first_load = account.markets_refreshed_at is None
    ExchangeAccount.objects.filter(pk=account.pk).update(markets_refreshed_at=now)
    account.markets_refreshed_at = now
    if changed or first_load:
        record_event(
            kind="markets.loaded" if first_load else "markets.changed",
            message=(
                f"{len(markets)} markets loaded for {account.label}."
                if first_load
                else f"Trading rules changed on {account.label}: {', '.join(sorted(changed))}."
            ),
            user=account.owner,
            account=account,
            subject=account,
            data={"markets": len(markets), "changed": sorted(changed)},
        )


def rules_of(market: Market) -> MarketRules:
    return MarketRules(
        symbol=market.symbol,
        base=market.base,
        quote=market.quote,
        tick_size=market.tick_size,
        step_size=market.step_size,
        min_amount=market.min_amount,
        max_amount=market.max_amount,
        min_notional=market.min_notional,
        active=market.active,
        exchange_symbol=market.exchange_symbol,
        stop_types=tuple(OrderType(kind) for kind in market.stop_types.split(",") if kind),
    )
