"""Discord delivery end to end: events in, webhook messages out to a real server on loopback.

The server in `discord_server.py` speaks HTTP like Discord's webhook endpoint and answers from a
script; the code under test is ours all the way down to httpx.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from datetime import datetime, timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.core import background
from apps.core.background import InProcessRunner
from apps.core.events import record_event
from apps.core.loops import run_loop
from apps.core.models import Event
from apps.notifications import catalog, services
from apps.notifications.models import Delivery, DeliveryAttempt, Destination
from apps.notifications.transports.base import Message
from apps.notifications.transports.discord import DiscordTransport, validate_webhook_url
from apps.positions.services.events import group_event
from tests.accounts.factories import UserFactory
from tests.exchanges.factories import ExchangeAccountFactory
from tests.notifications.discord_server import DiscordServer, Reply
from tests.servers import free_port
from tests.tickets.factories import TradeFactory, ticket_position
from tradedesk.celery import app as celery_app

pytestmark = pytest.mark.django_db

WEBHOOK_ID = "1187654321098765432"
WEBHOOK_TOKEN = "hX9-sEcReT_t0ken-QwErTy123"
FILL_DATA = {
    "symbol": "BTC/USDT",
    "side": "buy",
    "quantity": "0.01",
    "price": "65000",
    "account": "Paper",
    "url": "http://127.0.0.1:8000/trades/1/",
}


@pytest.fixture
def discord(settings):
    server = DiscordServer().start()
    settings.DISCORD_WEBHOOK_PREFIXES = (server.prefix,)
    yield server
    server.close()


@pytest.fixture(autouse=True)
def quick_pacing(monkeypatch):
    # The real pacing (0.5 s between batches) would only slow the suite; tests that are about
    # pacing set their own interval.
    monkeypatch.setattr(DiscordTransport, "min_interval_seconds", 0.01)


@pytest.fixture
def trader():
    return UserFactory()


@pytest.fixture
def destination(trader, discord):
    return Destination.objects.create(
        owner=trader,
        kind=Destination.Kind.DISCORD,
        label="Desk channel",
        discord_webhook_url=discord.webhook_url(WEBHOOK_ID, WEBHOOK_TOKEN),
        event_kinds=catalog.DEFAULT_KINDS,
    )


def record_fill(trader, message="Bought 0.01 BTC at 65000.", **data):
    return record_event(
        kind="trade.entry_filled", message=message, user=trader, data={**FILL_DATA, **data}
    )


def fill_and_deliver(trader, capture, **data) -> Event:
    """Record a fill the way a service does; its delivery task runs when the test "commits"."""
    with capture(execute=True):
        event = record_fill(trader, **data)
    return event


def make_due(delivery: Delivery) -> None:
    Delivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


# --- What Discord receives -----------------------------------------------------------------


def test_a_fill_reaches_discord_as_one_embed_with_its_key_fields_and_link(
    trader, destination, discord, django_capture_on_commit_callbacks
):
    event = fill_and_deliver(trader, django_capture_on_commit_callbacks)

    (request,) = discord.received()
    assert request.path == f"/api/webhooks/{WEBHOOK_ID}/{WEBHOOK_TOKEN}"
    assert request.headers["content-type"] == "application/json"
    embed = request.body["embeds"][0]
    sent_at = datetime.fromisoformat(embed.pop("timestamp"))
    assert abs((timezone.now() - sent_at).total_seconds()) < 60
    delivery = Delivery.objects.get(destination=destination)
    assert request.body == {
        "username": "TradeDesk",
        "embeds": [
            {
                "title": "[TradeDesk] Entry filled · BTC/USDT",
                "description": delivery.body,  # the rendered template text, whole
                "color": 0x22C55E,  # success: green
                "fields": [
                    {"name": "Account", "value": "Paper", "inline": True},
                    {"name": "Symbol", "value": "BTC/USDT", "inline": True},
                    {"name": "Side", "value": "buy", "inline": True},
                    {"name": "Quantity", "value": "0.01", "inline": True},
                    {"name": "Price", "value": "65000", "inline": True},
                ],
                "url": "http://127.0.0.1:8000/trades/1/",
            }
        ],
    }
    assert delivery.body.startswith("Bought 0.01 BTC at 65000.")
    assert "Details: http://127.0.0.1:8000/trades/1/" in delivery.body
    assert (delivery.status, delivery.attempts, delivery.event_id) == ("sent", 1, event.pk)
    assert list(delivery.attempt_log.values_list("outcome", flat=True)) == ["sent"]


def test_severity_sets_the_embed_colour_and_pnl_and_reason_become_fields(
    trader, destination, discord, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        record_event(
            kind="trade.stop_hit",
            message="Stop hit on BTC/USDT.",
            user=trader,
            data={"symbol": "BTC/USDT", "pnl": "-12.50", "reason": "stop at 64000"},
        )
        record_event(kind="guard.breached", message="Daily loss guard breached.", user=trader)

    embeds = [embed for request in discord.received() for embed in request.body["embeds"]]
    assert [embed["color"] for embed in embeds] == [0xF59E0B, 0xEF4444]  # amber, red
    assert embeds[0]["fields"][1:] == [
        {"name": "PnL", "value": "-12.50", "inline": True},
        {"name": "Reason", "value": "stop at 64000", "inline": True},
    ]
    assert "url" not in embeds[1] and embeds[1]["fields"] == []


def test_long_messages_are_cut_to_discords_embed_limits(
    trader, destination, discord, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        for number in range(10):
            record_fill(trader, message=f"Fill {number} " + "x" * 5000, reason="r" * 2000)

    (request,) = discord.received()
    embeds = request.body["embeds"]
    assert len(embeds) == 10
    total = sum(len(e["title"]) + len(e["description"]) for e in embeds)
    total += sum(len(f["name"]) + len(f["value"]) for e in embeds for f in e["fields"])
    assert total <= 6000
    assert all(len(f["value"]) <= 1024 for e in embeds for f in e["fields"])
    assert all(e["description"].startswith(f"Fill {n} x") for n, e in enumerate(embeds))
    assert all(e["description"].endswith("…") for e in embeds)
    assert Delivery.objects.filter(status="sent").count() == 10


# --- Transient failures: retried, honouring what Discord asks ------------------------------


def test_a_429_waits_for_discords_retry_after_and_then_sends(
    trader, destination, discord, django_capture_on_commit_callbacks
):
    discord.script(Reply(429, {"message": "You are being rate limited.", "retry_after": 2.5}))
    before = timezone.now()
    fill_and_deliver(trader, django_capture_on_commit_callbacks)
    after = timezone.now()

    delivery = Delivery.objects.get(destination=destination)
    assert delivery.status == "pending"
    assert before + timedelta(seconds=2.5) <= delivery.next_attempt_at
    assert delivery.next_attempt_at <= after + timedelta(seconds=2.5)
    (attempt,) = delivery.attempt_log.all()
    assert attempt.outcome == "retry" and "429" in attempt.error

    services.deliver(destination_id=destination.pk)  # too early: Discord asked us to wait
    assert len(discord.received()) == 1

    make_due(delivery)
    services.deliver(destination_id=destination.pk)
    assert len(discord.received()) == 2
    delivery.refresh_from_db()
    # Waiting out the rate limit is not a failed try: only the send that worked counts.
    assert (delivery.status, delivery.attempts) == ("sent", 1)
    assert list(delivery.attempt_log.values_list("outcome", flat=True)) == ["retry", "sent"]


def test_a_429_without_a_json_body_honours_the_retry_after_header(
    trader, destination, discord, django_capture_on_commit_callbacks
):
    discord.script(Reply(429, None, {"Retry-After": "30"}))
    before = timezone.now()
    fill_and_deliver(trader, django_capture_on_commit_callbacks)

    delivery = Delivery.objects.get(destination=destination)
    wait = (delivery.next_attempt_at - before).total_seconds()
    assert delivery.status == "pending" and 30 <= wait < 31


def test_a_server_error_is_retried_and_the_retry_is_sent(
    trader, destination, discord, django_capture_on_commit_callbacks
):
    discord.script(Reply(500, {"message": "Internal Server Error"}), Reply(204))
    fill_and_deliver(trader, django_capture_on_commit_callbacks)

    delivery = Delivery.objects.get(destination=destination)
    assert delivery.status == "pending" and delivery.next_attempt_at > timezone.now()
    assert "500" in delivery.last_error

    make_due(delivery)
    services.deliver(destination_id=destination.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.last_error) == ("sent", "")
    assert list(delivery.attempt_log.values_list("outcome", flat=True)) == ["retry", "sent"]
    assert len(discord.received()) == 2
    destination.refresh_from_db()
    assert destination.status == "active"


def test_a_discord_that_does_not_answer_in_time_is_a_retry_not_a_failure(
    trader, destination, discord, settings, django_capture_on_commit_callbacks
):
    settings.DISCORD_TIMEOUT_SECONDS = 0.3
    discord.script(Reply(204, hang_seconds=5))
    started = time.monotonic()
    fill_and_deliver(trader, django_capture_on_commit_callbacks)

    assert time.monotonic() - started < 3  # the timeout cut it short
    delivery = Delivery.objects.get(destination=destination)
    assert delivery.status == "pending"
    assert "did not answer within 0.3 seconds" in delivery.last_error
    destination.refresh_from_db()
    assert destination.status == "active"


# --- Permanent failures: the destination is failing and the trader is told ------------------


def test_an_unknown_webhook_fails_the_destination_and_emails_the_trader(
    trader, destination, discord, django_capture_on_commit_callbacks
):
    discord.script(Reply(404, {"message": "Unknown Webhook", "code": 10015}))
    fill_and_deliver(trader, django_capture_on_commit_callbacks)

    delivery = Delivery.objects.get(destination=destination)
    assert delivery.status == "pending"  # held for when the trader fixes and resumes it
    assert list(delivery.attempt_log.values_list("outcome", flat=True)) == ["failed"]
    destination.refresh_from_db()
    assert destination.status == "failing" and destination.failing_since is not None
    assert "does not exist (404)" in destination.failing_reason
    failing = Event.objects.get(kind="notification.destination_failing")
    assert failing.user == trader and "Desk channel" in failing.message
    (email,) = mail.outbox
    assert email.to == [trader.email]
    assert "Desk channel" in email.subject and "does not exist (404)" in email.body

    # Nothing more goes to it: neither new events nor a delivery already queued.
    fill_and_deliver(trader, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        queued = services.queue_delivery(
            destination=destination,
            message=Message(kind="trade.stop_hit", subject="Stop", body="Stop.", severity="info"),
        )
    assert len(discord.received()) == 1
    assert Delivery.objects.get(pk=queued.pk).status == "pending"  # kept for when it resumes
    # The first delivery, the one recorded while failing, and the one queued by hand all wait.
    assert Delivery.objects.filter(destination=destination, status="pending").count() == 3
    assert len(mail.outbox) == 1

    # Fixed and resumed: everything that waited goes out, in one message.
    discord.script(Reply(204))
    with django_capture_on_commit_callbacks(execute=True):
        services.resume(destination=destination)
    assert len(discord.received()) == 2
    assert len(discord.received()[-1].body["embeds"]) == 3
    assert not Delivery.objects.filter(destination=destination).exclude(status="sent").exists()


@pytest.mark.parametrize(
    ("status", "words"),
    [(401, "refused this webhook (401)"), (403, "refused this webhook (403)")],
)
def test_a_refused_token_fails_the_destination(
    trader, destination, discord, django_capture_on_commit_callbacks, status, words
):
    discord.script(Reply(status, {"message": "Invalid Webhook Token", "code": 50027}))
    fill_and_deliver(trader, django_capture_on_commit_callbacks)

    destination.refresh_from_db()
    assert destination.status == "failing" and words in destination.failing_reason
    assert Delivery.objects.get(destination=destination).status == "pending"  # held


def test_a_payload_discord_rejects_is_reported_as_our_bug(
    trader, destination, discord, django_capture_on_commit_callbacks
):
    discord.script(Reply(400, {"embeds": ["Must be 10 or fewer in length."]}))
    fill_and_deliver(trader, django_capture_on_commit_callbacks)

    delivery = Delivery.objects.get(destination=destination)
    assert delivery.status == "failed"
    assert "TradeDesk bug" in delivery.last_error
    assert "Must be 10 or fewer in length." in delivery.last_error
    # Our bug, not the trader's webhook: the destination keeps working and no email is sent.
    destination.refresh_from_db()
    assert destination.status == "active"
    assert mail.outbox == []


# --- Bursts ------------------------------------------------------------------------------------


def test_a_burst_of_25_events_goes_out_as_three_paced_messages_and_none_is_dropped(
    trader, destination, discord, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(DiscordTransport, "min_interval_seconds", 0.2)
    with django_capture_on_commit_callbacks(execute=True):
        for number in range(25):
            record_fill(trader, message=f"Fill number {number}.")

    requests = discord.received()
    assert [len(request.body["embeds"]) for request in requests] == [10, 10, 5]
    descriptions = [e["description"] for request in requests for e in request.body["embeds"]]
    for number in range(25):
        assert sum(f"Fill number {number}.\n" in text for text in descriptions) == 1
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(requests)]
    assert all(gap >= 0.2 for gap in gaps)  # paced below Discord's 5 requests per 2 s
    assert Delivery.objects.filter(destination=destination, status="sent").count() == 25
    assert not Delivery.objects.exclude(status="sent").exists()


def test_an_emptied_rate_limit_bucket_is_waited_out_before_the_next_send(destination, discord):
    discord.script(
        Reply(204, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": "0.4"})
    )
    message = Message(kind=catalog.TEST_KIND, subject="Test", body="Test.", severity="info")
    transport = DiscordTransport()

    transport.send(destination, [message])
    transport.send(destination, [message])

    first, second = discord.received()
    assert second.at - first.at >= 0.4


# --- The webhook URL is a secret ----------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        Reply(404, {"message": "Unknown Webhook", "code": 10015}),
        Reply(401, {"message": "Invalid Webhook Token", "code": 50027}),
        Reply(400, {"message": "Invalid Form Body", "code": 50035}),
        Reply(500),
        Reply(429, {"retry_after": 1.5, "global": False}),
        Reply(302, headers={"Location": "https://example.com/"}),
        Reply(204, hang_seconds=5),
        None,  # nothing listening at all
    ],
    ids=["404", "401", "400", "500", "429", "302", "timeout", "refused"],
)
def test_no_error_event_or_email_reveals_the_webhook_url(
    trader, destination, discord, settings, caplog, django_capture_on_commit_callbacks, reply
):
    settings.DISCORD_TIMEOUT_SECONDS = 0.3
    if reply is None:
        url = f"http://127.0.0.1:{free_port()}/api/webhooks/{WEBHOOK_ID}/{WEBHOOK_TOKEN}"
        Destination.objects.filter(pk=destination.pk).update(discord_webhook_url=url)
    else:
        discord.script(reply)
    caplog.set_level("DEBUG")
    fill_and_deliver(trader, django_capture_on_commit_callbacks)

    delivery = Delivery.objects.get(destination=destination)
    assert delivery.status in ("pending", "failed") and delivery.last_error
    destination.refresh_from_db()
    texts = [
        delivery.last_error,
        destination.failing_reason,
        *DeliveryAttempt.objects.values_list("error", flat=True),
        *(f"{e.message} {json.dumps(e.data)}" for e in Event.objects.all()),
        *(f"{m.subject} {m.body}" for m in mail.outbox),
        caplog.text,
    ]
    for text in texts:
        assert WEBHOOK_TOKEN not in text
        assert f"/api/webhooks/{WEBHOOK_ID}" not in text


# --- Validating the URL on save -----------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://discord.com/api/webhooks/1187654321098765432/hX9-sEcReT_t0ken-QwErTy123",
        "https://discordapp.com/api/webhooks/1187654321098765432/abcDEF_123-xyz",
        "https://ptb.discord.com/api/webhooks/1187654321098765432/abcDEF_123-xyz",
        "https://canary.discord.com/api/webhooks/1187654321098765432/abcDEF_123-xyz",
    ],
)
def test_a_discord_webhook_url_is_accepted(url):
    validate_webhook_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "",
        "http://discord.com/api/webhooks/1187654321098765432/abcDEF",  # not https
        "https://example.com/api/webhooks/1187654321098765432/abcDEF",
        "https://discord.com.example.com/api/webhooks/1187654321098765432/abcDEF",
        "https://hooks.slack.com/services/T000/B000/XXXX",
        "https://discord.com/channels/1187654321098765432/1187654321098765433",
    ],
)
def test_a_url_that_is_not_a_discord_webhook_is_refused_with_where_to_find_one(url):
    with pytest.raises(ValidationError) as refused:
        validate_webhook_url(url)
    assert refused.value.messages == [
        "A Discord webhook URL starts with https://discord.com/api/webhooks/ (Server settings → "
        "Integrations → Webhooks → Copy webhook URL)."
    ]


@pytest.mark.parametrize(
    "url",
    [
        "https://discord.com/api/webhooks/",
        "https://discord.com/api/webhooks/1187654321098765432",
        "https://discord.com/api/webhooks/1187654321098765432/",
        "https://discord.com/api/webhooks/not-a-number/abcDEF",
        "https://discord.com/api/webhooks/1187654321098765432/abcDEF/slack",
    ],
)
def test_a_discord_url_without_an_id_and_a_token_is_refused(url):
    with pytest.raises(ValidationError) as refused:
        validate_webhook_url(url)
    assert "needs the webhook's number and its token" in refused.value.messages[0]


def test_the_accepted_prefixes_come_from_settings(discord):
    # The `discord` fixture points DISCORD_WEBHOOK_PREFIXES at the loopback server.
    validate_webhook_url(discord.webhook_url(WEBHOOK_ID, WEBHOOK_TOKEN))
    with pytest.raises(ValidationError) as refused:
        validate_webhook_url(f"https://discord.com/api/webhooks/{WEBHOOK_ID}/{WEBHOOK_TOKEN}")
    assert f"starts with {discord.prefix} " in refused.value.messages[0]


# --- Off the trading path -----------------------------------------------------------------------


@pytest.fixture
def runner(discord):
    """The embedded desk's in-process runner on its own event loop, as in `rundesk`."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    runner = InProcessRunner(celery_app, loop)
    loop.call_soon_threadsafe(runner.start)
    deadline = time.monotonic() + 5
    while background._runner is not runner and time.monotonic() < deadline:
        time.sleep(0.02)
    assert background._runner is runner
    yield runner
    discord.release()  # let hanging answers end, so running deliveries finish promptly
    asyncio.run_coroutine_threadsafe(runner.shutdown(), loop).result(timeout=15)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=5)
    loop.close()


