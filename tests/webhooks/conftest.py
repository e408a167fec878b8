"""A paper account with a webhook route, and a shorthand for posting to it."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from apps.exchanges.models import ExchangeAccount, PaperSettings
from apps.exchanges.paper.services import open_paper_account, set_price
from apps.exchanges.services import refresh_balances, refresh_markets
from apps.webhooks.models import WebhookRoute
from apps.webhooks.services import create_route
from tests.exchanges.factories import ExchangeAccountFactory
from tests.trades.factories import StrategyFactory

ALERTS = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "tradingview" / "alerts.json"
TV_IP = "52.89.214.238"


@pytest.fixture
def paper(db) -> ExchangeAccount:
    """A paper account with 10000 USDT, fresh markets, no slippage, BTC/USDT at 65000."""
    account = ExchangeAccountFactory(kind="paper", quote_currency="USDT", label="Paper")
    open_paper_account(account=account, initial_balance=Decimal("10000"))
    PaperSettings.objects.filter(account=account).update(slippage_rate=Decimal(0))
    set_price(symbol="BTC/USDT", price=Decimal("65000.00"))
    now = timezone.now()
    refresh_markets(account=account, now=now)
    refresh_balances(account=account, now=now)
    account.refresh_from_db()
    return account


@pytest.fixture
def trader(paper):
    return paper.owner


@pytest.fixture
def route(paper) -> WebhookRoute:
    """An open route (any address, no secret, no rate limit) sizing entries at 500 USDT."""
    return create_route(
        owner=paper.owner,
        label="TV main",
        account=paper,
        strategy=StrategyFactory(owner=paper.owner, name="Breakout"),
        ip_allowlist="",
        max_lag_seconds=300,
        rate_limit_per_minute=0,
    )


def url_of(route: WebhookRoute) -> str:
    return f"/webhooks/tv/{route.token}/"


def post(client, route: WebhookRoute, body, *, content_type: str | None = None, **extra):
    """POST `body` (a dict is sent as JSON, a str as text) as TradingView would."""
    if isinstance(body, dict | list):
        data, kind = json.dumps(body), "application/json"
    else:
        data, kind = body, "text/plain; charset=utf-8"
    extra.setdefault("REMOTE_ADDR", TV_IP)
    return client.post(url_of(route), data=data, content_type=content_type or kind, **extra)


def alerts() -> dict:
    if not ALERTS.exists():
        pytest.skip(f"{ALERTS} is absent (the shared fixtures sit beside the project checkout)")
    return json.loads(ALERTS.read_text())
