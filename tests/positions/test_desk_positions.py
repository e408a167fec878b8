"""The Desk's one list of open positions: every position still held, sorted as the trader
chose (and kept so when it is pushed), a totals row per quote currency, and Close at market in
the position's own row, which asks first."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from apps.positions.models import PositionGroup
from apps.positions.selectors import desk_positions
from apps.positions.services.live import desk_sort_of
from tests.positions.grouping import Desk, grid_strategy, signal

pytestmark = pytest.mark.django_db

D = Decimal
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def desk(django_capture_on_commit_callbacks) -> Desk:
    return Desk(django_capture_on_commit_callbacks)


@pytest.fixture
def two(paper, desk) -> tuple[PositionGroup, PositionGroup]:
    """Two signal positions on BTC/USDT: 15 bought at 65000 and 60 at 64000; then 64500."""
    strategy = grid_strategy(paper.owner, tp_mode="aggregate")
    first = desk.act(paper, strategy, signal(timeframe="15")).group_id
    desk.price("64000.00")
    second = desk.act(paper, strategy, signal(timeframe="60")).group_id
    desk.price("64500.00")
    desk.take_profit()  # the loop sees 64500
    return PositionGroup.objects.get(pk=first), PositionGroup.objects.get(pk=second)


@pytest.fixture
def trader(client, paper):
    client.force_login(paper.owner)
    return client


def test_the_list_totals_value_and_pnl_per_quote_currency(paper, two):
    first, second = two
    listed = desk_positions(owner_id=paper.owner_id)
    assert [group.pk for group in listed.rows] == [second.pk, first.pk]  # newest first
    (total,) = listed.totals
    # Worked out from the stored numbers, not from the selector's own helpers.
    value = (first.quantity + second.quantity) * D("64500")
    unrealised = first.quantity * (D("64500") - first.average_entry) + second.quantity * (
        D("64500") - second.average_entry
    )
    assert (total.quote, total.count, total.value) == ("USDT", 2, value)
    assert total.unrealised == unrealised
    assert first.unrealised_pnl < 0 < second.unrealised_pnl  # bought at 65000 and at 64000


def test_sorting_by_pnl_orders_the_rows_both_ways(paper, two):
    first, second = two
    assert [g.pk for g in desk_positions(owner_id=paper.owner_id, sort="pnl").rows] == [
        first.pk,
        second.pk,
    ]
    assert [g.pk for g in desk_positions(owner_id=paper.owner_id, sort="-pnl").rows] == [
        second.pk,
        first.pk,
    ]


def test_a_sort_click_answers_the_list_alone_and_is_remembered_for_the_pushes(trader, paper, two):
    first, second = two
    response = trader.get(
        reverse("tickets:desk"), {"sort": "pnl"}, HTTP_HX_TARGET="desk-positions", **HTMX
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="desk-positions"')
    assert html.index(f'id="desk-group-{first.pk}"') < html.index(f'id="desk-group-{second.pk}"')
    assert 'aria-sort="ascending"' in html
    assert desk_sort_of(paper.owner_id) == "pnl"  # what a pushed list is sorted by
    # The whole Desk, loaded later, keeps the order the trader chose.
    page = trader.get(reverse("tickets:desk")).content.decode()
    assert page.index(f'id="desk-group-{first.pk}"') < page.index(f'id="desk-group-{second.pk}"')


def test_an_unknown_sort_is_ignored(trader, paper, two):
    first, second = two
    html = trader.get(reverse("tickets:desk"), {"sort": "password"}).content.decode()
    assert html.index(f'id="desk-group-{second.pk}"') < html.index(f'id="desk-group-{first.pk}"')
    assert desk_sort_of(paper.owner_id) == "-opened"


def test_close_from_the_desk_asks_above_the_list_then_sells(
    trader, paper, two, django_capture_on_commit_callbacks
):
    first, _ = two
    url = reverse("positions:close", args=[first.pk])
    asked = trader.post(url, {"from": "desk"}, **HTMX).content.decode()
    assert "Confirm:" in asked and f"position #{first.pk} at market now?" in asked
    # The question and the answer land in the panel above the list: the list is pushed whole
    # on every tick, which would wipe a question inside it.
    assert 'hx-target="#desk-close-panel"' in asked
    assert '<div id="desk-close-panel"' in asked
    assert 'name="from" value="desk"' in asked
    first.refresh_from_db()
    assert first.status == PositionGroup.Status.OPEN  # asking sold nothing

    with django_capture_on_commit_callbacks(execute=True):
        done = trader.post(url, {"from": "desk", "confirm": "yes"}, **HTMX).content.decode()
    assert f'id="desk-close-outcome-{first.pk}"' in done
    first.refresh_from_db()
    assert first.status in (PositionGroup.Status.CLOSING, PositionGroup.Status.CLOSED)
    assert first.exit_reason == "close"


def test_another_traders_position_cannot_be_closed_from_the_desk(client, two):
    from tests.accounts.factories import UserFactory

    client.force_login(UserFactory())
    url = reverse("positions:close", args=[two[0].pk])
    assert client.post(url, {"from": "desk", "confirm": "yes"}, **HTMX).status_code == 404


def test_the_desks_list_names_a_signals_timeframe_as_traders_write_it(trader, two):
    """TradingView's "60" reads 1h on the Desk, not `signal · 60`."""
    html = trader.get(reverse("tickets:desk")).content.decode()
    assert "signal · 15m" in html and "signal · 1h" in html
    assert "signal · 60" not in html
