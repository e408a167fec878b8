"""Stop orders on the paper exchange, with binance spot's rules: refused when they would trigger
at once, funds set aside while they wait, triggered by the price updates themselves (no desk
process takes part: every fill below comes from `set_price` alone), released by a cancel."""

from __future__ import annotations

import inspect
import re
import threading
from decimal import Decimal

import pytest

from apps.exchanges.adapters.base import ExchangeAdapter
from apps.exchanges.adapters.paper import PaperExchange
from apps.exchanges.domain.types import MarketRules, OrderSide, OrderStatus, OrderType
from apps.exchanges.errors import (
    InsufficientFunds,
    InvalidOrder,
    PermanentExchangeError,
    WouldTriggerImmediately,
)
from apps.exchanges.models import ExchangeAccount, PaperOrder
from apps.exchanges.paper import live
from apps.exchanges.paper.catalog import CATALOG
from apps.exchanges.paper.rules import check_stop
from apps.exchanges.paper.services import set_price
from tests.exchanges.ccxt.replay import replay
from tests.exchanges.paper.conftest import books, configure, free, used
from tests.threads import run_together

BUY, SELL = OrderSide.BUY, OrderSide.SELL
LIMIT, MARKET = OrderType.LIMIT, OrderType.MARKET
BOTH = (MARKET, LIMIT)


def stop(
    exchange: PaperExchange,
    side: OrderSide,
    amount: str,
    trigger: str,
    cid: str,
    *,
    price: str | None = None,
    symbol: str = "BTC/USDT",
):
    """A stop-market, or with `price` a stop-limit."""
    return exchange.create_order(
        symbol=symbol,
        side=side,
        type=LIMIT if price else MARKET,
        amount=Decimal(amount),
        price=Decimal(price) if price else None,
        client_order_id=cid,
        trigger_price=Decimal(trigger),
    )


def buy_btc(exchange: PaperExchange) -> None:
    """Market-buy 0.01 BTC at 65000 (no slippage, 0.1 % fee): 0.00999 BTC, 9350 USDT left."""
    exchange.create_order(
        symbol="BTC/USDT",
        side=BUY,
        type=MARKET,
        amount=Decimal("0.01"),
        price=None,
        client_order_id="td-buy-btc",
    )


def order_row(cid: str) -> PaperOrder:
    return PaperOrder.objects.get(client_order_id=cid)


# --- Placement ------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("side", "trigger", "price"),
    [
        (SELL, "65000.00", None),  # at the last price: a sell stop triggers at or below it
        (SELL, "65000.01", None),
        (SELL, "65500.00", "65400.00"),
        (BUY, "65000.00", None),  # a buy stop triggers at or above it
        (BUY, "64999.99", None),
        (BUY, "64000.00", "64100.00"),
    ],
)
def test_a_stop_on_the_wrong_side_of_the_last_price_is_refused_and_nothing_is_written(
    account: ExchangeAccount, exchange: PaperExchange, side, trigger: str, price: str | None
) -> None:
    buy_btc(exchange)
    before = books(account)
    with pytest.raises(WouldTriggerImmediately) as refused:
        stop(exchange, side, "0.005", trigger, "td-wrong-side", price=price)
    assert str(refused.value) == "Order would trigger immediately."
    assert books(account) == before
    assert not PaperOrder.objects.filter(client_order_id="td-wrong-side").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("trigger", "price", "type", "says"),
    [
        ("60000.005", None, MARKET, "Trigger price 60000.005 USDT is not a multiple of the tick"),
        ("60000.005", "59900.00", LIMIT, "(PRICE_FILTER)"),
        ("0", None, MARKET, "positive trigger price"),
        ("-60000.00", None, MARKET, "positive trigger price"),
        ("60000.00", None, LIMIT, "A limit order needs a positive price."),
        ("60000.00", "59900.005", LIMIT, "Price 59900.005 USDT is not a multiple"),
    ],
)
def test_a_stop_off_the_tick_or_a_stop_limit_without_its_price_is_refused(
    account: ExchangeAccount,
    exchange: PaperExchange,
    trigger: str,
    price: str | None,
    type: OrderType,
    says: str,
) -> None:
    buy_btc(exchange)
    before = books(account)
    with pytest.raises(InvalidOrder, match=re.escape(says)) as refused:
        exchange.create_order(
            symbol="BTC/USDT",
            side=SELL,
            type=type,
            amount=Decimal("0.005"),
            price=Decimal(price) if price else None,
            client_order_id="td-bad-stop",
            trigger_price=Decimal(trigger),
        )
    assert not isinstance(refused.value, WouldTriggerImmediately)
    assert books(account) == before
    assert not PaperOrder.objects.filter(client_order_id="td-bad-stop").exists()