@pytest.mark.django_db(transaction=True)
def test_a_trading_loop_keeps_its_pace_while_discord_hangs(
    trader, destination, discord, settings, runner
):
    settings.DISCORD_TIMEOUT_SECONDS = 3.0
    discord.script(*[Reply(204, hang_seconds=30) for _ in range(20)])
    tick_seconds = []
    for number in range(10):
        started = time.monotonic()
        run_loop("test.trading", lambda n=number: record_fill(trader, message=f"Tick {n}."))
        tick_seconds.append(time.monotonic() - started)

    # Were delivery on the loop's path, the first tick alone would take the whole timeout.
    assert sum(tick_seconds) < settings.DISCORD_TIMEOUT_SECONDS, tick_seconds
    assert Delivery.objects.filter(destination=destination).count() == 10
    assert discord.wait_for_requests(1)  # a delivery did start, in a worker thread

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not DeliveryAttempt.objects.exists():
        time.sleep(0.05)
    attempt = DeliveryAttempt.objects.first()
    assert attempt is not None and attempt.outcome == "retry"
    assert "did not answer" in attempt.error
    assert not Delivery.objects.filter(status__in=["sent", "failed"]).exists()


@pytest.mark.parametrize("url", ["https://xn--/x", "https://\u2024.example/x"])
def test_a_saved_url_no_client_can_send_to_is_a_permanent_failure(url):
    from apps.notifications.transports.base import PermanentDeliveryError

    destination = Destination(kind="discord", label="Broken", discord_webhook_url=url)
    message = Message(kind="trade.stop_hit", subject="Stop", body="Stop.", severity="info")

    with pytest.raises(PermanentDeliveryError, match="not a valid https URL"):
        DiscordTransport().send(destination, [message])


