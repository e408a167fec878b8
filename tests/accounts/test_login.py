import pytest
from django.urls import reverse

from tests.accounts.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def log_in(client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_a_trader_logs_in_and_lands_on_the_desk(client):
    trader = UserFactory()
    response = log_in(client, trader.username, PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == reverse("tickets:desk")
    assert client.get("/").status_code == 200


def test_a_wrong_password_is_refused_with_a_message(client):
    trader = UserFactory()
    response = log_in(client, trader.username, "not-the-password")
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_logout_is_a_post_and_ends_the_session(client):
    client.force_login(UserFactory())
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_repeated_failures_lock_the_login_even_with_the_right_password(client, settings):
    trader = UserFactory()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, trader.username, "guess")
    response = log_in(client, trader.username, PASSWORD)
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert client.get("/").status_code == 302  # not logged in


def test_a_lockout_is_per_username_so_others_can_still_log_in(client, settings):
    victim, other = UserFactory(), UserFactory()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, victim.username, "guess")
    assert log_in(client, other.username, PASSWORD).status_code == 302
