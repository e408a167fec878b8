"""Live updates are rendered only for users with a page open, and leave in the order pushed."""

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from apps.core import broadcast
from apps.core.broadcast import broadcast_fragment, flush_live_updates, join_live
from apps.core.events import EVENT_ROW_LIVE
from apps.core.models import Event
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def rendered(monkeypatch) -> list[str]:
    templates: list[str] = []
    render = broadcast.render_to_string

    def counting(template, context):
        templates.append(template)
        return render(template, context)

    monkeypatch.setattr(broadcast, "render_to_string", counting)
    return templates


def event_for(user) -> Event:
    return Event.objects.create(kind="test.ping", message="Ping.", user=user)


def test_nothing_is_rendered_for_a_user_with_no_page_open(rendered):
    user = UserFactory()

    broadcast_fragment(user_ids=[user.pk], template=EVENT_ROW_LIVE, context={"event": None})

    assert rendered == []


def test_a_page_that_joined_is_sent_each_push_in_order(rendered):
    user, other = UserFactory(), UserFactory()
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(join_live)(layer, user_id=user.pk, channel_name=channel)
    events = [
        Event.objects.create(kind="test.ping", message=f"Ping {n}.", user=user) for n in (1, 2, 3)
    ]

    for event in events:
        broadcast_fragment(
            user_ids=[user.pk, other.pk], template=EVENT_ROW_LIVE, context={"event": event}
        )
    assert flush_live_updates(timeout=5)

    async def receive_all() -> list[str]:  # one event loop for the channel's receive buffer
        return [(await layer.receive(channel))["html"] for _ in events]

    received = async_to_sync(receive_all)()
    assert [html.count(f"Ping {n}.") for n, html in zip((1, 2, 3), received, strict=True)] == [
        1
    ] * 3
    assert rendered == [EVENT_ROW_LIVE] * 3  # once each, not once per recipient


def test_a_held_row_pushed_twice_is_rendered_once(rendered):
    user = UserFactory()
    layer = get_channel_layer()
    async_to_sync(join_live)(
        layer, user_id=user.pk, channel_name=async_to_sync(layer.new_channel)()
    )
    event = event_for(user)

    with broadcast.live_updates_held():
        for _ in range(3):
            broadcast_fragment(
                user_ids=[user.pk], template=EVENT_ROW_LIVE, context={"event": event}, key="row"
            )
        assert rendered == []  # held until the block ends

    assert rendered == [EVENT_ROW_LIVE]
