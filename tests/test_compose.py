"""Compose mode: docker-compose.yml, the Dockerfile and .dockerignore, read as files.

There is no Docker engine under the tests, so these check what Compose and the image would run:
the services and their wiring, the commands against the Procfile that `make stack` runs, and
that the environment Compose passes gives valid stack settings. No database is touched.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import shlex
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from cryptography.fernet import Fernet
from django.http.request import split_domain_port, validate_host

REPO = Path(__file__).resolve().parent.parent
APP_SERVICES = ("web", "worker", "beat")
SECRETS = ("SECRET_KEY", "FIELD_ENCRYPTION_KEY")
# What a container must bind to be reachable through its published port, not a mistake here.
ALL_INTERFACES = "0.0.0.0"  # noqa: S104
# ${NAME}, ${NAME:-default} or ${NAME:?error}, as Compose interpolates them.
VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?::(?P<kind>[-?])(?P<rest>[^}]*))?\}")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def _argv(command: str | list[str]) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else list(command)


def _web_script(services: dict) -> str:
    argv = _argv(services["web"]["command"])
    assert argv[:2] == ["sh", "-c"], argv
    return argv[2]


def _served_argv(argv: list[str]) -> list[str]:
    """The long-running program: for `sh -c "a && b && exec c"`, c's argv."""
    if argv[:2] != ["sh", "-c"]:
        return argv
    last_step = argv[2].split("&&")[-1].strip()
    return shlex.split(last_step.removeprefix("exec "))


def _option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def _process_signature(argv: list[str]) -> tuple[str, ...]:
    """What a process is, options aside: ("daphne", asgi app) or ("celery", app, subcommand)."""
    if argv[0] == "daphne":
        return ("daphne", argv[-1])
    if argv[0] == "celery":
        rest = argv[1:]
        app_at = rest.index("--app")
        app = rest[app_at + 1]
        del rest[app_at : app_at + 2]
        return ("celery", app, rest[0])
    return (argv[0],)


