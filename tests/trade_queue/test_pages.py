"""The Queue & Pool page: slots per account, the queue in rank order, Promote and Remove, the
pool's settings with validation, the CSV export, isolation, and the admin's actions."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from apps.core.models import Event
from apps.positions.models import PositionGroup
from apps.trade_queue.models import PoolSettings
from tests.accounts.factories import OperatorFactory, UserFactory
from tests.positions.grouping import signal
from tests.trade_queue.conftest import open_symbols, row

pytestmark = pytest.mark.django_db

PAGE = "/queue/"


@pytest.fixture
def queued(pool, desk, strategy):
    """BTC open (1 of 1), SOL queued at a discount (rank 1), ETH without a price (rank 2)."""
    desk.act(pool, strategy, signal(symbol="BTC/USDT"))
    desk.act(pool, strategy, signal(symbol="ETH/USDT"))
    desk.act(pool, strategy, signal(symbol="SOL/USDT", price="153.5"))
    return pool


def test_the_page_shows_each_accounts_slots_and_its_queue_in_rank_order(client, queued):
    client.force_login(queued.owner)
    html = client.get(PAGE).content.decode()

    assert '<a href="/queue/" aria-current="page">Queue</a>' in html
    assert f'id="pool-{queued.pk}"' in html
    assert f'id="pool-{queued.pk}-slots">1 / 1</strong>' in html
    sol, eth = row(queued, "SOL/USDT"), row(queued, "ETH/USDT")
    assert html.index(f'id="{sol.dom_id}"') < html.index(f'id="{eth.dom_id}"')
    sol_row = html[html.index(f'id="{sol.dom_id}"') :].split("</tr>")[0]
    assert ">1<" in sol_row.replace(" ", "")  # rank 1
    # The signal's price on SOL/USDT's 0.01 tick, and the market 2.28 % under it, said in
    # words and green (a discount for a long), never as a negative loss.
    assert "153.50 USDT" in sol_row and "150.00 USDT" in sol_row
    assert '<td class="num pnl gain">2.28 % below</td>' in sol_row  # (153.5 - 150) / 153.5
    assert "Current loss" not in html and "Market vs signal" in html
    assert 'id="queue-csv"' in html
    assert f'id="id_pool{queued.pk}_max_open_groups"' in html


def test_a_user_without_accounts_sees_how_to_add_one(client):
    client.force_login(UserFactory())
    html = client.get(PAGE).content.decode()
    assert "No exchange account yet" in html


def test_promote_over_htmx_answers_with_the_pool_and_what_happened(client, queued, desk):
    client.force_login(queued.owner)
    eth = row(queued, "ETH/USDT")

    response = desk.run(
        client.post, path=reverse("trade_queue:promote", args=[eth.pk]), HTTP_HX_REQUEST="true"
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<div id="pool-{queued.pk}"')
    assert "ETH/USDT 15m long takes the next free slot ahead of priority" in html
    assert html.index(f'id="{eth.dom_id}"') < html.index(f'id="{row(queued, "SOL/USDT").dom_id}"')
    assert open_symbols(queued) == ["BTC/USDT"]


def test_remove_asks_first_and_removes_only_when_confirmed_without_htmx(client, queued, desk):
    client.force_login(queued.owner)
    eth = row(queued, "ETH/USDT")
    url = reverse("trade_queue:remove", args=[eth.pk])

    asked = desk.run(client.post, path=url)

    assert asked.status_code == 200
    box = asked.content.decode().split(f'id="remove-confirm-queued-{eth.pk}"')[1]
    box = box.split("</form>")[0]
    assert "Remove ETH/USDT 15m long (no signal) from the queue?" in box
    assert "Confirm:</strong>" in box and "Nothing was removed" not in box  # a question
    assert 'name="confirm" value="yes"' in box
    assert row(queued, "ETH/USDT").status == "queued"

    response = desk.run(client.post, path=url, data={"confirm": "yes"})

    assert response.status_code == 302
    assert row(queued, "ETH/USDT").status == "removed"
    again = client.post(url, {"confirm": "yes"}, follow=True)
    assert "This entry is no longer queued (removed)." in again.content.decode()


def test_remove_over_htmx_answers_with_the_rows_confirmation_then_removes(client, queued, desk):
    client.force_login(queued.owner)
    eth, sol = row(queued, "ETH/USDT"), row(queued, "SOL/USDT")
    url = reverse("trade_queue:remove", args=[eth.pk])

    for data in ({}, {"confirm": "no"}):  # no answer, or not the answer: nothing removed
        html = desk.run(client.post, path=url, data=data, HTTP_HX_REQUEST="true")
        html = html.content.decode()
        # The confirmation lands beside the pool, outside what live pushes replace.
        assert html.strip().startswith(f'<div id="pool-{queued.pk}-confirm" class="queue-confirm">')
        assert f'id="pool-{queued.pk}"' not in html
        assert f'id="remove-confirm-queued-{eth.pk}"' in html
        assert f'hx-post="{url}" hx-target="#pool-{queued.pk}"' in html
        assert f'id="remove-confirm-queued-{sol.pk}"' not in html  # only the row asked about
    assert row(queued, "ETH/USDT").status == "queued"

    html = desk.run(
        client.post, path=url, data={"confirm": "yes"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert html.strip().startswith(f'<div id="pool-{queued.pk}" class="pool">')
    assert "ETH/USDT 15m long entry removed from the queue." in html
    closed = html.split(f'<div id="pool-{queued.pk}-confirm" class="queue-confirm" hx-swap-oob')[1]
    assert "remove-confirm-" not in closed.split("</div>")[0]  # the confirmation is closed
    assert row(queued, "ETH/USDT").status == "removed"


def test_a_live_push_of_the_pool_leaves_an_open_remove_confirmation_alone(queued):
    from django.template.loader import render_to_string

    from apps.trade_queue.selectors import account_queue
    from apps.trade_queue.services.live import QUEUE_LIVE

    pushed = render_to_string(QUEUE_LIVE, {"aq": account_queue(queued)})

    assert pushed.strip().startswith(f'<div id="pool-{queued.pk}" class="pool" hx-swap-oob="true">')
    assert f'id="pool-{queued.pk}-confirm"' not in pushed  # what the push replaces holds none


def test_another_users_queue_and_pool_are_404(client, queued):
    client.force_login(UserFactory())
    eth = row(queued, "ETH/USDT")

    assert client.post(reverse("trade_queue:promote", args=[eth.pk])).status_code == 404
    assert client.post(reverse("trade_queue:remove", args=[eth.pk])).status_code == 404
    settings_url = reverse("trade_queue:pool-settings", args=[queued.pk])
    assert client.post(settings_url, {"max_open_groups": "50"}).status_code == 404
    assert row(queued, "ETH/USDT").status == "queued"
    assert f'id="pool-{queued.pk}"' not in client.get(PAGE).content.decode()
    rows = list(csv.reader(io.StringIO(b"".join(client.get("/queue/export.csv")).decode())))
    assert len(rows) == 1  # the header alone


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("max_open_groups", "0", "a whole number from 1 to 100, not 0"),
        ("max_open_groups", "101", "a whole number from 1 to 100, not 101"),
        ("max_open_groups", "ten", "a whole number from 1 to 100, not ten"),
        ("max_open_groups", "1_0", "a whole number from 1 to 100, not 1_0"),
        ("queue_expiry_minutes", "0", "a whole number from 1 to 10080, not 0"),
        ("queue_expiry_minutes", "10081", "a whole number from 1 to 10080, not 10081"),
    ],
)
def test_bad_pool_settings_are_refused_with_the_field_error_and_change_nothing(
    client, pool, field, value, error
):
    client.force_login(pool.owner)
    data = {"max_open_groups": "5", "queue_expiry_minutes": "30"} | {field: value}

    response = client.post(
        reverse("trade_queue:pool-settings", args=[pool.pk]), data, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200  # htmx swaps the form with its errors
    assert error in response.content.decode()
    pool.refresh_from_db()
    assert pool.max_open_groups == 1
    assert not PoolSettings.objects.exists()


def test_saving_pool_settings_changes_the_pool_and_promotes_into_new_slots(client, queued, desk):
    client.force_login(queued.owner)

    response = desk.run(
        client.post,
        path=reverse("trade_queue:pool-settings", args=[queued.pk]),
        data={"max_open_groups": "2", "pyramids_count": "on", "queue_expiry_minutes": "15"},
        HTTP_HX_REQUEST="true",
    )

    html = response.content.decode()
    assert "Saved." in html
    assert f'id="pool-{queued.pk}" class="pool" hx-swap-oob="true"' in html
    queued.refresh_from_db()
    assert queued.max_open_groups == 2
    assert PoolSettings.objects.get(account=queued).queue_expiry_minutes == 15
    assert open_symbols(queued) == ["BTC/USDT", "SOL/USDT"]  # the first in line took the slot
    assert Event.objects.filter(kind="pool.settings_changed").count() == 1


def test_the_csv_export_lists_the_queue_in_rank_order_with_exact_values(client, queued):
    client.force_login(queued.owner)

    response = client.get(reverse("trade_queue:queue-csv"))

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(r["rank"], r["symbol"]) for r in rows] == [("1", "SOL/USDT"), ("2", "ETH/USDT")]
    sol = rows[0]
    assert (sol["signal_price"], sol["market_price"], sol["replacements"]) == ("153.5", "150", "0")
    assert Decimal(sol["loss_pct"]) == (Decimal("153.5") - 150) / Decimal("153.5") * 100
    assert rows[1]["signal_price"] == "" and rows[1]["loss_pct"] == ""


def test_operators_promote_and_remove_from_the_admin(client, queued, desk):
    client.force_login(OperatorFactory())
    changelist = "/admin/trade_queue/queuedsignal/"
    eth, sol = row(queued, "ETH/USDT"), row(queued, "SOL/USDT")

    assert client.get(changelist, {"status__exact": "queued"}).status_code == 200
    desk.run(
        client.post,
        path=changelist,
        data={"action": "remove", "_selected_action": [eth.pk]},
    )
    assert row(queued, "ETH/USDT").status == "removed"
    desk.run(
        client.post,
        path=changelist,
        data={"action": "promote", "_selected_action": [sol.pk]},
    )
    assert row(queued, "SOL/USDT").pinned_at is not None
    assert row(queued, "SOL/USDT").status == "queued"  # the pool is full: it goes next
    assert PositionGroup.objects.filter(status="open").count() == 1
