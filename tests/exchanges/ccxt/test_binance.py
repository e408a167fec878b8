"""CcxtAdapter on binance spot, against recorded binance traffic replayed through real ccxt."""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import requests

from apps.exchanges import errors
from apps.exchanges.domain.types import OrderSide, OrderStatus, OrderType
from tests.exchanges.ccxt.replay import (
    API_KEY,
    FROZEN_MS,
    SECRET,
    case_request,
    load_fixture,
    recorded,
    replay,
    request_case,
    without,
)

REQUESTS = load_fixture("binance", "requests")
SKIP = REQUESTS["skipKeys"]


def _create(r, **overrides):
    order = {
        "symbol": "BTC/USDT",
        "side": OrderSide.BUY,
        "type": OrderType.LIMIT,
        "amount": Decimal("0.00123"),
        "price": Decimal("64250.12"),
        "client_order_id": "td0001",
    }
    return r.adapter.create_order(**{**order, **overrides})


def test_btc_usdt_rules_come_from_the_exchange_info_filters():
    r = replay("binance")

    markets = {m.symbol: m for m in r.adapter.load_markets()}

    btc = markets["BTC/USDT"]
    assert btc.tick_size == Decimal("0.01")  # PRICE_FILTER tickSize
    assert btc.step_size == Decimal("0.00001")  # LOT_SIZE stepSize
    assert btc.min_amount == Decimal("0.00001")  # LOT_SIZE minQty
    assert btc.max_amount == Decimal("9000")  # LOT_SIZE maxQty
    assert btc.min_notional == Decimal("5")  # NOTIONAL minNotional
    assert (btc.base, btc.quote, btc.exchange_symbol, btc.active) == (
        "BTC",
        "USDT",
        "BTCUSDT",
        True,
    )
    assert set(markets) == {"BTC/USDT", "ETH/USDT", "LTC/USDT", "XRP/USDT", "DOGE/USDT"}
    # With keys set, still only the public market endpoint (no sapi currencies or margin pairs).
    assert r.transport.paths() == ["GET /api/v3/exchangeInfo"]


def test_limit_buy_sends_the_rounded_amount_price_and_client_id_as_passed():
    r = replay("binance")
    r.adapter.load_markets()
    r.freeze_clock()

    with pytest.raises(errors.NetworkFailure):  # unanswered: the request is only captured
        _create(r)

    sent = r.transport.last("POST", "/api/v3/order")
    unsigned = (
        f"timestamp={FROZEN_MS}&symbol=BTCUSDT&side=BUY&newClientOrderId=td0001"
        "&newOrderRespType=FULL&type=LIMIT&quantity=0.00123&price=64250.12&timeInForce=GTC"
        "&recvWindow=10000"
    )
    signature = hmac.new(SECRET.encode(), unsigned.encode(), hashlib.sha256).hexdigest()
    assert sent.body == f"{unsigned}&signature={signature}"
    assert sent.headers["X-MBX-APIKEY"] == API_KEY


def test_market_buy_sends_the_base_quantity_not_a_quote_amount():
    # ccxt's recorded case turns (0.2, price 50) into quoteOrderQty=10; we pass no price.
    case = request_case("binance", "Spot market buy order")
    path, _, expected = case_request(case, "urlencoded")
    r = replay("binance")

    with pytest.raises(errors.NetworkFailure):
        _create(r, symbol="LTC/USDT", type=OrderType.MARKET, amount=Decimal("0.2"), price=None)

    sent = r.transport.last("POST", path).form()
    assert sent["quantity"] == "0.2"
    assert "quoteOrderQty" not in sent
    assert without(sent, [*SKIP, "quantity"]) == without(expected, [*SKIP, "quoteOrderQty"])


@pytest.mark.parametrize(
    ("description", "call"),
    [
        (
            "Spot limit buy order",
            lambda a: a.create_order(
                symbol="LTC/USDT",
                side=OrderSide.BUY,
                type=OrderType.LIMIT,
                amount=Decimal("0.2"),
                price=Decimal("50"),
                client_order_id="td0002",
            ),
        ),
        (
            "Spot cancelOrder",
            lambda a: a.cancel_order(symbol="LTC/USDT", exchange_order_id="464950"),
        ),
        ("Spot fetchOrder", lambda a: a.fetch_order(symbol="LTC/USDT", exchange_order_id="465138")),
        ("Spot one orders", lambda a: a.fetch_open_orders("LTC/USDT")),
        ("Spot fetch balance", lambda a: a.fetch_balance()),
        ("spot tickers", lambda a: a.fetch_tickers(["BTC/USDT", "ETH/USDT"])),
    ],
)
def test_adapter_sends_what_ccxt_recorded_for_the_same_operation(description, call):
    case = request_case("binance", description)
    path, query, body = case_request(case, REQUESTS["outputType"])
    r = replay("binance")

    with pytest.raises(errors.NetworkFailure):
        call(r.adapter)

    sent = r.transport.calls[-1]
    assert sent.path == path
    assert without(sent.query, SKIP) == without(query, SKIP)
    if body is not None:
        assert without(sent.form(), SKIP) == without(body, SKIP)
        assert sent.form()["newClientOrderId"] == "td0002"


