"""The Signals page, its CSV, a signal's details, the route pages, the admin; and isolation."""

from __future__ import annotations

import csv
import io
import json

import pytest

from apps.core.models import Event
from apps.webhooks.models import Signal, WebhookRoute
from apps.webhooks.services import create_route
from tests.accounts.factories import OperatorFactory, UserFactory
from tests.exchanges.factories import ExchangeAccountFactory
from tests.tickets.factories import StrategyFactory
from tests.webhooks.conftest import deliver, post, url_of

pytestmark = pytest.mark.django_db

ENTRY = {"action": "entry", "symbol": "BTCUSDT", "timeframe": "15", "price": "65000.123456789"}


@pytest.fixture
def signals(client, route, django_capture_on_commit_callbacks):
    """An executed entry, a rejected garbage body and a duplicate, on the trader's route."""
    with django_capture_on_commit_callbacks(execute=True):
        post(route, ENTRY | {"quantity": "0.00123400"})
    post(route, "garbage")
    post(route, ENTRY | {"quantity": "0.00123400"})
    return list(Signal.objects.order_by("pk"))


@pytest.fixture
def someone_else():
    """Another trader with a route and a signal of their own."""
    other = UserFactory(username="mallory")
    route = create_route(
        owner=other,
        label="Mallory's route",
        account=ExchangeAccountFactory(owner=other),
        strategy=StrategyFactory(owner=other),
        ip_allowlist="",
    )
    Signal.objects.create(
        route=route,
        account=route.account,
        received_at=route.created_at,
        body=b"buy MALLORYCOIN",
        key="k",
        status=Signal.Status.REJECTED,
        reason="Mallory's reason",
    )
    return route


# --- The Signals page ---------------------------------------------------------------------------


def test_the_signals_page_lists_the_traders_signals_with_status_and_reason(
    client, trader, signals, someone_else
):
    client.force_login(trader)
    html = client.get("/signals/").content.decode()

    executed = signals[0]
    for signal in signals:
        assert f'id="signal-{signal.pk}"' in html
    assert ">Executed</span>" in html and ">Rejected</span>" in html and ">Duplicate</span>" in html
    assert "The text “garbage” is not JSON nor a known text command" in html
    assert f"Already received as signal {executed.pk} within the route" in html
    assert "Mallory" not in html
    assert 'aria-current="page">Signals</a>' in html
    assert 'id="signal-head"' in html  # new signals are pushed onto an unfiltered page


def test_filters_narrow_the_table_and_the_export_link(client, trader, signals, route):
    client.force_login(trader)
    response = client.get("/signals/", {"status": "rejected", "route": route.pk})
    html = response.content.decode()

    executed, rejected, _ = signals
    assert f'id="signal-{rejected.pk}"' in html
    assert f'id="signal-{executed.pk}"' not in html
    assert f"/signals/export.csv?status=rejected&amp;route={route.pk}" in html
    assert 'id="signal-head"' not in html  # a live new signal might not match the filters


def test_htmx_gets_the_table_alone(client, trader, signals):
    client.force_login(trader)
    html = client.get("/signals/", {"status": "executed"}, HTTP_HX_REQUEST="true").content.decode()
    assert html.lstrip().startswith('<div id="signal-table"')
    assert "<html" not in html


def test_another_users_route_is_not_a_filter_choice(client, trader, signals, someone_else):
    client.force_login(trader)
    html = client.get("/signals/", {"route": someone_else.pk}).content.decode()
    assert "Mallory" not in html


def test_a_signals_details_show_raw_body_parsed_intent_orders_and_timeline(client, trader, signals):
    from apps.positions.models import Order

    executed = signals[0]
    client.force_login(trader)
    html = client.get(f"/signals/{executed.pk}/", HTTP_HX_REQUEST="true").content.decode()

    assert "&quot;price&quot;: &quot;65000.123456789&quot;" in html  # the raw body, escaped
    assert "symbol_given" in html and "BTCUSDT" in html
    for order in Order.objects.filter(pk__in=executed.order_ids):
        assert order.client_order_id in html
    assert "executed" in html  # the timeline's event
    assert "<html" not in html

    page = client.get(f"/signals/{executed.pk}/").content.decode()  # the href works too
    assert "<html" in page and "Raw body" in page


