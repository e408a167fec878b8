"""Who gets which notification, and what happens after failures, shown with email destinations.

Every delivery goes the real way: record_event → notify_event → Delivery → task on commit →
EmailTransport → Django's test outbox (or a closed port, for a mail server that is down).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core.events import record_event
from apps.notifications import catalog, services
from apps.notifications.models import Delivery, DeliveryAttempt, Destination
from tests.accounts.factories import UserFactory
from tests.servers import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def trader():
    return UserFactory(username="ada", email="ada@example.com")


@pytest.fixture
def deliver_on_commit(django_capture_on_commit_callbacks):
    """Run `action` and then what it enqueued on commit, as the worker would after COMMIT."""

    def run(action):
        with django_capture_on_commit_callbacks(execute=True):
            return action()

    return run


def email_destination(owner, *, label="Inbox", address="", kinds=None) -> Destination:
    return services.create_destination(
        owner=owner,
        kind=Destination.Kind.EMAIL,
        label=label,
        email_address=address,
        event_kinds=kinds,
    )


def record(deliver_on_commit, *, user, kind="trade.stop_hit", symbol="BTC/USDT"):
    label = catalog.label_of(kind)
    return deliver_on_commit(
        lambda: record_event(
            kind=kind, message=f"{label} on {symbol}.", user=user, data={"symbol": symbol}
        )
    )


def use_a_mail_server_that_is_down(settings) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False


# --- Subscriptions ----------------------------------------------------------------------------


def test_a_destination_receives_only_the_kinds_it_subscribes_to(
    trader, deliver_on_commit, mailoutbox
):
    destination = email_destination(trader, kinds=["trade.stop_hit"])

    record(deliver_on_commit, user=trader, kind="trade.activated")
    record(deliver_on_commit, user=trader, kind="trade.stop_hit", symbol="ETH/USDT")

    assert [m.subject for m in mailoutbox] == ["[TradeDesk] Stop hit · ETH/USDT"]
    assert [d.kind for d in Delivery.objects.filter(destination=destination)] == ["trade.stop_hit"]


def test_a_destination_subscribed_to_nothing_receives_nothing(
    trader, deliver_on_commit, mailoutbox
):
    destination = email_destination(trader, kinds=[])

    for kind in catalog.NOTIFIABLE:
        record(deliver_on_commit, user=trader, kind=kind)

    assert mailoutbox == []
    assert not Delivery.objects.filter(destination=destination).exists()


def test_each_destination_of_a_trader_gets_its_own_copy(trader, deliver_on_commit, mailoutbox):
    email_destination(trader, label="Inbox", address="alerts@example.org")
    email_destination(trader, label="Phone", address="pager@example.org")

    record(deliver_on_commit, user=trader)

    assert sorted(m.to[0] for m in mailoutbox) == ["alerts@example.org", "pager@example.org"]


def test_a_paused_destination_receives_nothing_but_send_test_still_arrives(
    trader, deliver_on_commit, mailoutbox
):
    destination = email_destination(trader)
    deliver_on_commit(lambda: services.set_paused(destination=destination, paused=True))

    record(deliver_on_commit, user=trader)
    assert mailoutbox == []
    assert not Delivery.objects.filter(destination=destination).exists()

    deliver_on_commit(lambda: services.send_test(destination=destination))

    assert [(m.subject, m.to) for m in mailoutbox] == [
        ("TradeDesk test notification", ["ada@example.com"])
    ]
    assert mailoutbox[0].body.startswith("This is a test from TradeDesk to Inbox.")
    test_delivery = Delivery.objects.get(destination=destination)
    assert (test_delivery.kind, test_delivery.status) == (catalog.TEST_KIND, Delivery.Status.SENT)


def test_a_traders_events_never_reach_another_traders_destination(
    trader, deliver_on_commit, mailoutbox
):
    other = UserFactory(username="grace", email="grace@example.com")
    mine = email_destination(trader)
    email_destination(other)

    record(deliver_on_commit, user=other)

    assert [m.to for m in mailoutbox] == [["grace@example.com"]]
    assert not Delivery.objects.filter(destination=mine).exists()


def test_an_event_without_a_user_is_not_delivered(trader, deliver_on_commit, mailoutbox):
    email_destination(trader)

    deliver_on_commit(
        lambda: record_event(kind="exchange.error", message="The exchange is in maintenance.")
    )

    assert mailoutbox == []
    assert not Delivery.objects.exists()


@pytest.mark.parametrize("kind", ["account.created", "notification.destination_failing"])
def test_an_event_of_a_kind_nobody_can_subscribe_to_is_not_delivered(
    kind, trader, deliver_on_commit, mailoutbox
):
    destination = email_destination(trader)
    # Even a subscription list that names it (written around the form) does not make it go.
    Destination.objects.filter(pk=destination.pk).update(event_kinds=[*catalog.NOTIFIABLE, kind])

    deliver_on_commit(lambda: record_event(kind=kind, message="Not for inboxes.", user=trader))

    assert mailoutbox == []
    assert not Delivery.objects.exists()


def test_nothing_is_sent_when_the_recording_transaction_rolls_back(
    trader, deliver_on_commit, mailoutbox
):
    from django.db import transaction

    email_destination(trader)

    def record_then_fail():
        with transaction.atomic():
            record_event(kind="trade.stop_hit", message="Stop hit.", user=trader)
            raise RuntimeError("the trade service failed after recording")

    with pytest.raises(RuntimeError):
        deliver_on_commit(record_then_fail)

    assert mailoutbox == []
    assert not Delivery.objects.exists()


# --- Failing destinations ---------------------------------------------------------------------


def test_a_failing_destination_sends_nothing_until_resumed_then_everything_that_waited(
    deliver_on_commit, mailoutbox
):
    trader = UserFactory(username="ada", email="")  # no address yet: email cannot be sent
    destination = Destination.objects.create(
        owner=trader, kind=Destination.Kind.EMAIL, label="Me", event_kinds=catalog.DEFAULT_KINDS
    )

    def two_events():
        record_event(kind="trade.stop_hit", message="Stop hit on BTC/USDT.", user=trader)
        record_event(kind="position.closed", message="Position closed.", user=trader)

    deliver_on_commit(two_events)
    destination.refresh_from_db()
    assert destination.status == Destination.Status.FAILING
    first, second = Delivery.objects.filter(destination=destination).order_by("id")
    # Both wait: the one that hit the failure is held, not dropped.
    assert (first.status, second.status) == (Delivery.Status.PENDING, Delivery.Status.PENDING)
    assert first.last_error and not second.last_error

    # The trader fixes the cause, but until they resume nothing more is sent.
    trader.email = "ada@example.com"
    trader.save(update_fields=["email"])
    record(deliver_on_commit, user=trader, kind="trade.activated")
    deliver_on_commit(lambda: services.deliver_due(now=timezone.now()))
    deliver_on_commit(lambda: services.deliver(destination_id=destination.pk))
    assert mailoutbox == []

    deliver_on_commit(lambda: services.resume(destination=destination))

    # Everything that waited goes out, the held one and the one recorded while failing too.
    assert [(m.subject, m.to) for m in mailoutbox] == [
        ("[TradeDesk] Stop hit", ["ada@example.com"]),
        ("[TradeDesk] Position closed", ["ada@example.com"]),
        ("[TradeDesk] Trade activated · BTC/USDT", ["ada@example.com"]),
    ]
    destination.refresh_from_db()
    assert (destination.status, destination.failing_reason) == (Destination.Status.ACTIVE, "")
    assert (
        not Delivery.objects.filter(destination=destination)
        .exclude(status=Delivery.Status.SENT)
        .exists()
    )


def test_send_test_reaches_a_failing_destination_so_the_trader_can_check_a_fix(
    deliver_on_commit, mailoutbox
):
    trader = UserFactory(username="ada", email="")
    destination = Destination.objects.create(
        owner=trader, kind=Destination.Kind.EMAIL, label="Me", event_kinds=catalog.DEFAULT_KINDS
    )
    record(deliver_on_commit, user=trader)
    destination.refresh_from_db()
    assert destination.status == Destination.Status.FAILING

    trader.email = "ada@example.com"
    trader.save(update_fields=["email"])
    deliver_on_commit(lambda: services.send_test(destination=destination))

    assert [m.subject for m in mailoutbox] == ["TradeDesk test notification"]


# --- Retries ----------------------------------------------------------------------------------


def make_due(delivery: Delivery) -> None:
    """Let the backoff elapse (the retry loop compares with the clock)."""
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())


def test_each_retry_waits_twice_as_long_as_the_one_before(trader, deliver_on_commit, settings):
    use_a_mail_server_that_is_down(settings)
    destination = email_destination(trader)

    record(deliver_on_commit, user=trader)
    delays = []
    for _ in range(3):
        delivery = Delivery.objects.get(destination=destination)
        last = delivery.attempt_log.last()
        delays.append(delivery.next_attempt_at - last.started_at)
        make_due(delivery)
        deliver_on_commit(lambda: services.deliver_due(now=timezone.now()))

    base = services.BACKOFF_BASE_SECONDS
    for delay, expected in zip(delays, [base, 2 * base, 4 * base], strict=True):
        assert timedelta(seconds=expected) <= delay < timedelta(seconds=expected + 5)
    assert Delivery.objects.get(destination=destination).attempts == 4


def test_after_the_last_attempt_a_transient_failure_gives_up_but_the_destination_stays_active(
    trader, deliver_on_commit, settings
):
    use_a_mail_server_that_is_down(settings)
    destination = email_destination(trader)

    record(deliver_on_commit, user=trader)
    for _ in range(services.MAX_ATTEMPTS - 1):
        make_due(Delivery.objects.get(destination=destination))
        deliver_on_commit(lambda: services.deliver_due(now=timezone.now()))

    delivery = Delivery.objects.get(destination=destination)
    assert (delivery.status, delivery.attempts) == (Delivery.Status.FAILED, services.MAX_ATTEMPTS)
    outcomes = [a.outcome for a in delivery.attempt_log.all()]
    assert outcomes == [DeliveryAttempt.Outcome.RETRY] * (services.MAX_ATTEMPTS - 1) + [
        DeliveryAttempt.Outcome.FAILED
    ]
    destination.refresh_from_db()
    assert destination.status == Destination.Status.ACTIVE  # the server may well come back


def test_the_retry_loop_leaves_paused_destinations_alone(
    trader, deliver_on_commit, settings, mailoutbox
):
    use_a_mail_server_that_is_down(settings)
    destination = email_destination(trader)
    record(deliver_on_commit, user=trader)
    delivery = Delivery.objects.get(destination=destination)
    deliver_on_commit(lambda: services.set_paused(destination=destination, paused=True))

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # server is back
    make_due(delivery)
    deliver_on_commit(lambda: services.deliver_due(now=timezone.now()))
    assert mailoutbox == []

    deliver_on_commit(lambda: services.set_paused(destination=destination, paused=False))
    assert [m.subject for m in mailoutbox] == ["[TradeDesk] Stop hit · BTC/USDT"]
