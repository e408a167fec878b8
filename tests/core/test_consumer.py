import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from apps.core.broadcast import user_group
from apps.core.events import record_event
from tests.accounts.factories import UserFactory
from tradedesk.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def connect(cookie: str | None = None) -> tuple[WebsocketCommunicator, bool]:
    headers = [(b"origin", b"http://localhost"), (b"host", b"localhost")]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    communicator = WebsocketCommunicator(application, "/ws/desk/", headers=headers)
    connected, _ = await communicator.connect()
    return communicator, connected


@database_sync_to_async
def logged_in_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


async def test_an_anonymous_socket_is_refused():
    communicator, connected = await connect()
    assert not connected
    await communicator.disconnect()


async def test_a_foreign_origin_is_refused():
    user = await database_sync_to_async(UserFactory)()
    cookie = await logged_in_cookie(user)
    communicator = WebsocketCommunicator(
        application,
        "/ws/desk/",
        headers=[(b"origin", b"https://evil.example"), (b"cookie", cookie.encode())],
    )
    connected, _ = await communicator.connect()
    assert not connected


async def test_a_user_receives_their_fragments_and_not_another_users():
    alice = await database_sync_to_async(UserFactory)()
    bob = await database_sync_to_async(UserFactory)()
    communicator, connected = await connect(await logged_in_cookie(alice))
    assert connected
    layer = get_channel_layer()

    await layer.group_send(user_group(bob.pk), {"type": "desk.fragment", "html": "<p>bob</p>"})
    await layer.group_send(user_group(alice.pk), {"type": "desk.fragment", "html": "<p>alice</p>"})

    assert await communicator.receive_from(timeout=3) == "<p>alice</p>"
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_an_open_page_receives_what_services_push_to_its_user():
    user = await database_sync_to_async(UserFactory)()
    communicator, connected = await connect(await logged_in_cookie(user))
    assert connected

    await database_sync_to_async(record_event)(kind="test.ping", message="Ping 7.", user=user)

    assert "Ping 7." in await communicator.receive_from(timeout=3)
    await communicator.disconnect()


@pytest.mark.parametrize("path", ["/ws/other/", "/ws/desk", "/", "/webhooks/tv/abc/"])
async def test_a_socket_to_any_other_path_is_refused_cleanly(path):
    user = await database_sync_to_async(UserFactory)()
    cookie = await logged_in_cookie(user)
    headers = [(b"origin", b"http://localhost"), (b"host", b"localhost")]
    communicator = WebsocketCommunicator(
        application, path, headers=[*headers, (b"cookie", cookie.encode())]
    )
    connected, _ = await communicator.connect()
    assert not connected
    await communicator.disconnect()
