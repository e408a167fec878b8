import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from apps.core.broadcast import join_live
from apps.core.events import record_event
from apps.core.models import AppendOnlyError, Event
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_record_event_stores_who_what_and_about_which_object():
    trader = UserFactory()
    event = record_event(
        kind="account.tested",
        message="Connection test passed.",
        user=trader,
        subject=trader,
        data={"latency_ms": 12},
    )
    stored = Event.objects.get(pk=event.pk)
    assert (stored.user, stored.kind, stored.message) == (trader, "account.tested", event.message)
    assert (stored.subject_type, stored.subject_id) == ("accounts.user", str(trader.pk))
    assert stored.data == {"latency_ms": 12}
    assert stored.level == Event.Level.INFO


def test_decimal_inputs_are_kept_exactly_as_strings():
    from decimal import Decimal

    event = record_event(kind="order.priced", message="Priced.", data={"price": Decimal("0.1")})
    assert Event.objects.get(pk=event.pk).data == {"price": "0.1"}


def test_events_cannot_be_updated_or_deleted():
    event = record_event(kind="desk.note", message="Original.")
    event.message = "Rewritten."
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        Event.objects.filter(pk=event.pk).update(message="Rewritten.")
    with pytest.raises(AppendOnlyError):
        Event.objects.filter(pk=event.pk).delete()
    assert Event.objects.get(pk=event.pk).message == "Original."


def test_an_event_rolled_back_with_its_transaction_leaves_no_trace():
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        record_event(kind="trade.activated", message="Activated.")
        raise RuntimeError("the service failed after recording")
    assert not Event.objects.filter(kind="trade.activated").exists()


@pytest.mark.django_db(transaction=True)
def test_a_users_event_is_pushed_to_that_users_group_as_a_log_row():
    trader = UserFactory()
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(join_live)(layer, user_id=trader.pk, channel_name=channel)

    event = record_event(kind="signal.rejected", message="Stale signal.", user=trader)

    message = async_to_sync(layer.receive)(channel)
    assert message["type"] == "desk.fragment"
    assert 'hx-swap-oob="afterbegin:#event-rows"' in message["html"]
    assert f'id="event-{event.pk}"' in message["html"]
    assert "Stale signal." in message["html"]
