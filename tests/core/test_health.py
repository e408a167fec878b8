import pytest

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_login(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_each_part_and_the_age_of_the_last_loop_tick(client, settings):
    from tradedesk.celery import app

    app.loader.import_default_modules()  # as a worker does at start
    for entry in settings.CELERY_BEAT_SCHEDULE.values():  # one tick of every scheduled loop
        assert app.tasks[entry["task"]].apply().get() is True
    response = client.get("/readyz")
    assert response.status_code == 200
    report = response.json()
    assert report["status"] == "ok"
    assert report["database"] == {"ok": True, "vendor": "postgresql"}
    assert report["redis"] == {"ok": True}
    assert report["channel_layer"] == {"ok": True}
    assert report["loops"]["core.heartbeat"]["age_seconds"] <= 5
    assert set(report["loops"]) == {e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()}


def test_readyz_is_degraded_not_down_when_no_loop_has_ticked(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["loops"]["core.heartbeat"] == {
        "age_seconds": None,
        "stale": True,
        "error": "",
    }


def test_readyz_is_503_when_redis_is_unreachable(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "down"
    assert response.json()["redis"]["ok"] is False


def test_the_database_check_fails_within_its_own_timeout_when_the_database_is_cut(monkeypatch):
    from django.db import connection

    from apps.core.health import check_database
    from tests.tcp_proxy import TcpProxy

    params = connection.settings_dict
    with TcpProxy((params.get("HOST") or "127.0.0.1", int(params.get("PORT") or 5432))) as proxy:
        monkeypatch.setitem(params, "HOST", "127.0.0.1")
        monkeypatch.setitem(params, "PORT", str(proxy.port))
        assert check_database() == {"ok": True, "vendor": "postgresql"}
        proxy.cut()  # connections are accepted and never answered
        assert check_database() == {"ok": False, "error": "ConnectionTimeout"}
