"""Hostile webhook bodies: no literal may hold the desk, and none is answered 5xx."""

from __future__ import annotations

import pytest

from apps.webhooks.models import Signal
from tests.webhooks.conftest import post

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("max_lag", "reason"),
    [
        ("1e999999999", "Max_lag must be a whole number from 0 to 86400"),
        ("1e1000000", "Max_lag must be a whole number from 0 to 86400"),
        ("9" * 4400, "Max_lag must be a whole number from 0 to 86400"),
        ("NaN", "Max_lag must be a whole number from 0 to 86400"),
        ("-5", "Max_lag must be a whole number from 0 to 86400"),
        ("100000", "Max_lag must be a whole number from 0 to 86400"),
    ],
)
def test_a_3commas_max_lag_beyond_bounds_is_rejected_at_once(route, max_lag, reason):
    body = {"action": "enter_long", "tv_instrument": "BTCUSDT", "max_lag": max_lag}
    response = post(route, body)

    signal = Signal.objects.get()
    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    assert signal.status == Signal.Status.REJECTED
    assert signal.reason.startswith(reason), signal.reason
    assert len(signal.reason) < 300  # the value is never written out in full


def test_a_3commas_max_lag_in_bounds_still_works(route):
    body = {"action": "enter_long", "tv_instrument": "BTCUSDT", "max_lag": "300"}
    assert post(route, body).json()["status"] == "accepted"
    assert Signal.objects.get().parsed["max_lag_seconds"] == "300"


@pytest.mark.parametrize("price", ["1e400", "1e999999999", "Infinity", "1" + "0" * 30])
def test_a_price_beyond_what_the_desk_stores_is_rejected_at_the_door(route, price):
    response = post(route, {"action": "entry", "symbol": "BTCUSDT", "price": price})

    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    assert Signal.objects.get().reason.startswith("Price ")


def test_a_json_number_literal_beyond_bounds_is_rejected_too(route):
    response = post(route, '{"action": "entry", "symbol": "BTCUSDT", "price": 1e400}')

    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    assert Signal.objects.get().reason.startswith("Price ")


@pytest.mark.parametrize(
    "timenow", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "99999999999999"]
)
def test_a_fire_time_at_the_calendars_edge_is_rejected_with_a_reason(route, timenow):
    response = post(route, {"action": "entry", "symbol": "BTCUSDT", "timenow": timenow})

    signal = Signal.objects.get()
    assert response.status_code == 200
    assert signal.status == Signal.Status.REJECTED
    assert "internal error" not in signal.reason
    assert "is not a time" in signal.reason or "Timenow" in signal.reason, signal.reason
