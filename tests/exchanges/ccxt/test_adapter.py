"""CcxtAdapter behaviour common to every exchange: construction, guards and error hygiene."""

from __future__ import annotations

import inspect
from decimal import Decimal

import pytest
import requests

from apps.exchanges import errors
from apps.exchanges.adapters.base import ExchangeAdapter
from apps.exchanges.adapters.ccxt import CcxtAdapter
from apps.exchanges.domain.types import OrderSide, OrderType
from tests.exchanges.ccxt.replay import API_KEY, PASSWORD, SECRET, replay

CREDENTIALS = (API_KEY, SECRET, PASSWORD)

# Where each exchange takes a new order, and a limit buy on its BTC/USDT grid.
ORDER_PATH = {
    "binance": "/api/v3/order",
    "bybit": "/v5/order/create",
    "okx": "/api/v5/trade/batch-orders",
    "kraken": "/0/private/AddOrder",
}
ON_GRID = {
    "binance": (Decimal("0.00123"), Decimal("64250.12")),
    "bybit": (Decimal("0.001234"), Decimal("64250.1")),
    "okx": (Decimal("0.0012345"), Decimal("64250.1")),
    "kraken": (Decimal("0.00123456"), Decimal("64250.1")),
}
# An authentication refusal in each exchange's envelope that echoes the key back.
AUTH_REFUSAL = {
    "binance": (401, {"code": -2015, "msg": f"Invalid API-key {API_KEY}, IP, or permissions."}),
    "bybit": (200, {"retCode": 10003, "retMsg": f"API key {API_KEY} is invalid.", "result": {}}),
    "okx": (401, {"code": "50111", "data": [], "msg": f"Invalid OK-ACCESS-KEY {API_KEY}"}),
    "kraken": (200, {"error": ["EAPI:Invalid key"]}),
}


def _buy(r, exchange_id):
    amount, price = ON_GRID[exchange_id]
    return r.adapter.create_order(
        symbol="BTC/USDT",
        side=OrderSide.BUY,
        type=OrderType.LIMIT,
        amount=amount,
        price=price,
        client_order_id="td0001",
    )


def test_construction_throttles_times_out_and_keeps_the_session():
    session = requests.Session()

    adapter = CcxtAdapter("bybit", timeout_seconds=7, session=session)

    exchange = adapter._exchange
    assert exchange.enableRateLimit is True
    assert exchange.timeout == 7000  # ccxt counts milliseconds
    assert exchange.session is session
    assert exchange.options["enableUnifiedAccount"] is True
    assert exchange.options["enableUnifiedMargin"] is False


@pytest.mark.parametrize(
    "name", [n for n, m in vars(ExchangeAdapter).items() if callable(m) and not n.startswith("_")]
)
def test_every_protocol_method_is_there_with_the_same_parameters(name):
    def shape(function):
        return [
            (p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()
        ]

    assert shape(getattr(CcxtAdapter, name)) == shape(getattr(ExchangeAdapter, name))


def test_an_exchange_ccxt_does_not_know_is_refused():
    with pytest.raises(errors.BadRequest, match="not an exchange"):
        CcxtAdapter("nosuchexchange")


@pytest.mark.parametrize("exchange_id", sorted(ORDER_PATH))
def test_an_unlisted_symbol_is_refused_without_sending_an_order(exchange_id):
    r = replay(exchange_id)

    with pytest.raises(errors.UnknownSymbol, match="SOL/USDT"):
        r.adapter.create_order(
            symbol="SOL/USDT",
            side=OrderSide.BUY,
            type=OrderType.LIMIT,
            amount=Decimal("1"),
            price=Decimal("100"),
            client_order_id="td0001",
        )

    assert ORDER_PATH[exchange_id] not in [call.path for call in r.transport.calls]


@pytest.mark.parametrize("call", ["fetch_order", "cancel_order"])
def test_an_order_lookup_needs_one_of_the_two_ids(call):
    r = replay("binance")

    with pytest.raises(errors.BadRequest, match="order id"):
        getattr(r.adapter, call)(symbol="BTC/USDT")


def _shown_when_logged(exc):
    """The messages a logged traceback of `exc` prints: its own and its shown causes."""
    while exc is not None:
        yield f"{type(exc).__name__}: {exc}"
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)


FAILURES = {
    "refused": lambda exchange_id: {
        "status": AUTH_REFUSAL[exchange_id][0],
        "body": AUTH_REFUSAL[exchange_id][1],
    },
    "unreachable": lambda _: {"exc": requests.exceptions.ConnectionError("refused")},
    "timed out": lambda _: {"exc": requests.exceptions.ReadTimeout("Read timed out.")},
    "down": lambda _: {"status": 503, "body": "<html>Service Unavailable</html>"},
}


@pytest.mark.parametrize("failure", sorted(FAILURES))
@pytest.mark.parametrize("exchange_id", sorted(ORDER_PATH))
def test_no_credential_or_signed_url_reaches_an_error(exchange_id, failure):
    r = replay(exchange_id)
    r.transport.add("POST", ORDER_PATH[exchange_id], **FAILURES[failure](exchange_id))

    with pytest.raises(errors.ExchangeError) as raised:
        _buy(r, exchange_id)

    text = " | ".join(_shown_when_logged(raised.value))
    assert str(raised.value).startswith(f"{exchange_id}: ")
    for secret in CREDENTIALS:
        assert secret not in text
    assert "://" not in text
    assert "signature" not in text.lower()
