"""One settings module: the environment alone chooses embedded, stack or production."""

import json
import os
import secrets
import stat
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

from tradedesk.local_env import ensure_local_env, read_values

ROOT = Path(__file__).resolve().parent.parent
SECRETS = ("SECRET_KEY", "FIELD_ENCRYPTION_KEY")

PRINT_SETTINGS = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps({
    "engine": settings.DATABASES["default"]["ENGINE"],
    "options": settings.DATABASES["default"].get("OPTIONS", {}),
    "layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "cache": settings.CACHES["default"]["BACKEND"],
    "broker": settings.CELERY_BROKER_URL,
    "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "debug": settings.DEBUG,
}))
"""


def settings_under(env: dict[str, str], cwd: Path = ROOT) -> dict:
    """The settings a fresh process sees with exactly `env` (plus PATH) as its environment."""
    result = subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS],
        cwd=cwd,
        env={"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "tradedesk.settings", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def test_no_environment_gives_the_embedded_desk():
    embedded = settings_under({})
    assert embedded["engine"] == "django.db.backends.sqlite3"
    assert "journal_mode=WAL" in embedded["options"]["init_command"]
    assert embedded["options"]["transaction_mode"] == "IMMEDIATE"
    assert embedded["options"]["timeout"] >= 5
    assert embedded["layer"] == "channels.layers.InMemoryChannelLayer"
    assert embedded["cache"].endswith("LocMemCache")
    assert embedded["eager"] is True
    assert embedded["debug"] is False


def test_database_and_redis_urls_switch_to_the_stack():
    stack = settings_under(
        {
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/tradedesk",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
        }
    )
    assert stack["engine"] == "django.db.backends.postgresql"
    assert stack["layer"] == "channels_redis.core.RedisChannelLayer"
    assert stack["cache"].endswith("RedisCache")
    assert stack["broker"] == "redis://127.0.0.1:6379/0"
    assert stack["eager"] is False
    # PostgreSQL connections come from a pool per process, sized by DATABASE_POOL_SIZE.
    assert stack["options"]["pool"]["max_size"] == 20
    sized = settings_under(
        {"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/x", "DATABASE_POOL_SIZE": "7"}
    )
    assert sized["options"]["pool"]["max_size"] == 7


def test_secrets_are_generated_once_into_a_private_file(tmp_path):
    path = tmp_path / ".env"
    ensure_local_env(path, SECRETS, environ={})
    first = read_values(path)
    assert set(first) == set(SECRETS)
    assert len(first["SECRET_KEY"]) >= 50
    Fernet(first["FIELD_ENCRYPTION_KEY"])  # raises unless it is a valid Fernet key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    ensure_local_env(path, SECRETS, environ={})
    assert read_values(path) == first  # a second run keeps them: sessions and keys survive


def test_secrets_from_the_environment_are_never_written(tmp_path):
    path = tmp_path / ".env"
    ensure_local_env(path, SECRETS, environ={name: "from-env" for name in SECRETS})
    assert not path.exists()


def test_the_local_env_file_is_git_ignored():
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", ".env"], cwd=ROOT, check=False
    ).returncode
    assert ignored == 0


def test_production_settings_pass_the_deploy_check():
    env = {
        "PATH": os.environ["PATH"],
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/tradedesk",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "ALLOWED_HOSTS": "desk.example.com",
        "HTTPS": "true",
        "BEHIND_PROXY": "true",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_a_secret_given_as_a_file_is_read_and_not_generated(tmp_path):
    secret_file = tmp_path / "secret_key"
    secret_file.write_text("from-a-docker-secret")
    path = tmp_path / ".env"
    ensure_local_env(path, ("SECRET_KEY",), environ={"SECRET_KEY_FILE": str(secret_file)})
    assert not path.exists()

    env = {"SECRET_KEY_FILE": str(secret_file), "FIELD_ENCRYPTION_KEY": "x"}
    result = subprocess.run(
        [sys.executable, "-c", "from tradedesk import settings; print(settings.SECRET_KEY)"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "from-a-docker-secret"


def test_missing_secrets_where_no_file_can_be_written_fail_with_a_clear_message(tmp_path):
    import pytest

    unwritable = tmp_path / "no-such-directory" / ".env"  # as in a read-only container
    with pytest.raises(RuntimeError, match=r"SECRET_KEY not set, and .* cannot be written"):
        ensure_local_env(unwritable, ("SECRET_KEY",), environ={})
