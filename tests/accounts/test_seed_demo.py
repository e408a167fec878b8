import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from tests.servers import run_manage
from tradedesk.local_env import read_values

pytestmark = pytest.mark.django_db


@pytest.fixture
def local_env(settings, tmp_path, monkeypatch):
    # A first run: no local env file yet, and nothing in the environment either.
    monkeypatch.delenv("DEMO_TRADER_PASSWORD", raising=False)
    monkeypatch.delenv("DEMO_OPERATOR_PASSWORD", raising=False)
    settings.LOCAL_ENV_FILE = tmp_path / ".env"
    return settings.LOCAL_ENV_FILE


def test_seed_creates_a_trader_and_an_operator_with_the_printed_passwords(local_env, capsys):
    call_command("seed_demo")
    out = capsys.readouterr().out
    values = read_values(local_env)
    User = get_user_model()
    demo, operator = User.objects.get(username="demo"), User.objects.get(username="operator")
    assert demo.check_password(values["DEMO_TRADER_PASSWORD"]) and not demo.is_staff
    assert operator.check_password(values["DEMO_OPERATOR_PASSWORD"]) and operator.is_staff
    assert f"demo / {values['DEMO_TRADER_PASSWORD']}" in out
    assert f"operator / {values['DEMO_OPERATOR_PASSWORD']}" in out


def test_seeding_again_keeps_a_password_the_trader_changed(local_env, capsys):
    call_command("seed_demo")
    demo = get_user_model().objects.get(username="demo")
    demo.set_password("my-own-secret-phrase")
    demo.save()
    capsys.readouterr()

    call_command("seed_demo")

    demo.refresh_from_db()
    assert demo.check_password("my-own-secret-phrase")
    assert "changed" in capsys.readouterr().out
    assert get_user_model().objects.filter(username="demo").count() == 1


def test_the_demo_trader_gets_one_funded_paper_account(local_env):
    from apps.exchanges.models import ExchangeAccount, PaperBalance

    call_command("seed_demo")
    call_command("seed_demo")
    account = ExchangeAccount.objects.get(owner__username="demo")
    assert account.is_paper
    assert PaperBalance.objects.get(account=account, asset="USDT").free > 0
    assert not ExchangeAccount.objects.filter(owner__username="operator").exists()


def test_first_run_of_the_embedded_desk_prints_the_logins_and_no_warning(tmp_path):
    # `make run` on a fresh machine: no broker, so nothing may talk of broker host names.
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'desk.sqlite3'}", "REDIS_URL": ""}
    run_manage("migrate", "--noinput", env=env)
    printed = run_manage("seed_demo", env=env)
    assert "Demo logins:" in printed
    assert "WARNING" not in printed, printed
