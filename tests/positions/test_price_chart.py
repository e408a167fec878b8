"""A position's price chart: its chart.json (candles of its timeframe from the paper exchange,
the market's tick, levels and fills, prices as strings), the candles kept briefly, another
user's chart a 404, and the live push of the page's facts and chart state after a fill."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse

from apps.positions.domain.chart import chart_timeframe, price_places
from apps.positions.models import DcaLeg, Order, PositionGroup
from tests.accounts.factories import UserFactory
from tests.live import Listener
from tests.positions.grouping import Desk, grid_strategy, signal

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def desk(django_capture_on_commit_callbacks) -> Desk:
    return Desk(django_capture_on_commit_callbacks)


@pytest.fixture
def group(paper, desk) -> PositionGroup:
    """A 15-minute signal's position: leg 0 bought at 65000, legs 1 and 2 resting (2 % and
    4 % lower), the group's take profit 2 % over the average."""
    group_id = desk.act(paper, grid_strategy(paper.owner), signal(timeframe="15")).group_id
    return PositionGroup.objects.get(pk=group_id)


def chart(client, group: PositionGroup) -> dict:
    client.force_login(group.owner)
    response = client.get(reverse("positions:chart", args=[group.pk]))
    assert response.status_code == 200
    return response.json()


def levels(data: dict) -> dict[str, Decimal]:
    return {level["label"]: D(level["price"]) for level in data["state"]["levels"]}


def test_the_chart_has_candles_of_the_positions_timeframe_on_the_markets_tick(client, group):
    data = chart(client, group)

    assert (data["symbol"], data["timeframe"], data["timeframe_seconds"]) == (
        "BTC/USDT",
        "15m",
        900,
    )
    assert (data["tick"], data["places"]) == ("0.01", 2)
    assert data["problem"] == ""
    candles = data["candles"]
    assert len(candles) > 10
    times = [candle["time"] for candle in candles]
    assert times == sorted(times) and all(time % 900 == 0 for time in times)
    newest = candles[-1]
    assert all(isinstance(newest[field], str) for field in ("open", "high", "low", "close"))
    assert D(newest["close"]) == D("65000.00")  # the candle forming now closes at the price
    assert data["live"] == f"chart-live-{group.pk}"


def test_the_levels_are_the_entry_every_leg_and_the_group_take_profit(client, group):
    legs = list(DcaLeg.objects.filter(group=group).order_by("index"))

    drawn = levels(chart(client, group))

    average = group.average_entry
    assert drawn == {
        "Average entry": average,
        "Leg 1.1 filled": legs[0].fill_price,
        "Leg 1.2 resting": legs[1].price,
        "Leg 1.3 resting": legs[2].price,
        "Group take profit": average * D("1.02"),
    }
    assert D(drawn["Leg 1.2 resting"]) == D("63700.00")
    assert D(drawn["Leg 1.3 resting"]) == D("62400.00")


def test_a_fill_moves_the_entry_fills_the_leg_and_adds_a_marker(client, group, desk):
    desk.price("63700.00")
    desk.sync()
    group.refresh_from_db()

    data = chart(client, group)

    drawn = levels(data)
    assert drawn["Average entry"] == group.average_entry
    assert D(drawn["Leg 1.2 filled"]) == D("63700.00")
    assert "Leg 1.2 resting" not in drawn
    filled = list(group.orders.filter(filled__gt=0).order_by("updated_at", "pk"))
    markers = data["state"]["markers"]
    assert [(m["side"], D(m["price"])) for m in markers] == [
        ("buy", order.average) for order in filled
    ]
    assert len(markers) == 2
    assert all(marker["time"] % 900 == 0 for marker in markers)  # on their candles
    assert markers[1]["label"] == f"Buy {filled[1].filled.normalize():f}"


def test_a_closed_position_shows_its_fills_but_no_resting_legs_or_targets(client, group):
    PositionGroup.objects.filter(pk=group.pk).update(status=PositionGroup.Status.CLOSED)
    group.refresh_from_db()

    drawn = levels(chart(client, group))

    assert set(drawn) == {"Average entry", "Leg 1.1 filled"}


def test_the_candles_are_kept_for_chart_candles_seconds(client, group, desk, settings):
    settings.CHART_CANDLES_SECONDS = 60
    cache.clear()
    before = chart(client, group)["candles"][-1]["close"]

    desk.price("64100.00")
    kept = chart(client, group)["candles"][-1]["close"]
    cache.clear()  # what CHART_CANDLES_SECONDS later does
    fresh = chart(client, group)["candles"][-1]["close"]

    assert D(before) == D(kept) == D("65000.00")
    assert D(fresh) == D("64100.00")


def test_with_no_time_to_keep_them_every_chart_asks_the_exchange(client, group, desk, settings):
    settings.CHART_CANDLES_SECONDS = 0  # Django's cache keeps nothing for 0 seconds
    chart(client, group)
    desk.price("64100.00")

    assert D(chart(client, group)["candles"][-1]["close"]) == D("64100.00")


