"""Hostile webhook bodies: no literal may hold the desk, and none is answered 5xx."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.webhooks.models import Signal
from tests.webhooks.conftest import post
from tests.webhooks.test_receive import configure

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


@pytest.mark.parametrize(
    "raw",
    [
        '{"action": "entry", "symbol": "\\ud800"}',
        '{"action": "entry", "symbol": "BTCUSDT", "id": "\\udfff"}',
        '"buy \\ud800 15"',
        '{"action": "entry", "symbol": "BTCUSDT", "\\ud800": 1}',
        '{"action": "entry", "symbol": "BTCUSDT", "deep": [[[{"x": "\\udbff"}]]]}',
    ],
)
def test_a_lone_surrogate_escape_is_rejected_with_a_reason_never_500(route, raw):
    response = post(route, raw, content_type="application/json")

    signal = Signal.objects.get()
    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    assert signal.reason.startswith("The body escapes a lone surrogate")
    assert bytes(signal.body) == raw.encode()


def test_a_lone_surrogate_as_the_secret_of_a_route_with_one_is_refused_401(route):
    configure(route, new_secret="s3cret-value")
    response = post(route, '{"action": "entry", "symbol": "BTCUSDT", "secret": "\\ud800"}')

    assert response.status_code == 401
    assert not Signal.objects.exists()


def test_a_nul_in_a_body_is_kept_raw_and_never_reaches_a_text_column(route):
    raw = '{"action": "entry", "symbol": "BTC\\u0000USDT", "price": "1\\u0000"}'
    response = post(route, raw, content_type="application/json")

    signal = Signal.objects.get()
    assert response.status_code == 200
    assert "\x00" not in signal.reason and "\x00" not in str(signal.parsed)
    assert bytes(signal.body) == raw.encode()


def test_the_signals_csv_neutralises_cells_a_spreadsheet_would_run(client, route):
    import csv
    import io

    post(route, {"action": "entry", "symbol": '=HYPERLINK("http://x","y")', "timeframe": "15"})
    post(route, "@SUM(1+1) buy")
    client.force_login(route.owner)

    response = client.get(reverse("webhooks:signal-export"))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))

    cells = [cell for row in rows[1:] for cell in row]
    assert not any(cell.startswith(("=", "+", "@")) for cell in cells), cells
    assert '\'=HYPERLINK("http://x","y")' in cells, cells


def test_csv_cells_keep_numbers_and_neutralise_formulas():
    from decimal import Decimal

    from apps.core.csv_export import cell

    assert cell(Decimal("-12.50")) == "-12.5"
    assert cell("-3") == "-3"
    assert cell("=1+1") == "'=1+1"
    assert cell("+cmd") == "'+cmd"
    assert cell("-2+3") == "'-2+3"
    assert cell("@SUM(A1)") == "'@SUM(A1)"
    assert cell("\t=1") == "'\t=1"
    assert cell("BTC/USDT") == "BTC/USDT"


@pytest.mark.parametrize("body", [{"action": "entry", "symbol": "BTCUSDT"}, "\x00garbage"])
def test_every_webhook_answer_says_nosniff(route, body):
    assert post(route, body).headers["x-content-type-options"] == "nosniff"


def test_an_id_holding_a_nul_is_recorded_by_its_hash_and_its_resend_is_a_duplicate(route):
    raw = '{"action": "entry", "symbol": "BTCUSDT", "id": "a\\u0000b"}'

    first, again = post(route, raw), post(route, raw)

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json()["status"] == "duplicate"
    assert Signal.objects.get(pk=first.json()["signal_id"]).key.startswith("id-sha256:")
