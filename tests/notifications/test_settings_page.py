import pytest
from django.urls import reverse

from apps.core.models import Event
from apps.notifications import catalog
from apps.notifications.models import Delivery, Destination
from tests.accounts.factories import OperatorFactory, UserFactory

pytestmark = pytest.mark.django_db

PAGE = reverse("notifications:settings")
WEBHOOK = "https://discord.com/api/webhooks/123456789/secret-token-that-must-not-leak"


@pytest.fixture
def trader(client):
    user = UserFactory(email="trader@example.com")
    client.force_login(user)
    return user


def add(client, **data):
    return client.post(PAGE, {"label": "Mine", "event_kinds": catalog.DEFAULT_KINDS, **data})


def test_an_email_destination_goes_to_the_login_address_by_default(client, trader):
    response = add(client, kind="email")
    assert response.status_code == 302
    destination = Destination.objects.get(owner=trader)
    assert (destination.recipient, destination.event_kinds) == (
        "trader@example.com",
        catalog.DEFAULT_KINDS,
    )
    assert "trader@example.com" in client.get(PAGE).content.decode()


def test_a_discord_url_is_validated_and_nothing_is_saved_when_it_is_wrong(client, trader):
    response = add(client, kind="discord", discord_webhook_url="https://example.com/hook")
    assert response.status_code == 200
    assert "https://discord.com/api/webhooks/" in response.content.decode()
    assert not Destination.objects.exists()
    response = add(client, kind="discord")
    assert "needs its webhook URL" in response.content.decode()
    assert not Destination.objects.exists()


def test_the_webhook_url_is_a_secret_never_shown_again(client, trader):
    add(client, kind="discord", discord_webhook_url=WEBHOOK)
    destination = Destination.objects.get(owner=trader)
    edit = reverse("notifications:destination-edit", args=[destination.pk])
    pages = [client.get(PAGE), client.get(edit), client.get(reverse("core:logs"))]
    assert "saved — leave blank to keep" in pages[1].content.decode()
    client.post(edit, {"label": "Renamed", "event_kinds": ["trade.stop_hit"]})
    destination.refresh_from_db()
    assert destination.discord_webhook_url == WEBHOOK  # kept
    assert destination.event_kinds == ["trade.stop_hit"]
    client.force_login(OperatorFactory())
    pages += [
        client.get("/admin/notifications/destination/"),
        client.get(f"/admin/notifications/destination/{destination.pk}/change/"),
    ]
    texts = [page.content.decode() for page in pages]
    texts += [f"{event.message} {event.data}" for event in Event.objects.all()]
    assert all("secret-token-that-must-not-leak" not in text for text in texts)


@pytest.mark.parametrize(("action", "field", "value"), [("pause", "is_paused", True)])
def test_pausing_answers_with_the_updated_row(client, trader, action, field, value):
    add(client, kind="email")
    destination = Destination.objects.get(owner=trader)
    url = reverse("notifications:destination-action", args=[destination.pk, action])
    response = client.post(url, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith(f'<tr id="destination-{destination.pk}"')
    assert "paused" in html
    destination.refresh_from_db()
    assert getattr(destination, field) is value


def test_send_test_queues_a_test_delivery_even_when_paused(
    client, trader, django_capture_on_commit_callbacks
):
    add(client, kind="email")
    destination = Destination.objects.get(owner=trader)
    destination.is_paused = True
    destination.save()
    url = reverse("notifications:destination-action", args=[destination.pk, "test"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, HTTP_HX_REQUEST="true")
    assert "Test notification queued" in response.content.decode()
    assert Delivery.objects.get(destination=destination).kind == catalog.TEST_KIND


def test_another_traders_destination_is_404(client, trader):
    other = Destination.objects.create(
        owner=UserFactory(), kind="email", label="Theirs", email_address="x@example.com"
    )
    assert client.get(reverse("notifications:destination-edit", args=[other.pk])).status_code == 404
    for action in ("test", "pause", "remove"):
        url = reverse("notifications:destination-action", args=[other.pk, action])
        assert client.post(url).status_code == 404
    assert Destination.objects.filter(pk=other.pk, is_paused=False).exists()


def test_an_unknown_action_is_404(client, trader):
    add(client, kind="email")
    destination = Destination.objects.get(owner=trader)
    url = reverse("notifications:destination-action", args=[destination.pk, "explode"])
    assert client.post(url).status_code == 404