def test_an_amount_off_the_step_grid_is_refused_instead_of_silently_truncated():
    # Recorded: ccxt itself turns 0.0007856509959147719 into quantity=0.00078 and sends it.
    case = request_case("binance", "spot order with weird amount")
    assert "quantity=0.00078&" in case["output"]
    r = replay("binance")

    with pytest.raises(errors.InvalidOrder, match=re.escape("0.0007856509959147719")):
        _create(r, amount=Decimal("0.0007856509959147719"), price=Decimal("55000"))
    with pytest.raises(errors.InvalidOrder, match="price"):
        _create(r, symbol="LTC/USDT", amount=Decimal("0.423"), price=Decimal("55.324242343"))

    assert [c for c in r.transport.calls if c.method == "POST"] == []


def test_recorded_order_parses_to_exact_decimals():
    r = replay("binance")
    r.transport.add("GET", "/api/v3/order", recorded("binance", "order_ltc_market_sell_filled"))

    order = r.adapter.fetch_order(symbol="LTC/USDT", exchange_order_id="3397148653")

    assert order.exchange_order_id == "3397148653"
    assert order.client_order_id == "x-R4BD3S825806ed40c861260428a48c"
    assert (order.symbol, order.side, order.type) == ("LTC/USDT", OrderSide.SELL, OrderType.MARKET)
    assert order.status == OrderStatus.CLOSED
    assert order.amount == Decimal("0.1")
    assert order.filled == Decimal("0.1")
    assert order.remaining == Decimal("0")
    assert order.average == Decimal("90.8")  # cummulativeQuoteQty 9.08 / executedQty 0.1
    assert order.price is None  # a market order has no limit price
    assert order.created_at == datetime(2023, 3, 23, 11, 32, 54, 472000, tzinfo=UTC)


def test_open_orders_parse_with_their_limit_price():
    r = replay("binance")
    r.transport.add("GET", "/api/v3/openOrders", recorded("binance", "open_orders_ltc"))

    [order] = r.adapter.fetch_open_orders("LTC/USDT")

    assert order.exchange_order_id == "3811057334"
    assert (order.type, order.status) == (OrderType.LIMIT, OrderStatus.OPEN)  # LIMIT_MAKER
    assert (order.amount, order.filled, order.price) == (Decimal("0.2"), 0, Decimal("50"))


def test_cancel_returns_the_cancelled_order_without_a_second_request():
    r = replay("binance")
    r.transport.add("DELETE", "/api/v3/order", recorded("binance", "order_ltc_limit_buy_canceled"))

    order = r.adapter.cancel_order(symbol="LTC/USDT", exchange_order_id="3854801792")

    assert order.status == OrderStatus.CANCELED
    assert (order.amount, order.filled) == (Decimal("0.1"), Decimal("0"))
    assert r.transport.paths()[-1] == "DELETE /api/v3/order"
    assert r.transport.last("DELETE", "/api/v3/order").query["orderId"] == "3854801792"


def test_cancel_by_client_id_sends_orig_client_order_id():
    client_id = "x-R4BD3S82d1481ae59ba59326d82c8a"  # the recorded cancelled order's
    r = replay("binance")
    r.transport.add("DELETE", "/api/v3/order", recorded("binance", "order_ltc_limit_buy_canceled"))

    order = r.adapter.cancel_order(symbol="LTC/USDT", client_order_id=client_id)

    query = r.transport.last("DELETE", "/api/v3/order").query
    assert query["origClientOrderId"] == client_id
    assert "orderId" not in query
    assert (order.client_order_id, order.status) == (client_id, OrderStatus.CANCELED)


def test_balance_lists_assets_with_a_total_and_skips_empty_ones():
    r = replay("binance")
    r.transport.add("GET", "/api/v3/account", recorded("binance", "account"))

    balances = r.adapter.fetch_balance()

    assert set(balances) == {"LTC", "ETH"}  # BTC is 0 free + 0 locked
    assert balances["LTC"].free == Decimal("0.919741")
    assert balances["ETH"].total == Decimal("0.02229833")
    assert balances["ETH"].used == Decimal("0")


def test_tickers_parse_last_bid_ask_and_time():
    r = replay("binance")
    r.transport.add("GET", "/api/v3/ticker/24hr", recorded("binance", "ticker_btc"))

    ticker = r.adapter.fetch_tickers(["BTC/USDT"])["BTC/USDT"]

    assert (ticker.last, ticker.bid, ticker.ask) == (
        Decimal("73369.84"),
        Decimal("73369.83"),
        Decimal("73369.84"),
    )
    assert ticker.timestamp == datetime(2024, 3, 13, 11, 10, 45, 391000, tzinfo=UTC)


