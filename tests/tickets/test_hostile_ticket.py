"""A ticket value no market could quote is refused at Save with a message; the Desk stays up."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.tickets.models import Trade
from tests.tickets.posts import STOP_BELOW_ENTRY, TAKE_PNL, ticket_post

pytestmark = pytest.mark.django_db

HUGE = "1e999999999"


@pytest.fixture
def trader_client(client, paper):
    client.force_login(paper.owner)
    return client


@pytest.mark.parametrize(
    ("kind", "row"),
    [
        ("entry", {"primary": "last", "condition": "at_or_below", "secondary": "fixed"}),
        ("initial_stop", STOP_BELOW_ENTRY),
        ("take_profit", TAKE_PNL),
    ],
)
@pytest.mark.parametrize("value", [HUGE, "1e400", "NaN", "1_000", "٣"])
def test_a_hostile_rule_value_is_refused_and_nothing_is_saved(
    trader_client, paper, kind, row, value
):
    data = ticket_post(paper, **{kind: {**row, "value": value}})

    response = trader_client.post(reverse("tickets:ticket"), data, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert len(response.content) < 200_000
    assert "is not a number" in response.content.decode() or "must be" in response.content.decode()
    assert not Trade.objects.exists()
    assert trader_client.get("/").status_code == 200
