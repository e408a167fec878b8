"""The webhook's answers: what is recorded, what is refused, and in which order it checks."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.core.models import Event
from apps.webhooks.models import Signal
from apps.webhooks.services import update_route
from tests.webhooks.conftest import TV_IP, deliver, post, url_of

pytestmark = pytest.mark.django_db

ENTRY = {"action": "entry", "symbol": "BINANCE:BTCUSDT", "timeframe": "15", "price": "65000.5"}


def configure(route, **changes):
    values = {
        "label": route.label,
        "account": route.account,
        "strategy": route.strategy,
        "ip_allowlist": route.ip_allowlist,
        "max_lag_seconds": route.max_lag_seconds,
        "rate_limit_per_minute": route.rate_limit_per_minute,
    }
    return update_route(route=route, **(values | changes))


def test_a_valid_signal_is_recorded_raw_and_accepted(client, route):
    body = json.dumps(ENTRY)
    response = deliver(url_of(route), body, content_type="application/json", REMOTE_ADDR=TV_IP)

    signal = Signal.objects.get()
    assert response.status_code == 200
    assert response.json() == {"status": "accepted", "signal_id": signal.pk, "reason": ""}
    assert bytes(signal.body) == body.encode()
    assert (signal.content_type, signal.source_ip, signal.route, signal.account) == (
        "application/json",
        TV_IP,
        route,
        route.account,
    )
    assert signal.status == Signal.Status.RECEIVED  # the task runs after commit
    assert (signal.action, signal.symbol) == ("entry", "BTC/USDT")
    assert signal.parsed == {
        "format": "tradedesk",
        "action": "entry",
        "symbol_given": "BINANCE:BTCUSDT",
        "symbol": "BTC/USDT",
        "timeframe": "15",
        "side": "long",
        "price": "65000.5",
    }
    assert timezone.now() - signal.received_at < timedelta(seconds=5)


def test_the_body_is_read_whatever_the_content_type_says(client, route):
    # TradingView sends text/plain when it thinks the message is not JSON; forms happen too.
    post(route, json.dumps(ENTRY), content_type="text/plain")
    post(route, "buy BTCUSDT 60", content_type="application/json")
    post(route, "action=exit&symbol=BTCUSDT&timeframe=15",
         content_type="application/x-www-form-urlencoded")  # fmt: skip

    assert [(s.parsed["format"], s.action, s.status) for s in Signal.objects.order_by("pk")] == [
        ("tradedesk", "entry", "received"),
        ("text", "entry", "received"),
        ("tradedesk", "exit", "received"),
    ]


def test_the_url_works_without_its_trailing_slash(client, route):
    response = deliver(url_of(route).rstrip("/"), "buy BTCUSDT", content_type="text/plain")
    assert response.json()["status"] == "accepted"


def test_a_host_name_the_desk_does_not_serve_is_400_and_nothing_is_stored(route, settings):
    settings.ALLOWED_HOSTS = ["desk.example.com"]
    refused = deliver(url_of(route), "buy BTCUSDT", HTTP_HOST="evil.example.net")
    assert (refused.status_code, refused.json()["status"]) == (400, "refused")
    assert "ALLOWED_HOSTS" in refused.json()["reason"]
    assert not Signal.objects.exists()

    served = deliver(url_of(route), "buy BTCUSDT", HTTP_HOST="desk.example.com:443")
    assert served.json()["status"] == "accepted"


def test_only_post_is_answered(client, route):
    response = deliver(url_of(route), method="GET")
    assert (response.status_code, response.headers["allow"]) == (405, "POST")
    assert not Signal.objects.exists()


# --- Recorded, but not acted on ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("garbage", "The text “garbage” is not JSON nor a known text command"),
        ('{"symbol": "BTCUSDT"}', 'No action: add "action": "entry" or "action": "exit".'),
        ('{"action": "entry", "symbol": {{ticker}}}', "The body starts like JSON but is not"),
        ("\x00\x01\x02", "The text"),
        ("", "Empty body"),
    ],
)
def test_garbage_is_recorded_and_answered_rejected_with_its_reason_never_500(
    client, route, body, reason
):
    response = post(route, body)

    signal = Signal.objects.get()
    assert response.status_code == 200
    assert response.json() == {
        "status": "rejected",
        "signal_id": signal.pk,
        "reason": signal.reason,
    }
    assert signal.reason.startswith(reason)
    assert signal.status == Signal.Status.REJECTED
    assert bytes(signal.body) == body.encode()
    event = Event.objects.get(kind="signal.rejected")
    assert (event.user, event.subject_id) == (route.owner, str(signal.pk))


def test_binary_garbage_is_kept_byte_for_byte(client, route):
    response = deliver(url_of(route), b"\xff\xfe\xfa", content_type="application/json")
    assert response.json()["reason"] == "The body is not UTF-8 text."
    assert bytes(Signal.objects.get().body) == b"\xff\xfe\xfa"


def test_an_unknown_symbol_is_rejected_naming_it_and_the_account(client, route):
    response = post(route, {"action": "entry", "symbol": "XYZUSDT", "timeframe": "15"})
    assert response.json()["reason"] == "Unknown symbol XYZUSDT on Paper."
    assert Signal.objects.get().status == Signal.Status.REJECTED


@pytest.mark.parametrize("symbol", ["BTCUSDT", "BINANCE:BTCUSDT", "BTCUSDT.P", "BTC/USDT",
                                    "USDT_BTC"])  # fmt: skip
def test_every_notation_of_a_symbol_maps_to_the_accounts_market(client, route, symbol):
    post(route, {"action": "entry", "symbol": symbol, "timeframe": "15"})
    assert Signal.objects.get().symbol == "BTC/USDT"


def test_a_stale_signal_is_recorded_as_stale_and_answered_rejected(client, route):
    fired = (timezone.now() - timedelta(seconds=400)).strftime("%Y-%m-%dT%H:%M:%SZ")
    response = post(route, ENTRY | {"timenow": fired})

    signal = Signal.objects.get()
    assert signal.status == Signal.Status.STALE
    assert signal.reason.startswith("Stale: fired 40")
    assert signal.reason.endswith("ago, more than the 300 s allowed.")
    assert response.json() == {
        "status": "rejected",
        "signal_id": signal.pk,
        "reason": signal.reason,
    }
    assert Event.objects.filter(kind="signal.stale", subject_id=str(signal.pk)).exists()


# --- Duplicates -------------------------------------------------------------------------------


def test_a_repeated_delivery_is_recorded_as_a_duplicate_of_the_first(client, route):
    first = post(route, ENTRY).json()
    # The same alert again, as TradingView resends it (key order and spacing may differ).
    again = deliver(
        url_of(route),
        json.dumps(dict(reversed(ENTRY.items())), indent=2),
        content_type="application/json",
    ).json()

    original, duplicate = Signal.objects.order_by("pk")
    assert first == {"status": "accepted", "signal_id": original.pk, "reason": ""}
    assert again == {
        "status": "duplicate",
        "signal_id": duplicate.pk,
        "reason": f"Already received as signal {original.pk} within the route's 30 s duplicate "
        "window.",
    }
    assert (duplicate.status, duplicate.duplicate_of) == (Signal.Status.DUPLICATE, original)
    assert original.status == Signal.Status.RECEIVED
    assert Event.objects.filter(kind="signal.duplicate", subject_id=str(duplicate.pk)).exists()


def test_an_explicit_id_makes_different_bodies_one_signal(client, route):
    post(route, ENTRY | {"id": "alert-7", "price": "65000.5"})
    response = post(route, ENTRY | {"id": "alert-7", "price": "65001"})
    assert response.json()["status"] == "duplicate"


def test_the_same_body_on_two_routes_is_two_signals(client, route):
    from apps.webhooks.services import create_route

    other = create_route(
        owner=route.owner,
        label="TV second",
        account=route.account,
        strategy=route.strategy,
        ip_allowlist="",
    )
    assert post(route, ENTRY).json()["status"] == "accepted"
    assert post(other, ENTRY).json()["status"] == "accepted"


# --- Refused, not recorded ----------------------------------------------------------------------


def test_an_unknown_token_is_404_with_a_security_event_and_nothing_stored(client, route):
    response = deliver(
        "/webhooks/tv/not-a-token/", json.dumps(ENTRY), content_type="application/json",
        REMOTE_ADDR="203.0.113.9",
    )  # fmt: skip

    assert response.status_code == 404
    assert response.json() == {"status": "refused", "signal_id": None, "reason": "Unknown webhook."}
    assert not Signal.objects.exists()
    event = Event.objects.get(kind="webhook.auth_failed")
    assert event.user is None
    assert "203.0.113.9" in event.message
    assert "not-a-token" not in event.message + json.dumps(event.data)
    assert "65000.5" not in event.message + json.dumps(event.data)


def test_a_deactivated_route_is_404_and_its_owner_is_told(client, route):
    from apps.webhooks.services import set_route_active

    set_route_active(route=route, active=False)
    response = post(route, ENTRY)

    assert response.status_code == 404
    assert not Signal.objects.exists()
    event = Event.objects.get(kind="webhook.auth_failed")
    assert event.user == route.owner
    assert route.token not in event.message + json.dumps(event.data)


def test_a_wrong_or_missing_secret_is_401_with_a_security_event_and_no_signal(client, route):
    route = configure(route, new_secret="correct horse")

    wrong = post(route, ENTRY | {"secret": "battery staple"})
    missing = post(route, ENTRY)
    plain_text = post(route, "buy BTCUSDT 15")

    assert [r.status_code for r in (wrong, missing, plain_text)] == [401, 401, 401]
    assert wrong.json()["reason"] == "Wrong or missing secret."
    assert not Signal.objects.exists()
    events = Event.objects.filter(kind="webhook.auth_failed")
    assert events.count() == 1  # one per route and address per minute: no flooding
    text = events[0].message + json.dumps(events[0].data)
    assert "wrong or missing secret" in text
    assert "battery staple" not in text and "correct horse" not in text

    right = post(route, ENTRY | {"secret": "correct horse"})
    assert right.json()["status"] == "accepted"


def test_an_oversized_body_is_413_by_its_declared_length(client, route):
    response = post(route, "buy BTCUSDT " + "x" * 16 * 1024)
    assert response.status_code == 413
    assert not Signal.objects.exists()


def test_an_oversized_body_is_413_by_its_actual_length_whatever_it_declares(route):
    # A lying Content-Length (12); the body is read in chunks, kept up to one byte past 16 KB.
    response = deliver(
        url_of(route), "buy BTCUSDT " + "x" * 20_000, content_type="text/plain",
        HTTP_CONTENT_LENGTH="12",
    )  # fmt: skip
    assert response.status_code == 413
    assert not Signal.objects.exists()


def test_exactly_16_kb_is_accepted(client, route):
    body = "buy BTCUSDT 15 |" + " " * (16 * 1024 - 16)
    assert len(body.encode()) == 16 * 1024
    assert post(route, body).json()["status"] == "accepted"


def test_an_address_outside_the_allowlist_is_403_with_a_security_event(client, route):
    route = configure(route, ip_allowlist="52.89.214.238\n34.212.75.30")

    refused = post(route, ENTRY, REMOTE_ADDR="198.51.100.7")
    allowed = post(route, ENTRY, REMOTE_ADDR="34.212.75.30")

    assert refused.status_code == 403
    assert allowed.json()["status"] == "accepted"
    assert Signal.objects.count() == 1
    event = Event.objects.get(kind="webhook.auth_failed")
    assert "198.51.100.7" in event.message and "allowlist" in event.message


def test_the_rate_limit_refuses_the_rest_of_the_minute_with_429(client, route):
    route = configure(route, rate_limit_per_minute=2)

    answers = [post(route, ENTRY | {"id": f"a{n}"}).status_code for n in range(4)]

    assert answers == [200, 200, 429, 429]
    assert Signal.objects.count() == 2
    assert Event.objects.filter(kind="webhook.rate_limited").count() == 1


def test_the_checks_run_in_order_token_size_address_rate_secret(client, route):
    route = configure(route, ip_allowlist="52.89.214.238", rate_limit_per_minute=1, new_secret="s")
    big = "x" * 17_000
    assert post(route, big, REMOTE_ADDR="198.51.100.7").status_code == 413
    assert post(route, "buy", REMOTE_ADDR="198.51.100.7").status_code == 403
    assert post(route, "buy").status_code == 401  # counts against the rate limit
    assert post(route, ENTRY | {"secret": "s"}).status_code == 429


# --- Client address behind a proxy ------------------------------------------------------------


def test_a_forwarded_address_is_ignored_unless_behind_a_configured_proxy(client, route, settings):
    route = configure(route, ip_allowlist="52.89.214.238")
    forged = {"REMOTE_ADDR": "198.51.100.7", "HTTP_X_FORWARDED_FOR": "52.89.214.238"}

    settings.BEHIND_PROXY = False
    assert post(route, ENTRY, **forged).status_code == 403


def test_behind_a_proxy_the_address_it_appended_is_the_client(client, route, settings):
    route = configure(route, ip_allowlist="52.89.214.238")
    settings.BEHIND_PROXY = True
    settings.CLIENT_IP_HEADER = "X-Forwarded-For"
    proxy = "10.0.0.2"

    ok = post(route, ENTRY, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="52.89.214.238")
    # A client cannot smuggle an allowed address in front of the one the proxy appended.
    forged = post(
        route,
        ENTRY | {"id": "2"},
        REMOTE_ADDR=proxy,
        HTTP_X_FORWARDED_FOR="52.89.214.238, 198.51.100.7",
    )

    assert ok.status_code == 200 and forged.status_code == 403
    assert Signal.objects.get().source_ip == "52.89.214.238"


def test_a_configured_real_ip_header_is_used_behind_a_proxy(client, route, settings):
    route = configure(route, ip_allowlist="52.89.214.238")
    settings.BEHIND_PROXY = True
    settings.CLIENT_IP_HEADER = "X-Real-IP"

    response = post(
        route, ENTRY, REMOTE_ADDR="10.0.0.2", HTTP_X_REAL_IP="52.89.214.238",
        HTTP_X_FORWARDED_FOR="198.51.100.7",
    )  # fmt: skip
    assert response.status_code == 200


# --- 503 only when nothing was recorded -------------------------------------------------------


def test_a_failed_insert_answers_503_so_tradingview_resends(client, route):
    def refuse_signal_inserts(execute, sql, params, many, context):
        if sql.startswith('INSERT INTO "webhooks_signal"'):
            from django.db import OperationalError

            raise OperationalError("disk full")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(refuse_signal_inserts):
        response = post(route, ENTRY)

    assert response.status_code == 503
    assert response.json()["status"] == "error"
    assert not Signal.objects.exists()
    assert post(route, ENTRY).json()["status"] == "accepted"  # the resend is recorded


# --- Secrets stay secret ----------------------------------------------------------------------


def test_neither_token_nor_secret_appears_in_any_event(client, route):
    route = configure(route, new_secret="correct horse")
    post(route, ENTRY | {"secret": "wrong"})
    post(route, ENTRY | {"secret": "correct horse"})
    post(route, "garbage")

    for event in Event.objects.all():
        text = event.message + json.dumps(event.data)
        assert route.token not in text
        assert "correct horse" not in text
