"""The strategy page's live preview: an htmx post of the grid being edited answers only the
#grid-preview partial with the legs a first pyramid would place, and never saves anything."""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from html import unescape

import pytest

from apps.core.models import Event
from apps.strategies.models import Strategy
from tests.strategies.test_strategy_grid import edit, grid_post
from tests.tickets.factories import StrategyFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
TICK, STEP = Decimal("0.01"), Decimal("0.00001")  # binance BTC/USDT in the paper markets


@pytest.fixture
def trader(client, paper):
    client.force_login(paper.owner)
    return client


@pytest.fixture
def strategy(paper):
    return StrategyFactory(owner=paper.owner, name="Dip buyer", sizing_value=Decimal("100"))


def saved_state(strategy) -> tuple:
    row = Strategy.objects.get(pk=strategy.pk)
    events = Event.objects.filter(subject_id=str(strategy.pk)).count()
    return row.dca_legs, row.tp_mode, row.group_tp_pct, row.pyramid_limit, row.updated_at, events


def cells(html: str, row_id: str) -> list[str]:
    row = html.split(f'id="{row_id}"')[1].split("</tr>")[0]
    return [
        unescape(re.sub(r"<[^>]+>", "", cell)).strip()
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)
    ]


def expected_leg(price: Decimal, gap: str, weight: str, tp: str) -> list[str]:
    """The leg computed here by hand: price half-up to the tick, amount down to the step."""
    leg_price = (price * (1 - Decimal(gap) / 100)).quantize(TICK, ROUND_HALF_UP)
    amount = (Decimal(100) * Decimal(weight) / 100 / leg_price).quantize(STEP, ROUND_DOWN)
    cost = (amount * leg_price).quantize(Decimal("0.01"), ROUND_HALF_UP)
    tp_price = (leg_price * (1 + Decimal(tp) / 100)).quantize(TICK, ROUND_HALF_UP)
    # As the page writes them: the tick's and the step's places, separators, the base unit.
    return [f"{leg_price:,}", f"{amount:,} BTC", f"{cost:,}", f"{tp_price:,}"]


def test_the_preview_partial_lays_the_posted_legs_on_the_markets_precision(trader, paper, strategy):
    rows = [("0", "40", "1.5"), ("2.5", "57", "2"), ("10", "3", "1")]
    before = saved_state(strategy)
    response = trader.post(edit(strategy), grid_post(paper, rows, action=""), **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="grid-preview"')  # the partial, not the page
    assert 'id="grid-legs"' not in html
    assert "At the ask of 65,000.00 USDT with the strategy's fixed 100.00 USDT per pyramid" in html
    for index, (gap, weight, tp) in enumerate(rows):
        assert cells(html, f"preview-leg-{index}")[1:5] == expected_leg(
            Decimal(65000), gap, weight, tp
        )
    assert cells(html, "preview-leg-0")[1:5] == ["65,000.00", "0.00061 BTC", "39.65", "65,975.00"]
    # 3 USDT at 58500 is 0.00005 BTC, 2.93 USDT: below the 5 USDT minimum notional.
    assert "not placed" in cells(html, "preview-leg-2")[-1]
    assert "is below the 5 USDT minimum" in cells(html, "preview-leg-2")[-1]
    assert cells(html, "preview-leg-1")[-1] == "placed"
    assert "1 leg would fall below the market minimum" in html
    assert saved_state(strategy) == before


def test_a_typed_price_lays_the_grid_there(trader, paper, strategy):
    rows = [("0", "40", "1.5"), ("2.5", "60", "2")]
    data = grid_post(paper, rows, action="") | {"preview_price": "60000.004"}
    html = trader.post(edit(strategy), data, **HTMX).content.decode()
    assert "At your price of 60,000.00 USDT" in html  # written on the tick
    assert cells(html, "preview-leg-0")[1:5] == ["60,000.00", "0.00066 BTC", "39.60", "60,900.00"]
    assert cells(html, "preview-leg-1")[1:5] == expected_leg(Decimal("60000.004"), "2.5", "60", "2")
    assert re.search(r'id="preview-total">\s*99\.27<', html)  # 39.60 + 0.00102 × 58500


def test_a_leg_after_a_blank_row_keeps_its_row_number(trader, paper, strategy):
    data = grid_post(paper, [("0", "50", "1"), ("", "", ""), ("3", "50", "1")], action="")
    html = trader.post(edit(strategy), data, **HTMX).content.decode()
    assert cells(html, "preview-leg-2")[1] == "63,050.00"
    assert 'id="preview-leg-1"' not in html


def test_weights_that_do_not_add_up_show_the_message_in_the_preview(trader, paper, strategy):
    before = saved_state(strategy)
    data = grid_post(paper, [("0", "50", "1"), ("2", "30", "0")], action="")
    response = trader.post(edit(strategy), data, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    errors = html.split('id="preview-errors"')[1].split("</div>")[0]
    assert "The weights add up to 80 %; they must add up to exactly 100 %." in errors
    assert "Leg 2: The take profit must be above 0 %." in errors  # the second row, from 1
    assert 'id="preview-legs"' not in html
    assert saved_state(strategy) == before


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("preview_price", "abc", "at price:"),
        ("preview_price", "0", "A price above 0"),
        ("legs-0-gap_pct", "1e3", "Leg 1"),  # the first row: legs count from 1
        ("legs-TOTAL_FORMS", "-1", "The grid's row count is not valid"),
        ("group_tp_pct", "", "Group take profit %: This field is required."),
    ],
)
def test_bad_input_gives_a_message_and_changes_nothing(
    trader, paper, strategy, field, value, message
):
    before = saved_state(strategy)
    data = grid_post(paper, [("0", "100", "1")], action="") | {field: value}
    response = trader.post(edit(strategy), data, **HTMX)
    assert response.status_code == 200
    assert message in unescape(response.content.decode().split('id="preview-errors"')[1])
    assert saved_state(strategy) == before


