"""A user sees and touches only their own objects; another user's object is a 404."""

import pytest
from django.urls import reverse

from apps.core.events import record_event
from apps.core.models import Event
from apps.core.scoping import get_owned_or_404, owned
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_and_bob_events():
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    mine = record_event(kind="trade.activated", message="Alice's trade activated.", user=alice)
    theirs = record_event(kind="trade.activated", message="Bob's trade activated.", user=bob)
    system = record_event(kind="desk.started", message="Desk started.")
    return alice, mine, theirs, system


def test_owned_keeps_only_the_users_objects(alice_and_bob_events):
    alice, mine, _, _ = alice_and_bob_events
    assert list(owned(Event, alice)) == [mine]


def test_an_anonymous_user_owns_nothing_not_even_system_events(alice_and_bob_events):
    from django.contrib.auth.models import AnonymousUser

    assert not owned(Event, AnonymousUser()).exists()
    assert not owned(Event, None).exists()


def test_get_owned_or_404_treats_another_users_object_as_missing(alice_and_bob_events):
    from django.http import Http404

    alice, mine, theirs, _ = alice_and_bob_events
    assert get_owned_or_404(Event, alice, pk=mine.pk) == mine
    with pytest.raises(Http404):
        get_owned_or_404(Event, alice, pk=theirs.pk)


def test_another_users_event_page_is_404(client, alice_and_bob_events):
    alice, mine, theirs, system = alice_and_bob_events
    client.force_login(alice)
    assert client.get(reverse("core:event-detail", args=[mine.pk])).status_code == 200
    assert client.get(reverse("core:event-detail", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("core:event-detail", args=[system.pk])).status_code == 404


def test_the_logs_page_lists_only_the_users_events(client, alice_and_bob_events):
    alice, *_ = alice_and_bob_events
    client.force_login(alice)
    html = client.get(reverse("core:logs")).content.decode()
    assert "Alice&#x27;s trade activated." in html
    assert "Bob" not in html
    assert "Desk started." not in html
