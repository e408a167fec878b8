"""A ticket's price chart (its chart.json): before its entry, where the ticket would act (the
entry's level and, as if entered there, the planned stop and take profit); once entered, its
position's chart (average entry, the leg, stop, trailing stop, take profit, the fill). Another
user's chart is a 404."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.tickets.models import Trade
from apps.tickets.services import activate_ticket, evaluate_rules
from tests.accounts.factories import UserFactory
from tests.tickets.conftest import STOP_2_PCT, TAKE_3_PCT, TRAIL_1_5_PCT, ticket

pytestmark = pytest.mark.django_db

D = Decimal
ENTRY_AT_64000 = {
    "primary": "last",
    "condition": "at_or_below",
    "secondary": "fixed",
    "value": "64000",
}
EMA_ENTRY = {
    "primary": "last",
    "condition": "crosses_above",
    "secondary": "ema",
    "secondary_period": "21",
    "secondary_timeframe": "1h",
}


def activate(account, django_capture_on_commit_callbacks, **rules) -> Trade:
    with django_capture_on_commit_callbacks(execute=True):
        activation = activate_ticket(
            user=account.owner, ticket=ticket(account, **rules), trade=None, now=timezone.now()
        )
        evaluate_rules(now=timezone.now())
    return Trade.objects.get(pk=activation.trade.pk)


def chart(client, trade: Trade) -> dict:
    client.force_login(trade.owner)
    response = client.get(reverse("tickets:chart", args=[trade.pk]))
    assert response.status_code == 200
    return response.json()


def levels(data: dict) -> dict[str, Decimal]:
    return {level["label"]: D(level["price"]) for level in data["state"]["levels"]}


def test_a_waiting_ticket_shows_its_entry_and_the_exits_planned_from_there(
    client, paper, django_capture_on_commit_callbacks
):
    trade = activate(
        paper,
        django_capture_on_commit_callbacks,
        entry=ENTRY_AT_64000,
        initial_stop=STOP_2_PCT,
        take_profit=TAKE_3_PCT,
    )
    assert trade.position_or_none is None  # 65000 is not at or below 64000: still waiting

    data = chart(client, trade)

    assert (data["timeframe"], data["tick"], data["places"]) == ("15m", "0.01", 2)
    assert len(data["candles"]) > 10
    assert data["live"] == f"chart-live-trade-{trade.pk}"
    assert levels(data) == {
        "Entry": D("64000"),
        "Stop (planned)": D("62720"),
        "Take profit (planned)": D("65920"),
    }
    assert data["state"]["markers"] == []
    assert D(data["state"]["last"]) == D("65000")


def test_a_ticket_whose_rules_read_hourly_candles_shows_hourly_candles(
    client, paper, django_capture_on_commit_callbacks
):
    trade = activate(paper, django_capture_on_commit_callbacks, entry=EMA_ENTRY)

    data = chart(client, trade)

    assert (data["timeframe"], data["timeframe_seconds"]) == ("1h", 3600)
    assert all(candle["time"] % 3600 == 0 for candle in data["candles"])


def test_an_entered_ticket_shows_its_positions_levels_and_fill(
    client, paper, django_capture_on_commit_callbacks
):
    trade = activate(
        paper,
        django_capture_on_commit_callbacks,
        initial_stop=STOP_2_PCT,
        trailing_stop=TRAIL_1_5_PCT,
        take_profit=TAKE_3_PCT,
    )
    position = trade.position
    position.refresh_from_db()
    assert position.quantity > 0

    data = chart(client, trade)

    average = position.average_entry
    highest = position.highest or average
    assert data["live"] == f"chart-live-{position.pk}"  # pushed with the position's page
    assert levels(data) == {
        "Average entry": average,
        "Leg 1.1 filled": position.legs.get().fill_price,
        "Stop": average * D("0.98"),
        "Trailing stop": highest * D("0.985"),
        "Take profit": average * D("1.03"),
    }
    (fill,) = data["state"]["markers"]
    assert (fill["side"], D(fill["price"])) == ("buy", position.orders.get(side="buy").average)


def test_the_trade_page_holds_the_chart_and_another_users_chart_is_a_404(
    client, paper, django_capture_on_commit_callbacks
):
    trade = activate(paper, django_capture_on_commit_callbacks, entry=ENTRY_AT_64000)
    client.force_login(trade.owner)
    html = client.get(reverse("tickets:detail", args=[trade.pk])).content.decode()
    url = reverse("tickets:chart", args=[trade.pk])
    assert f'data-chart-url="{url}" data-live-id="chart-live-trade-{trade.pk}"' in html
    assert "where the ticket would act" in html

    client.force_login(UserFactory())
    assert client.get(url).status_code == 404
