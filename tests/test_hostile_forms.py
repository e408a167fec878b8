"""Every form a trader posts, every number in it: any string is answered 2xx/4xx, within 1 s,
with a message on that field, and changes nothing; every query-string number is answered
without a 5xx; and no webhook body, whatever its bytes, is answered 5xx.

The 1 s bound is hypothesis's per-example deadline (an example over it fails the test), not a
timed assertion. A string that could be a valid number (a plain decimal, or empty) may be
accepted; every other string must be refused with its message and leave every row as it was.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import models
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from apps.core.numbers import NumberError, parse_decimal
from apps.exchanges.models import ExchangeAccount, PaperOrder
from apps.notifications.models import Destination
from apps.positions.models import Order
from apps.risk.models import RiskSettings
from apps.strategies.models import Strategy
from apps.tickets.models import Trade, TradeRevision
from apps.trade_queue.models import PoolSettings
from apps.webhooks.models import Signal, WebhookRoute
from apps.webhooks.services import create_route
from tests.tickets.conftest import paper  # noqa: F401  (the paper account fixture)
from tests.tickets.factories import StrategyFactory
from tests.tickets.posts import (
    EMA_CROSS_ENTRY,
    STOP_BELOW_ENTRY,
    TAKE_PNL,
    TRAIL_FROM_HIGH,
    ticket_post,
)
from tests.webhooks.conftest import deliver, url_of

pytestmark = pytest.mark.django_db

# The literals, and their neighbours. Lone surrogates cannot be sent as UTF-8 form data.
HOSTILE = [
    "1e999999999",
    "-1e999999999",
    "1e400",
    "9" * 4400,
    "9223372036854775808",
    "NaN",
    "Infinity",
    "1_000",
    "٣",
    "²",
    "\x00",
    "5 5",
    "1,000",
    "0x10",
]
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)
VALUES = st.one_of(st.sampled_from(HOSTILE), TEXT)
# Each hostile literal is always tried (an explicit example), then random strings.
FAST = settings(
    max_examples=10,
    deadline=timedelta(seconds=1),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def hostile(check):
    """`check` given every hostile literal, then VALUES, within FAST's deadline."""
    check = given(value=VALUES)(check)
    for literal in HOSTILE:
        check = example(value=literal)(check)
    return FAST(check)


def could_be_valid(value: str) -> bool:
    """Whether some field could accept `value`: empty (an optional field), or a plain number
    once trimmed (a rule value may end in %)."""
    text = value.strip().removesuffix("%").strip()
    if not text:
        return True
    try:
        parse_decimal(text, field="value")
    except NumberError:
        return False
    return True


def rows(*kinds: type[models.Model]) -> list:
    """Every row of these models, every field: what "changes nothing" compares."""
    return [list(kind.objects.order_by("pk").values()) for kind in kinds]


# --- The forms ---------------------------------------------------------------------------


@dataclass(frozen=True)
class World:
    client: object
    account: ExchangeAccount
    strategy: Strategy
    route: WebhookRoute
    destination: Destination


@pytest.fixture
def world(client, paper) -> World:  # noqa: F811
    client.force_login(paper.owner)
    strategy = StrategyFactory(owner=paper.owner, name="Dip buyer")
    route = create_route(
        owner=paper.owner,
        label="TV main",
        account=paper,
        strategy=strategy,
        ip_allowlist="",
        max_lag_seconds=300,
        rate_limit_per_minute=0,
    )
    destination = Destination.objects.create(owner=paper.owner, kind="email", label="Me")
    return World(client, paper, strategy, route, destination)


def _ticket(world: World, action: str) -> dict[str, str]:
    return ticket_post(
        world.account,
        action=action,
        entry=EMA_CROSS_ENTRY,
        initial_stop=STOP_BELOW_ENTRY,
        trailing_stop=TRAIL_FROM_HIGH,
        take_profit=TAKE_PNL,
    )


def _grid(world: World) -> dict[str, str]:
    return {
        "action": "save",
        "tp_mode": "hybrid",
        "group_tp_pct": "2.5",
        "pyramid_limit": "3",
        "preview_account": str(world.account.pk),
        "preview_symbol": "BTC/USDT",
        "legs-TOTAL_FORMS": "2",
        "legs-INITIAL_FORMS": "0",
        "legs-0-gap_pct": "0",
        "legs-0-weight_pct": "100",
        "legs-0-tp_pct": "1.5",
    }


def _risk(world: World) -> dict[str, str]:
    return {
        "enabled": "on",
        "loss_threshold_pct": "-5",
        "require_all_pyramids": "on",
        "timer_start": "dca_filled",
        "wait_minutes": "30",
        "min_group_age_minutes": "60",
        "max_winners": "2",
        "shortfall": "skip",
        "daily_loss_limit": "100",
        "daily_loss_limit_pct": "5",
        "max_drawdown_pct": "10",
        "max_symbol_exposure_pct": "50",
        "breaker_errors": "5",
        "breaker_window_minutes": "10",
        "breaker_cooldown_minutes": "15",
    }


