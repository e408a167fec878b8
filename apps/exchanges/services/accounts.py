"""Exchange accounts: add, change, and check the connection (keys never leave these rows)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.core.background import enqueue_on_commit
from apps.core.events import record_event
from apps.core.models import Event
from apps.exchanges.domain.types import Balance
from apps.exchanges.errors import ExchangeError
from apps.exchanges.models import PAPER, ExchangeAccount
from apps.exchanges.services.balances import fetch_balances_of, refresh_balances, store_balances
from apps.exchanges.services.markets import (
    load_markets_of,
    refresh_markets_or_record,
    store_markets,
)

logger = logging.getLogger(__name__)

SECRET_FIELDS = ("api_key", "api_secret", "api_passphrase")


def supported_kinds() -> list[str]:
    return [PAPER, *settings.SUPPORTED_EXCHANGES]


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
    if sandbox and kind != PAPER:
        _require_testnet(kind)
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
    if changes.get("sandbox") and not account.is_paper:
        _require_testnet(account.kind)
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
        markets = load_markets_of(account)
        balances = fetch_balances_of(account)
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
    store_markets(account, markets, now=now)
    store_balances(account, balances, now=now)
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


def refresh_account(*, account_id: int, now: datetime) -> None:
    """Markets, then balances, of one account (after it is added or its keys change)."""
    account = ExchangeAccount.objects.filter(pk=account_id, is_active=True).first()
    if account is None or not refresh_markets_or_record(account, now=now):
        return
    try:
        refresh_balances(account=account, now=now)
    except ExchangeError as exc:
        logger.warning("Balances of account %s not refreshed: %s", account.pk, exc)


def _require_testnet(kind: str) -> None:
    from apps.exchanges.adapters.ccxt import has_testnet  # loads ccxt: real exchanges only

    if not has_testnet(kind):
        raise ValidationError({"sandbox": f"{kind} has no testnet; turn Testnet / demo off."})


def _refresh_in_background(account: ExchangeAccount) -> None:
    enqueue_on_commit("exchanges.refresh_account", account.pk)


def set_pool_size(*, account: ExchangeAccount, max_open_groups: int) -> None:
    """The account's execution pool size (the queue's settings page). The caller holds the
    account's row lock, as every service that counts the pool does."""
    if max_open_groups < 1:
        raise ValidationError({"max_open_groups": "The pool needs at least one slot."})
    ExchangeAccount.objects.filter(pk=account.pk).update(max_open_groups=max_open_groups)
    account.max_open_groups = max_open_groups
