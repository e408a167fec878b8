"""Email notifications, through the real path: record_event → Delivery → task on commit → email.

Django's test outbox checks the words of every kind; a real SMTP server on loopback (aiosmtpd)
checks what reaches the wire and how the server's answers become retries or a failing destination.
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings
from django.utils import timezone

from apps.core.events import record_event
from apps.core.models import Event
from apps.notifications import catalog, services
from apps.notifications.models import Delivery, DeliveryAttempt, Destination
from apps.tickets.services.events import trade_event
from tests.accounts.factories import UserFactory
from tests.exchanges.factories import ExchangeAccountFactory
from tests.servers import free_port
from tests.tickets.factories import TradeFactory

pytestmark = pytest.mark.django_db

ADDRESS = "alerts@example.org"
TRADE_URL = "http://127.0.0.1:8000/trades/12/"

# kind -> (the event's message, its data, the subject the trader must see). Every notifiable
# kind needs an entry: a new kind without one fails test_each_notifiable_kind_...
EXAMPLES: dict[str, tuple[str, dict, str]] = {
    "trade.activated": (
        "Trade #12 activated from signal breakout-long.",
        {
            "account": "Binance main",
            "symbol": "BTC/USDT",
            "side": "buy",
            "quantity": "0.010",
            "price": "61250.50",
            "url": TRADE_URL,
        },
        "[TradeDesk] Trade activated · BTC/USDT",
    ),
    "trade.rejected": (
        "Activation refused: portfolio: Needs 1001 USDT including 0.1 % fees; 500 USDT is free.",
        {"account": "Binance main", "symbol": "BTC/USDT", "side": "long", "url": TRADE_URL},
        "[TradeDesk] Trade activation refused · BTC/USDT",
    ),
    "trade.entry_filled": (
        "Entry 1 of trade #12 filled: bought 0.010 BTC at 61250.50.",
        {"account": "Binance main", "symbol": "BTC/USDT", "side": "buy", "quantity": "0.010"},
        "[TradeDesk] Entry filled · BTC/USDT",
    ),
    "trade.entry_waiting": (
        "Entry rule met, but Binance main's pool is full (3 of 3 slots used).",
        {"account": "Binance main", "symbol": "BTC/USDT", "reason": "pool full"},
        "[TradeDesk] Entry waiting for a pool slot · BTC/USDT",
    ),
    "trade.entry_failed": (
        "The entry of position #7 ended with nothing filled; the trade needs attention.",
        {"account": "Binance main", "symbol": "BTC/USDT", "reason": "nothing filled"},
        "[TradeDesk] Entry failed (nothing filled) · BTC/USDT",
    ),
    "trade.take_profit_hit": (
        "Take profit 1 of trade #12 filled at 63000.00.",
        {"symbol": "BTC/USDT", "side": "sell", "price": "63000.00", "pnl": "17.49"},
        "[TradeDesk] Take profit hit · BTC/USDT · PnL 17.49",
    ),
    "trade.stop_hit": (
        "The stop of trade #12 filled at 60100.00.",
        {"symbol": "BTC/USDT", "side": "sell", "price": "60100.00", "pnl": "-11.51"},
        "[TradeDesk] Stop hit · BTC/USDT · PnL -11.51",
    ),
    "position.closed": (
        "Position BTC/USDT on Binance main closed.",
        {"account": "Binance main", "symbol": "BTC/USDT", "pnl": "5.98"},
        "[TradeDesk] Position closed · BTC/USDT · PnL 5.98",
    ),
    "protection.stop_cancelled": (
        "The resting initial stop tdab12g7s1 was cancelled on the exchange, not by the desk: "
        "placing it again.",
        {"account": "Binance main", "symbol": "BTC/USDT", "client_order_id": "tdab12g7s1"},
        "[TradeDesk] Resting order cancelled on the exchange · BTC/USDT",
    ),
    "protection.stop_refused": (
        "The exchange refused the resting initial stop tdab12g7s1: this market takes no stop "
        "orders. The desk's rules loop remains the stop.",
        {"account": "Binance main", "symbol": "BTC/USDT", "reason": "no stop orders"},
        "[TradeDesk] Resting order refused by the exchange · BTC/USDT",
    ),
    "reconcile.missed_fill": (
        "Order tdab12g7s1 (initial stop, position #7) filled 0.01536 more on the exchange than "
        "the desk had recorded: the fill is recorded now.",
        {"account": "Binance main", "client_order_id": "tdab12g7s1"},
        "[TradeDesk] Reconciliation: a missed fill recorded · Binance main",
    ),
    "reconcile.never_placed": (
        "Order tdab12g7p1l2 (DCA leg, position #7) never reached the exchange: recorded as not "
        "placed.",
        {"account": "Binance main", "client_order_id": "tdab12g7p1l2"},
        "[TradeDesk] Reconciliation: an order never placed · Binance main",
    ),
    "reconcile.cancelled_outside": (
        "Order tdab12g7p1l2 (DCA leg, position #7) was cancelled on the exchange, not by the desk.",
        {"account": "Binance main", "client_order_id": "tdab12g7p1l2"},
        "[TradeDesk] Reconciliation: an order cancelled outside · Binance main",
    ),
    "reconcile.unknown_order": (
        "Open order tdab12g9s1 (sell 0.01 BTC/USDT) carries this desk's prefix but the desk has "
        "no record of it.",
        {"account": "Binance main", "client_order_id": "tdab12g9s1"},
        "[TradeDesk] Reconciliation: an unknown order with our prefix · Binance main",
    ),
    "reconcile.stale_open": (
        "Order tdab12g7p1l2 (buy 0.01 BTC/USDT) is cancelled on the desk but open on the "
        "exchange. It is cancelled.",
        {"account": "Binance main", "client_order_id": "tdab12g7p1l2"},
        "[TradeDesk] Reconciliation: a cancelled order still open · Binance main",
    ),
    "signal.rejected": (
        "Signal from TradingView rejected.",
        {"symbol": "ETH/USDT", "reason": "ETH/USDT is not enabled for this strategy."},
        "[TradeDesk] Signal rejected · ETH/USDT",
    ),
    "signal.stale": (
        "Signal 12 (entry BTC/USDT 15 on route TV main) too old to act on: Stale: fired 7 min "
        "ago, more than the 300 s allowed.",
        {"route": "TV main", "symbol": "BTC/USDT", "reason": "Stale: fired 7 min ago."},
        "[TradeDesk] Signal too old · BTC/USDT",
    ),
    "signal.queued": (
        "Signal for SOL/USDT queued: 3 trades are already open.",
        {"symbol": "SOL/USDT", "place": "2"},
        "[TradeDesk] Signal queued · SOL/USDT",
    ),
    "signal.promoted": (
        "Queued signal for SOL/USDT promoted: a slot opened.",
        {"symbol": "SOL/USDT", "waited": "4 minutes"},
        "[TradeDesk] Signal promoted · SOL/USDT",
    ),
    "signal.expired": (
        "Queued signal for SOL/USDT expired after 30 minutes.",
        {"symbol": "SOL/USDT", "reason": "Waited longer than 30 minutes."},
        "[TradeDesk] Signal expired · SOL/USDT",
    ),
    "risk.action": (
        "Daily loss limit reached: new trades are blocked until 00:00 UTC.",
        {"account": "Binance main", "rule": "Daily loss limit", "pnl": "-250.00"},
        "[TradeDesk] Risk action · Binance main",
    ),
    "guard.breached": (
        "Guard breached: drawdown 12.5% is above 10%.",
        {"account": "Binance main", "reason": "Drawdown above 10%."},
        "[TradeDesk] Guard breached · Binance main",
    ),
    "account.kill_switch": (
        "Kill switch engaged: open orders cancelled, trading stopped.",
        {"account": "Binance main"},
        "[TradeDesk] Kill switch · Binance main",
    ),
    "exchange.error": (
        "Binance refused the order for BTC/USDT: insufficient balance.",
        {"account": "Binance main", "symbol": "BTC/USDT", "error": "InsufficientFunds"},
        "[TradeDesk] Exchange error · BTC/USDT",
    ),
    "markets.refresh_failed": (
        "Markets of Binance main could not be refreshed: timed out.",
        {"error": "RequestTimeout"},
        # The feature names the account only as the event's account, not in its data.
        "[TradeDesk] Markets could not be refreshed · Binance main",
    ),
    "webhook.auth_failed": (
        "A webhook call for strategy breakout-long had a wrong secret.",
        {"strategy": "breakout-long", "source": "203.0.113.7"},
        "[TradeDesk] Webhook authentication failure",
    ),
    "webhook.rate_limited": (
        "Route TV main received more than 60 signals this minute; the rest of this minute's "
        "signals were refused (429) and not recorded.",
        {"route": "TV main", "limit": "60 per minute"},
        "[TradeDesk] Webhook rate limit exceeded",
    ),
}

FIELD_LINES = {
    "account": "Account",
    "symbol": "Symbol",
    "side": "Side",
    "quantity": "Quantity",
    "price": "Price",
    "pnl": "PnL",
    "reason": "Reason",
}


@pytest.fixture
def trader():
    return UserFactory(username="ada", email="ada@example.com")


@pytest.fixture
def destination(trader):
    return services.create_destination(
        owner=trader, kind=Destination.Kind.EMAIL, label="Inbox", email_address=ADDRESS
    )


@pytest.fixture
def deliver_on_commit(django_capture_on_commit_callbacks):
    """Run `action` and then what it enqueued on commit, as the worker would after COMMIT."""

    def run(action):
        with django_capture_on_commit_callbacks(execute=True):
            return action()

    return run


def record(deliver_on_commit, *, user, kind="trade.stop_hit", message=None, data=None, **extra):
    example_message, example_data, _ = EXAMPLES[kind]
    return deliver_on_commit(
        lambda: record_event(
            kind=kind,
            message=message or example_message,
            user=user,
            data=example_data if data is None else data,
            **extra,
        )
    )


# --- Every kind, in Django's test outbox -------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(catalog.NOTIFIABLE))
def test_each_notifiable_kind_is_emailed_with_its_subject_fields_and_time(
    kind, trader, destination, deliver_on_commit, mailoutbox
):
    message, data, subject = EXAMPLES[kind]
    # Features about one exchange account record it as the event's account.
    about_an_account = "account" in data or kind == "markets.refresh_failed"
    account = ExchangeAccountFactory(owner=trader, label="Binance main")
    event = record(
        deliver_on_commit, user=trader, kind=kind, account=account if about_an_account else None
    )

    assert len(mailoutbox) == 1
    sent = mailoutbox[0]
    assert sent.subject == subject
    assert sent.to == [ADDRESS]
    assert sent.from_email == settings.DEFAULT_FROM_EMAIL
    assert sent.body.startswith(message + "\n\n")
    for name, value in data.items():
        if name == "url":
            assert f"Details: {value}" in sent.body.splitlines()
        else:
            assert f"{FIELD_LINES.get(name, name.capitalize())}: {value}" in sent.body.splitlines()
    assert ("Account: Binance main" in sent.body.splitlines()) == about_an_account
    assert f"When: {event.created_at:%Y-%m-%d %H:%M:%S} UTC" in sent.body.splitlines()

    delivery = Delivery.objects.get(destination=destination)
    assert (delivery.event, delivery.kind, delivery.status) == (event, kind, Delivery.Status.SENT)
    assert delivery.attempts == 1 and delivery.sent_at is not None
    [attempt] = delivery.attempt_log.all()
    assert attempt.outcome == DeliveryAttempt.Outcome.SENT
    assert attempt.error == ""
    assert attempt.started_at <= delivery.sent_at
    assert 0 <= attempt.duration_ms < 10_000


def test_an_email_reads_message_fields_time_and_link_in_that_order(
    trader, destination, deliver_on_commit, mailoutbox
):
    event = record(
        deliver_on_commit,
        user=trader,
        kind="trade.take_profit_hit",
        message="Take profit 1 of trade #12 filled at 63000.00.",
        # Stored data keeps no key order; the email still shows the known fields in a fixed one.
        data={
            "pnl": "17.49",
            "tp": "1",
            "symbol": "BTC/USDT",
            "price": "63000.00",
            "url": TRADE_URL,
        },
    )

    assert mailoutbox[0].body == (
        "Take profit 1 of trade #12 filled at 63000.00.\n"
        "\n"
        "Symbol: BTC/USDT\n"
        "Price: 63000.00\n"
        "PnL: 17.49\n"
        "Tp: 1\n"
        f"When: {event.created_at:%Y-%m-%d %H:%M:%S} UTC\n"
        f"Details: {TRADE_URL}\n"
        "\n"
        "-- \n"
        "Sent by TradeDesk. Choose what you receive in Settings → Notifications."
    )


def test_a_webhook_authentication_failure_tells_the_trader_what_to_do(
    trader, destination, deliver_on_commit, mailoutbox
):
    record(deliver_on_commit, user=trader, kind="webhook.auth_failed")

    assert (
        "The request was ignored. If it did not come from your own signal source, "
        "change the webhook secret."
    ) in mailoutbox[0].body.splitlines()


def test_money_is_shown_exactly_as_the_event_gives_it(
    trader, destination, deliver_on_commit, mailoutbox
):
    record(
        deliver_on_commit,
        user=trader,
        kind="position.closed",
        data={"symbol": "PEPE/USDT", "quantity": "12000000.000", "pnl": "-0.00000120"},
    )

    assert mailoutbox[0].subject == "[TradeDesk] Position closed · PEPE/USDT · PnL -0.00000120"
    assert "Quantity: 12000000.000" in mailoutbox[0].body.splitlines()
    assert "PnL: -0.00000120" in mailoutbox[0].body.splitlines()


# --- Which address ----------------------------------------------------------------------------


def test_a_destination_without_its_own_address_mails_the_logins_address(
    trader, deliver_on_commit, mailoutbox
):
    services.create_destination(owner=trader, kind=Destination.Kind.EMAIL, label="Me")
    trader.email = "ada.lovelace@example.net"  # the login's address as it is when sending
    trader.save(update_fields=["email"])

    record(deliver_on_commit, user=trader)

    assert [m.to for m in mailoutbox] == [["ada.lovelace@example.net"]]


def test_a_destinations_own_address_wins_over_the_logins(
    trader, destination, deliver_on_commit, mailoutbox
):
    record(deliver_on_commit, user=trader)

    assert [m.to for m in mailoutbox] == [[ADDRESS]]
    assert trader.email not in mailoutbox[0].to


def test_with_no_address_anywhere_the_destination_fails_and_says_how_to_fix_it(
    deliver_on_commit, mailoutbox
):
    trader = UserFactory(email="")
    # The form refuses this; a login whose address was removed later ends up here all the same.
    destination = Destination.objects.create(
        owner=trader, kind=Destination.Kind.EMAIL, label="Me", event_kinds=catalog.DEFAULT_KINDS
    )

    record(deliver_on_commit, user=trader)

    assert mailoutbox == []
    destination.refresh_from_db()
    assert destination.status == Destination.Status.FAILING
    assert destination.failing_reason == (
        "No email address: set one on the destination or on your login."
    )
    assert Delivery.objects.get(destination=destination).status == Delivery.Status.PENDING  # held


# --- Through a real SMTP server on loopback ---------------------------------------------------


class SmtpHandler:
    """An aiosmtpd handler that keeps what it accepts and answers as told."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], email.message.EmailMessage]] = []
        self.refuse: dict[str, str] = {}  # address -> reply to its RCPT
        self.data_reply = ""  # a reply to DATA instead of accepting it

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_reply:
            return self.data_reply
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