def test_another_users_signal_is_404(client, trader, someone_else):
    client.force_login(trader)
    theirs = Signal.objects.get(route=someone_else)
    assert client.get(f"/signals/{theirs.pk}/").status_code == 404
    assert client.get(f"/signals/{theirs.pk}/", HTTP_HX_REQUEST="true").status_code == 404


# --- CSV ----------------------------------------------------------------------------------------


def read_csv(response) -> list[dict]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="signals.csv"' in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_the_csv_export_has_the_filtered_signals_with_values_unrounded(
    client, trader, signals, route, someone_else
):
    client.force_login(trader)
    rows = read_csv(client.get("/signals/export.csv", {"status": "executed"}))

    [row] = rows
    executed = signals[0]
    assert row["id"] == str(executed.pk)
    assert row["status"] == "executed"
    assert (row["route"], row["action"], row["symbol"], row["timeframe"]) == (
        "TV main",
        "entry",
        "BTC/USDT",
        "15",
    )
    assert row["price"] == "65000.123456789"
    assert row["quantity"] == "0.00123400"  # as sent: never rounded, never a float
    assert row["order_ids"] == " ".join(map(str, executed.order_ids))
    assert row["received_at"] == executed.received_at.isoformat()

    everything = read_csv(client.get("/signals/export.csv"))
    assert [r["status"] for r in everything] == ["duplicate", "rejected", "executed"]
    assert everything[0]["duplicate_of"] == str(executed.pk)


def test_the_csv_never_holds_another_users_signals(client, trader, someone_else):
    client.force_login(trader)
    assert read_csv(client.get("/signals/export.csv")) == []
    assert read_csv(client.get("/signals/export.csv", {"route": someone_else.pk})) == []


def test_signal_pages_need_a_login(client, signals):
    for path in ("/signals/", "/signals/export.csv", f"/signals/{signals[0].pk}/"):
        assert client.get(path).status_code == 302


# --- Route pages --------------------------------------------------------------------------------


def test_a_trader_creates_a_route_and_its_page_shows_url_and_templates(client, trader, paper):
    strategy = StrategyFactory(owner=trader, name="Breakout")
    client.force_login(trader)

    form = client.get("/settings/webhooks/new/").content.decode()
    assert "52.89.214.238" in form  # TradingView's addresses, pre-filled

    response = client.post(
        "/settings/webhooks/new/",
        {
            "label": "TV swing",
            "account": paper.pk,
            "strategy": strategy.pk,
            "secret": "correct horse",
            "ip_allowlist": "52.89.214.238\n34.212.75.30\n54.218.53.128\n52.32.178.7",
            "max_lag_seconds": "120",
            "rate_limit_per_minute": "30",
            "duplicate_window_seconds": "30",
        },
    )
    route = WebhookRoute.objects.get(label="TV swing")
    assert response.status_code == 302
    assert response["Location"] == f"/settings/webhooks/{route.pk}/"
    assert len(route.token) >= 43 and route.secret == "correct horse"

    html = client.get(response["Location"]).content.decode()
    assert f"http://testserver/webhooks/tv/{route.token}/" in html
    assert "&quot;action&quot;: &quot;entry&quot;" in html
    assert "{{strategy.market_position}}" in html
    assert "PASTE-YOUR-ROUTE-SECRET" in html
    assert "correct horse" not in html  # the secret is never shown again
    event = Event.objects.get(kind="webhook.route_created")
    assert route.token not in event.message + json.dumps(event.data)
    assert "correct horse" not in event.message + json.dumps(event.data)


def test_the_route_list_and_the_settings_page_never_show_tokens(client, trader, route):
    client.force_login(trader)
    listing = client.get("/settings/webhooks/").content.decode()
    settings_page = client.get("/settings/").content.decode()

    assert "TV main" in listing and route.token not in listing
    assert "/settings/webhooks/" in settings_page and route.token not in settings_page


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("ip_allowlist", "tradingview.com", "tradingview.com is not an IP address or network."),
        ("label", "Taken", "You already have a route with this label."),
    ],
)
def test_a_route_form_error_names_its_field_and_creates_nothing(
    client, trader, paper, route, field, value, error
):
    create_route(
        owner=trader, label="Taken", account=paper, strategy=route.strategy, ip_allowlist=""
    )
    client.force_login(trader)
    data = {
        "label": "New",
        "account": paper.pk,
        "strategy": route.strategy.pk,
        "ip_allowlist": "",
        "max_lag_seconds": "300",
        "rate_limit_per_minute": "60",
        "duplicate_window_seconds": "30",
    } | {field: value}
    response = client.post("/settings/webhooks/new/", data)

    assert response.status_code == 200
    assert error in response.content.decode()
    assert not WebhookRoute.objects.filter(label="New").exists()


