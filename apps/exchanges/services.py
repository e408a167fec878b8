"""Exchange accounts, their markets and balances, and order previews.

Every exchange call happens outside a transaction; what it returns is written afterwards in a
short one. Errors from the exchange arrive as our own classes (apps.exchanges.errors) and are
recorded as events without credentials.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.core.background import enqueue_on_commit
from apps.core.broadcast import broadcast_fragment
from apps.core.events import record_event
from apps.core.loops import run_loop
from apps.core.models import Event
from apps.exchanges.adapters import get_adapter
from apps.exchanges.domain.preview import OrderPreview, preview_order
from apps.exchanges.domain.types import Balance, MarketRules, OrderSide, OrderType
from apps.exchanges.errors import ExchangeError
from apps.exchanges.models import PAPER, BalanceSnapshot, ExchangeAccount, Market

logger = logging.getLogger(__name__)

SECRET_FIELDS = ("api_key", "api_secret", "api_passphrase")
PORTFOLIO_FRAGMENT = "exchanges/portfolio.html#portfolio"


def supported_kinds() -> list[str]:
    return [PAPER, *settings.SUPPORTED_EXCHANGES]


# --- Accounts ---------------------------------------------------------------------------------


@transaction.atomic
def create_account(
    *,
    owner,
    label: str,
    kind: str,
    sandbox: bool = False,
    quote_currency: str = "USDT",
    api_key: str = "",
    api_secret: str = "",
    api_passphrase: str = "",
) -> ExchangeAccount:
    """Add an exchange account; a paper account is funded and ready at once."""
    if kind not in supported_kinds():
        raise ValidationError({"kind": f"{kind} is not a supported exchange."})
    if kind != PAPER and not (api_key and api_secret):
        raise ValidationError("A real exchange account needs an API key and secret.")
    account = ExchangeAccount.objects.create(
        owner=owner,
        label=label,
        kind=kind,
        sandbox=sandbox and kind != PAPER,
        quote_currency=quote_currency.upper(),
        api_key=api_key,
        api_secret=api_secret,
        api_passphrase=api_passphrase,
    )
    if account.is_paper:
        from apps.exchanges.paper.services import open_paper_account

        open_paper_account(account)
    # Markets and balances load in the background at once, not at the next loop tick.
    _refresh_in_background(account)
    record_event(
        kind="account.created",
        message=f"Exchange account {account.label} ({account.kind_label}) added.",
        user=owner,
        account=account,
        subject=account,
        data={"kind": kind, "sandbox": account.sandbox, "quote_currency": account.quote_currency},
    )
    return account


@transaction.atomic
def update_account(*, account: ExchangeAccount, **changes) -> ExchangeAccount:
    """Change an account's settings. A blank credential keeps the saved one (never shown again)."""
    changed = []
    for name, value in changes.items():
        if name in SECRET_FIELDS and not value:
            continue
        if getattr(account, name) != value:
            setattr(account, name, value)
            changed.append(name)
    if not changed:
        return account
    account.save()
    if set(changed) & {*SECRET_FIELDS, "sandbox"}:
        _refresh_in_background(account)
    # Name what changed, never the values: three of these fields are secrets.
    public = [name for name in changed if name not in SECRET_FIELDS]
    secrets = [name for name in changed if name in SECRET_FIELDS]
    parts = [", ".join(public)] if public else []
    if secrets:
        parts.append("credentials replaced")
    record_event(
        kind="account.updated",
        message=f"Exchange account {account.label} updated: {'; '.join(parts)}.",
        user=account.owner,
        account=account,
        subject=account,
        data={"changed": public, "credentials_replaced": bool(secrets)},
    )
    return account


@dataclass(frozen=True)
class ConnectionResult:
    ok: bool
    markets: int = 0
    balances: list[Balance] = field(default_factory=list)
    error: str = ""


