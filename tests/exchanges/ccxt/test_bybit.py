"""CcxtAdapter on bybit spot (unified account), against recorded bybit traffic through real ccxt."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import requests

from apps.exchanges import errors
from apps.exchanges.domain.types import OrderSide, OrderStatus, OrderType
from tests.exchanges.ccxt.replay import (
    API_KEY,
    case_request,
    load_fixture,
    recorded,
    replay,
    request_case,
    without,
)

REQUESTS = load_fixture("bybit", "requests")
SKIP = REQUESTS["skipKeys"]

XRP_ORDER_ID = "1609604284784580096"  # the recorded, filled spot market sell of 123 XRP
XRP_LINK_ID = "1609604284784580097"


def _create(r, **overrides):
    order = {
        "symbol": "BTC/USDT",
        "side": OrderSide.BUY,
        "type": OrderType.LIMIT,
        "amount": Decimal("0.001234"),
        "price": Decimal("64250.1"),
        "client_order_id": "td0001",
    }
    return r.adapter.create_order(**{**order, **overrides})


def _sell_xrp(r):
    return _create(
        r,
        symbol="XRP/USDT",
        side=OrderSide.SELL,
        type=OrderType.MARKET,
        amount=Decimal("123"),
        price=None,
        client_order_id=XRP_LINK_ID,
    )


def _route_xrp_order_as_finished(r):
    r.transport.add("GET", "/v5/order/realtime", recorded("bybit", "order_list_empty"))
    r.transport.add("GET", "/v5/order/history", recorded("bybit", "order_xrp_market_sell_filled"))


def test_btc_usdt_rules_come_from_the_spot_instruments():
    r = replay("bybit")

    markets = {m.symbol: m for m in r.adapter.load_markets()}

    btc = markets["BTC/USDT"]
    assert btc.tick_size == Decimal("0.1")  # priceFilter.tickSize
    assert btc.step_size == Decimal("0.000001")  # lotSizeFilter.basePrecision
    assert btc.min_amount == Decimal("0.000011")  # minOrderQty
    assert btc.max_amount == Decimal("83")  # maxOrderQty
    assert btc.min_notional == Decimal("5")  # minOrderAmt
    assert btc.exchange_symbol == "BTCUSDT"
    # Spot only, and with keys set no private coin/query-info or query-api call.
    assert r.transport.paths() == ["GET /v5/market/instruments-info"]
    assert r.transport.calls[0].query == {"category": "spot"}


def test_limit_buy_sends_the_rounded_amount_price_and_order_link_id_as_passed():
    r = replay("bybit")

    with pytest.raises(errors.NetworkFailure):  # unanswered: the request is only captured
        _create(r)

    sent = r.transport.last("POST", "/v5/order/create")
    assert sent.json() == {
        "symbol": "BTCUSDT",
        "side": "Buy",
        "orderType": "Limit",
        "orderLinkId": "td0001",
        "price": "64250.1",
        "category": "spot",
        "qty": "0.001234",
    }
    assert sent.headers["X-BAPI-API-KEY"] == API_KEY


@pytest.mark.parametrize(
    ("description", "call"),
    [
        (
            "Create market buy with base amount (UTA only)",
            lambda a: a.create_order(
                symbol="LTC/USDT",
                side=OrderSide.BUY,
                type=OrderType.MARKET,
                amount=Decimal("0.2"),
                price=None,
                client_order_id="td0002",
            ),
        ),
        (
            "Spot cancelOrder",
            lambda a: a.cancel_order(symbol="LTC/USDT", exchange_order_id="1513125485218108928"),
        ),
        ("Spot fetchOpenOrders", lambda a: a.fetch_open_orders("LTC/USDT")),
        (
            "spot open order with symbol",
            lambda a: a.fetch_order(symbol="LTC/USDT", exchange_order_id="1620421817225451008"),
        ),
        ("fetch default balance", lambda a: a.fetch_balance()),
    ],
)
def test_adapter_sends_what_ccxt_recorded_for_the_same_operation(description, call):
    case = request_case("bybit", description)
    path, query, body = case_request(case, REQUESTS["outputType"])
    r = replay("bybit")

    with pytest.raises(errors.NetworkFailure):
        call(r.adapter)

    sent = r.transport.calls[1]  # the first request after the markets
    assert sent.path == path
    assert sent.query == query
    if body is not None:
        sent_body = sent.json()
        if "orderLinkId" in sent_body:  # ours; the recorded case let bybit assign one
            assert sent_body.pop("orderLinkId") == "td0002"
        assert without(sent_body, SKIP) == without(body, SKIP)


def test_acknowledged_order_is_fetched_from_history_once_it_is_no_longer_open():
    r = replay("bybit")
    r.transport.add("POST", "/v5/order/create", recorded("bybit", "ack_for_xrp_order"))
    _route_xrp_order_as_finished(r)

    order = _sell_xrp(r)

    assert order.exchange_order_id == XRP_ORDER_ID
    assert order.client_order_id == XRP_LINK_ID
    assert (order.symbol, order.side, order.type) == ("XRP/USDT", OrderSide.SELL, OrderType.MARKET)
    assert order.status == OrderStatus.CLOSED
    assert (order.amount, order.filled) == (Decimal("123"), Decimal("123"))
    assert order.average == Decimal("0.5351")
    assert order.created_at == datetime(2024, 1, 30, 11, 56, 23, 247000, tzinfo=UTC)
    realtime = r.transport.last("GET", "/v5/order/realtime")
    history = r.transport.last("GET", "/v5/order/history")
    assert realtime.query["orderId"] == history.query["orderId"] == XRP_ORDER_ID
    assert "orderStatus" not in history.query  # cancelled orders must be found as well


def test_acknowledged_order_survives_a_failed_follow_up_fetch():
    ack = recorded("bybit", "create_ack_ltc")
    r = replay("bybit")
    r.transport.add("POST", "/v5/order/create", ack)
    r.transport.add("GET", "/v5/order/realtime", status=503, body="")

    order = _create(
        r,
        symbol="LTC/USDT",
        amount=Decimal("0.1"),
        price=Decimal("60"),
        client_order_id=ack["result"]["orderLinkId"],
    )

    assert order.exchange_order_id == ack["result"]["orderId"]
    assert order.client_order_id == ack["result"]["orderLinkId"]
    assert order.status == OrderStatus.OPEN
    assert (order.amount, order.filled, order.price) == (Decimal("0.1"), 0, Decimal("60"))
    assert r.transport.paths()[-1] == "GET /v5/order/realtime"


@pytest.mark.parametrize("code", [170141, 110072])
def test_reused_order_link_id_resolves_to_the_existing_order(code):
    r = replay("bybit")
    refusal = {"retCode": code, "retMsg": "Duplicate clientOrderId.", "result": {}, "time": 1}
    r.transport.add("POST", "/v5/order/create", refusal)
    r.transport.add(
        "GET",
        "/v5/order/realtime",
        recorded("bybit", "order_xrp_market_sell_filled"),
        query={"orderLinkId": XRP_LINK_ID},
    )

    order = _sell_xrp(r)

    assert order.exchange_order_id == XRP_ORDER_ID
    assert r.transport.last("GET", "/v5/order/realtime").query["orderLinkId"] == XRP_LINK_ID


def test_fetch_by_client_id_uses_order_link_id_on_the_wire():
    r = replay("bybit")
    _route_xrp_order_as_finished(r)

    order = r.adapter.fetch_order(symbol="XRP/USDT", client_order_id=XRP_LINK_ID)

    assert order.exchange_order_id == XRP_ORDER_ID
    for path in ("/v5/order/realtime", "/v5/order/history"):
        query = r.transport.last("GET", path).query
        assert query["orderLinkId"] == XRP_LINK_ID
        assert "clientOrderId" not in query and "orderId" not in query


def test_an_order_the_exchange_did_not_filter_for_is_not_returned():
    r = replay("bybit")
    r.transport.add("GET", "/v5/order/realtime", recorded("bybit", "order_xrp_market_sell_filled"))
    r.transport.add("GET", "/v5/order/history", recorded("bybit", "order_xrp_market_sell_filled"))

    with pytest.raises(errors.OrderNotFound):
        r.adapter.fetch_order(symbol="XRP/USDT", client_order_id="td-somebody-else")


def test_cancel_by_client_id_sends_order_link_id_and_fetches_the_result():
    r = replay("bybit")
    r.transport.add("POST", "/v5/order/cancel", recorded("bybit", "ack_for_xrp_order"))
    _route_xrp_order_as_finished(r)

    order = r.adapter.cancel_order(symbol="XRP/USDT", client_order_id=XRP_LINK_ID)

    sent = r.transport.last("POST", "/v5/order/cancel").json()
    assert sent["orderLinkId"] == XRP_LINK_ID
    assert "clientOrderId" not in sent and "orderId" not in sent
    assert order.exchange_order_id == XRP_ORDER_ID
    assert r.transport.last("GET", "/v5/order/history").query["orderId"] == XRP_ORDER_ID


def test_unified_balance_lists_wallet_balances():
    r = replay("bybit")
    body = recorded("bybit", "wallet_balance_unified")
    r.transport.add("GET", "/v5/account/wallet-balance", body)

    balances = r.adapter.fetch_balance()

    coins = body["result"]["list"][0]["coin"]
    assert set(balances) == {coin["coin"] for coin in coins}
    assert balances["USDT"].total == Decimal("3322.25896609")  # walletBalance
    assert balances["BTC"].total == Decimal("0.85581394")
    for balance in balances.values():
        assert balance.free + balance.used == balance.total


ORDER_ERRORS = [
    (170131, "Balance insufficient", errors.InsufficientFunds),
    (170136, "Order quantity lower than the minimum.", errors.InvalidOrder),
    (170140, "Transaction amount lower than the minimum.", errors.BelowMinNotional),
    (10006, "Too many visits!", errors.RateLimited),
    (10003, "API key is invalid.", errors.AuthenticationFailed),
    (10005, "Permission denied, please check your API key permissions.", errors.PermissionDenied),
]


@pytest.mark.parametrize(("code", "message", "expected"), ORDER_ERRORS)
def test_order_errors_map_to_our_error_classes(code, message, expected):
    r = replay("bybit")
    body = {"retCode": code, "retMsg": message, "result": {}, "retExtInfo": {}, "time": 1}
    r.transport.add("POST", "/v5/order/create", body)

    with pytest.raises(errors.ExchangeError) as raised:
        _create(r)

    assert type(raised.value) is expected
    assert f"{code} {message}" in str(raised.value)


def test_cancelling_an_unknown_order_is_order_not_found():
    r = replay("bybit")
    body = {"retCode": 110001, "retMsg": "Order does not exist", "result": {}, "time": 1}
    r.transport.add("POST", "/v5/order/cancel", body)

    with pytest.raises(errors.OrderNotFound):
        r.adapter.cancel_order(symbol="LTC/USDT", exchange_order_id="42")


def test_a_timeout_while_placing_is_an_unknown_outcome():
    r = replay("bybit")
    r.transport.add("POST", "/v5/order/create", exc=requests.exceptions.ReadTimeout("timed out"))

    with pytest.raises(errors.RequestTimedOut):
        _create(r)


def test_sandbox_sends_everything_to_the_testnet():
    r = replay("bybit", sandbox=True)

    with pytest.raises(errors.NetworkFailure):
        _create(r)

    assert {call.host for call in r.transport.calls} == {"api-testnet.bybit.com"}
    assert json.loads(r.transport.last("POST", "/v5/order/create").body)["qty"] == "0.001234"
