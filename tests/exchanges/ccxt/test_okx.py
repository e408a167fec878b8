"""CcxtAdapter on okx spot, against recorded okx traffic replayed through real ccxt."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from apps.exchanges import errors
from apps.exchanges.domain.types import OrderSide, OrderStatus, OrderType
from tests.exchanges.ccxt.replay import (
    API_KEY,
    PASSWORD,
    case_request,
    load_fixture,
    recorded,
    replay,
    request_case,
    without,
)

REQUESTS = load_fixture("okx", "requests")
SKIP = REQUESTS["skipKeys"]

LTC_ORDER_ID = "1339107111507525632"  # the recorded, filled spot market buy of 0.1 LTC
LTC_CLIENT_ID = "e847386590ce4dBC6f7ae74854f6a617"


def _create(r, **overrides):
    order = {
        "symbol": "BTC/USDT",
        "side": OrderSide.BUY,
        "type": OrderType.LIMIT,
        "amount": Decimal("0.0012345"),
        "price": Decimal("64250.1"),
        "client_order_id": "td0001",
    }
    return r.adapter.create_order(**{**order, **overrides})


def _buy_ltc(r):
    return _create(
        r,
        symbol="LTC/USDT",
        type=OrderType.MARKET,
        amount=Decimal("0.1"),
        price=None,
        client_order_id=LTC_CLIENT_ID,
    )


def test_btc_usdt_rules_come_from_the_spot_instruments():
    r = replay("okx")

    markets = {m.symbol: m for m in r.adapter.load_markets()}

    btc = markets["BTC/USDT"]
    assert btc.tick_size == Decimal("0.1")  # tickSz
    assert btc.step_size == Decimal("0.00000001")  # lotSz
    assert btc.min_amount == Decimal("0.00001")  # minSz
    assert btc.min_notional is None  # okx publishes no minimum order value
    assert btc.exchange_symbol == "BTC-USDT"
    # Spot only, and with keys set no private asset/currencies call.
    assert r.transport.paths() == ["GET /api/v5/public/instruments"]
    assert r.transport.calls[0].query == {"instType": "SPOT"}


def test_limit_buy_sends_the_rounded_amount_price_and_cl_ord_id_as_passed():
    r = replay("okx")

    with pytest.raises(errors.NetworkFailure):  # unanswered: the request is only captured
        _create(r)

    sent = r.transport.last("POST", "/api/v5/trade/batch-orders")
    assert sent.body == (
        '[{"instId":"BTC-USDT","side":"buy","ordType":"limit","sz":"0.0012345","tdMode":"cash",'
        '"tgtCcy":"base_ccy","px":"64250.1","clOrdId":"td0001"}]'
    )  # and no broker "tag": it only comes with a ccxt-generated id
    assert sent.headers["OK-ACCESS-KEY"] == API_KEY
    assert sent.headers["OK-ACCESS-PASSPHRASE"] == PASSWORD


def test_recorded_order_with_our_client_id_is_sent_byte_for_byte_alike():
    case = request_case("okx", "spot order with clientOrderid")
    r = replay("okx")

    with pytest.raises(errors.NetworkFailure):
        _create(
            r,
            symbol="LTC/USDT",
            amount=Decimal("0.5"),
            price=Decimal("50"),
            client_order_id="mycustomid",
        )

    assert r.transport.last("POST", "/api/v5/trade/batch-orders").body == case["output"]


@pytest.mark.parametrize(
    ("description", "call"),
    [
        (
            "Spot limit buy order",
            lambda a: a.create_order(
                symbol="LTC/USDT",
                side=OrderSide.BUY,
                type=OrderType.LIMIT,
                amount=Decimal("2"),
                price=Decimal("50"),
                client_order_id="td0002",
            ),
        ),
        (
            "Spot market buy order",
            lambda a: a.create_order(
                symbol="LTC/USDT",
                side=OrderSide.BUY,
                type=OrderType.MARKET,
                amount=Decimal("0.1"),
                price=None,
                client_order_id="td0003",
            ),
        ),
        (
            "Spot cancel order",
            lambda a: a.cancel_order(symbol="LTC/USDT", exchange_order_id="635561007938625536"),
        ),
        (
            "Spot fetch order",
            lambda a: a.fetch_order(symbol="LTC/USDT", exchange_order_id="636708553755021312"),
        ),
        ("Spot fetch open orders", lambda a: a.fetch_open_orders("LTC/USDT")),
        ("spot balance", lambda a: a.fetch_balance()),
    ],
)
def test_adapter_sends_what_ccxt_recorded_for_the_same_operation(description, call):
    case = request_case("okx", description)
    path, query, body = case_request(case, REQUESTS["outputType"])
    r = replay("okx")

    with pytest.raises(errors.NetworkFailure):
        call(r.adapter)

    sent = r.transport.calls[1]  # the first request after the markets
    assert sent.path == path
    assert sent.query == query
    if body is not None:
        assert without(sent.json(), SKIP) == without(body, SKIP)


def test_acknowledged_order_is_fetched_and_parsed_to_exact_decimals():
    r = replay("okx")
    r.transport.add(
        "POST", "/api/v5/trade/batch-orders", recorded("okx", "batch_orders_ack_for_ltc_order")
    )
    r.transport.add(
        "GET",
        "/api/v5/trade/order",
        recorded("okx", "order_ltc_market_buy_filled"),
        query={"ordId": LTC_ORDER_ID},
    )

    order = _buy_ltc(r)

    assert order.exchange_order_id == LTC_ORDER_ID
    assert order.client_order_id == LTC_CLIENT_ID
    assert (order.symbol, order.side, order.type) == ("LTC/USDT", OrderSide.BUY, OrderType.MARKET)
    assert order.status == OrderStatus.CLOSED
    assert (order.amount, order.filled) == (Decimal("0.1"), Decimal("0.1"))
    assert order.average == Decimal("101.58")
    assert order.price is None
    assert (order.fee_cost, order.fee_currency) == (Decimal("0.0001"), "LTC")  # okx says -0.0001
    assert order.created_at == datetime(2024, 4, 6, 13, 41, 41, 848000, tzinfo=UTC)
    assert r.transport.paths()[-2:] == [
        "POST /api/v5/trade/batch-orders",
        "GET /api/v5/trade/order",
    ]


def test_reused_cl_ord_id_resolves_to_the_existing_order():
    r = replay("okx")
    refusal = {
        "code": "1",
        "data": [
            {
                "clOrdId": LTC_CLIENT_ID,
                "ordId": "",
                "sCode": "51016",
                "sMsg": "Duplicated clOrdId",
                "tag": "",
            }
        ],
        "msg": "",
    }
    r.transport.add("POST", "/api/v5/trade/batch-orders", refusal)
    r.transport.add(
        "GET",
        "/api/v5/trade/order",
        recorded("okx", "order_ltc_market_buy_filled"),
        query={"clOrdId": LTC_CLIENT_ID},
    )

    order = _buy_ltc(r)

    assert order.exchange_order_id == LTC_ORDER_ID
    assert r.transport.last("GET", "/api/v5/trade/order").query == {
        "instId": "LTC-USDT",
        "clOrdId": LTC_CLIENT_ID,
    }


def test_cancel_by_client_id_sends_cl_ord_id_and_fetches_the_result():
    r = replay("okx")
    # okx answers a cancel with the same {ordId, clOrdId, sCode} acknowledgement as a create.
    ack = recorded("okx", "batch_orders_ack_for_ltc_order")
    r.transport.add("POST", "/api/v5/trade/cancel-order", ack)
    r.transport.add("GET", "/api/v5/trade/order", recorded("okx", "order_ltc_market_buy_filled"))

    order = r.adapter.cancel_order(symbol="LTC/USDT", client_order_id=LTC_CLIENT_ID)

    sent = r.transport.last("POST", "/api/v5/trade/cancel-order").json()
    assert sent == {"instId": "LTC-USDT", "clOrdId": LTC_CLIENT_ID}
    assert r.transport.last("GET", "/api/v5/trade/order").query["ordId"] == LTC_ORDER_ID
    assert order.exchange_order_id == LTC_ORDER_ID


def test_tickers_parse_last_bid_ask_and_time():
    r = replay("okx")
    r.transport.add("GET", "/api/v5/market/tickers", recorded("okx", "tickers_btc"))

    ticker = r.adapter.fetch_tickers(["BTC/USDT"])["BTC/USDT"]

    assert (ticker.last, ticker.bid, ticker.ask) == (
        Decimal("73384.8"),
        Decimal("73384.7"),
        Decimal("73384.8"),
    )
    assert ticker.timestamp == datetime(2024, 3, 13, 11, 10, 43, 709000, tzinfo=UTC)


def _batch_refusal(code, message):
    return {
        "code": "1",
        "data": [{"clOrdId": "td0001", "ordId": "", "sCode": code, "sMsg": message, "tag": ""}],
        "msg": "",
    }


ORDER_ERRORS = [
    (
        200,
        _batch_refusal("51008", "Order failed. Insufficient USDT balance in account."),
        errors.InsufficientFunds,
    ),
    (
        200,
        _batch_refusal("51020", "Your order should meet or exceed the minimum order amount."),
        errors.InvalidOrder,
    ),
    (429, {"code": "50011", "data": [], "msg": "Too Many Requests"}, errors.RateLimited),
    (401, {"code": "50113", "data": [], "msg": "Invalid Sign"}, errors.AuthenticationFailed),
    (
        503,
        {"code": "50001", "data": [], "msg": "Service temporarily unavailable. Try again later"},
        errors.ExchangeUnavailable,
    ),
    (
        200,
        {"code": "51001", "data": [], "msg": "Instrument ID does not exist"},
        errors.UnknownSymbol,
    ),
]


@pytest.mark.parametrize(("status", "body", "expected"), ORDER_ERRORS)
def test_order_errors_map_to_our_error_classes(status, body, expected):
    r = replay("okx")
    r.transport.add("POST", "/api/v5/trade/batch-orders", body, status=status)

    with pytest.raises(errors.ExchangeError) as raised:
        _create(r)

    assert type(raised.value) is expected
    code = (body["data"] or [{}])[0].get("sCode") or body["code"]
    assert code in str(raised.value)


def test_fetching_an_unknown_order_is_order_not_found():
    r = replay("okx")
    body = {"code": "51603", "data": [], "msg": "Order does not exist"}
    r.transport.add("GET", "/api/v5/trade/order", body)

    with pytest.raises(errors.OrderNotFound, match="51603 Order does not exist"):
        r.adapter.fetch_order(symbol="LTC/USDT", exchange_order_id="42")


def test_sandbox_marks_every_request_as_simulated_trading():
    r = replay("okx", sandbox=True)

    with pytest.raises(errors.NetworkFailure):
        _create(r)

    assert [call.headers.get("x-simulated-trading") for call in r.transport.calls] == ["1", "1"]