def test_a_stop_market_is_valued_at_its_trigger_for_the_minimum_notional() -> None:
    rules = CATALOG["BTC/USDT"].rules
    # 0.0001 BTC × 49999.99 = 4.999999 USDT: below 5 although 0.0001 × 65000 (last) is not.
    with pytest.raises(InvalidOrder, match=re.escape("× 49999.99 = 4.999999 USDT")):
        check_stop(
            rules,
            side=SELL,
            type=MARKET,
            amount=Decimal("0.0001"),
            price=None,
            trigger_price=Decimal("49999.99"),
            last=Decimal("65000.00"),
        )
    check_stop(
        rules,
        side=SELL,
        type=MARKET,
        amount=Decimal("0.0001"),
        price=None,
        trigger_price=Decimal("50000.00"),
        last=Decimal("65000.00"),
    )


def test_a_market_without_stop_types_refuses_stops() -> None:
    rules = MarketRules(
        symbol="BTC/USDT",
        base="BTC",
        quote="USDT",
        tick_size=Decimal("0.01"),
        step_size=Decimal("0.00001"),
        stop_types=(LIMIT,),
    )
    with pytest.raises(InvalidOrder, match="takes no stop-market order"):
        check_stop(
            rules,
            side=SELL,
            type=MARKET,
            amount=Decimal("0.001"),
            price=None,
            trigger_price=Decimal("60000.00"),
            last=Decimal("65000.00"),
        )


@pytest.mark.django_db
def test_a_resting_sell_stop_reserves_its_base_so_a_market_sell_of_it_is_refused(
    account: ExchangeAccount, exchange: PaperExchange
) -> None:
    buy_btc(exchange)
    placed = stop(exchange, SELL, "0.00999", "60000.00", "td-stop")
    assert (placed.status, placed.filled, placed.trigger_price) == (
        OrderStatus.OPEN,
        0,
        Decimal("60000"),
    )
    assert (free(account, "BTC"), used(account, "BTC")) == (0, Decimal("0.00999"))
    with pytest.raises(InsufficientFunds, match=re.escape("0.005 BTC needed, 0 BTC free")):
        exchange.create_order(
            symbol="BTC/USDT",
            side=SELL,
            type=MARKET,
            amount=Decimal("0.005"),
            price=None,
            client_order_id="td-sell-reserved",
        )
    assert books(account) == {"USDT": (Decimal("9350"), 0), "BTC": (0, Decimal("0.00999"))}


