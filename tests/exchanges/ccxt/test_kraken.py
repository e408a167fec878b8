"""CcxtAdapter on kraken spot, against recorded kraken traffic replayed through real ccxt."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from apps.exchanges import errors
from apps.exchanges.adapters.ccxt import CcxtAdapter
from apps.exchanges.domain.types import Candle, OrderSide, OrderStatus, OrderType
from tests.exchanges.ccxt.replay import recorded, replay


def _create(r, **overrides):
    order = {
        "symbol": "BTC/USDT",
        "side": OrderSide.BUY,
        "type": OrderType.LIMIT,
        "amount": Decimal("0.00123456"),
        "price": Decimal("64250.1"),
        "client_order_id": "td0001",
    }
    return r.adapter.create_order(**{**order, **overrides})


def test_btc_usdt_rules_come_from_the_asset_pairs():
    r = replay("kraken")

    markets = {m.symbol: m for m in r.adapter.load_markets()}

    btc = markets["BTC/USDT"]
    assert btc.tick_size == Decimal("0.1")  # pair_decimals 1
    assert btc.step_size == Decimal("0.00000001")  # lot_decimals 8
    assert btc.min_amount == Decimal("0.0001")  # ordermin
    assert btc.min_notional == Decimal("0.5")  # costmin
    assert btc.exchange_symbol == "XBTUSDT"
    assert markets["BTC/USD"].exchange_symbol == "XXBTZUSD"  # XBT/ZUSD become BTC/USD
    assert markets["LTC/USDT"].tick_size == Decimal("0.00001")
    # Assets (public) feeds kraken's precision; nothing private is called.
    assert sorted(r.transport.paths()) == ["GET /0/public/AssetPairs", "GET /0/public/Assets"]


def test_candles_are_utc_decimal_and_respect_since_and_limit():
    r = replay("kraken")
    r.transport.add("GET", "/0/public/OHLC", recorded("kraken", "ohlc_btc_1h"))

    candles = r.adapter.fetch_candles("BTC/USDT", "1h", since_ms=1706628191000, limit=3)

    assert candles == [
        Candle(
            opened_at=datetime(2024, 1, 30, 16, 0, tzinfo=UTC),
            open=Decimal("43366.3"),
            high=Decimal("43529.2"),
            low=Decimal("43234.2"),
            close=Decimal("43485.0"),
            volume=Decimal("12.51327406"),
        ),
        Candle(
            opened_at=datetime(2024, 1, 30, 17, 0, tzinfo=UTC),
            open=Decimal("43497.5"),
            high=Decimal("43594.6"),
            low=Decimal("43316.4"),
            close=Decimal("43409.5"),
            volume=Decimal("5.03074129"),
        ),
        Candle(
            opened_at=datetime(2024, 1, 30, 18, 0, tzinfo=UTC),
            open=Decimal("43398.3"),
            high=Decimal("43500.5"),
            low=Decimal("42983.1"),
            close=Decimal("43386.6"),
            volume=Decimal("81.88339686"),
        ),
    ]
    assert r.transport.last("GET", "/0/public/OHLC").query == {
        "pair": "XBTUSDT",
        "interval": "60",
        "since": "1706624591",
    }


def test_ticker_without_a_timestamp_is_stamped_when_received():
    r = replay("kraken")
    r.transport.add("GET", "/0/public/Ticker", recorded("kraken", "ticker_btc"))
    before = datetime.now(UTC)

    ticker = r.adapter.fetch_tickers(["BTC/USDT"])["BTC/USDT"]

    assert (ticker.last, ticker.bid, ticker.ask) == (
        Decimal("73380.6"),
        Decimal("73380.6"),
        Decimal("73380.7"),
    )
    assert before <= ticker.timestamp <= datetime.now(UTC)


def test_recorded_orders_parse_to_exact_decimals_without_inventing_a_client_id():
    r = replay("kraken")
    r.transport.add(
        "POST", "/0/private/QueryOrders", recorded("kraken", "query_orders_ltc_market_closed")
    )

    order = r.adapter.fetch_order(symbol="LTC/USDT", exchange_order_id="OGMZCL-KC6MC-ZRBGM6")

    assert (order.type, order.side, order.status) == (
        OrderType.MARKET,
        OrderSide.BUY,
        OrderStatus.CLOSED,
    )
    assert (order.amount, order.filled) == (Decimal("0.1"), Decimal("0.1"))
    assert order.average == Decimal("71.05741")
    assert (order.fee_cost, order.fee_currency) == (Decimal("0.018475"), "USDT")
    assert order.client_order_id == ""  # ccxt would report userref "0"
    assert order.created_at == datetime(2024, 1, 14, 19, 29, 7, 472000, tzinfo=UTC)


def test_open_limit_order_keeps_its_limit_price():
    r = replay("kraken")
    r.transport.add(
        "POST", "/0/private/QueryOrders", recorded("kraken", "query_orders_ltc_limit_open")
    )

    order = r.adapter.fetch_order(symbol="LTC/USDT", exchange_order_id="OR6EGN-KQSEG-AMI6CL")

    assert (order.type, order.status) == (OrderType.LIMIT, OrderStatus.OPEN)
    assert (order.price, order.amount, order.filled) == (Decimal("50"), Decimal("0.1"), 0)
    assert order.average is None
    assert r.transport.last("POST", "/0/private/QueryOrders").form()["txid"] == (
        "OR6EGN-KQSEG-AMI6CL"
    )


def test_limit_order_carries_cl_ord_id_and_survives_a_failed_follow_up():
    r = replay("kraken")
    ack = recorded("kraken", "add_order_ack")
    r.transport.add("POST", "/0/private/AddOrder", ack)
    r.transport.add("POST", "/0/private/QueryOrders", {"error": ["EService:Unavailable"]})

    order = _create(r)

    sent = r.transport.last("POST", "/0/private/AddOrder").form()
    assert (sent["volume"], sent["price"], sent["cl_ord_id"]) == ("0.00123456", "64250.1", "td0001")
    assert order.exchange_order_id == ack["result"]["txid"][0]
    assert (order.status, order.filled, order.client_order_id) == (OrderStatus.OPEN, 0, "td0001")


def test_lookup_by_client_id_finds_the_open_order_carrying_cl_ord_id():
    # Kraken has no lookup by cl_ord_id: the adapter searches the open orders. The recorded
    # order gets the cl_ord_id field kraken adds to orders placed with one.
    body = copy.deepcopy(recorded("kraken", "open_orders_ltc_stop_loss_limit"))
    body["result"]["open"]["OIIQBL-6PV3A-7M2AJJ"]["cl_ord_id"] = "td0009"
    r = replay("kraken")
    r.transport.add("POST", "/0/private/OpenOrders", body)

    order = r.adapter.fetch_order(symbol="LTC/USDT", client_order_id="td0009")

    assert order.exchange_order_id == "OIIQBL-6PV3A-7M2AJJ"
    assert order.client_order_id == "td0009"
    assert (order.type, order.price) == (OrderType.LIMIT, Decimal("54"))  # stop-loss-limit
    assert "POST /0/private/ClosedOrders" not in r.transport.paths()


def test_lookup_by_client_id_does_not_mistake_userref_for_it():
    closed = recorded("kraken", "query_orders_ltc_market_closed")["result"]
    r = replay("kraken")
    r.transport.add(
        "POST", "/0/private/OpenOrders", recorded("kraken", "open_orders_ltc_stop_loss_limit")
    )
    # ClosedOrders wraps the same order objects as QueryOrders: {"closed": {...}, "count": n}.
    r.transport.add(
        "POST", "/0/private/ClosedOrders", {"error": [], "result": {"closed": closed, "count": 1}}
    )

    with pytest.raises(errors.OrderNotFound):
        r.adapter.fetch_order(symbol="LTC/USDT", client_order_id="0")  # both have userref "0"

    assert r.transport.paths()[-2:] == [
        "POST /0/private/OpenOrders",
        "POST /0/private/ClosedOrders",
    ]


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ("EOrder:Insufficient funds", errors.InsufficientFunds),
        ("EOrder:Cost minimum not met", errors.BelowMinNotional),
        ("EOrder:Order minimum not met", errors.InvalidOrder),
        ("EAPI:Invalid key", errors.AuthenticationFailed),
        ("EAPI:Rate limit exceeded", errors.RateLimited),
        ("EService:Unavailable", errors.ExchangeUnavailable),
    ],
)
def test_order_errors_map_to_our_error_classes(error, expected):
    r = replay("kraken")
    r.transport.add("POST", "/0/private/AddOrder", {"error": [error]})

    with pytest.raises(errors.ExchangeError) as raised:
        _create(r)

    assert type(raised.value) is expected
    assert error in str(raised.value)


def test_cancelling_an_unknown_order_is_order_not_found():
    r = replay("kraken")
    r.transport.add("POST", "/0/private/CancelOrder", {"error": ["EOrder:Unknown order"]})

    with pytest.raises(errors.OrderNotFound):
        r.adapter.cancel_order(symbol="LTC/USDT", exchange_order_id="OR6EGN-KQSEG-AMI6CL")


def test_sandbox_is_refused_because_kraken_has_no_testnet():
    with pytest.raises(errors.BadRequest, match="kraken has no testnet") as raised:
        CcxtAdapter("kraken", sandbox=True)

    assert isinstance(raised.value, errors.PermanentExchangeError)
