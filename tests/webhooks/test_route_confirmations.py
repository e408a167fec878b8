"""Rotate URL and Deactivate on a webhook route ask first, the way every action that removes
does (apps.core.confirm): Rotate breaks every TradingView alert that posts to the old URL,
Deactivate rejects the route's waiting signals. The first post changes nothing and says so in
the confirmation; another answer than yes changes nothing and says why; Reactivate acts at
once (it breaks nothing)."""

from __future__ import annotations

import pytest

from apps.core.models import Event
from tests.webhooks.conftest import deliver, post

pytestmark = pytest.mark.django_db

UNCONFIRMED = [{}, {"confirm": "no"}, {"confirm": ""}]
REFUSED = "Nothing was changed: the confirmation was not answered yes."


def box_of(html: str, confirm_id: str) -> str:
    return html.split(f'id="{confirm_id}"')[1].split("</form>")[0]


@pytest.mark.parametrize("data", UNCONFIRMED)
def test_rotate_without_the_answer_asks_and_keeps_the_url_working(client, trader, route, data):
    token = route.token
    client.force_login(trader)

    response = client.post(f"/settings/webhooks/{route.pk}/rotate/", data)

    assert response.status_code == 200
    box = box_of(response.content.decode(), "route-rotate-confirm")
    assert f"Confirm:</strong> Rotate the URL of route {route.label}?" in box
    assert "every TradingView alert that still posts to it gets 404" in box
    assert "This cannot be undone." in box
    assert 'name="confirm" value="yes"' in box and "Keep the current URL" in box
    assert (REFUSED in box) is ("confirm" in data)  # the first ask is a question
    route.refresh_from_db()
    assert route.token == token and route.rotated_at is None
    assert not Event.objects.filter(kind="webhook.route_rotated").exists()
    client.logout()
    assert post(route, "buy BTCUSDT").status_code == 200  # the old URL still works


def test_rotate_with_the_answer_rotates_and_the_old_url_answers_404(client, trader, route):
    old = route.token
    client.force_login(trader)

    response = client.post(f"/settings/webhooks/{route.pk}/rotate/", {"confirm": "yes"})

    assert response.status_code == 302
    route.refresh_from_db()
    assert route.token != old
    client.logout()
    assert deliver(f"/webhooks/tv/{old}/", "buy BTCUSDT").status_code == 404


@pytest.mark.parametrize("data", UNCONFIRMED)
def test_deactivate_without_the_answer_asks_and_the_route_stays_active(client, trader, route, data):
    client.force_login(trader)

    response = client.post(f"/settings/webhooks/{route.pk}/active/", {"active": "0", **data})

    assert response.status_code == 200
    box = box_of(response.content.decode(), "route-deactivate-confirm")
    assert f"Confirm:</strong> Deactivate route {route.label}?" in box
    assert "Its URL answers 404 to every alert from now on" in box
    assert "are still waiting (being processed, or queued for a pool slot) are rejected" in box
    assert 'name="active" value="0"' in box and 'name="confirm" value="yes"' in box
    assert (REFUSED in box) is ("confirm" in data)
    route.refresh_from_db()
    assert route.is_active
    assert not Event.objects.filter(kind="webhook.route_deactivated").exists()


def test_deactivate_with_the_answer_deactivates_and_reactivate_needs_no_answer(
    client, trader, route
):
    client.force_login(trader)

    client.post(f"/settings/webhooks/{route.pk}/active/", {"active": "0", "confirm": "yes"})
    route.refresh_from_db()
    assert not route.is_active
    assert Event.objects.filter(kind="webhook.route_deactivated").count() == 1

    response = client.post(f"/settings/webhooks/{route.pk}/active/", {"active": "1"})

    assert response.status_code == 302
    route.refresh_from_db()
    assert route.is_active