# --- Triggering -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_sell_stop_market_fills_completely_when_the_price_goes_through_its_trigger(
    account: ExchangeAccount, exchange: PaperExchange
) -> None:
    buy_btc(exchange)
    configure(account, slippage_rate=Decimal("0.0005"), taker_fee_rate=Decimal("0.002"))
    stop(exchange, SELL, "0.00999", "60000.00", "td-stop")

    assert set_price(symbol="BTC/USDT", price=Decimal("61000.00")) == 0
    assert set_price(symbol="BTC/USDT", price=Decimal("60000.01")) == 0
    waiting = exchange.fetch_order(symbol="BTC/USDT", client_order_id="td-stop")
    assert (waiting.status, waiting.filled) == (OrderStatus.OPEN, 0)
    assert order_row("td-stop").triggered_at is None

    # Only the price update: no desk process, no adapter call in between.
    assert set_price(symbol="BTC/USDT", price=Decimal("59876.54")) == 1
    sold = exchange.fetch_order(symbol="BTC/USDT", client_order_id="td-stop", conditional=True)
    # 59876.54 × (1 − 0.0005) = 59846.60173, on the 0.01 tick: 59846.60.
    assert (sold.status, sold.filled, sold.average) == (
        OrderStatus.CLOSED,
        Decimal("0.00999"),
        Decimal("59846.6"),
    )
    # 0.00999 × 59846.60 = 597.867534 USDT, taker fee 0.2 % = 1.195735068 USDT.
    assert (sold.fee_cost, sold.fee_currency) == (Decimal("1.195735068"), "USDT")
    assert books(account) == {"USDT": (Decimal("9946.671798932"), 0)}
    assert order_row("td-stop").triggered_at is not None
    # Filled once: a later update through the trigger sells nothing more.
    assert set_price(symbol="BTC/USDT", price=Decimal("59000.00")) == 0
    assert books(account) == {"USDT": (Decimal("9946.671798932"), 0)}


@pytest.mark.django_db
def test_a_stop_limit_triggers_rests_and_fills_at_its_limit_when_the_price_comes_back(
    account: ExchangeAccount, exchange: PaperExchange
) -> None:
    buy_btc(exchange)
    stop(exchange, SELL, "0.00999", "60000.00", "td-stop-limit", price="59900.00")
    # Above its trigger, a stop-limit is not a resting limit yet, even above its price.
    assert set_price(symbol="BTC/USDT", price=Decimal("60000.01")) == 0
    assert order_row("td-stop-limit").triggered_at is None

    # A gap through both the trigger and the limit price: triggered, resting, unfilled.
    assert set_price(symbol="BTC/USDT", price=Decimal("59800.00")) == 0
    gapped = exchange.fetch_order(symbol="BTC/USDT", client_order_id="td-stop-limit")
    assert (gapped.status, gapped.filled, gapped.price) == (OrderStatus.OPEN, 0, Decimal("59900"))
    assert order_row("td-stop-limit").triggered_at is not None
    assert set_price(symbol="BTC/USDT", price=Decimal("59899.99")) == 0
    assert books(account) == {"USDT": (Decimal("9350"), 0), "BTC": (0, Decimal("0.00999"))}

    # Back up to its limit price: it fills there, as a maker (0.1 %), like any limit sell.
    assert set_price(symbol="BTC/USDT", price=Decimal("59950.00")) == 1
    sold = exchange.fetch_order(symbol="BTC/USDT", client_order_id="td-stop-limit")
    assert (sold.status, sold.filled, sold.average) == (
        OrderStatus.CLOSED,
        Decimal("0.00999"),
        Decimal("59900"),
    )
    # 0.00999 × 59900 = 598.401 USDT, maker fee 0.598401 USDT.
    assert sold.fee_cost == Decimal("0.598401")
    assert books(account) == {"USDT": (Decimal("9947.802599"), 0)}


@pytest.mark.django_db
def test_a_stop_limit_whose_price_the_trigger_update_crosses_takes_at_once_like_a_placement(
    account: ExchangeAccount, exchange: PaperExchange
) -> None:
    buy_btc(exchange)
    configure(
        account,
        slippage_rate=Decimal("0.0005"),
        taker_fee_rate=Decimal("0.002"),
        max_fill_fraction=Decimal("0.5"),
    )
    stop(exchange, SELL, "0.00998", "60000.00", "td-stop-take", price="59900.00")

    assert set_price(symbol="BTC/USDT", price=Decimal("59980.00")) == 1
    taken = exchange.fetch_order(symbol="BTC/USDT", client_order_id="td-stop-take")
    # Half of 0.00998 at the taker price 59980 × 0.9995 = 59950.01 (above its 59900 limit),
    # and only that from this update: the rest waits for the next one.
    assert (taken.status, taken.filled, taken.average) == (
        OrderStatus.OPEN,
        Decimal("0.00499"),
        Decimal("59950.01"),
    )
    # 0.00499 × 59950.01 = 299.1505499 USDT, taker fee 0.2 % = 0.5983010998 USDT.
    assert taken.fee_cost == Decimal("0.5983010998")
    assert books(account) == {
        "USDT": (Decimal("9648.5522488002"), 0),
        "BTC": (Decimal("0.00001"), Decimal("0.00499")),
    }
    # Below its limit price the rest does not sell, and the stop never triggers twice.
    assert set_price(symbol="BTC/USDT", price=Decimal("59000.00")) == 0
    assert exchange.fetch_order(symbol="BTC/USDT", client_order_id="td-stop-take").filled == (
        Decimal("0.00499")
    )


