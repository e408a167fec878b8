"""Reading bodies (pure): formats, values, symbols, keys, access and freshness."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.webhooks.domain.access import is_allowed, parse_allowlist, staleness
from apps.webhooks.domain.envelope import idempotency_key, open_envelope, secret_of
from apps.webhooks.domain.messages import SECRET_PLACEHOLDER, message_templates
from apps.webhooks.domain.parsing import Intent, Unreadable, parse_intent
from apps.webhooks.domain.symbols import MarketRef, pick_market, symbol_query
from apps.webhooks.domain.values import timeframe_of


def read(body) -> Intent | Unreadable:
    raw = json.dumps(body) if isinstance(body, dict) else body
    return parse_intent(open_envelope(raw.encode() if isinstance(raw, str) else raw))


def strategy_fill(before: str, size_before: str, after: str, size_after: str, **extra) -> dict:
    return {
        "exchange": "BINANCE",
        "ticker": "BTCUSDT",
        "interval": "15",
        "action": "buy",
        "contracts": "0.0172",
        "order_price": "63412.0",
        "prev_market_position": before,
        "prev_market_position_size": size_before,
        "market_position": after,
        "market_position_size": size_after,
        **extra,
    }


# --- TradeDesk JSON ---------------------------------------------------------------------------


def test_tradedesk_json_reads_every_field_exactly():
    intent = read(
        {
            "id": "breakout-1",
            "secret": "s3cret",
            "action": "entry",
            "symbol": "BINANCE:BTCUSDT",
            "timeframe": "15",
            "price": "65000.5",
            "quantity": "0.01000",
            "timenow": "2026-03-01T12:00:05Z",
        }
    )
    assert intent == Intent(
        format="tradedesk",
        action="entry",
        symbol="BINANCE:BTCUSDT",
        timeframe="15",
        price=Decimal("65000.5"),
        quantity=Decimal("0.01000"),
        fired_at=datetime(2026, 3, 1, 12, 0, 5, tzinfo=UTC),
    )
    assert intent.to_dict()["quantity"] == "0.01000"  # never rounded, never a float


@pytest.mark.parametrize(
    ("action", "expected"),
    [("entry", "entry"), ("BUY", "entry"), ("long", "entry"), ("exit", "exit"),
     ("sell", "exit"), ("close", "exit")],
)  # fmt: skip
def test_tradedesk_actions_and_their_aliases(action, expected):
    assert read({"action": action, "symbol": "BTCUSDT"}).action == expected


def test_json_numbers_are_read_as_exact_decimals():
    intent = read('{"action": "entry", "symbol": "BTCUSDT", "price": 0.1, "quantity": 3}')
    assert (intent.price, intent.quantity) == (Decimal("0.1"), Decimal(3))


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"symbol": "BTCUSDT"}, 'No action: add "action": "entry" or "action": "exit".'),
        ({"action": "hodl", "symbol": "BTCUSDT"}, "Unknown action 'hodl': use entry or exit."),
        ({"action": "entry"}, 'No symbol: add e.g. "symbol": "{{exchange}}:{{ticker}}".'),
        (
            {"action": "entry", "symbol": "BTCUSDT", "price": "{{close}}"},
            "Price is the unfilled placeholder {{close}}.",
        ),
        (
            {"action": "entry", "symbol": "BTCUSDT", "price": "abc"},
            "Price 'abc' is not a number.",
        ),
        (
            {"action": "entry", "symbol": "BTCUSDT", "quantity": "-1"},
            "Quantity must be above zero, not -1.",
        ),
        (
            {"action": "entry", "symbol": "BTCUSDT", "timenow": "yesterday"},
            "Timenow 'yesterday' is not a time (expected e.g. 2024-06-12T14:45:01Z).",
        ),
        (
            {"action": "entry", "symbol": "BTCUSDT", "timeframe": "fortnight"},
            "Timeframe 'fortnight' is not a TradingView interval (15, 60, 1D…).",
        ),
        (
            {"action": "short", "symbol": "BTCUSDT"},
            "Action short: short positions are not supported: TradeDesk trades long only.",
        ),
    ],
)
def test_a_json_body_that_cannot_be_acted_on_says_why(body, reason):
    assert read(body) == Unreadable(reason, "tradedesk")


# --- TradingView strategy placeholders --------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after", "action", "quantity", "note"),
    [
        (("flat", "0"), ("long", "0.0156"), "entry", "0.0172",
         "opens a long: flat 0 → long 0.0156"),
        (("long", "0.0156"), ("long", "0.0328"), "entry", "0.0172",
         "pyramid add: long 0.0156 → long 0.0328"),
        (("long", "0.0156"), ("flat", "0"), "exit", None, "closes the long: long 0.0156 → flat 0"),
        (("long", "0.0156"), ("short", "0.01"), "exit", None,
         "closes the long: long 0.0156 → short 0.01 (the short side is not traded)"),
        (("short", "0.01"), ("long", "0.02"), "entry", "0.0172",
         "opens a long: short 0.01 → long 0.02"),
    ],
)  # fmt: skip
def test_strategy_fills_are_told_apart_by_the_positions_not_the_words(
    before, after, action, quantity, note
):
    # The order action says "buy" in every case: only the positions decide.
    intent = read(strategy_fill(*before, *after, action="buy"))
    assert (intent.action, intent.note) == (action, note)
    assert intent.quantity == (Decimal(quantity) if quantity else None)
    assert (intent.symbol, intent.timeframe, intent.price) == (
        "BINANCE:BTCUSDT",
        "15",
        Decimal("63412.0"),
    )


@pytest.mark.parametrize(
    ("before", "after", "reason"),
    [
        (("flat", "0"), ("short", "0.01"), "flat 0 → short 0.01: short positions are not "
         "supported: TradeDesk trades long only."),
        (("short", "0.01"), ("flat", "0"), "short 0.01 → flat 0: short positions are not "
         "supported: TradeDesk trades long only."),
        (("long", "0.01"), ("long", "0.01"),
         "The position did not change (long 0.01 → long 0.01)."),
        (("long", "0.0328"), ("long", "0.0156"), "A partial exit (reduces the long: long 0.0328 "
         "→ long 0.0156) is not supported yet: an exit closes the whole position. Leave the "
         "quantity out to close it."),
        (("sideways", "0"), ("long", "1"), "prev_market_position 'sideways' is not long, short or "
         "flat."),
    ],
)  # fmt: skip
def test_strategy_fills_the_desk_does_not_trade_say_why(before, after, reason):
    assert read(strategy_fill(*before, *after)) == Unreadable(reason, "tradingview")


def test_partial_exits_are_refused_rather_than_closing_the_whole_position():
    # The position groups close whole positions: "sell 0.01" must not sell everything.
    for body in (
        {"action": "exit", "symbol": "BTCUSDT", "quantity": "0.01"},
        "close BTCUSDT qty=0.01",
        {"tv_instrument": "BTCUSDT", "action": "exit_long",
         "order": {"amount": "0.01", "currency_type": "base"}},
    ):  # fmt: skip
        assert read(body).reason.startswith("A partial exit (quantity 0.01) is not supported yet")


def test_a_pine_built_close_intent_exits_and_a_partial_percentage_is_refused():
    close = {"kind": "strategy", "intent": "close", "ticker": "BTCUSDT", "interval": "15"}
    assert read(close).action == "exit"
    assert read(close | {"close_pct": 100}).action == "exit"
    assert read(close | {"close_pct": 50}).reason.startswith("close_pct 50 is not supported")


def test_without_positions_the_order_action_of_a_long_only_strategy_decides():
    fill = {"kind": "strategy", "ticker": "BTCUSDT", "interval": "15", "contracts": "0.01"}
    assert read(fill | {"action": "buy"}).action == "entry"
    assert read(fill | {"action": "sell"}).action == "exit"
    assert isinstance(read(fill), Unreadable)


# --- 3Commas ------------------------------------------------------------------------------------


def test_three_commas_bot_messages_start_and_close_deals_on_their_pair():
    start = {"message_type": "bot", "bot_id": 1, "email_token": "t", "pair": "USDT_BTC"}
    assert read(start) == Intent(
        format="3commas", action="entry", symbol="USDT_BTC", note="3Commas deal start"
    )
    close = read(start | {"action": "close_at_market_price"})
    assert (close.action, close.symbol) == ("exit", "USDT_BTC")
    assert read(start | {"action": "add_funds"}) == Unreadable(
        "3Commas action 'add_funds' is not supported.", "3commas"
    )


def test_three_commas_signal_bot_reads_instrument_price_time_and_its_own_max_lag():
    intent = read(
        {
            "secret": "x",
            "bot_uuid": "b",
            "tv_instrument": "BTCUSDT.P",
            "action": "enter_long",
            "trigger_price": "65000.5",
            "timestamp": "2026-03-01T12:00:00Z",
            "max_lag": "30",
            "order": {"amount": "0.002", "currency_type": "base"},
        }
    )
    assert (intent.action, intent.symbol, intent.price, intent.quantity) == (
        "entry",
        "BTCUSDT.P",
        Decimal("65000.5"),
        Decimal("0.002"),
    )
    assert (intent.max_lag_seconds, intent.fired_at) == (30, datetime(2026, 3, 1, 12, tzinfo=UTC))
    assert read({"tv_instrument": "BTCUSDT", "action": "exit_long"}).action == "exit"
    assert "not supported" in read({"tv_instrument": "BTCUSDT", "action": "enter_short"}).reason


# --- Plain text -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "action", "symbol", "timeframe"),
    [
        ("buy BTCUSDT", "entry", "BTCUSDT", "any"),
        ("close BTCUSDT", "exit", "BTCUSDT", "any"),
        ("SELL BINANCE:BTCUSDT.P 1D", "exit", "BINANCE:BTCUSDT.P", "1D"),
        ("BINANCE:BTCUSDT 15 LONG", "entry", "BINANCE:BTCUSDT", "15"),
        ("  buy, ETH/USDT, 4h\n", "entry", "ETH/USDT", "240"),
        ("exit btcusdt tf=60", "exit", "btcusdt", "60"),
    ],
)
def test_plain_text_commands(text, action, symbol, timeframe):
    intent = read(text)
    assert (intent.format, intent.action, intent.symbol, intent.timeframe) == (
        "text",
        action,
        symbol,
        timeframe,
    )


def test_plain_text_reads_price_and_fire_time_from_its_segments():
    intent = read("buy BTCUSDT 15 | RSI 58.31 | close 64250.5 | fired 2024-06-12T14:45:00Z")
    assert intent.price == Decimal("64250.5")
    assert intent.fired_at == datetime(2024, 6, 12, 14, 45, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("garbage", "The text “garbage” is not JSON nor a known text command (e.g. buy BTCUSDT "
         "15, or close BTCUSDT)."),
        ("", "Empty body: not JSON nor a known text command (e.g. buy BTCUSDT 15, or close "
         "BTCUSDT)."),
        ("buy", "Command buy has no symbol: plain text names it, e.g. buy BTCUSDT."),
        ("buy BTCUSDT ETHUSDT", "The text “buy BTCUSDT ETHUSDT” names more than one symbol "
         "(BTCUSDT, ETHUSDT)."),
        ("buy sell BTCUSDT", "The text “buy sell BTCUSDT” has more than one command."),
        ('{"action": "entry", "symbol": {{ticker}}}', "The body starts like JSON but is not "
         "valid JSON (Expecting property name enclosed in double quotes at line 1 column 32). "
         "TradingView sends a message as "
         "text when a placeholder breaks its JSON: quote every placeholder."),
        ("[1, 2]", "A JSON array (several orders in one alert) is not supported: send one JSON "
         "object per alert."),
        (b"\xff\xfe\x00garbage", "The body is not UTF-8 text."),
    ],
)  # fmt: skip
def test_garbage_gets_a_reason_never_an_exception(body, reason):
    assert read(body).reason == reason


@given(st.binary(max_size=2048))
def test_no_body_at_all_makes_the_parser_raise(body):
    assert isinstance(parse_intent(open_envelope(body)), Intent | Unreadable)


@given(st.text(max_size=500))
def test_no_text_makes_the_parser_raise(text):
    assert isinstance(read(text), Intent | Unreadable)


def test_a_form_encoded_body_is_read_like_json():
    intent = read("action=exit&symbol=BTCUSDT&timeframe=15&secret=abc")
    assert (intent.format, intent.action, intent.timeframe) == ("tradedesk", "exit", "15")
    assert secret_of(open_envelope(b"action=exit&secret=abc")) == "abc"


@pytest.mark.parametrize(
    ("given_", "expected"),
    [("15", "15"), ("60", "60"), ("D", "1D"), ("1d", "1D"), ("W", "1W"), ("1M", "1M"),
     ("15m", "15"), ("4h", "240"), ("30S", "30S"), (None, ""), ("", "")],
)  # fmt: skip
def test_timeframes_are_written_as_tradingview_writes_interval(given_, expected):
    assert timeframe_of(given_) == expected


def test_unix_times_in_seconds_or_milliseconds():
    assert read({"action": "entry", "symbol": "X", "timenow": "1767225600"}).fired_at == datetime(
        2026, 1, 1, tzinfo=UTC
    )
    assert read({"action": "entry", "symbol": "X", "timenow": 1767225600000}).fired_at == (
        datetime(2026, 1, 1, tzinfo=UTC)
    )


# --- Symbols ------------------------------------------------------------------------------------

SPOT = MarketRef("BTC/USDT", "BTCUSDT", "BTC", "USDT")
PERP = MarketRef("BTC/USDT:USDT", "BTCUSDT", "BTC", "USDT")
ETH = MarketRef("ETH/USDT", "ETH-USDT", "ETH", "USDT")


@pytest.mark.parametrize(
    ("given_", "markets", "expected"),
    [
        ("BINANCE:BTCUSDT", [SPOT, PERP, ETH], SPOT),
        ("BTCUSDT", [SPOT, PERP, ETH], SPOT),
        ("btcusdt", [SPOT], SPOT),
        ("BTCUSDT.P", [SPOT, PERP, ETH], PERP),
        ("BYBIT:BTCUSDT.P", [SPOT, PERP], PERP),
        ("BTCUSDT.P", [SPOT, ETH], SPOT),  # a spot account trades the perpetual's signals spot
        ("BTC/USDT", [SPOT, PERP], SPOT),
        ("BTC/USDT:USDT", [SPOT, PERP], PERP),
        ("USDT_BTC", [SPOT, ETH], SPOT),  # 3Commas: QUOTE_BASE
        ("BTC_USDT", [SPOT, ETH], SPOT),
        ("ETH-USDT", [SPOT, ETH], ETH),  # the exchange's own id
        ("ETHUSDT", [SPOT, ETH], ETH),  # base and quote written together
        ("XYZUSDT", [SPOT, PERP, ETH], None),
    ],
)
def test_symbols_map_to_the_accounts_markets(given_, markets, expected):
    assert pick_market(symbol_query(given_), markets) == expected


# --- Idempotency keys -------------------------------------------------------------------------


NOW = datetime(2024, 6, 12, 14, 30, 7, tzinfo=UTC)


def _key(raw: bytes, route_id: int = 1, *, has_fire_time: bool = False) -> str:
    envelope = open_envelope(raw)
    return idempotency_key(
        route_id=route_id,
        envelope=envelope,
        has_fire_time=has_fire_time,
        now=NOW,
        window_seconds=30,
    ).value


def test_the_key_is_the_senders_id_when_given():
    assert _key(b'{"id": "alert-42", "action": "entry"}') == "id:alert-42"
    tv = b'{"signal_key": "BINANCE:BTCUSDT|15|Long|2024-06-12T14:30:00Z"}'
    assert _key(tv) == "id:BINANCE:BTCUSDT|15|Long|2024-06-12T14:30:00Z"
    assert len(_key(json.dumps({"id": "x" * 300}).encode())) <= 128


def test_the_body_hash_ignores_key_order_and_whitespace_but_not_the_route():
    def key(raw: bytes, route_id: int = 1) -> str:
        return _key(raw, route_id, has_fire_time=True)

    assert key(b'{"a": 1, "b": "x"}') == key(b'  {"b":"x","a":1}\n')
    assert key(b"buy BTCUSDT") == key(b"\n buy BTCUSDT \r\n")
    assert key(b"buy BTCUSDT") != key(b"buy BTCUSDT", route_id=2)
    assert key(b'{"a": 1}') != key(b'{"a": 2}')


# --- Access and freshness -------------------------------------------------------------------


def test_the_allowlist_takes_addresses_and_networks_and_empty_means_anyone():
    allowlist = "52.89.214.238\n34.212.75.30, 10.0.0.0/8  # office\n"
    assert is_allowed("52.89.214.238", allowlist)
    assert is_allowed("10.1.2.3", allowlist)
    assert is_allowed("::ffff:52.89.214.238", allowlist)  # from a dual-stack socket
    assert not is_allowed("52.89.214.239", allowlist)
    assert not is_allowed(None, allowlist)
    assert is_allowed("203.0.113.9", "")
    with pytest.raises(ValueError, match=r"tradingview\.com is not an IP address or network"):
        parse_allowlist("tradingview.com")


NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_freshness_counts_from_the_fire_time_else_the_arrival():
    fired = NOW - timedelta(seconds=301)
    assert staleness(fired_at=fired, received_at=NOW, now=NOW, max_lag_seconds=300) == (
        "Stale: fired 301 s ago, more than the 300 s allowed."
    )
    assert staleness(fired_at=NOW - timedelta(seconds=299), received_at=NOW, now=NOW,
                     max_lag_seconds=300) == ""  # fmt: skip
    # No fire time: a signal that waited in a stopped queue is stale too.
    assert staleness(
        fired_at=None, received_at=NOW - timedelta(minutes=10), now=NOW, max_lag_seconds=300
    ) == ("Stale: received 10 min ago, more than the 300 s allowed.")
    assert staleness(fired_at=fired, received_at=NOW, now=NOW, max_lag_seconds=0) == ""
    # The signal's own max_lag (3Commas) tightens the route's.
    assert staleness(
        fired_at=NOW - timedelta(seconds=40),
        received_at=NOW,
        now=NOW,
        max_lag_seconds=300,
        signal_max_lag=30,
    ).startswith("Stale: fired 40 s ago, more than the 30 s allowed")


# --- The route page's templates ---------------------------------------------------------------

FILLED = {
    "{{exchange}}": "BINANCE",
    "{{ticker}}": "BTCUSDT",
    "{{interval}}": "15",
    "{{close}}": "64250.5",
    "{{timenow}}": "2024-06-12T14:45:01Z",
    "{{time}}": "2024-06-12T14:30:00Z",
    "{{strategy.order.action}}": "buy",
    "{{strategy.order.contracts}}": "0.0172",
    "{{strategy.order.price}}": "63412.0",
    "{{strategy.order.id}}": "Long #2",
    "{{strategy.market_position}}": "long",
    "{{strategy.market_position_size}}": "0.0328",
    "{{strategy.prev_market_position}}": "long",
    "{{strategy.prev_market_position_size}}": "0.0156",
}


def fill_in(template: str) -> bytes:
    for placeholder, value in FILLED.items():
        template = template.replace(placeholder, value)
    assert "{{" not in template
    return template.encode()


@pytest.mark.parametrize("has_secret", [False, True])
def test_every_ready_to_paste_template_reads_back_as_what_its_title_says(has_secret):
    expected = {
        "TradeDesk JSON: entry": ("tradedesk", "entry", Decimal("64250.5")),
        "TradeDesk JSON: exit": ("tradedesk", "exit", Decimal("64250.5")),
        "TradingView strategy (one message for every order fill)": (
            "tradingview",
            "entry",  # long 0.0156 → 0.0328: a pyramid add
            Decimal("63412.0"),
        ),
        "Plain text": ("text", "entry", Decimal("64250.5")),
    }
    templates = message_templates(has_secret=has_secret)
    for template in templates:
        envelope = open_envelope(fill_in(template.body))
        intent = parse_intent(envelope)
        assert (intent.format, intent.action, intent.price) == expected[template.title]
        assert (intent.symbol, intent.timeframe) == ("BINANCE:BTCUSDT", "15")
        assert secret_of(envelope) == (SECRET_PLACEHOLDER if has_secret else None)
    # Plain text cannot carry a secret, so a route with one does not offer it.
    assert ("Plain text" in [t.title for t in templates]) is not has_secret