# --- The link of an event, as the engine records it -------------------------------------------


def test_an_engine_fill_embeds_an_absolute_link_to_its_position(
    trader, destination, discord, django_capture_on_commit_callbacks, settings
):
    settings.SITE_URL = "https://desk.example.com"
    account = ExchangeAccountFactory(owner=trader, label="Binance main")
    position = ticket_position(
        TradeFactory(owner=trader, account=account), quantity="0.01", price="65000"
    )
    with django_capture_on_commit_callbacks(execute=True):
        group_event(
            position,
            "trade.entry_filled",
            "Bought 0.01 BTC at 65000.",
            data={"quantity": "0.01", "price": "65000"},
        )

    (request,) = discord.received()
    (embed,) = request.body["embeds"]
    link = f"https://desk.example.com/positions/{position.pk}/"
    assert embed["url"] == link
    assert f"Details: {link}" in embed["description"].splitlines()
    assert embed["fields"][:3] == [
        {"name": "Account", "value": "Binance main", "inline": True},
        {"name": "Symbol", "value": "BTC/USDT", "inline": True},
        {"name": "Side", "value": "long", "inline": True},
    ]


def test_a_delivery_queued_with_a_bare_path_is_sent_with_an_absolute_link(
    trader, destination, discord, django_capture_on_commit_callbacks, settings
):
    # Deliveries written before every event link was absolute: Discord refuses a bare path.
    settings.SITE_URL = "https://desk.example.com"
    with django_capture_on_commit_callbacks(execute=True):
        services.queue_delivery(
            destination=destination,
            message=Message(
                kind="trade.stop_hit",
                subject="Stop",
                body="Stop.",
                severity="info",
                url="/trades/1/",
            ),
        )

    (request,) = discord.received()
    assert request.body["embeds"][0]["url"] == "https://desk.example.com/trades/1/"