def _resolve(value: str, given: dict[str, str]) -> str:
    """Compose's interpolation of `value`, with `given` as the operator's environment."""

    def substitute(match: re.Match[str]) -> str:
        name, kind, rest = match["name"], match["kind"], match["rest"]
        if given.get(name):
            return given[name]
        if kind == "?":
            raise LookupError(f"{name} is required: {rest}")
        return rest if kind == "-" else ""

    return VARIABLE.sub(substitute, value)


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per logical line, with backslash continuations joined."""
    logical, pending = [], ""
    for line in (REPO / "Dockerfile").read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    return [(text.split(None, 1)[0].upper(), text.split(None, 1)[1]) for text in logical]


def _procfile() -> dict[str, list[str]]:
    processes = {}
    for line in (REPO / "Procfile").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, command = line.partition(":")
            processes[name.strip()] = shlex.split(command)
    return processes


def test_compose_runs_database_broker_and_the_three_processes(services):
    assert set(services) == {"db", "redis", "web", "worker", "beat"}


def test_database_is_postgres_16_with_persistent_data_and_a_healthcheck(compose, services):
    db = services["db"]
    assert db["image"] == "postgres:16"
    assert db["environment"]["POSTGRES_DB"] == "tradedesk"
    mounts = dict(volume.rsplit(":", 1)[::-1] for volume in db["volumes"])
    data_volume = mounts["/var/lib/postgresql/data"]
    assert data_volume in compose["volumes"], "the data directory must be a named volume"
    assert "pg_isready" in _argv(db["healthcheck"]["test"])


def test_redis_is_redis_7_with_a_ping_healthcheck(services):
    redis = services["redis"]
    assert redis["image"] == "redis:7"
    assert _argv(redis["healthcheck"]["test"])[-2:] == ["redis-cli", "ping"]


def test_web_worker_and_beat_are_built_from_the_one_dockerfile(services):
    contexts = {name: services[name]["build"] for name in APP_SERVICES}
    assert len({json.dumps(build, sort_keys=True) for build in contexts.values()}) == 1, contexts
    build = contexts["web"]
    context = build if isinstance(build, str) else build["context"]
    dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
    assert (REPO / context / dockerfile).is_file()


def test_web_migrates_before_serving(services):
    steps = [step.strip() for step in _web_script(services).split("&&")]
    migrate_at = next(i for i, step in enumerate(steps) if "manage.py migrate" in step)
    serve_at = next(i for i, step in enumerate(steps) if "daphne" in step)
    assert migrate_at < serve_at
    assert "--noinput" in shlex.split(steps[migrate_at])
    # exec: daphne replaces the shell, so it gets the stop signal and shuts down cleanly.
    assert steps[serve_at].startswith("exec daphne ")


def test_web_serves_the_asgi_app_on_all_interfaces_port_8000(services):
    daphne = _served_argv(_argv(services["web"]["command"]))
    assert daphne[0] == "daphne"
    assert _option(daphne, "--bind") == ALL_INTERFACES
    assert _option(daphne, "--port") == "8000"
    assert daphne[-1] == "tradedesk.asgi:application"
    assert "8000:8000" in services["web"]["ports"]


def test_worker_is_a_celery_worker_for_the_tradedesk_app(services):
    worker = _argv(services["worker"]["command"])
    assert _process_signature(worker) == ("celery", "tradedesk", "worker")
    assert "--beat" not in worker and "-B" not in worker


def test_exactly_one_service_runs_celery_beat(services):
    def runs_beat(service: dict) -> bool:
        argv = _served_argv(_argv(service.get("command", [])))
        if not argv or argv[0] != "celery":
            return False
        # `worker --beat` (-B) would embed a second beat in every worker replica.
        return _process_signature(argv)[2] == "beat" or "--beat" in argv or "-B" in argv

    assert [name for name, service in services.items() if runs_beat(service)] == ["beat"]
    assert "deploy" not in services["beat"], "beat must never be scaled past one replica"
    # A path the non-root user can write: the image's /app is owned by root.
    assert _option(_argv(services["beat"]["command"]), "--schedule").startswith("/tmp/")


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_reach_postgres_on_db_and_redis_on_redis(services, name):
    environment = services[name]["environment"]
    database = urlsplit(environment["DATABASE_URL"])
    assert database.scheme in {"postgres", "postgresql"}
    assert (database.hostname, database.port, database.path) == ("db", 5432, "/tradedesk")
    assert urlsplit(environment["REDIS_URL"]).hostname == "redis"


@pytest.mark.parametrize("name", APP_SERVICES)
@pytest.mark.parametrize("secret", SECRETS)
def test_secrets_are_required_from_the_operator_never_defaulted(services, name, secret):
    value = services[name]["environment"][secret]
    assert re.fullmatch(rf"\$\{{{secret}:\?[^}}]+\}}", value), value
    with pytest.raises(LookupError):
        _resolve(value, {})


def test_compose_environment_with_its_defaults_gives_valid_stack_settings(services):
    operator = {
        "SECRET_KEY": "from-the-operator",
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    }
    environment = {
        name: _resolve(str(value), operator)
        for name, value in services["web"]["environment"].items()
    }
    probe = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.DATABASES['default']['ENGINE'], s.DATABASES['default']['HOST'], "
        "s.REDIS_URL, s.CELERY_TASK_ALWAYS_EAGER, s.CHANNEL_LAYERS['default']['BACKEND'], "
        "s.ALLOWED_HOSTS, s.SECURE_SSL_REDIRECT, s.EMAIL_BACKEND, s.LOG_LEVEL]))"
    )
    # Only what Compose passes: not the test run's DATABASE_URL/REDIS_URL.
    clean = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "tradedesk.settings"}
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO,
        env=clean | environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    engine, host, redis_url, eager, layer, hosts, redirect, email, level = json.loads(
        result.stdout.strip().splitlines()[-1]
    )
    assert (engine, host) == ("django.db.backends.postgresql", "db")
    assert redis_url == "redis://redis:6379/0"
    assert eager is False, "tasks must go to the worker, not run inline in daphne"
    assert layer == "channels_redis.core.RedisChannelLayer"
    assert "localhost" in hosts
    assert redirect is False
    assert email == "django.core.mail.backends.console.EmailBackend"
    assert level == "INFO"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_wait_for_healthy_db_and_redis(services, name):
    depends_on = services[name]["depends_on"]
    for dependency in ("db", "redis"):
        assert depends_on[dependency] == {"condition": "service_healthy"}


@pytest.mark.parametrize("name", ["worker", "beat"])
def test_worker_and_beat_start_after_web_has_migrated(services, name):
    # web only becomes healthy once daphne answers, which is after migrate has finished.
    assert services[name]["depends_on"]["web"] == {"condition": "service_healthy"}


def test_every_service_has_a_healthcheck_or_waits_on_one(services):
    for name, service in services.items():
        waits_on = [
            dependency
            for dependency, rule in service.get("depends_on", {}).items()
            if rule.get("condition") == "service_healthy"
        ]
        # Compose refuses service_healthy on a service without a healthcheck.
        for dependency in waits_on:
            assert "healthcheck" in services[dependency], f"{name} waits on {dependency}"
        assert "healthcheck" in service or waits_on, name


def test_every_service_restarts_unless_stopped(services):
    assert {name: service.get("restart") for name, service in services.items()} == dict.fromkeys(
        services, "unless-stopped"
    )


class _RecordingHandler(http.server.BaseHTTPRequestHandler):
    requests: list[tuple[str, str]] = []

    def do_GET(self) -> None:
        self.requests.append((self.path, self.headers["Host"]))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}')

    def log_message(self, *args) -> None:
        pass


@pytest.mark.parametrize(
    "allowed_hosts", ["localhost,127.0.0.1", "desk.example.com", ".example.com,localhost", "*"]
)
def test_web_healthcheck_gets_healthz_with_a_host_allowed_hosts_accepts(services, allowed_hosts):
    test = _argv(services["web"]["healthcheck"]["test"])
    assert test[:3] == ["CMD", "python", "-c"], "the image has python, not curl"
    script = test[3]
    assert "127.0.0.1:8000" in script
    server = http.server.HTTPServer(("127.0.0.1", 0), _RecordingHandler)
    _RecordingHandler.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        script = script.replace("127.0.0.1:8000", f"127.0.0.1:{server.server_port}")
        result = subprocess.run(
            [sys.executable, "-c", script],
            env={"PATH": os.environ["PATH"], "ALLOWED_HOSTS": allowed_hosts},
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 0, result.stderr
    [(path, host)] = _RecordingHandler.requests
    assert path == "/healthz"
    domain, _port = split_domain_port(host)  # Django checks the host without its port
    assert validate_host(domain, allowed_hosts.split(",")), host


def test_image_serves_the_asgi_app_with_daphne_by_default():
    [cmd] = [
        arguments for instruction, arguments in _dockerfile_instructions() if instruction == "CMD"
    ]
    assert json.loads(cmd) == [
        "daphne",
        "--bind",
        ALL_INTERFACES,
        "--port",
        "8000",
        "tradedesk.asgi:application",
    ]


def test_image_never_bakes_secrets_into_its_environment():
    persistent = [
        arguments
        for instruction, arguments in _dockerfile_instructions()
        if instruction in {"ENV", "ARG"}
    ]
    for secret in SECRETS:
        assert not any(secret in arguments for arguments in persistent), secret


def test_image_collects_static_with_throwaway_secrets_on_that_command_only():
    [collect] = [
        shlex.split(arguments)
        for instruction, arguments in _dockerfile_instructions()
        if instruction == "RUN" and "collectstatic" in arguments
    ]
    assert collect[0] == "env"
    given = dict(arg.split("=", 1) for arg in collect[1:] if "=" in arg and not arg.startswith("-"))
    assert set(SECRETS) <= set(given)
    Fernet(given["FIELD_ENCRYPTION_KEY"])  # settings would accept it: a valid Fernet key


def test_image_runs_as_a_non_root_user():
    users = [
        arguments.strip()
        for instruction, arguments in _dockerfile_instructions()
        if instruction == "USER"
    ]
    assert users, "no USER: the processes would run as root"
    assert users[-1].split(":")[0] not in {"root", "0"}


def test_build_context_leaves_out_local_secrets_and_state():
    ignored = {
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {
        ".env",
        ".venv",
        ".git",
        "db.sqlite3*",
        "staticfiles",
        "celerybeat-schedule*",
    } <= ignored


def test_procfile_and_compose_run_the_same_three_processes(services):
    procfile = {name: _process_signature(argv) for name, argv in _procfile().items()}
    composed = {
        name: _process_signature(_served_argv(_argv(services[name]["command"])))
        for name in APP_SERVICES
    }
    assert (
        procfile
        == composed
        == {
            "web": ("daphne", "tradedesk.asgi:application"),
            "worker": ("celery", "tradedesk", "worker"),
            "beat": ("celery", "tradedesk", "beat"),
        }
    )