def test_an_htmx_post_never_saves_even_when_it_says_save(trader, paper, strategy):
    before = saved_state(strategy)
    response = trader.post(edit(strategy), grid_post(paper, [("0", "100", "1")]), **HTMX)
    assert response.status_code == 200
    assert 'id="preview-leg-0"' in response.content.decode()
    assert saved_state(strategy) == before


def test_an_unknown_symbol_says_so_in_the_preview(trader, paper, strategy):
    data = grid_post(paper, [("0", "100", "1")], action="") | {"preview_symbol": "NOPE/USDT"}
    html = trader.post(edit(strategy), data, **HTMX).content.decode()
    assert "has no market NOPE/USDT" in html.split('id="preview-note"')[1]


def test_another_users_strategy_is_404_for_the_preview(client, paper, strategy):
    before = saved_state(strategy)
    client.force_login(StrategyFactory().owner)
    data = grid_post(paper, [("0", "100", "1")], action="")
    assert client.post(edit(strategy), data, **HTMX).status_code == 404
    assert client.post(edit(strategy), data | {"action": "save"}).status_code == 404
    assert saved_state(strategy) == before


def test_the_full_page_carries_the_editor_and_its_preview(trader, paper, strategy):
    strategy.dca_legs = [{"gap_pct": "0", "weight_pct": "100", "tp_pct": "1"}]
    strategy.tp_mode = "per_leg"
    strategy.save()
    html = trader.get(edit(strategy)).content.decode()
    assert 'id="grid-editor" hx-post="' in html and 'id="grid-preview"' in html
    assert cells(html, "preview-leg-0")[1:5] == expected_leg(Decimal(65000), "0", "100", "1")
    assert '<template id="leg-row-template">' in html and "legs-__prefix__-gap_pct" in html
    assert "js/grid-editor.js" in html and " style=" not in html


def _amount_and_price(gap: str, weight: str) -> tuple[Decimal, Decimal]:
    price = (Decimal(65000) * (1 - Decimal(gap) / 100)).quantize(TICK, ROUND_HALF_UP)
    return (Decimal(100) * Decimal(weight) / 100 / price).quantize(STEP, ROUND_DOWN), price


def test_an_aggregate_preview_shows_the_groups_take_profit_not_each_legs(trader, paper, strategy):
    """Aggregate sells the whole position at its average entry + the group TP % (the
    take-profit loop's target): each row shows that price once it and the legs above have
    filled, computed here by hand; the legs' own TP % (+1.5 %, +2 %) are not shown."""
    rows = [("0", "40", "1.5"), ("2.5", "60", "2")]
    data = grid_post(paper, rows, action="", tp_mode="aggregate", group_tp_pct="2.5")
    html = trader.post(edit(strategy), data, **HTMX).content.decode()
    header = html.split('id="preview-legs"')[1].split("</thead>")[0]
    assert "Group take profit (USDT)" in header and "Leg take profit" not in header
    filled = []
    for index, (gap, weight, _tp) in enumerate(rows):
        filled.append(_amount_and_price(gap, weight))
        quantity = sum(amount for amount, _ in filled)
        average = sum(amount * price for amount, price in filled) / quantity
        target = (average * Decimal("1.025")).quantize(TICK, ROUND_HALF_UP)
        row = cells(html, f"preview-leg-{index}")
        assert row[4] == f"{target:,}"
        assert len(row) == 6  # leg, price, amount, cost, group take profit, check
    own = (Decimal(65000) * Decimal("1.015")).quantize(TICK, ROUND_HALF_UP)
    assert f"{own:,}" not in html.split('id="preview-legs"')[1]
    assert (
        "The legs&#x27; own TP % are not used" in html or "The legs' own TP % are not used" in html
    )


def test_a_hybrid_preview_shows_both_take_profits_and_per_leg_only_the_legs(
    trader, paper, strategy
):
    rows = [("0", "40", "1.5"), ("2.5", "60", "2")]
    hybrid = trader.post(edit(strategy), grid_post(paper, rows, action=""), **HTMX)
    header = hybrid.content.decode().split('id="preview-legs"')[1].split("</thead>")[0]
    assert "Leg take profit (USDT)" in header and "Group take profit (USDT)" in header
    data = grid_post(paper, rows, action="", tp_mode="per_leg")
    per_leg = trader.post(edit(strategy), data, **HTMX).content.decode()
    header = per_leg.split('id="preview-legs"')[1].split("</thead>")[0]
    assert "Leg take profit (USDT)" in header and "Group take profit" not in header


def test_the_preview_says_the_sizing_once(trader, paper, strategy):
    """Not `100.00 USDT per pyramid (fixed amount (quote) 100)`: one phrase."""
    html = trader.post(edit(strategy), grid_post(paper, [("0", "100", "1")], action=""), **HTMX)
    summary = html.content.decode().split('id="preview-summary"')[1].split("</p>")[0]
    assert "with the strategy's fixed 100.00 USDT per pyramid:" in summary
    assert "fixed amount (quote)" not in summary


def test_an_empty_grid_says_what_it_does_and_what_to_do(trader, strategy):
    html = trader.get(edit(strategy)).content.decode()
    empty = html.split('id="grid-empty"')[1].split("</p>")[0]
    assert "No legs: each pyramid buys at market in one leg" in empty
    assert "Add leg" in empty