def use_smtp(settings, port: int) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False


@pytest.fixture
def smtp(settings):
    handler = SmtpHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    use_smtp(settings, controller.port)
    yield handler
    controller.stop()


def test_an_email_goes_over_smtp_to_the_recipient_with_subject_and_body(
    trader, destination, deliver_on_commit, smtp
):
    event = record(deliver_on_commit, user=trader, kind="trade.stop_hit")

    [(mail_from, recipients, message)] = smtp.received
    assert mail_from == "tradedesk@localhost"  # from DEFAULT_FROM_EMAIL
    assert recipients == [ADDRESS]
    assert message["To"] == ADDRESS
    # Django folds a non-ASCII subject onto the next line; the fold is not part of the text.
    assert message["Subject"].lstrip() == "[TradeDesk] Stop hit · BTC/USDT · PnL -11.51"
    assert message.get_content_type() == "text/plain"
    body = message.get_content().replace("\r\n", "\n")  # SMTP's line endings
    assert body.startswith("The stop of trade #12 filled at 60100.00.\n\nSymbol: BTC/USDT\n")
    assert "PnL: -11.51" in body.splitlines()
    assert f"When: {event.created_at:%Y-%m-%d %H:%M:%S} UTC" in body.splitlines()
    delivery = Delivery.objects.get(destination=destination)
    assert delivery.status == Delivery.Status.SENT
    assert [a.outcome for a in delivery.attempt_log.all()] == [DeliveryAttempt.Outcome.SENT]