def check_connection(*, account: ExchangeAccount) -> ConnectionResult:
    """Load markets and balance through the account's credentials and keep what came back."""
    try:
        markets = _load_markets(account)
        balances = _fetch_balances(account)
    except ExchangeError as exc:
        record_event(
            kind="account.connection_failed",
            message=f"Connection test of {account.label} failed: {exc}",
            level=Event.Level.ERROR,
            user=account.owner,
            account=account,
            subject=account,
            data={"error": type(exc).__name__},
        )
        return ConnectionResult(ok=False, error=str(exc))
    now = timezone.now()
    _store_markets(account, markets, now=now)
    _store_balances(account, balances, now=now)
    record_event(
        kind="account.connection_tested",
        message=f"Connection test of {account.label} passed: {len(markets)} markets, "
        f"{len(balances)} assets with a balance.",
        level=Event.Level.SUCCESS,
        user=account.owner,
        account=account,
        subject=account,
        data={"markets": len(markets), "assets": [b.asset for b in balances]},
    )
    return ConnectionResult(ok=True, markets=len(markets), balances=balances)


# --- Markets ----------------------------------------------------------------------------------


class MarketsStale(Exception):
    """The account's market rules are too old to trust for a new order."""


def refresh_markets(*, account: ExchangeAccount, now: datetime) -> int:
    """Reload the account's markets from its exchange. Returns how many are stored."""
    markets = _load_markets(account)
    _store_markets(account, markets, now=now)
    return len(markets)


def refresh_due_markets(*, now: datetime, batch: int = 20) -> None:
    """One tick of the market loop: refresh accounts whose markets are older than the interval."""
    due_before = now - timedelta(minutes=settings.MARKETS_REFRESH_MINUTES)
    due = ExchangeAccount.objects.filter(is_active=True).filter(
        _never_or_before("markets_refreshed_at", due_before)
    )
    for account in due.order_by("markets_refreshed_at")[:batch]:
        _refresh_markets_or_record(account, now=now)


def refresh_account(*, account_id: int, now: datetime) -> None:
    """Markets, then balances, of one account (after it is added or its keys change)."""
    account = ExchangeAccount.objects.filter(pk=account_id, is_active=True).first()
    if account is None or not _refresh_markets_or_record(account, now=now):
        return
    try:
        refresh_balances(account=account, now=now)
    except ExchangeError as exc:
        logger.warning("Balances of account %s not refreshed: %s", account.pk, exc)


def _refresh_in_background(account: ExchangeAccount) -> None:
    from apps.exchanges.tasks import refresh_account as task  # tasks import this module

    enqueue_on_commit(task, account.pk)


def _refresh_markets_or_record(account: ExchangeAccount, *, now: datetime) -> bool:
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


def _never_or_before(field_name: str, before: datetime) -> Q:
    return Q(**{f"{field_name}__isnull": True}) | Q(**{f"{field_name}__lt": before})


def _load_markets(account: ExchangeAccount) -> list[MarketRules]:
    adapter = get_adapter(account)
    try:
        return adapter.load_markets()
    finally:
        adapter.close()


@transaction.atomic
def _store_markets(account: ExchangeAccount, markets: list[MarketRules], *, now: datetime) -> None:
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
            "refreshed_at": now,
        }
        current = existing.pop(rules.symbol, None)
        if current is None:
            Market.objects.create(account=account, symbol=rules.symbol, **values)
            continue
        if _rules_of(current) != rules:
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


def _rules_of(market: Market) -> MarketRules:
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
    )


# --- Balances ---------------------------------------------------------------------------------


def refresh_balances(*, account: ExchangeAccount, now: datetime) -> list[Balance]:
    balances = _fetch_balances(account)
    _store_balances(account, balances, now=now)
    return balances


