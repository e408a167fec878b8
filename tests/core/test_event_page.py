"""An event's page: its subject named and linked, its inputs readable, isolation kept."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from apps.core.events import record_event
from tests.accounts.factories import UserFactory
from tests.exchanges.factories import ExchangeAccountFactory
from tests.tickets.factories import TradeFactory, ticket_position

pytestmark = pytest.mark.django_db


def event_page(client, user, event) -> str:
    client.force_login(user)
    response = client.get(reverse("core:event-detail", args=[event.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_subject_is_a_link_to_its_page_with_its_name(client):
    trade = TradeFactory(symbol="BTC/USDT")
    position = ticket_position(trade, quantity="0.5", price="65000")
    event = record_event(
        kind="group.sold",
        message="Sold.",
        user=trade.owner,
        account=trade.account,
        subject=position,
    )
    html = event_page(client, trade.owner, event)
    url = reverse("positions:detail", args=[position.pk])
    assert f'<a href="{url}">{position}</a> <span class="muted">(position)</span>' in html
    assert "positions.positiongroup #" not in html
    assert f'href="/logs/?object=positions.positiongroup%3A{position.pk}"' in html
    assert "all events of this position" in html


def test_an_account_subject_and_a_login_subject_read_as_their_names(client):
    trader = UserFactory(username="dana")
    account = ExchangeAccountFactory(owner=trader, label="Main paper")
    about_account = record_event(kind="account.updated", message="x", user=trader, subject=account)
    about_login = record_event(kind="account.created", message="x", user=trader, subject=trader)
    html = event_page(client, trader, about_account)
    assert f'<a href="{reverse("exchanges:account-detail", args=[account.pk])}">' in html
    assert "Main paper (paper)" in html
    assert 'dana <span class="muted">(login)</span>' in event_page(client, trader, about_login)


def test_the_inputs_are_a_definition_list_with_words_and_exact_numbers(client):
    trader = UserFactory()
    event = record_event(
        kind="risk.action",
        message="Offset a loser.",
        user=trader,
        data={
            "pnl": Decimal("-12.50000"),
            "avg_entry": "156.043946684005",
            "stop_loss_pct": "1.5",
            "pnl_pct": "1.786732021195600316427247046",
            "winners": [{"group": 7, "close_qty": "0.010"}, {"group": 9, "close_qty": "0.5"}],
            "limits": {"max_open_groups": 3, "paused": False},
            "orders": [1, 2],
        },
    )
    html = event_page(client, trader, event)
    # The facts a trader reads first lead, then the rest by name; Decimals as written, less
    # their trailing zeros; a percentage to 2 places, exact on hover.
    assert '<dl class="facts inputs"><dt>PnL</dt><dd>-12.5</dd>' in html
    assert "<dt>Average entry</dt><dd>156.043946684005</dd><dt>Limits</dt>" in html
    assert "<dt>Stop loss %</dt><dd>1.5</dd>" in html
    assert f'<dt>Position</dt><dd><a href="{reverse("positions:detail", args=[7])}">#7</a>' in html
    assert "<dt>Close quantity</dt><dd>0.01</dd>" in html
    assert '<dd><span title="1.786732021195600316427247046">1.79</span></dd>' in html
    assert "<dt>Max open groups</dt><dd>3</dd><dt>Paused</dt><dd>No</dd>" in html
    assert "<dt>Orders</dt><dd>1, 2</dd>" in html
    assert "{&#x27;" not in html  # no Python dict dumped
    # The kind in words as the title, its code beside the facts.
    assert "<h1>Risk action</h1>" in html and "<dd><code>risk.action</code></dd>" in html


def test_an_event_without_inputs_says_so(client):
    trader = UserFactory()
    event = record_event(kind="markets.loaded", message="Loaded.", user=trader)
    assert "No inputs recorded." in event_page(client, trader, event)


def test_input_text_is_escaped_and_only_the_desks_own_links_are_links(client):
    trader = UserFactory()
    event = record_event(
        kind="signal.rejected",
        message="x",
        user=trader,
        data={"comment": "<img src=x onerror=alert(1)>", "link": "https://evil.example/"},
    )
    html = event_page(client, trader, event)
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert 'href="https://evil.example/"' not in html


def test_another_users_event_page_is_a_404(client):
    owner, other = UserFactory(), UserFactory()
    event = record_event(kind="trade.activated", message="Mine.", user=owner)
    client.force_login(other)
    assert client.get(reverse("core:event-detail", args=[event.pk])).status_code == 404


def test_a_subject_of_another_user_is_never_named(client):
    owner, other = UserFactory(), UserFactory()
    theirs = ExchangeAccountFactory(owner=other, label="Secret label")
    # An event of the owner's that (wrongly) points at another user's object.
    event = record_event(kind="account.updated", message="x", user=owner, subject=theirs)
    html = event_page(client, owner, event)
    assert "Secret label" not in html
    assert f"#{theirs.pk}" in html