def test_a_temporary_refusal_is_retried_later_with_backoff(
    trader, destination, deliver_on_commit, smtp
):
    smtp.refuse[ADDRESS] = "451 4.7.1 Greylisted, try again later"

    before = timezone.now()
    record(deliver_on_commit, user=trader)

    assert smtp.received == []
    delivery = Delivery.objects.get(destination=destination)
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.attempts == 1
    assert delivery.next_attempt_at >= before + timedelta(seconds=services.BACKOFF_BASE_SECONDS)
    [attempt] = delivery.attempt_log.all()
    assert attempt.outcome == DeliveryAttempt.Outcome.RETRY
    assert attempt.error == (
        f"The mail server refused the address {ADDRESS} (451 4.7.1 Greylisted, try again later)."
    )
    destination.refresh_from_db()
    assert destination.status == Destination.Status.ACTIVE


def test_a_retried_email_goes_out_once_the_server_takes_it(
    trader, destination, deliver_on_commit, smtp
):
    smtp.refuse[ADDRESS] = "451 4.7.1 Greylisted, try again later"
    record(deliver_on_commit, user=trader)
    delivery = Delivery.objects.get(destination=destination)

    # Not due yet: the retry loop leaves it alone.
    deliver_on_commit(lambda: services.deliver_due(now=timezone.now()))
    assert smtp.received == []

    smtp.refuse.clear()
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    deliver_on_commit(lambda: services.deliver_due(now=timezone.now()))

    assert [recipients for _, recipients, _ in smtp.received] == [[ADDRESS]]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.SENT, 2)
    assert [a.outcome for a in delivery.attempt_log.all()] == [
        DeliveryAttempt.Outcome.RETRY,
        DeliveryAttempt.Outcome.SENT,
    ]


