"""A DCA leg no grid could use is refused with a message, at once and in a small page."""

from __future__ import annotations

import pytest

from tests.strategies.test_strategy_grid import edit, grid_post
from tests.tickets.factories import StrategyFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("field", ["gap", "weight", "tp"])
@pytest.mark.parametrize("value", ["1e999999999", "1e400", "Infinity", "9" * 4400])
def test_a_hostile_leg_value_is_refused_and_the_grid_unchanged(client, paper, field, value):
    client.force_login(paper.owner)
    strategy = StrategyFactory(owner=paper.owner, name="Dip buyer")
    before = list(strategy.dca_legs)
    leg = {"gap": "0", "weight": "100", "tp": "1.5"} | {field: value}

    response = client.post(
        edit(strategy), grid_post(paper, [(leg["gap"], leg["weight"], leg["tp"])])
    )

    assert response.status_code == 200
    assert len(response.content) < 200_000  # the number is never written out in full
    html = response.content.decode()
    assert "must be a number" in html or "at most 40 characters" in html
    strategy.refresh_from_db()
    assert strategy.dca_legs == before
    assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"legs-0-gap_pct": "1" * 41}, "Gap %: Ensure this value has at most 40 characters"),
        ({"legs-TOTAL_FORMS": "-1"}, "row count is not valid"),
        ({"preview_account": "999999"}, "Select a valid choice"),
        ({"preview_account": "abc"}, "Select a valid choice"),
        ({"preview_symbol": "B" * 41}, "Ensure this value has at most 40 characters"),
        ({"preview_symbol": "BTC\x00"}, "Null characters are not allowed"),
    ],
)
def test_a_refused_post_says_why_and_saves_nothing(client, paper, change, message):
    client.force_login(paper.owner)
    strategy = StrategyFactory(owner=paper.owner, name="Dip buyer")
    before = list(strategy.dca_legs)
    data = grid_post(paper, [("0", "100", "1.5")]) | change

    response = client.post(edit(strategy), data)

    assert response.status_code == 200
    assert message in response.content.decode()
    strategy.refresh_from_db()
    assert strategy.dca_legs == before


def test_another_traders_account_is_no_choice_for_the_check(client, paper):
    from tests.exchanges.factories import ExchangeAccountFactory

    client.force_login(paper.owner)
    strategy = StrategyFactory(owner=paper.owner, name="Dip buyer")
    foreign = ExchangeAccountFactory(kind="paper")
    data = grid_post(paper, [("0", "100", "1.5")]) | {"preview_account": str(foreign.pk)}

    response = client.post(edit(strategy), data)

    assert "Select a valid choice" in response.content.decode()
