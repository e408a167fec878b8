"""Settings → Strategies: the DCA grid, take-profit mode and pyramid limit; errors on the leg
they concern, a warning (not a refusal) for legs below an account's minimums, isolation."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from apps.core.models import Event
from apps.strategies.services import update_strategy_grid
from tests.tickets.factories import StrategyFactory
from tests.tickets.html import form_values

pytestmark = pytest.mark.django_db


@pytest.fixture
def trader(client, paper):
    client.force_login(paper.owner)
    return client


@pytest.fixture
def strategy(paper):
    return StrategyFactory(owner=paper.owner, name="Dip buyer", sizing_value=Decimal("100"))


def grid_post(paper, rows, *, action="save", **settings):
    data = {
        "action": action,
        "tp_mode": settings.get("tp_mode", "hybrid"),
        "group_tp_pct": settings.get("group_tp_pct", "2.5"),
        "pyramid_limit": settings.get("pyramid_limit", "3"),
        "preview_account": str(paper.pk),
        "preview_symbol": "BTC/USDT",
        "legs-TOTAL_FORMS": str(len(rows) + 1),
        "legs-INITIAL_FORMS": "0",
    }
    for index, (gap, weight, tp) in enumerate([*rows, ("", "", "")]):
        data |= {f"legs-{index}-gap_pct": gap, f"legs-{index}-weight_pct": weight}
        data[f"legs-{index}-tp_pct"] = tp
    return data


def edit(strategy) -> str:
    return reverse("strategies:edit", args=[strategy.pk])


def test_saving_a_valid_grid_stores_it_with_the_tp_settings(trader, paper, strategy):
    rows = [("0", "50", "1.5"), ("2", "25", "2"), ("4", "25", "3")]
    response = trader.post(edit(strategy), grid_post(paper, rows))
    assert response.status_code == 302
    strategy.refresh_from_db()
    assert strategy.dca_legs == [
        {"gap_pct": "0", "weight_pct": "50", "tp_pct": "1.5"},
        {"gap_pct": "2", "weight_pct": "25", "tp_pct": "2"},
        {"gap_pct": "4", "weight_pct": "25", "tp_pct": "3"},
    ]
    assert (strategy.tp_mode, strategy.group_tp_pct, strategy.pyramid_limit) == (
        "hybrid",
        Decimal("2.5"),
        3,
    )
    assert Event.objects.filter(kind="strategy.saved", subject_id=str(strategy.pk)).exists()
    html = trader.get(response["Location"]).content.decode()
    assert "Strategy Dip buyer saved." in html
    assert 'value="25"' in html


def test_an_invalid_grid_shows_each_error_on_its_leg_and_saves_nothing(trader, paper, strategy):
    rows = [("0", "50", "1"), ("3", "30", "0"), ("2", "10", "1")]
    response = trader.post(edit(strategy), grid_post(paper, rows))
    assert response.status_code == 200
    html = response.content.decode()
    leg_1 = html.split('id="leg-row-1"')[1].split("</tr>")[0]
    leg_2 = html.split('id="leg-row-2"')[1].split("</tr>")[0]
    assert "The take profit must be above 0 %." in leg_1
    assert "Gaps must not decrease: 2 % comes after 3 %." in leg_2
    assert "The weights add up to 90 %; they must add up to exactly 100 %." in html
    strategy.refresh_from_db()
    assert strategy.dca_legs == []


def test_a_leg_below_the_minimum_is_warned_about_but_saved(trader, paper, strategy):
    # 100 USDT per pyramid: leg 2 gets 3 USDT, below binance's 5 USDT minimum.
    rows = [("0", "60", "1"), ("2", "37", "1"), ("4", "3", "1")]
    checked = trader.post(edit(strategy), grid_post(paper, rows, action="preview"))
    html = checked.content.decode()
    leg_2 = html.split('id="leg-row-2"')[1].split("</tr>")[0]
    assert "Below the minimum at 62,400.00 USDT" in leg_2
    assert "is below the 5 USDT minimum" in leg_2
    assert "leg-warning" not in html.split('id="leg-row-1"')[1].split("</tr>")[0]
    assert "1 leg would fall below the market minimum" in html
    strategy.refresh_from_db()
    assert strategy.dca_legs == []  # a check saves nothing

    saved = trader.post(edit(strategy), grid_post(paper, rows))
    assert saved.status_code == 302
    strategy.refresh_from_db()
    assert len(strategy.dca_legs) == 3
    html = trader.get(saved["Location"]).content.decode()
    assert "Below the minimum at 62,400.00 USDT" in html  # the saved grid still carries the warning


def test_the_page_checks_the_saved_grid_against_the_first_account_by_default(
    trader, paper, strategy
):
    strategy.dca_legs = [
        {"gap_pct": "0", "weight_pct": "97", "tp_pct": "1"},
        {"gap_pct": "1", "weight_pct": "3", "tp_pct": "1"},
    ]
    strategy.save()
    html = trader.get(edit(strategy)).content.decode()
    assert "Below the minimum at 64,350.00 USDT" in html
    assert 'value="97"' in html


def test_another_users_strategy_is_404(client, strategy):
    other = StrategyFactory().owner
    client.force_login(other)
    assert client.get(edit(strategy)).status_code == 404
    assert "Dip buyer" not in client.get(reverse("strategies:list")).content.decode()


def test_the_service_refuses_an_invalid_grid_itself(paper, strategy):
    with pytest.raises(ValidationError) as refused:
        update_strategy_grid(
            user=paper.owner,
            strategy=strategy,
            dca_legs=[{"gap_pct": "0", "weight_pct": "90", "tp_pct": "1"}],
            tp_mode="aggregate",
            group_tp_pct=Decimal(0),
            pyramid_limit=0,
        )
    assert set(refused.value.message_dict) == {"legs", "group_tp_pct", "pyramid_limit"}
    assert "add up to 90 %" in refused.value.message_dict["legs"][0]


def test_the_strategies_list_is_linked_from_settings(trader, strategy):
    assert reverse("strategies:list") in trader.get(reverse("core:settings")).content.decode()
    html = trader.get(reverse("strategies:list")).content.decode()
    assert "Dip buyer" in html and edit(strategy) in html
    assert "Fixed amount (quote): 100.00</td>" in html  # its sizing to QUOTE_PLACES


def test_the_rest_take_profit_option_is_saved_from_the_strategy_page(trader, paper, strategy):
    rows = [("0", "50", "1.5"), ("2", "50", "2")]
    page = trader.get(edit(strategy)).content.decode()
    assert 'name="rest_take_profit"' in page and "the stop then stays on the desk" in page

    trader.post(edit(strategy), grid_post(paper, rows) | {"rest_take_profit": "on"})

    strategy.refresh_from_db()
    assert strategy.rest_take_profit is True
    assert form_values(trader.get(edit(strategy)).content.decode())["rest_take_profit"] == "on"
    saved = Event.objects.filter(kind="strategy.saved").latest("pk")
    assert "resting on the exchange" in saved.message

    trader.post(edit(strategy), grid_post(paper, rows))  # unticked
    strategy.refresh_from_db()
    assert strategy.rest_take_profit is False