def _route(world: World) -> dict[str, str]:
    return {
        "label": "New route",
        "account": str(world.account.pk),
        "strategy": str(world.strategy.pk),
        "ip_allowlist": "",
        "max_lag_seconds": "300",
        "rate_limit_per_minute": "60",
        "duplicate_window_seconds": "30",
    }


def _django(prefix: str = "id_") -> Callable[[World, str], str]:
    """Where a Django-rendered form puts a field's messages (`{{ field.errors }}`, as_div)."""
    return lambda world, name: f'id="{prefix.format(world=world)}{name}_error"'


@dataclass(frozen=True)
class FormCase:
    name: str
    url: Callable[[World], str]
    data: Callable[[World], dict[str, str]]
    fields: tuple[str, ...]
    models: tuple[type[models.Model], ...]
    # The HTML that shows a message on the field `name`.
    marker: Callable[[World, str], str] = field(default_factory=_django)
    headers: dict[str, str] = field(default_factory=dict)


RULE_NUMBERS = (
    "entry-value",
    "entry-secondary_period",
    "initial_stop-value",
    "trailing_stop-value",
    "take_profit-value",
)
TICKET_MODELS = (Trade, TradeRevision, Order, PaperOrder, Strategy)
# As the page posts them: htmx answers with the form's partial, as the browser gets it.
HTMX_TICKET = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "ticket"}
FORMS = [
    FormCase(
        "ticket save",
        lambda w: "/trades/ticket/",
        lambda w: _ticket(w, "save"),
        ("sizing_value", *RULE_NUMBERS, "account", "strategy"),
        TICKET_MODELS,
        lambda w, name: f'id="error-{name}"',
        HTMX_TICKET,
    ),
    FormCase(
        "ticket activate",
        lambda w: "/trades/ticket/",
        lambda w: _ticket(w, "activate"),
        ("sizing_value", "entry-value"),
        TICKET_MODELS,
        lambda w, name: f'id="error-{name}"',
        HTMX_TICKET,
    ),
    FormCase(
        "strategy grid",
        lambda w: f"/settings/strategies/{w.strategy.pk}/",
        _grid,
        (
            "group_tp_pct",
            "pyramid_limit",
            "legs-0-gap_pct",
            "legs-0-weight_pct",
            "legs-0-tp_pct",
            "legs-TOTAL_FORMS",
            "preview_account",
            "preview_price",
        ),
        (Strategy,),
        lambda w, name: (
            'id="grid-errors"'
            if name == "legs-TOTAL_FORMS"
            else "leg-errors"
            if name.startswith("legs-")
            else f'id="id_{name}_error"'
        ),
    ),
    FormCase(
        "risk settings",
        lambda w: f"/risk/{w.account.pk}/settings/",
        _risk,
        (
            "loss_threshold_pct",
            "wait_minutes",
            "min_group_age_minutes",
            "max_winners",
            "daily_loss_limit",
            "daily_loss_limit_pct",
            "max_drawdown_pct",
            "max_symbol_exposure_pct",
            "breaker_errors",
            "breaker_window_minutes",
            "breaker_cooldown_minutes",
        ),
        (RiskSettings,),
        headers={"HTTP_HX_REQUEST": "true"},
    ),
    FormCase(
        "queue pool settings",
        lambda w: f"/queue/pool/{w.account.pk}/",
        lambda w: {"max_open_groups": "5", "queue_expiry_minutes": "30"},
        ("max_open_groups", "queue_expiry_minutes"),
        (ExchangeAccount, PoolSettings),
        lambda w, name: f'id="id_pool{w.account.pk}_{name}_error"',
        {"HTTP_HX_REQUEST": "true"},
    ),
    FormCase(
        "webhook route create",
        lambda w: "/settings/webhooks/new/",
        _route,
        ("max_lag_seconds", "rate_limit_per_minute", "duplicate_window_seconds", "account"),
        (WebhookRoute,),
    ),
    FormCase(
        "webhook route edit",
        lambda w: f"/settings/webhooks/{w.route.pk}/",
        _route,
        ("max_lag_seconds", "rate_limit_per_minute", "duplicate_window_seconds", "strategy"),
        (WebhookRoute,),
    ),
    FormCase(
        "order preview",
        lambda w: f"/settings/exchanges/{w.account.pk}/preview/",
        lambda w: {
            "symbol": "BTC/USDT",
            "side": "buy",
            "type": "limit",
            "size": "0.01",
            "size_in": "base",
            "price": "60000",
        },
        ("size", "price"),
        (Order, PaperOrder),
    ),
]
CASES = [
    pytest.param(case, name, id=f"{case.name}:{name}") for case in FORMS for name in case.fields
]


