"""No credential is visible anywhere after it is saved: pages, admin, events, logs."""

import logging

import pytest
from django.urls import reverse

from apps.core.models import Event
from apps.exchanges import services
from tests.accounts.factories import OperatorFactory, UserFactory

pytestmark = pytest.mark.django_db

KEY, SECRET, PASSPHRASE = "AK-visible-if-leaked-1f3a", "SK-visible-if-leaked-9b7c", "PP-leak-42"


def test_no_credential_appears_on_any_page_event_or_log(client, caplog):
    caplog.set_level(logging.DEBUG)
    trader = UserFactory()
    account = services.create_account(
        owner=trader,
        label="Main",
        kind="okx",
        api_key=KEY,
        api_secret=SECRET,
        api_passphrase=PASSPHRASE,
    )
    services.update_account(account=account, api_secret=SECRET + "-new", label="Main okx")
    client.force_login(trader)
    # A real (failed, offline) connection attempt: ccxt's errors carry URLs and signatures.
    client.post(reverse("exchanges:account-test", args=[account.pk]))

    pages = [
        reverse("exchanges:account-list"),
        reverse("exchanges:account-detail", args=[account.pk]),
        reverse("exchanges:portfolio"),
        reverse("core:logs"),
        *[reverse("core:event-detail", args=[e.pk]) for e in Event.objects.filter(user=trader)],
    ]
    rendered = [client.get(page).content.decode() for page in pages]
    client.force_login(OperatorFactory())
    for page in [
        "/admin/exchanges/exchangeaccount/",
        f"/admin/exchanges/exchangeaccount/{account.pk}/change/",
        "/admin/core/event/",
        *[f"/admin/core/event/{e.pk}/change/" for e in Event.objects.all()],
    ]:
        response = client.get(page)
        assert response.status_code == 200, page
        rendered.append(response.content.decode())
    events = [f"{e.message} {e.data}" for e in Event.objects.all()]

    assert len(events) >= 3  # created, updated, connection failed
    for secret in (KEY, SECRET, PASSPHRASE):
        for text in [*rendered, *events, caplog.text]:
            assert secret not in text