def test_a_refused_address_marks_the_destination_failing_without_emailing_the_trader(
    trader, destination, deliver_on_commit, smtp, mailoutbox
):
    smtp.refuse[ADDRESS] = "550 5.1.1 No such user here"

    record(deliver_on_commit, user=trader)

    reason = f"The mail server refused the address {ADDRESS} (550 5.1.1 No such user here)."
    delivery = Delivery.objects.get(destination=destination)
    assert delivery.status == Delivery.Status.PENDING  # held until the trader resumes
    assert [(a.outcome, a.error) for a in delivery.attempt_log.all()] == [
        (DeliveryAttempt.Outcome.FAILED, reason)
    ]
    destination.refresh_from_db()
    assert (destination.status, destination.failing_reason) == (
        Destination.Status.FAILING,
        reason,
    )
    assert destination.failing_since is not None
    failing = Event.objects.get(kind="notification.destination_failing")
    assert failing.user == trader
    assert failing.message == f"Notifications to Inbox stopped: {reason}"
    # Only a broken Discord destination is reported by email; the login's address
    # (ada@example.com) would be accepted by this server, and nothing arrived there.
    assert smtp.received == []
    assert mailoutbox == []


def test_a_message_rejected_after_data_fails_for_good(trader, destination, deliver_on_commit, smtp):
    smtp.data_reply = "554 5.7.1 Message rejected as spam"

    record(deliver_on_commit, user=trader)

    destination.refresh_from_db()
    assert destination.status == Destination.Status.FAILING
    assert destination.failing_reason == (
        "The mail server rejected the message (554 5.7.1 Message rejected as spam)."
    )


