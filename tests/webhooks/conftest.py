"""A paper account with a webhook route, and a shorthand for posting to it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from django.utils import timezone

from apps.exchanges.models import ExchangeAccount, PaperSettings
from apps.exchanges.paper.services import open_paper_account, set_price
from apps.exchanges.services import refresh_balances, refresh_markets
from apps.webhooks.models import WebhookRoute
from apps.webhooks.services import create_route
from tests.exchanges.factories import ExchangeAccountFactory
from tests.tickets.factories import StrategyFactory

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


@dataclass(frozen=True)
class Reply:
    """What the webhook answered, with the parts of a test client's response the tests read."""

    status_code: int
    content: bytes
    headers: dict[str, str]

    def json(self):
        return json.loads(self.content)


def deliver(path: str, data: bytes | str = b"", **options) -> Reply:
    """`adeliver`, from synchronous code."""
    return async_to_sync(adeliver)(path, data, **options)


async def adeliver(
    path: str,
    data: bytes | str = b"",
    *,
    content_type: str | None = None,
    method: str = "POST",
    REMOTE_ADDR: str = TV_IP,
    **headers: str,
) -> Reply:
    """One HTTP request through the ASGI application daphne serves (`tradedesk.asgi`), which
    routes the webhook ahead of Django. Headers are given as in `request.META`
    (`HTTP_X_FORWARDED_FOR=...`); Content-Length is the body's unless given. Requests awaited
    together on one event loop are served as daphne serves them."""
    from tradedesk.asgi import application

    body = data.encode() if isinstance(data, str) else data
    headers.setdefault("HTTP_CONTENT_LENGTH", str(len(body)))
    headers.setdefault("HTTP_HOST", "testserver")
    raw = []
    if content_type is not None:
        raw.append((b"content-type", content_type.encode()))
    for name, value in headers.items():
        assert name.startswith("HTTP_"), name
        raw.append((name.removeprefix("HTTP_").replace("_", "-").lower().encode(), value.encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": raw,
        "client": (REMOTE_ADDR, 50000),
        "server": ("testserver", 80),
    }
    communicator = ApplicationCommunicator(application, scope)
    # In 4 KB chunks, as a server hands over a larger body.
    chunks = [body[i : i + 4096] for i in range(0, len(body), 4096)] or [b""]
    for n, chunk in enumerate(chunks, 1):
        more = n < len(chunks)
        await communicator.send_input({"type": "http.request", "body": chunk, "more_body": more})
    start = await communicator.receive_output(10)
    content = b""
    while True:
        message = await communicator.receive_output(10)
        content += message.get("body", b"")
        if not message.get("more_body"):
            break
    await communicator.wait()
    names = {k.decode().lower(): v.decode() for k, v in start.get("headers", [])}
    return Reply(start["status"], content, names)


def post(route: WebhookRoute, body, **options) -> Reply:
    """POST `body` (a dict is sent as JSON, a str as text) as TradingView would."""
    return async_to_sync(apost)(route, body, **options)


async def apost(route: WebhookRoute, body, *, content_type: str | None = None, **extra) -> Reply:
    """`post` on the caller's event loop."""
    if isinstance(body, dict | list):
        data, kind = json.dumps(body), "application/json"
    else:
        data, kind = body, "text/plain; charset=utf-8"
    return await adeliver(url_of(route), data, content_type=content_type or kind, **extra)


def alerts() -> dict:
    if not ALERTS.exists():
        pytest.skip(f"{ALERTS} is absent (the shared fixtures sit beside the project checkout)")
    return json.loads(ALERTS.read_text())