def refresh_due_balances(*, now: datetime, batch: int = 50) -> None:
    """One tick of the balance loop."""
    due_before = now - timedelta(seconds=settings.BALANCES_REFRESH_SECONDS)
    due = ExchangeAccount.objects.filter(is_active=True).filter(
        _never_or_before("balances_refreshed_at", due_before)
    )
    for account in due.order_by("balances_refreshed_at")[:batch]:
        try:
            refresh_balances(account=account, now=now)
        except ExchangeError as exc:
            logger.warning("Balances of account %s not refreshed: %s", account.pk, exc)


def _fetch_balances(account: ExchangeAccount) -> list[Balance]:
    adapter = get_adapter(account)
    try:
        return sorted(adapter.fetch_balance().values(), key=lambda balance: balance.asset)
    finally:
        adapter.close()


@transaction.atomic
def _store_balances(account: ExchangeAccount, balances: list[Balance], *, now: datetime) -> None:
    for balance in balances:
        BalanceSnapshot.objects.update_or_create(
            account=account,
            asset=balance.asset,
            defaults={
                "free": balance.free,
                "used": balance.used,
                "total": balance.total,
                "fetched_at": now,
            },
        )
    BalanceSnapshot.objects.filter(account=account).exclude(
        asset__in=[balance.asset for balance in balances]
    ).delete()
    ExchangeAccount.objects.filter(pk=account.pk).update(balances_refreshed_at=now)
    account.balances_refreshed_at = now
    from apps.exchanges.selectors import portfolio

    broadcast_fragment(
        user_ids=[account.owner_id],
        template=PORTFOLIO_FRAGMENT,
        context={"portfolio": portfolio(account=account)},
    )


# --- Order preview ----------------------------------------------------------------------------


def preview(
    *,
    account: ExchangeAccount,
    symbol: str,
    side: OrderSide,
    type: OrderType,
    amount: Decimal | None = None,
    quote_amount: Decimal | None = None,
    price: Decimal | None = None,
    now: datetime,
) -> OrderPreview:
    """What would be sent for this order on this account right now, or why it would be refused.

    1. The account's markets must be fresh and list the symbol.
    2. A market order is priced at the exchange's last price (fetched now).
    3. The pure preview rounds, checks the minimums and the cached free balances.
    """
    market = Market.objects.filter(account=account, symbol=symbol).first()
    reference = price or Decimal(0)
    try:
        ensure_markets_fresh(account=account, now=now)
    except MarketsStale as stale:
        return OrderPreview(symbol, side, type, None, reference, None, (str(stale),))
    if market is None:
        return OrderPreview(
            symbol, side, type, None, reference, None, (f"{account.label} has no market {symbol}.",)
        )
    if type == OrderType.MARKET or price is None:
        try:
            reference = _last_price(account, symbol)
        except ExchangeError as exc:
            return OrderPreview(
                symbol, side, type, None, reference, None, (f"No price for {symbol}: {exc}",)
            )
    free = {
        snapshot.asset: snapshot.free
        for snapshot in BalanceSnapshot.objects.filter(
            account=account, asset__in=[market.base, market.quote]
        )
    }
    return preview_order(
        _rules_of(market),
        side=side,
        type=type,
        price=reference,
        amount=amount,
        quote_amount=quote_amount,
        free_base=free.get(market.base, Decimal(0)),
        free_quote=free.get(market.quote, Decimal(0)),
    )


def _last_price(account: ExchangeAccount, symbol: str) -> Decimal:
    adapter = get_adapter(account)
    try:
        return adapter.fetch_tickers([symbol])[symbol].last
    finally:
        adapter.close()


# --- Loop ticks -------------------------------------------------------------------------------


def market_loop() -> bool:
    return run_loop("exchanges.refresh_markets", lambda: refresh_due_markets(now=timezone.now()))


def balance_loop() -> bool:
    return run_loop("exchanges.refresh_balances", lambda: refresh_due_balances(now=timezone.now()))


def paper_price_loop() -> bool:
    from apps.exchanges.paper.services import advance_simulated_prices

    return run_loop("exchanges.paper_prices", lambda: advance_simulated_prices(now=timezone.now()))