def test_a_refused_sender_is_the_operators_problem_not_the_destinations(
    trader, destination, deliver_on_commit, settings
):
    settings.DEFAULT_FROM_EMAIL = "desk@blocked.example"

    class RefuseSender(SmtpHandler):
        async def handle_MAIL(self, server, session, envelope, address, mail_options):
            return "553 5.7.1 Sender not allowed"

    controller = Controller(RefuseSender(), hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        use_smtp(settings, controller.port)
        record(deliver_on_commit, user=trader)
    finally:
        controller.stop()

    # The desk's own sender address is wrong: retry later, do not fail the trader's address.
    destination.refresh_from_db()
    assert destination.status == Destination.Status.ACTIVE
    delivery = Delivery.objects.get(destination=destination)
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.last_error == (
        "The mail server refused the desk's sender address desk@blocked.example "
        "(553 5.7.1 Sender not allowed). The operator must fix DEFAULT_FROM_EMAIL."
    )


# --- When the mail server is not there ---------------------------------------------------------


def assert_retried(destination: Destination, error: str) -> None:
    delivery = Delivery.objects.get(destination=destination)
    assert (delivery.status, delivery.attempts) == (Delivery.Status.PENDING, 1)
    assert delivery.next_attempt_at > timezone.now()
    assert [(a.outcome, a.error) for a in delivery.attempt_log.all()] == [
        (DeliveryAttempt.Outcome.RETRY, error)
    ]
    destination.refresh_from_db()
    assert destination.status == Destination.Status.ACTIVE


def test_a_mail_server_that_is_down_means_retry(trader, destination, deliver_on_commit, settings):
    use_smtp(settings, free_port())  # nothing listens there

    record(deliver_on_commit, user=trader)

    assert_retried(destination, "Could not reach the mail server: Connection refused.")


def test_a_mail_server_that_never_answers_times_out_and_means_retry(
    trader, destination, deliver_on_commit, settings
):
    with socket.socket() as silent:
        # Connections complete in the kernel's backlog, but no greeting ever comes.
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        use_smtp(settings, silent.getsockname()[1])
        settings.EMAIL_TIMEOUT = 0.5

        record(deliver_on_commit, user=trader)

    assert_retried(destination, "The mail server did not answer within 0.5 seconds.")


def test_a_mail_server_that_hangs_up_means_retry(trader, destination, deliver_on_commit, settings):
    with socket.socket() as rude:
        rude.bind(("127.0.0.1", 0))
        rude.listen(1)

        def hang_up() -> None:
            connection, _ = rude.accept()
            connection.close()

        thread = threading.Thread(target=hang_up, daemon=True)
        thread.start()
        use_smtp(settings, rude.getsockname()[1])

        record(deliver_on_commit, user=trader)
        thread.join(timeout=5)

    assert_retried(destination, "The mail server closed the connection unexpectedly.")


def test_a_mail_server_busy_at_data_means_retry(trader, destination, deliver_on_commit, smtp):
    smtp.data_reply = "421 4.3.2 Service not available, closing channel"

    record(deliver_on_commit, user=trader)

    assert_retried(
        destination,
        "The mail server could not take the message now "
        "(421 4.3.2 Service not available, closing channel).",
    )


# --- The link of an event, as the engine records it -------------------------------------------


def test_a_trade_event_emails_an_absolute_link_to_the_trade(
    trader, destination, deliver_on_commit, mailoutbox, settings
):
    settings.SITE_URL = "https://desk.example.com"
    trade = TradeFactory(owner=trader, account=ExchangeAccountFactory(owner=trader, label="Main"))

    deliver_on_commit(
        lambda: trade_event(trade, "trade.activated", f"Trade #{trade.pk} activated.")
    )

    lines = mailoutbox[0].body.splitlines()
    assert f"Details: https://desk.example.com/trades/{trade.pk}/" in lines
    assert lines[2:5] == ["Account: Main", "Symbol: BTC/USDT", "Side: long"]
