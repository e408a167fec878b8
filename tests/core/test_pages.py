import pytest
from django.urls import reverse

from tests.accounts.factories import OperatorFactory, UserFactory

pytestmark = pytest.mark.django_db

PAGES = ["/", "/signals/", "/queue/", "/risk/", "/performance/", "/logs/", "/settings/"]


@pytest.mark.parametrize("path", PAGES)
def test_every_desk_page_needs_a_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("path", PAGES)
def test_every_desk_page_renders_with_the_navigation(client, path):
    client.force_login(UserFactory())
    html = client.get(path).content.decode()
    for label in ["Desk", "Signals", "Queue", "Risk", "Performance", "Logs", "Settings"]:
        assert f">{label}</a>" in html
    assert 'aria-current="page"' in html


NAV_OF = {
    "/": "Desk",
    "/signals/": "Signals",
    "/queue/": "Queue",
    "/risk/": "Risk",
    "/performance/": "Performance",
    "/logs/": "Logs",
    "/settings/": "Settings",
}


@pytest.mark.parametrize("path", PAGES)
def test_each_page_is_built_and_marks_its_own_navigation_entry(client, path):
    client.force_login(UserFactory())
    html = client.get(path).content.decode()
    assert f'<a href="{path}" aria-current="page">{NAV_OF[path]}</a>' in html
    assert html.count('aria-current="page"') == 1
    assert "not built yet" not in html


def test_an_unknown_section_is_404(client):
    client.force_login(UserFactory())
    assert client.get("/nonsense/").status_code == 404


def test_the_desk_shows_its_health_in_one_line_and_opens_the_live_socket(client):
    client.force_login(UserFactory())
    html = client.get("/").content.decode()
    # No loop has ticked in this test: the one line says so and links to the Status page.
    health = html[html.index('id="figure-health"') :].split("</div>")[0]
    assert "loops need attention" in health
    # One line: two loops by name, the count of the rest, the whole list on hover.
    detail = health[health.index('class="figure-detail"') :]
    assert detail.count(",") == 1 and " more · see Status" in detail
    assert "core.heartbeat, " in health[: health.index(">")]  # the title attribute
    assert 'href="/status/"' in health
    assert 'ws-connect="/ws/desk/"' in html
    # htmx 2 and its ws extension come from django-htmx's vendored copies, not a CDN.
    assert "/static/django_htmx/htmx-2.min.js" in html
    assert "/static/django_htmx/ext/hx-ws-2.min.js" in html
    assert "http://" not in html.split("<body")[0] and "https://" not in html.split("<body")[0]


def test_the_status_page_lists_every_loop_for_operators(client):
    client.force_login(UserFactory())
    html = client.get("/status/").content.decode()
    assert 'id="desk-status"' in html
    assert "core.heartbeat" in html and "trades.rules" in html
    assert "never" in html  # no loop has ticked in this test


def test_htmx_requests_carry_the_csrf_token_from_the_body(client):
    client.force_login(UserFactory())
    response = client.get("/")
    assert f'"X-CSRFToken": "{response.context["csrf_token"]}"' in response.content.decode()


def test_pages_send_a_strict_content_security_policy_and_security_headers(client):
    client.force_login(UserFactory())
    response = client.get("/")
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_the_admin_is_for_operators_not_traders(client):
    client.force_login(UserFactory())
    assert client.get("/admin/").status_code == 302
    client.force_login(OperatorFactory())
    assert client.get("/admin/").status_code == 200


def registered_admin_models():
    from django.contrib import admin

    return sorted(model._meta.label_lower for model in admin.site._registry)


@pytest.mark.parametrize("label", registered_admin_models())
def test_operators_can_browse_and_search_every_registered_model(client, label):
    from apps.core.events import record_event
    from apps.core.services import heartbeat
    from apps.exchanges.services import create_account

    create_account(owner=OperatorFactory(), label="Paper", kind="paper")  # rows in most tables
    record_event(kind="desk.note", message="Visible in the admin.")
    heartbeat()
    client.force_login(OperatorFactory())
    app_label, model = label.split(".")
    response = client.get(f"/admin/{app_label}/{model}/", {"q": "a"})
    assert response.status_code == 200


def test_events_are_read_only_in_the_admin(client):
    from apps.core.events import record_event

    event = record_event(kind="desk.note", message="Audit row.")
    client.force_login(OperatorFactory())
    assert client.get(f"/admin/core/event/{event.pk}/delete/").status_code == 403
    assert client.get("/admin/core/event/add/").status_code == 403
    change = client.get(f"/admin/core/event/{event.pk}/change/")
    assert change.status_code == 200
    assert 'name="_save"' not in change.content.decode()
