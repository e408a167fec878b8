"""An alert without an id or a fire time is a duplicate only within its route's window.

TradingView resends an alert only after a 5xx, at most 3 times, 5 s apart: the same body later
than that is the alert firing again (a plain-text `buy BTCUSDT 15`, a 3Commas DCA message), a
new signal. Bodies with an explicit id or a `timenow` keep their exact key, duplicates forever.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest

from apps.webhooks.models import Signal, WebhookRoute
from apps.webhooks.services import update_route
from apps.webhooks.services.ingest import receive_signal
from tests.threads import run_together

pytestmark = pytest.mark.django_db

PLAIN = b"buy BTCUSDT 15"
THREE_COMMAS_DCA = (
    b'{"message_type": "bot", "bot_id": 4321, "email_token": "0b0f-example", '
    b'"delay_seconds": 0, "pair": "USDT_BTC"}'
)
# A bucket boundary of a 30 s window (a multiple of 30 s since the epoch).
BOUNDARY = datetime(2024, 6, 12, 14, 30, 0, tzinfo=UTC)


def configure(route: WebhookRoute, **changes) -> WebhookRoute:
    values = {
        "label": route.label,
        "account": route.account,
        "strategy": route.strategy,
        "ip_allowlist": route.ip_allowlist,
        "max_lag_seconds": route.max_lag_seconds,
        "rate_limit_per_minute": route.rate_limit_per_minute,
    }
    return update_route(route=route, **(values | changes))


def receive(route: WebhookRoute, body: bytes, at: datetime) -> tuple[str, Signal]:
    answer = receive_signal(
        token=route.token,
        content_length=len(body),
        read_body=lambda size: body[:size],
        content_type="text/plain",
        source_ip="52.89.214.238",
        now=at,
    )
    return answer.status, Signal.objects.get(pk=answer.signal_id)


def test_the_same_plain_body_within_the_window_is_a_duplicate_of_the_first(route):
    _, first = receive(route, PLAIN, BOUNDARY + timedelta(seconds=3))
    status, again = receive(route, PLAIN, BOUNDARY + timedelta(seconds=8))

    assert status == "duplicate"
    assert (again.status, again.duplicate_of) == (Signal.Status.DUPLICATE, first)
    assert again.reason == (
        f"Already received as signal {first.pk} within the route's 30 s duplicate window."
    )


def test_the_same_plain_body_after_the_window_is_a_new_accepted_signal(route):
    receive(route, PLAIN, BOUNDARY + timedelta(seconds=3))
    status, later = receive(route, PLAIN, BOUNDARY + timedelta(seconds=34))

    assert status == "accepted"
    assert later.status != Signal.Status.DUPLICATE and later.duplicate_of is None
    assert Signal.objects.exclude(status=Signal.Status.DUPLICATE).count() == 2


def test_a_resend_across_a_bucket_boundary_within_the_window_is_a_duplicate(route):
    _, first = receive(route, PLAIN, BOUNDARY - timedelta(seconds=2))
    status, resend = receive(route, PLAIN, BOUNDARY + timedelta(seconds=3))

    assert status == "duplicate"
    assert resend.duplicate_of == first
    assert first.key.rsplit(":", 1)[1] != resend.key.rsplit(":", 1)[1]  # two buckets


def test_the_window_runs_from_the_original_not_from_its_duplicates(route):
    receive(route, PLAIN, BOUNDARY - timedelta(seconds=1))
    answers = [
        receive(route, PLAIN, BOUNDARY + timedelta(seconds=seconds))[0] for seconds in (14, 29)
    ]
    status, fired_again = receive(route, PLAIN, BOUNDARY + timedelta(seconds=31))

    assert answers == ["duplicate", "duplicate"]  # 15 s and 30 s after the original
    assert status == "accepted" and fired_again.duplicate_of is None  # 32 s after it


def test_a_3commas_dca_message_fires_again_after_the_window(route):
    receive(route, THREE_COMMAS_DCA, BOUNDARY)
    resend, _ = receive(route, THREE_COMMAS_DCA, BOUNDARY + timedelta(seconds=5))
    next_hour, _ = receive(route, THREE_COMMAS_DCA, BOUNDARY + timedelta(hours=1))

    assert (resend, next_hour) == ("duplicate", "accepted")
    assert Signal.objects.exclude(status=Signal.Status.DUPLICATE).count() == 2


def test_the_routes_window_setting_decides(route):
    route = configure(route, duplicate_window_seconds=5)
    receive(route, PLAIN, BOUNDARY + timedelta(seconds=1))

    assert receive(route, PLAIN, BOUNDARY + timedelta(seconds=5))[0] == "duplicate"
    assert receive(route, PLAIN, BOUNDARY + timedelta(seconds=7))[0] == "accepted"


def test_a_body_with_an_id_keeps_its_exact_key_and_is_a_duplicate_for_ever(route):
    body = b'{"action": "entry", "symbol": "BTCUSDT", "id": "alert-7"}'
    _, first = receive(route, body, BOUNDARY)
    status, day_later = receive(route, body, BOUNDARY + timedelta(days=1))

    assert first.key == "id:alert-7"
    assert (status, day_later.duplicate_of) == ("duplicate", first)


def test_a_body_with_a_fire_time_keeps_its_exact_key_and_is_a_duplicate_for_ever(route):
    fired = {"action": "entry", "symbol": "BTCUSDT", "timenow": "2024-06-12T14:29:58Z"}
    body = json.dumps(fired).encode()
    configure(route, max_lag_seconds=0)  # the test's times are from 2024
    _, first = receive(route, body, BOUNDARY)
    status, hour_later = receive(route, body, BOUNDARY + timedelta(hours=1))

    normal = json.dumps(fired, sort_keys=True, separators=(",", ":"))
    assert first.key == "sha256:" + hashlib.sha256(f"{route.pk}\n{normal}".encode()).hexdigest()
    assert (status, hour_later.duplicate_of) == ("duplicate", first)


def test_a_plain_text_fire_time_keeps_the_exact_key_too(route):
    configure(route, max_lag_seconds=0)
    body = b"buy BTCUSDT 15 | fired 2024-06-12T14:29:58Z"
    _, first = receive(route, body, BOUNDARY)

    assert first.parsed["fired_at"] and first.key.count(":") == 1  # sha256:<digest>
    assert receive(route, body, BOUNDARY + timedelta(hours=2))[0] == "duplicate"


def test_the_windowed_key_fits_the_key_column(route):
    _, signal = receive(route, PLAIN, datetime(2099, 12, 31, 23, 59, 59, tzinfo=UTC))
    assert len(signal.key) <= Signal._meta.get_field("key").max_length


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "offsets",
    [
        pytest.param([0.5] * 6, id="same-bucket"),
        pytest.param([-1, -0.5, -0.1, 0.1, 0.5, 1], id="across-a-bucket-boundary"),
    ],
)
def test_simultaneous_identical_plain_deliveries_record_exactly_one_signal(route, offsets):
    """Real concurrent transactions, each on its own connection, released at one moment."""
    answers = run_together(
        [
            lambda at=BOUNDARY + timedelta(seconds=offset): receive(route, PLAIN, at)[0]
            for offset in offsets
        ]
    )

    assert sorted(answers) == ["accepted"] + ["duplicate"] * (len(offsets) - 1)
    original = Signal.objects.exclude(status=Signal.Status.DUPLICATE).get()
    assert set(
        Signal.objects.filter(status="duplicate").values_list("duplicate_of", flat=True)
    ) == {original.pk}


# --- The route's setting ------------------------------------------------------------------------


def test_the_route_page_shows_the_window_and_the_form_saves_it(client, trader, route):
    client.force_login(trader)
    page = client.get(f"/settings/webhooks/{route.pk}/").content.decode()
    assert '<dd id="route-duplicate-window">30 s:' in page
    assert 'name="duplicate_window_seconds"' in page and "TradingView resends" in page

    data = {
        "label": route.label,
        "account": route.account.pk,
        "strategy": route.strategy.pk,
        "ip_allowlist": "",
        "max_lag_seconds": "300",
        "rate_limit_per_minute": "0",
        "duplicate_window_seconds": "90",
    }
    client.post(f"/settings/webhooks/{route.pk}/", data)
    route.refresh_from_db()
    assert route.duplicate_window_seconds == 90
    assert (
        '<dd id="route-duplicate-window">90 s:'
        in client.get(f"/settings/webhooks/{route.pk}/").content.decode()
    )


@pytest.mark.parametrize("value", ["0", "3601"])
def test_a_window_outside_1_to_3600_seconds_is_a_field_error(client, trader, route, value):
    client.force_login(trader)
    data = {
        "label": route.label,
        "account": route.account.pk,
        "strategy": route.strategy.pk,
        "ip_allowlist": "",
        "max_lag_seconds": "300",
        "rate_limit_per_minute": "0",
        "duplicate_window_seconds": value,
    }
    response = client.post(f"/settings/webhooks/{route.pk}/", data)

    assert response.status_code == 200
    assert "must be a whole number from 1 to 3600" in response.content.decode()
    route.refresh_from_db()
    assert route.duplicate_window_seconds == 30