def test_another_users_chart_is_a_404_and_a_visitor_must_log_in(client, group):
    client.force_login(UserFactory())
    assert client.get(reverse("positions:chart", args=[group.pk])).status_code == 404
    assert client.get(reverse("positions:detail", args=[group.pk])).status_code == 404
    client.logout()
    response = client.get(reverse("positions:chart", args=[group.pk]))
    assert response.status_code == 302 and "/login" in response["Location"]


def test_the_page_holds_the_chart_its_live_element_and_loads_the_script_deferred(client, group):
    client.force_login(group.owner)
    html = client.get(reverse("positions:detail", args=[group.pk])).content.decode()

    url = reverse("positions:chart", args=[group.pk])
    assert f'data-chart-url="{url}" data-live-id="chart-live-{group.pk}"' in html
    assert f'<div id="chart-live-{group.pk}" class="chart-live" hidden></div>' in html
    assert 'lightweight-charts.standalone.production.js" defer></script>' in html
    assert 'js/price-chart.js" defer></script>' in html
    assert "TradingView Lightweight Charts" in html  # the credit, the logo being off
    assert f'id="group-facts-{group.pk}"' in html
    assert "15m candles" in html


def test_a_page_without_a_chart_loads_no_chart_script(client, group):
    client.force_login(group.owner)
    html = client.get(reverse("positions:list")).content.decode()
    assert "price-chart.js" not in html and "lightweight-charts" not in html


def test_a_fill_pushes_the_pages_facts_and_chart_state_after_commit(paper, group, desk):
    live = Listener(paper.owner_id)

    desk.price("63700.00")
    desk.sync()
    group.refresh_from_db()

    pages = live.pushed(f'id="chart-live-{group.pk}"')
    assert pages, "no push of the position's page"
    last = pages[-1]
    assert (
        f'<dl class="facts group-facts two-up" id="group-facts-{group.pk}" hx-swap-oob="true">'
        in last
    )
    assert "2 of at most" not in last  # one pyramid: "1 of at most"
    assert "1 of at most" in last
    state_attribute = last.split('data-state="')[1].split('"')[0]
    state = json.loads(state_attribute.replace("&quot;", '"'))
    assert {"label": "Leg 1.2 filled", "kind": "leg", "price": "63700.00"} in [
        {**level, "price": f"{D(level['price']):.2f}"} for level in state["levels"]
    ]
    assert len(state["markers"]) == 2
    assert (state["last"] and D(state["last"])) == group.last_price


def test_the_push_for_a_group_does_not_carry_another_groups_facts(paper, group, desk):
    other = desk.act(paper, grid_strategy(paper.owner), signal(timeframe="60")).group_id
    from django.template.loader import render_to_string

    from apps.positions.selectors import groups_for_page_push
    from apps.positions.services.live import POSITION_PAGE_LIVE

    pushed = render_to_string(
        POSITION_PAGE_LIVE, {"pages": [(g, "{}", {}) for g in groups_for_page_push(ids=[other])]}
    )
    assert f'id="group-facts-{other}"' in pushed
    assert f'id="group-facts-{group.pk}"' not in pushed
    assert Order.objects.filter(group_id=other).exists()


@pytest.mark.parametrize(
    ("stored", "timeframe"),
    [
        ("15", "15m"),
        ("60", "1h"),
        ("240", "4h"),
        ("90", "90m"),
        ("1D", "1d"),
        ("1W", "1w"),
        ("4h", "4h"),
        ("", "15m"),
        ("30S", "15m"),
        ("1M", "15m"),
        ("0", "15m"),
    ],
)
def test_a_stored_timeframe_becomes_the_charts(stored, timeframe):
    assert chart_timeframe(stored) == timeframe


@pytest.mark.parametrize(
    ("tick", "places"), [("0.01", 2), ("0.5", 1), ("10", 0), ("0.00000100", 6), (None, 8)]
)
def test_prices_are_drawn_to_the_ticks_places(tick, places):
    assert price_places(None if tick is None else D(tick)) == places


def test_a_hybrid_position_draws_each_filled_legs_take_profit_and_the_groups(paper, desk, client):
    strategy = grid_strategy(paper.owner, tp_mode="hybrid")
    group = PositionGroup.objects.get(pk=desk.act(paper, strategy, signal()).group_id)
    leg_0 = DcaLeg.objects.get(group=group, index=0)

    drawn = levels(chart(client, group))

    assert drawn["Leg 1.1 take profit"] == leg_0.fill_price * D("1.015")
    assert drawn["Group take profit"] == group.average_entry * D("1.02")
    assert "Leg 1.2 take profit" not in drawn  # a resting leg holds nothing to take profit on
