"""A body's secret is replaced before the raw body is stored: never in a page, the CSV or the admin.

The route page promises the body secret is never shown again; the raw body is shown on the
signal page and in the admin, so the desk stores it with the secret's value replaced by `***`
(whatever the key's case, JSON or form, with or without a secret on the route), every other byte
as it came. Authentication reads the body as it came.
"""

from __future__ import annotations

import csv
import importlib
import io
import json

import pytest
from django.apps import apps as django_apps
from hypothesis import given
from hypothesis import strategies as st

from apps.webhooks.domain.envelope import redact_secret
from apps.webhooks.models import Signal
from apps.webhooks.services import update_route
from tests.accounts.factories import OperatorFactory
from tests.webhooks.conftest import deliver, post, url_of

SECRET = "correct horse battery"


# --- The bytes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "stored"),
    [
        (
            b'{"action": "entry", "secret": "s3cr3t", "price": "1"}',
            b'{"action": "entry", "secret": "***", "price": "1"}',
        ),
        (b'{"Secret":"s3cr3t"}', b'{"Secret":"***"}'),
        (b'{ "SECRET" :\n "s3cr3t" ,"a":1}', b'{ "SECRET" :\n "***" ,"a":1}'),
        (b'{"secret": "a\\"b\\\\", "x": "\\"y"}', b'{"secret": "***", "x": "\\"y"}'),
        (b'{"secret": 123456, "x": 1}', b'{"secret": "***", "x": 1}'),
        (b'{"secr\\u0065t": "s3cr3t"}', b'{"secr\\u0065t": "***"}'),  # an escaped key
        (
            b'{"order": {"secret": "inner"}, "note": "\\"secret\\": \\"text\\""}',
            b'{"order": {"secret": "***"}, "note": "\\"secret\\": \\"text\\""}',
        ),
        (b'\xef\xbb\xbf{"secret": "\xc3\xa9t\xc3\xa9"}', b'\xef\xbb\xbf{"secret": "***"}'),
        # TradingView sends text/plain when a placeholder breaks the JSON; the secret is there.
        (b'{"secret": "s3cr3t", "price": {{close}}}', b'{"secret": "***", "price": {{close}}}'),
        (b'{"action": "entry", "secret": "s3cr', b'{"action": "entry", "secret": "***'),
        (b"action=entry&secret=s3cr3t+x&symbol=BTC", b"action=entry&secret=***&symbol=BTC"),
        (b"SECRET=s3cr3t", b"SECRET=***"),
        (b"buy BTCUSDT secret=s3cr3t 15", b"buy BTCUSDT secret=*** 15"),
    ],
)
def test_the_secrets_value_is_replaced_and_every_other_byte_kept(body, stored):
    assert redact_secret(body) == stored


@pytest.mark.parametrize(
    "body",
    [
        b'{"action": "entry", "note": "secret", "secrets": "plural is another field"}',
        b'{"secret": ""}',
        b"buy BTCUSDT 15",
        b"action=entry&secretive=1",
        b"\xff\xfe not text",
    ],
)
def test_a_body_without_a_secret_value_is_stored_unchanged(body):
    assert redact_secret(body) == body


_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)


@given(
    before=st.dictionaries(_text.filter(lambda k: k.strip().lower() != "secret"), _text),
    after=st.dictionaries(_text.filter(lambda k: k.strip().lower() != "secret"), _text),
    name=st.sampled_from(["secret", "Secret", "SECRET", " secret "]),
    value=_text.filter(bool),
    ascii_only=st.booleans(),
    separator=st.sampled_from([": ", ":", " :\n  "]),
)
def test_any_json_body_keeps_every_byte_around_the_replaced_value(
    before, after, name, value, ascii_only, separator
):
    def members(fields: dict) -> str:
        return "".join(
            json.dumps(k, ensure_ascii=ascii_only) + separator + json.dumps(v) + ", "
            for k, v in fields.items()
        )

    head = ("{" + members(before) + json.dumps(name) + separator).encode()
    tail = (", " + members(after) + '"end": 1}').encode()
    body = head + json.dumps(value, ensure_ascii=ascii_only).encode() + tail

    assert redact_secret(body) == head + b'"***"' + tail
    assert json.loads(redact_secret(body))[name] == "***"


# --- What is stored, and every place the raw body appears ---------------------------------------


@pytest.fixture
def secret_route(route):
    return update_route(
        route=route,
        label=route.label,
        account=route.account,
        strategy=route.strategy,
        ip_allowlist="",
        max_lag_seconds=300,
        rate_limit_per_minute=0,
        new_secret=SECRET,
    )


BODY = (
    '{"action": "entry", "symbol": "BINANCE:BTCUSDT", "timeframe": "15", '
    f'"Secret": "{SECRET}", "price": "65000.5", "note": "said \\"hi\\""}}'
)
STORED = (
    '{"action": "entry", "symbol": "BINANCE:BTCUSDT", "timeframe": "15", '
    '"Secret": "***", "price": "65000.5", "note": "said \\"hi\\""}'
)


