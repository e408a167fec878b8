"""Close at market asks once, the same way on a group's page and on the Desk: the first post
sells nothing and answers 200 with the confirmation, a question ("Confirm: …"), not an error;
a post carrying another answer sells nothing and says why; only the confirmation's post
(confirm=yes) sells."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.exchanges.domain.precision import fmt
from apps.positions.models import Order, PositionGroup
from apps.tickets.models import Trade
from apps.tickets.services import activate_ticket, evaluate_rules
from tests.positions.grouping import Desk, grid_strategy, signal
from tests.tickets.conftest import ticket

pytestmark = pytest.mark.django_db

UNCONFIRMED = [{}, {"confirm": ""}, {"confirm": "no"}]
REFUSED = "Nothing was sold: the confirmation was not answered yes."


def said_why(html: str, data: dict) -> bool:
    """The first ask (no answer) is a question; only a refused answer says why, as an error."""
    asks = '<strong class="confirm-label">Confirm:</strong>' in html
    why = REFUSED in html
    if "confirm" not in data:
        return asks and not why and "notice error" not in html
    return asks and why


@pytest.fixture
def desk(django_capture_on_commit_callbacks) -> Desk:
    return Desk(django_capture_on_commit_callbacks)


@pytest.fixture
def group(paper, desk) -> PositionGroup:
    outcome = desk.act(paper, grid_strategy(paper.owner, legs=[]), signal())
    return PositionGroup.objects.get(pk=outcome.group_id)


@pytest.fixture
def open_trade(paper, desk) -> Trade:
    trade = desk.run(
        activate_ticket, user=paper.owner, ticket=ticket(paper), trade=None, now=timezone.now()
    ).trade
    desk.run(evaluate_rules, now=timezone.now())
    trade.refresh_from_db()
    assert trade.status == Trade.Status.OPEN
    return trade


def _sells(account) -> int:
    return Order.objects.filter(account=account, side="sell").count()


@pytest.mark.parametrize("data", UNCONFIRMED)
def test_a_groups_close_without_the_answer_asks_and_sells_nothing(client, paper, group, data):
    client.force_login(paper.owner)

    response = client.post(reverse("positions:close", args=[group.pk]), data)

    assert response.status_code == 200
    html = response.content.decode()
    box = html.split('id="close-confirm"')[1].split("</form>")[0]
    assert f"Close BTC/USDT 15m position #{group.pk} at market now?" in box
    assert said_why(box, data)
    assert 'name="confirm" value="yes"' in box and "Keep it open" in box
    assert PositionGroup.objects.get(pk=group.pk).status == PositionGroup.Status.OPEN
    assert _sells(paper) == 0


def test_a_groups_close_with_the_answer_sells(client, paper, group, desk):
    client.force_login(paper.owner)

    response = desk.run(
        client.post,
        path=reverse("positions:close", args=[group.pk]),
        data={"confirm": "yes"},
    )

    assert response.status_code == 302
    assert PositionGroup.objects.get(pk=group.pk).status == PositionGroup.Status.CLOSED
    assert _sells(paper) == 1


@pytest.mark.parametrize("data", UNCONFIRMED)
def test_the_desks_close_without_the_answer_asks_and_sells_nothing(client, paper, open_trade, data):
    client.force_login(paper.owner)

    response = client.post(
        reverse("tickets:ticket"),
        {"action": "close", "trade": open_trade.pk, **data},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="ticket",
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert said_why(html, data)
    box = html.split('id="close-confirm"')[1].split("</div>")[0]
    assert 'name="action" value="close"' in box and 'name="confirm" value="yes"' in box
    assert Trade.objects.get(pk=open_trade.pk).status == Trade.Status.OPEN
    assert _sells(paper) == 0


def test_the_desks_close_with_the_answer_sells(client, paper, open_trade, desk):
    client.force_login(paper.owner)

    desk.run(
        client.post,
        path=reverse("tickets:ticket"),
        data={"action": "close", "trade": open_trade.pk, "confirm": "yes"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="ticket",
    )

    assert _sells(paper) == 1
    assert Trade.objects.get(pk=open_trade.pk).status == Trade.Status.CLOSED


# BTC/USDT's step is 0.00001: a holding off the step (a fee taken in the coin) leaves dust.
HELD, SOLD, DUST = Decimal("0.0153657"), "0.01536", "0.0000057"


def test_a_groups_close_prompt_states_the_stepped_amount_in_the_base_asset_and_the_dust(
    client, paper, group
):
    PositionGroup.objects.filter(pk=group.pk).update(quantity=HELD)
    client.force_login(paper.owner)

    response = client.post(reverse("positions:close", args=[group.pk]))

    box = response.content.decode().split('id="close-confirm"')[1].split("</form>")[0]
    assert f"{SOLD} BTC is sold at market; {DUST} BTC stays (dust below the market" in box
    assert fmt(HELD) not in box  # the unrounded holding is not what sells


def test_the_desks_close_prompt_names_the_base_asset_and_what_sells(client, paper, open_trade):
    position = PositionGroup.objects.filter(trade=open_trade)
    assert position.update(quantity=HELD, exit_quantity=0) == 1
    client.force_login(paper.owner)

    response = client.post(
        reverse("tickets:ticket"),
        {"action": "close", "trade": open_trade.pk},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="ticket",
    )

    box = response.content.decode().split('id="close-confirm"')[1].split("</form>")[0]
    assert f"Trade #{open_trade.pk} holds {fmt(HELD)} BTC:" in box
    assert f"It sells {SOLD} BTC; {DUST} BTC stays (dust below the market" in box
    assert "BTC/USDT:" not in box