# --- Buy stops ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_buy_stop_market_holds_its_trigger_plus_slippage_and_refunds_what_the_fill_saves(
    account: ExchangeAccount, exchange: PaperExchange
) -> None:
    configure(account, slippage_rate=Decimal("0.0005"), taker_fee_rate=Decimal("0.002"))
    stop(exchange, BUY, "0.01", "66000.00", "td-buy-stop")
    # 0.01 × 66000 × 1.0005 = 660.33 USDT set aside.
    assert books(account) == {"USDT": (Decimal("9339.67"), Decimal("660.33"))}
    assert set_price(symbol="BTC/USDT", price=Decimal("65999.99")) == 0

    # Slippage is lowered before the trigger: the fill costs 660 and 0.33 comes back.
    configure(account, slippage_rate=Decimal(0))
    assert set_price(symbol="BTC/USDT", price=Decimal("66000.00")) == 1
    bought = exchange.fetch_order(symbol="BTC/USDT", client_order_id="td-buy-stop")
    assert (bought.status, bought.filled, bought.average) == (
        OrderStatus.CLOSED,
        Decimal("0.01"),
        Decimal("66000"),
    )
    assert (bought.fee_cost, bought.fee_currency) == (Decimal("0.00002"), "BTC")
    assert books(account) == {"USDT": (Decimal("9340"), 0), "BTC": (Decimal("0.00998"), 0)}


@pytest.mark.django_db
def test_a_buy_stop_market_after_a_gap_pays_the_extra_from_free_or_expires_without_it(
    account: ExchangeAccount, exchange: PaperExchange
) -> None:
    configure(account, slippage_rate=Decimal("0.0005"))
    stop(exchange, BUY, "0.01", "66000.00", "td-gap")
    assert set_price(symbol="BTC/USDT", price=Decimal("66500.00")) == 1
    # 0.01 × 66500 × 1.0005 = 665.3325: 5.0025 more than the 660.33 held, paid from free.
    assert books(account) == {"USDT": (Decimal("9334.6675"), 0), "BTC": (Decimal("0.00999"), 0)}

    # 0.14 × 66033 = 9244.62 held of 9334.6675; a gap to 67000 would cost 9384.69.
    set_price(symbol="BTC/USDT", price=Decimal("65000.00"))
    stop(exchange, BUY, "0.14", "66000.00", "td-too-big")
    assert books(account)["USDT"] == (Decimal("90.0475"), Decimal("9244.62"))
    assert set_price(symbol="BTC/USDT", price=Decimal("67000.00")) == 0
    expired = exchange.fetch_order(symbol="BTC/USDT", client_order_id="td-too-big")
    assert (expired.status, expired.filled) == (OrderStatus.EXPIRED, 0)
    assert books(account) == {"USDT": (Decimal("9334.6675"), 0), "BTC": (Decimal("0.00999"), 0)}
    assert exchange.fetch_open_orders() == []


@pytest.mark.django_db
def test_a_buy_stop_limit_holds_at_its_limit_and_refunds_the_price_improvement(
    account: ExchangeAccount, exchange: PaperExchange
) -> None:
    configure(account, slippage_rate=Decimal("0.0005"), taker_fee_rate=Decimal("0.002"))
    stop(exchange, BUY, "0.01", "66000.00", "td-buy-stop-limit", price="66100.00")
    assert books(account) == {"USDT": (Decimal("9339"), Decimal("661"))}

    assert set_price(symbol="BTC/USDT", price=Decimal("66020.00")) == 1
    bought = exchange.fetch_order(symbol="BTC/USDT", client_order_id="td-buy-stop-limit")
    # Taker at 66020 × 1.0005 = 66053.01, below its 66100 limit: 0.4699 USDT comes back.
    assert (bought.status, bought.average) == (OrderStatus.CLOSED, Decimal("66053.01"))
    assert books(account) == {"USDT": (Decimal("9339.4699"), 0), "BTC": (Decimal("0.00998"), 0)}