@pytest.mark.parametrize(("case", "name"), CASES)
def test_any_string_in_a_number_field_is_answered_with_a_message_and_changes_nothing(
    world, case, name
):
    base = case.data(world)

    @hostile
    def check(value: str) -> None:
        before = rows(*case.models)
        response = world.client.post(case.url(world), base | {name: value}, **case.headers)

        # The form again with its messages (200), or a redirect after a save: never a 5xx,
        # and never a 4xx either (that would be the wrong page, proving nothing).
        assert response.status_code in (200, 302), (value, response.status_code)
        if response.status_code == 302 or could_be_valid(value):
            return  # a value some bound may accept
        html = response.content.decode()
        marker = case.marker(world, name)
        general = 'id="error-ticket"' in html  # the ticket names a hidden field's message
        assert (marker and marker in html) or general, (value, name)
        assert rows(*case.models) == before, value

    check()


# Forms without a number: any text in their text fields is refused or saved, never a 5xx.
TEXT_FORMS = [
    ("/settings/notifications/", {"kind": "email", "label": "Desk"}, "label", Destination),
    ("/settings/exchanges/new/", {"label": "Paper 2", "kind": "paper"}, "label", ExchangeAccount),
    (
        "/settings/exchanges/new/",
        {"label": "Paper 3", "kind": "paper"},
        "quote_currency",
        ExchangeAccount,
    ),
]


@pytest.mark.parametrize(("url", "data", "name", "model"), TEXT_FORMS)
def test_any_string_in_a_text_field_is_answered_without_a_5xx(world, url, data, name, model):
    @hostile
    def check(value: str) -> None:
        before = rows(model)
        response = world.client.post(url, data | {name: value})

        assert response.status_code in (200, 302), (value, response.status_code)
        if "\x00" in value:  # PostgreSQL cannot store a NUL: refused, with its message
            assert "Null characters are not allowed" in response.content.decode()
            assert rows(model) == before

    check()


def test_a_notification_destination_edit_refuses_a_nul_with_a_message(world):
    url = f"/settings/notifications/{world.destination.pk}/"
    response = world.client.post(url, {"label": "Me\x00"})

    assert response.status_code == 200
    assert "Null characters are not allowed" in response.content.decode()
    world.destination.refresh_from_db()
    assert world.destination.label == "Me"


# --- Query strings ------------------------------------------------------------------------

QUERIES = [
    ("/", "trade"),
    ("/", "strategy"),
    ("/", "account"),
    ("/trades/symbols/", "account"),
    ("/positions/", "account"),
    ("/signals/", "route"),
    ("/risk/", "account"),
    ("/settings/exchanges/portfolio/", "account"),
]


@pytest.mark.parametrize(("path", "name"), QUERIES)
def test_any_string_in_a_query_string_number_is_answered_without_a_5xx(world, path, name):
    @hostile
    def check(value: str) -> None:
        response = world.client.get(path, {name: value})
        assert response.status_code < 500, (value, response.status_code)

    check()


# --- Webhook bodies -----------------------------------------------------------------------

JSON_VALUES = st.one_of(
    st.sampled_from([*HOSTILE, "enter_long", "buy", "BTCUSDT", "BTC/USDT", "65000"]),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    TEXT,
)
KEYS = st.sampled_from(
    [
        "action",
        "symbol",
        "tv_instrument",
        "price",
        "max_lag",
        "timenow",
        "id",
        "secret",
        "timeframe",
        "quantity",
        "strategy",
        "x",
    ]
)
JSON_BODIES = st.recursive(
    st.dictionaries(KEYS, JSON_VALUES, max_size=8),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=3)),
    max_leaves=12,
).map(json.dumps)
BODIES = st.one_of(
    st.binary(max_size=2000),
    TEXT.map(str.encode),
    JSON_BODIES.map(str.encode),
    st.sampled_from([b"1e999999999", b"{" * 8000, b'{"action": NaN}', b"\xff\xfe", b"\x00"]),
)
CONTENT_TYPES = st.sampled_from(
    [
        None,
        "application/json",
        "text/plain; charset=utf-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/json; charset=latin-1",
    ]
)


def test_any_webhook_body_is_answered_without_a_5xx_and_every_2xx_is_recorded(world):
    path = url_of(world.route)

    @settings(
        max_examples=150,
        deadline=timedelta(seconds=1),
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(body=BODIES, content_type=CONTENT_TYPES)
    def check(body: bytes, content_type: str | None) -> None:
        before = Signal.objects.count()
        reply = deliver(path, body, content_type=content_type)

        assert reply.status_code < 500, (body[:80], reply.status_code, reply.content[:200])
        if 200 <= reply.status_code < 300:
            assert Signal.objects.count() == before + 1, body[:80]

    check()


def test_an_in_bounds_value_still_saves(world):
    """The property's other half: the bounded fields accept what a trader writes."""
    response = world.client.post(f"/risk/{world.account.pk}/settings/", _risk(world))

    assert response.status_code == 302
    saved = RiskSettings.objects.get(account=world.account)
    assert (saved.min_group_age_minutes, saved.daily_loss_limit) == (60, Decimal(100))