@pytest.mark.django_db
def test_a_json_body_authenticates_with_its_secret_and_is_stored_without_it(secret_route):
    answer = deliver(url_of(secret_route), BODY, content_type="application/json").json()

    signal = Signal.objects.get()
    assert (answer["status"], answer["signal_id"]) == ("accepted", signal.pk)
    assert bytes(signal.body) == STORED.encode()
    assert signal.parsed["price"] == "65000.5" and signal.symbol == "BTC/USDT"


@pytest.mark.django_db
def test_a_form_body_is_stored_without_its_secret(secret_route):
    body = "action=entry&symbol=BTCUSDT&timeframe=15&secret=correct+horse+battery"
    answer = deliver(url_of(secret_route), body, content_type="application/x-www-form-urlencoded")

    assert answer.json()["status"] == "accepted"
    stored = bytes(Signal.objects.get().body)
    assert stored == b"action=entry&symbol=BTCUSDT&timeframe=15&secret=***"


@pytest.mark.django_db
def test_a_secret_is_redacted_on_a_route_that_has_none(route):
    post(route, {"action": "entry", "symbol": "BTCUSDT", "secret": "not-the-routes"})
    assert b"not-the-routes" not in bytes(Signal.objects.get().body)


@pytest.mark.django_db
def test_a_stored_body_replayed_does_not_authenticate(secret_route):
    response = deliver(url_of(secret_route), STORED, content_type="application/json")
    assert response.status_code == 401 and not Signal.objects.exists()


@pytest.mark.django_db
def test_no_page_csv_or_admin_page_shows_the_secret(client, trader, secret_route):
    deliver(url_of(secret_route), BODY, content_type="application/json")
    deliver(url_of(secret_route), BODY, content_type="application/json")  # a duplicate
    # An unreadable text command quotes itself in its reason.
    update_route(
        route=secret_route,
        label=secret_route.label,
        account=secret_route.account,
        strategy=secret_route.strategy,
        ip_allowlist="",
        max_lag_seconds=300,
        rate_limit_per_minute=0,
        clear_secret=True,
    )
    post(secret_route, f"hold BTCUSDT secret={SECRET.replace(' ', '+')}")
    signals = list(Signal.objects.order_by("pk"))
    assert [s.status for s in signals] == ["received", "duplicate", "rejected"]

    client.force_login(trader)
    pages = {
        "signals": client.get("/signals/").content.decode(),
        "csv": b"".join(client.get("/signals/export.csv").streaming_content).decode(),
    }
    for signal in signals:
        pages[f"signal {signal.pk}"] = client.get(f"/signals/{signal.pk}/").content.decode()
        pages[f"signal {signal.pk} partial"] = client.get(
            f"/signals/{signal.pk}/", HTTP_HX_REQUEST="true"
        ).content.decode()
    client.force_login(OperatorFactory())
    pages["admin list"] = client.get("/admin/webhooks/signal/").content.decode()
    for signal in signals:
        pages[f"admin {signal.pk}"] = client.get(
            f"/admin/webhooks/signal/{signal.pk}/change/"
        ).content.decode()

    for name, text in pages.items():
        for fragment in (SECRET, "correct+horse", "horse battery"):
            assert fragment not in text, name
    # The body is there, its secret replaced.
    assert "&quot;Secret&quot;: &quot;***&quot;" in pages[f"signal {signals[0].pk}"]
    assert "&quot;Secret&quot;: &quot;***&quot;" in pages[f"admin {signals[0].pk}"]
    assert "secret=***" in pages[f"signal {signals[2].pk}"]
    assert len(list(csv.DictReader(io.StringIO(pages["csv"])))) == 3


# --- Rows stored before ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_migration_redacts_the_bodies_already_stored(route):
    def old(body: bytes, key: str, reason: str = "") -> Signal:
        return Signal.objects.create(
            route=route,
            account=route.account,
            received_at=route.created_at,
            body=body,
            key=key,
            status=Signal.Status.REJECTED,
            reason=reason,
        )

    json_row = old(BODY.encode(), "a")
    form_row = old(b"action=exit&SECRET=hunter2&symbol=BTCUSDT", "b")
    plain_row = old(b"buy BTCUSDT 15", "c")
    binary_row = old(b'\xff{"secret": "in-binary"}', "d")
    text_row = old(
        b"hold BTCUSDT secret=hunter2",
        "e",
        "The text \u201chold BTCUSDT secret=hunter2\u201d is not JSON nor a known text command.",
    )

    migration = importlib.import_module("apps.webhooks.migrations.0004_redact_body_secrets")
    migration.redact_body_secrets(django_apps, None)

    bodies = {
        row.pk: bytes(row.body) for row in Signal.objects.filter(pk__in=[json_row.pk, form_row.pk])
    }
    assert bodies == {
        json_row.pk: STORED.encode(),
        form_row.pk: b"action=exit&SECRET=***&symbol=BTCUSDT",
    }
    plain_row.refresh_from_db()
    binary_row.refresh_from_db()
    assert bytes(plain_row.body) == b"buy BTCUSDT 15"
    assert b"in-binary" not in bytes(binary_row.body)
    text_row.refresh_from_db()
    assert (bytes(text_row.body), text_row.reason) == (
        b"hold BTCUSDT secret=***",
        "The text \u201chold BTCUSDT secret=***\u201d is not JSON nor a known text command.",
    )