# --- Cancel and lookups ---------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("side", "trigger", "price", "holds"),
    [
        (SELL, "60000.00", None, {"BTC": (0, Decimal("0.00999"))}),
        (SELL, "60000.00", "59900.00", {"BTC": (0, Decimal("0.00999"))}),
        (BUY, "66000.00", None, {"USDT": (Decimal("8689.3400"), Decimal("660.66"))}),
        (BUY, "66000.00", "66100.00", {"USDT": (Decimal("8689"), Decimal("661"))}),
    ],
)
def test_cancelling_a_stop_releases_exactly_what_it_holds_and_it_never_triggers(
    account: ExchangeAccount,
    exchange: PaperExchange,
    side,
    trigger: str,
    price: str | None,
    holds: dict,
) -> None:
    buy_btc(exchange)
    before = books(account)
    configure(account, slippage_rate=Decimal("0.001"))  # a buy stop-market holds 66066
    amount = "0.00999" if side == SELL else "0.01"
    stop(exchange, side, amount, trigger, "td-cancel", price=price)
    assert {asset: books(account)[asset] for asset in holds} == holds
    configure(account, slippage_rate=Decimal("0.0005"))  # the release must not recompute

    cancelled = exchange.cancel_order(symbol="BTC/USDT", client_order_id="td-cancel")
    assert (cancelled.status, cancelled.filled) == (OrderStatus.CANCELED, 0)
    assert books(account) == before
    assert exchange.fetch_open_orders() == []
    set_price(symbol="BTC/USDT", price=Decimal("59000.00" if side == SELL else "67000.00"))
    assert books(account) == before
    assert order_row("td-cancel").triggered_at is None


@pytest.mark.django_db
def test_cancelling_a_filled_stop_returns_it_unchanged(
    account: ExchangeAccount, exchange: PaperExchange
) -> None:
    buy_btc(exchange)
    stop(exchange, SELL, "0.00999", "60000.00", "td-filled")
    set_price(symbol="BTC/USDT", price=Decimal("60000.00"))
    after_fill = books(account)
    filled = exchange.fetch_order(symbol="BTC/USDT", client_order_id="td-filled")
    again = exchange.cancel_order(symbol="BTC/USDT", client_order_id="td-filled", conditional=True)
    assert again == filled
    assert again.status == OrderStatus.CLOSED
    assert books(account) == after_fill


@pytest.mark.django_db
def test_open_orders_list_an_untriggered_stop_with_its_trigger_price(
    account: ExchangeAccount, exchange: PaperExchange
) -> None:
    buy_btc(exchange)
    placed = stop(exchange, SELL, "0.005", "60000.00", "td-listed")
    exchange.create_order(
        symbol="BTC/USDT",
        side=SELL,
        type=LIMIT,
        amount=Decimal("0.004"),
        price=Decimal("70000.00"),
        client_order_id="td-plain",
    )
    listed = {o.client_order_id: o for o in exchange.fetch_open_orders("BTC/USDT")}
    assert set(listed) == {"td-listed", "td-plain"}
    assert listed["td-plain"].trigger_price is None
    found = exchange.fetch_order(symbol="BTC/USDT", client_order_id="td-listed")
    assert listed["td-listed"] == found == placed
    assert (found.type, found.price, found.trigger_price, found.status, found.filled) == (
        MARKET,
        None,
        Decimal("60000"),
        OrderStatus.OPEN,
        0,
    )

    set_price(symbol="BTC/USDT", price=Decimal("59000.00"))
    assert [o.client_order_id for o in exchange.fetch_open_orders()] == ["td-plain"]
    done = exchange.fetch_order(symbol="BTC/USDT", exchange_order_id=placed.exchange_order_id)
    assert (done.status, done.trigger_price) == (OrderStatus.CLOSED, Decimal("60000"))