def test_a_route_cannot_use_another_users_account_or_strategy(client, trader, someone_else):
    client.force_login(trader)
    response = client.post(
        "/settings/webhooks/new/",
        {
            "label": "Sneaky",
            "account": someone_else.account.pk,
            "strategy": someone_else.strategy.pk,
            "ip_allowlist": "",
            "max_lag_seconds": "300",
            "rate_limit_per_minute": "60",
            "duplicate_window_seconds": "30",
        },
    )
    assert response.status_code == 200
    assert not WebhookRoute.objects.filter(label="Sneaky").exists()


def test_editing_keeps_a_blank_secret_and_can_remove_it(client, trader, route):
    route.secret = "keep me"
    route.save()
    client.force_login(trader)
    data = {
        "label": "Renamed",
        "account": route.account.pk,
        "strategy": route.strategy.pk,
        "secret": "",
        "ip_allowlist": "",
        "max_lag_seconds": "60",
        "rate_limit_per_minute": "10",
        "duplicate_window_seconds": "30",
    }
    client.post(f"/settings/webhooks/{route.pk}/", data)
    route.refresh_from_db()
    assert (route.label, route.secret, route.max_lag_seconds) == ("Renamed", "keep me", 60)

    client.post(f"/settings/webhooks/{route.pk}/", data | {"clear_secret": "on"})
    route.refresh_from_db()
    assert route.secret == ""


def test_rotating_gives_a_new_url_and_the_old_one_stops_working(client, trader, route):
    old = route.token
    client.force_login(trader)
    response = client.post(f"/settings/webhooks/{route.pk}/rotate/", {"confirm": "yes"})
    route.refresh_from_db()

    assert response.status_code == 302
    assert route.token != old and route.rotated_at is not None
    client.logout()
    assert deliver(f"/webhooks/tv/{old}/", "buy BTCUSDT").status_code == 404
    assert post(route, "buy BTCUSDT").status_code == 200


def test_deactivating_and_reactivating_a_route(client, trader, route):
    client.force_login(trader)
    client.post(f"/settings/webhooks/{route.pk}/active/", {"active": "0", "confirm": "yes"})
    route.refresh_from_db()
    assert not route.is_active
    assert Event.objects.filter(kind="webhook.route_deactivated").exists()
    client.post(f"/settings/webhooks/{route.pk}/active/", {"active": "1"})
    route.refresh_from_db()
    assert route.is_active


def test_another_users_route_pages_are_404_and_untouched(client, trader, someone_else):
    client.force_login(trader)
    token = someone_else.token
    base = f"/settings/webhooks/{someone_else.pk}/"
    assert client.get(base).status_code == 404
    assert client.post(base, {"label": "Mine now"}).status_code == 404
    assert client.post(base + "rotate/", {"confirm": "yes"}).status_code == 404
    assert client.post(base + "active/", {"active": "0", "confirm": "yes"}).status_code == 404
    someone_else.refresh_from_db()
    assert (someone_else.token, someone_else.is_active) == (token, True)


# --- Admin --------------------------------------------------------------------------------------


def test_the_admin_shows_signals_raw_body_and_never_a_routes_token_or_secret(
    client, route, signals
):
    route.secret = "correct horse"
    route.save()
    client.force_login(OperatorFactory())

    pages = [
        client.get("/admin/webhooks/webhookroute/").content.decode(),
        client.get(f"/admin/webhooks/webhookroute/{route.pk}/change/").content.decode(),
        client.get(f"/admin/webhooks/signal/{signals[0].pk}/change/").content.decode(),
    ]
    for html in pages:
        assert route.token not in html and "correct horse" not in html
    assert "65000.123456789" in pages[2]  # the raw body, read-only
    assert 'name="_save"' not in pages[2]


def test_operators_can_deactivate_a_route_from_the_admin(client, route):
    client.force_login(OperatorFactory())
    client.post(
        "/admin/webhooks/webhookroute/",
        {"action": "deactivate", "_selected_action": [route.pk]},
    )
    route.refresh_from_db()
    assert not route.is_active
    assert deliver(url_of(route), "buy BTCUSDT").status_code == 404