def test_reused_client_id_resolves_to_the_existing_order():
    client_id = "x-R4BD3S825806ed40c861260428a48c"  # the recorded order's client id
    r = replay("binance")
    r.transport.add(
        "POST", "/api/v3/order", {"code": -2010, "msg": "Duplicate order sent."}, status=400
    )
    r.transport.add(
        "GET",
        "/api/v3/order",
        recorded("binance", "order_ltc_market_sell_filled"),
        query={"origClientOrderId": client_id},
    )

    order = _create(
        r,
        symbol="LTC/USDT",
        side=OrderSide.SELL,
        type=OrderType.MARKET,
        amount=Decimal("0.1"),
        price=None,
        client_order_id=client_id,
    )

    assert order.exchange_order_id == "3397148653"
    assert order.client_order_id == client_id
    assert r.transport.paths()[-2:] == ["POST /api/v3/order", "GET /api/v3/order"]


def test_other_order_rejections_are_not_mistaken_for_a_duplicate():
    r = replay("binance")
    body = {"code": -2010, "msg": "Order would immediately match and take."}
    r.transport.add("POST", "/api/v3/order", body, status=400)

    with pytest.raises(errors.InvalidOrder) as raised:
        _create(r)

    assert not isinstance(raised.value, errors.DuplicateClientOrderId)
    assert "GET /api/v3/order" not in r.transport.paths()


def test_an_empty_answer_to_an_order_is_an_unknown_outcome_not_a_success():
    r = replay("binance")
    r.transport.add("POST", "/api/v3/order", "")

    with pytest.raises(errors.OutcomeUnknown, match="client order id") as raised:
        _create(r)

    assert isinstance(raised.value, errors.TransientExchangeError)


ORDER_ERRORS = [
    (
        400,
        {"code": -2010, "msg": "Account has insufficient balance for requested action."},
        errors.InsufficientFunds,
    ),
    (400, {"code": -1013, "msg": "Filter failure: NOTIONAL"}, errors.BelowMinNotional),
    (400, {"code": -1013, "msg": "Filter failure: LOT_SIZE"}, errors.InvalidOrder),
    (400, {"code": -1013, "msg": "Filter failure: PRICE_FILTER"}, errors.InvalidOrder),
    (
        429,
        {"code": -1003, "msg": "Too many requests; current limit is 1200 requests per minute."},
        errors.RateLimited,
    ),
    (
        418,
        {"code": -1003, "msg": "Way too many requests; IP banned until 1700000000000."},
        errors.RateLimited,
    ),
    (
        400,
        {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."},
        errors.NetworkFailure,
    ),
    (
        401,
        {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."},
        errors.AuthenticationFailed,
    ),
    (502, "<html><body><h1>502 Bad Gateway</h1></body></html>", errors.ExchangeUnavailable),
    (503, "", errors.ExchangeUnavailable),
    (504, "", errors.RequestTimedOut),
]


@pytest.mark.parametrize(("status", "body", "expected"), ORDER_ERRORS)
def test_order_errors_map_to_our_error_classes(status, body, expected):
    r = replay("binance")
    r.transport.add("POST", "/api/v3/order", body, status=status)

    with pytest.raises(errors.ExchangeError) as raised:
        _create(r)

    assert type(raised.value) is expected
    if isinstance(body, dict):
        assert body["msg"] in str(raised.value)  # the exchange's own words reach the trader


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (requests.exceptions.ReadTimeout("Read timed out."), errors.RequestTimedOut),
        (requests.exceptions.ConnectionError("Connection refused"), errors.NetworkFailure),
    ],
)
def test_transport_failures_are_transient(failure, expected):
    r = replay("binance")
    r.transport.add("POST", "/api/v3/order", exc=failure)

    with pytest.raises(expected) as raised:
        _create(r)

    assert isinstance(raised.value, errors.TransientExchangeError)


@pytest.mark.parametrize(
    ("method", "body", "call"),
    [
        ("GET", {"code": -2013, "msg": "Order does not exist."}, "fetch_order"),
        ("DELETE", {"code": -2011, "msg": "Unknown order sent."}, "cancel_order"),
    ],
)
def test_an_unknown_order_is_order_not_found(method, body, call):
    r = replay("binance")
    r.transport.add(method, "/api/v3/order", body, status=400)

    with pytest.raises(errors.OrderNotFound):
        getattr(r.adapter, call)(symbol="LTC/USDT", exchange_order_id="42")


def test_sandbox_sends_everything_to_the_spot_testnet():
    r = replay("binance", sandbox=True)

    with pytest.raises(errors.NetworkFailure):
        _create(r)

    assert {call.host for call in r.transport.calls} == {"testnet.binance.vision"}
    assert r.transport.paths() == ["GET /api/v3/exchangeInfo", "POST /api/v3/order"]