# --- Protocol and markets ------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", [n for n, m in vars(ExchangeAdapter).items() if callable(m) and not n.startswith("_")]
)
def test_the_paper_adapter_has_every_protocol_method_with_the_same_parameters(name: str) -> None:
    def shape(function):
        return [
            (p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()
        ]

    assert shape(getattr(PaperExchange, name)) == shape(getattr(ExchangeAdapter, name))


@pytest.mark.django_db
def test_every_catalog_market_takes_stop_market_and_stop_limit(exchange: PaperExchange) -> None:
    markets = exchange.load_markets()
    assert {m.symbol for m in markets} == set(CATALOG)
    assert {m.symbol: m.stop_types for m in markets} == {symbol: BOTH for symbol in CATALOG}


def test_live_priced_markets_take_stops_whatever_the_real_exchange_reports(monkeypatch) -> None:
    # The real binance adapter against its recorded exchangeInfo, behind the live price source.
    recorded = replay("binance").adapter
    # (binance lists STOP_LOSS_LIMIT only in the recorded exchangeInfo: stop-limit alone.)
    assert {m.stop_types for m in recorded.load_markets()} == {(OrderType.LIMIT,)}
    monkeypatch.setattr(live, "_local", threading.local())
    live._local.adapters = {"binance": recorded}
    markets = live.live_markets("binance")
    assert markets["BTC/USDT"].tick_size == Decimal("0.01")
    assert {rules.stop_types for rules in markets.values()} == {BOTH}


# --- Concurrency ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_cancel_racing_a_trigger_ends_in_exactly_one_of_the_two(
    account: ExchangeAccount,
) -> None:
    exchange = PaperExchange(account)
    buy_btc(exchange)
    stop(exchange, SELL, "0.00999", "60000.00", "td-race")
    results = run_together(
        [
            lambda: PaperExchange(account).cancel_order(
                symbol="BTC/USDT", client_order_id="td-race"
            ),
            lambda: set_price(symbol="BTC/USDT", price=Decimal("60000.00")),
        ]
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    final = order_row("td-race")
    if final.status == PaperOrder.Status.CANCELED:
        assert (final.filled, final.triggered_at) == (0, None)
        assert books(account) == {"USDT": (Decimal("9350"), 0), "BTC": (Decimal("0.00999"), 0)}
    else:
        assert final.status == PaperOrder.Status.CLOSED
        assert results[0].status == OrderStatus.CLOSED  # the cancel found it filled
        # 0.00999 × 60000 = 599.4 USDT less the 0.1 % taker fee 0.5994.
        assert books(account) == {"USDT": (Decimal("9948.8006"), 0)}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("price", "sold", "books_after"),
    [
        # A stop-market fills completely, whatever max_fill_fraction says: a second trigger
        # would sell the coins twice. (A triggered stop-limit is a resting limit, and a second
        # update that crosses it may rightly fill more of it, so it is no case for this race.)
        (None, "0.00999", {"USDT": (Decimal("9948.8006"), 0)}),
    ],
)
def test_two_price_updates_racing_through_a_stop_trigger_it_once(
    account: ExchangeAccount, price: str | None, sold: str, books_after: dict
) -> None:
    exchange = PaperExchange(account)
    buy_btc(exchange)
    configure(account, max_fill_fraction=Decimal("0.5"))
    amount = "0.00999" if price is None else "0.00998"
    stop(exchange, SELL, amount, "60000.00", "td-once", price=price)
    results = run_together(
        [lambda: set_price(symbol="BTC/USDT", price=Decimal("60000.00"))] * 2,
    )
    assert sorted(results) == [0, 1], results
    assert order_row("td-once").filled == Decimal(sold)
    assert books(account) == books_after


def test_refusals_of_stops_are_permanent_errors() -> None:
    # The desk must not retry a refused stop: it exits at market instead (errors docstring).
    assert issubclass(WouldTriggerImmediately, PermanentExchangeError)
