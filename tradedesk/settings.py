"""TradeDesk settings: one module, driven by the environment (django-environ).

No environment at all gives the embedded desk: SQLite, an in-memory channel layer, and Celery
tasks run in-process. `DATABASE_URL` and `REDIS_URL` switch to the stack (PostgreSQL, Redis
broker, channels_redis). Every variable is listed in `.env.example` and the README.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import environ
from csp.constants import NONE, SELF

from tradedesk.local_env import ensure_local_env

BASE_DIR = Path(__file__).resolve().parent.parent
LOCAL_ENV_FILE = BASE_DIR / ".env"

# FileAwareEnv: every variable may also be given as NAME_FILE, a path to read it from (Docker
# secrets). Real environment variables win over the local env file.
env = environ.FileAwareEnv()
# Secrets are generated into the git-ignored local env file on first run unless the environment
# already provides them (the stack and Compose do).
ensure_local_env(LOCAL_ENV_FILE, ("SECRET_KEY", "FIELD_ENCRYPTION_KEY"))
if LOCAL_ENV_FILE.exists():
    environ.Env.read_env(LOCAL_ENV_FILE)

SECRET_KEY = env.str("SECRET_KEY")
# Fernet keys for encrypted fields (exchange API keys). Comma-separated: the first encrypts, all
# decrypt, so a key can be rotated without losing stored secrets.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEY")

DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",  # first: its runserver serves HTTP and WebSockets
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "template_partials",
    "axes",
    "csp",
    "apps.core",
    "apps.accounts",
    "apps.exchanges",
    "apps.strategies",
    "apps.positions",
    "apps.tickets",
    "apps.trade_queue",
    "apps.risk",
    "apps.webhooks",
    "apps.notifications",
    "apps.performance",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes requires: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "tradedesk.urls"
ASGI_APPLICATION = "tradedesk.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.core.context_processors.desk",
                "apps.risk.context_processors.guard_banner",  # a breached guard, on every page
            ],
            # Partials ({% partialdef %}) in every template without a {% load %}.
            "builtins": [
                "template_partials.templatetags.partials",
                "apps.core.templatetags.money",  # {{ value|plain }} for Decimals
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# Embedded: SQLite in WAL mode with a busy timeout and IMMEDIATE transactions, so the in-process
# loops and requests queue for the write lock instead of failing with "database is locked".
SQLITE_OPTIONS = {
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(SQLITE_OPTIONS)
else:
    # A pool per process (Django's psycopg pool): a request, a webhook or a task borrows a
    # connection and gives it back when it ends, instead of opening one (a PostgreSQL backend
    # process, about 4 ms) each time. Connections open as needed, up to the size; a caller
    # that finds them all in use waits, at most `timeout` seconds. Celery: see CELERY_DB_REUSE_MAX.
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": env.int("DATABASE_POOL_SIZE", default=20),
        "timeout": 10,
    }
    # A PostgreSQL that does not answer (a network cut, not a refusal) fails a connection
    # attempt after 5 s instead of psycopg's 130 s, so the pool keeps retrying while it is away.
    DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", 5)
    # With a pool: each connection is checked as it is lent (one round trip), so a restarted
    # PostgreSQL costs no request.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# The webhook records on threads of its own, each keeping its own connection outside the pool
# (apps/webhooks/views/receive.py), and answers 503 when a signal is not recorded within
# WEBHOOK_RECORD_SECONDS of its arrival: TradingView gives up at 3 s and resends only a 5xx.
# Beyond WEBHOOK_THREADS busy threads, up to WEBHOOK_QUEUE requests wait (a burst on one bar
# close), up to WEBHOOK_BUSY_SECONDS while other recordings still commit; more are answered
# 503 at once. Its connections give up on an unreachable PostgreSQL
# within 2 s (libpq's shortest connect timeout; unacknowledged writes likewise), so a thread is
# soon free again, and each reconnects by itself when the database returns.
WEBHOOK_RECORD_SECONDS = env.float("WEBHOOK_RECORD_SECONDS", default=1.0)
WEBHOOK_BUSY_SECONDS = env.float("WEBHOOK_BUSY_SECONDS", default=2.0)
WEBHOOK_THREADS = env.int("WEBHOOK_THREADS", default=8)
WEBHOOK_QUEUE = env.int("WEBHOOK_QUEUE", default=200)
WEBHOOK_DATABASE_OPTIONS = (
    {"connect_timeout": 2, "tcp_user_timeout": 2000}
    if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3"
    else {}
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, channel layer, Celery broker --------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"pool_class": "apps.core.cache.ProcessConnectionPool"},
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": env.str("CHANNEL_PREFIX", default="asgi")},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Exchanges ------------------------------------------------------------------------------
# ccxt exchange ids a trader may connect (besides "paper"); more are a configuration change.
SUPPORTED_EXCHANGES = env.list("SUPPORTED_EXCHANGES", default=["binance", "bybit", "okx", "kraken"])
# Per-request timeout for exchange calls: well below the task time limits, so a hung exchange
# becomes our RequestTimedOut instead of a killed task.
EXCHANGE_TIMEOUT_SECONDS = env.int("EXCHANGE_TIMEOUT_SECONDS", default=10)
MARKETS_REFRESH_MINUTES = env.int("MARKETS_REFRESH_MINUTES", default=60)
# An account whose markets are older than this refuses new orders (precision may have changed).
MARKETS_MAX_AGE_MINUTES = env.int("MARKETS_MAX_AGE_MINUTES", default=180)
BALANCES_REFRESH_SECONDS = env.int("BALANCES_REFRESH_SECONDS", default=30)
# How long a price chart's candles are kept per account, symbol and timeframe: every open
# position page asks for them, and the exchange is asked once per this many seconds.
CHART_CANDLES_SECONDS = env.int("CHART_CANDLES_SECONDS", default=10)
# What a new paper account is credited with, in its quote currency.
PAPER_INITIAL_BALANCE = Decimal(env.str("PAPER_INITIAL_BALANCE", default="10000"))
PAPER_PRICE_SECONDS = env.float("PAPER_PRICE_SECONDS", default=2.0)
# Protection that rests on the exchange (apps.positions.services.protection): a position's
# initial / trailing stop, where its rule is a price the exchange can hold, rests as a stop
# order once the entry fills, so it acts while the desk is down.
RESTING_STOPS = env.bool("RESTING_STOPS", default=True)
# Where the market takes only stop-limit orders: the limit this far (%) beyond the trigger.
STOP_LIMIT_OFFSET_PCT = Decimal(env.str("STOP_LIMIT_OFFSET_PCT", default="0.5"))
# A trailing stop moves its resting order (cancel and replace) at most this often.
STOP_MOVE_SECONDS = env.int("STOP_MOVE_SECONDS", default=30)
# Reconciliation with each exchange: at start-up and this often per account.
RECONCILE_SECONDS = env.int("RECONCILE_SECONDS", default=180)
# Open orders with this desk's client id prefix that the desk has no row for: reported, and
# cancelled too when this is on.
RECONCILE_CANCEL_UNKNOWN = env.bool("RECONCILE_CANCEL_UNKNOWN", default=False)

# --- Celery ---------------------------------------------------------------------------------
# kombu warns "No hostname was supplied" for a URL without a host, even the in-memory one.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://localhost/")
# Without a broker there is no worker: a task enqueued outside `manage.py rundesk` (which runs
# them in its own threads) runs inline rather than waiting forever in memory.
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL and "CELERY_BROKER_URL" not in env
CELERY_TASK_IGNORE_RESULT = True
# Tasks are idempotent (they take ids and re-check the world), so a lost worker's task may rerun.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup closes the database connections around every task, and in a prefork
# child also closes the connection pool, which would build a new pool (and a new connection)
# for each task. With a reuse count it leaves them be; `tradedesk.celery` instead gives the
# task's connection back to the pool after each task, as Django does after a request.
CELERY_DB_REUSE_MAX = 1_000_000
CELERY_TASK_SOFT_TIME_LIMIT = 50
CELERY_TASK_TIME_LIMIT = 60
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
HEARTBEAT_SECONDS = env.float("HEARTBEAT_SECONDS", default=5.0)
# Performance: an equity snapshot per account this often (and one at each UTC day's start).
EQUITY_SNAPSHOT_SECONDS = env.int("EQUITY_SNAPSHOT_SECONDS", default=300)
CELERY_BEAT_SCHEDULE = {
    # Desk status: proves the loops run and pushes the status fragment to open pages.
    "heartbeat": {"task": "core.heartbeat", "schedule": HEARTBEAT_SECONDS},
    # The "precision" loop: each account's symbols, ticks, steps and minimums.
    "markets": {"task": "exchanges.refresh_markets", "schedule": 60.0},
    "balances": {"task": "exchanges.refresh_balances", "schedule": float(BALANCES_REFRESH_SECONDS)},
    # The paper exchange's simulated prices (and the fills they cause).
    "paper-prices": {"task": "exchanges.paper_prices", "schedule": PAPER_PRICE_SECONDS},
    # Notifications whose retry time has come (after a timeout, a 5xx or a rate limit).
    "notification-retries": {"task": "notifications.retry_due", "schedule": 15.0},
    # Trades: evaluate rules from one ticker batch per account; record fills; keep the
    # indicator cache on each timeframe's last closed candle.
    "rules": {"task": "trades.rules", "schedule": 2.0},
    "order-sync": {"task": "trades.sync_orders", "schedule": 3.0},
    # Reconciliation with the exchanges: every account at a worker's start, then each account
    # every RECONCILE_SECONDS (the tick picks the accounts that are due).
    "reconcile": {"task": "positions.reconcile", "schedule": 30.0},
    # Position groups: per-leg / aggregate / hybrid take profit from one ticker batch per
    # account; market sells, so every 2 s like the rules loop.
    "take-profit": {"task": "trades.take_profit", "schedule": 2.0},
    "market-data": {"task": "trades.market_data", "schedule": 20.0},
    # Risk: the kill switch kept flat, the account guards, and the risk engine (one action
    # per account per tick, re-checked at execution).
    "risk": {"task": "risk.tick", "schedule": 5.0},
    # Webhook signals whose processing task was lost (a broker hiccup) or interrupted (a dead
    # worker's lanes, free again once their short lease lapses): handed to a task within seconds.
    "signal-sweep": {"task": "webhooks.sweep", "schedule": 5.0},
    # The queue: promote into free pool slots what the on-commit promotion missed, expire
    # queued signals, and keep their market prices (and so their loss % and rank) current.
    "queue-promotion": {"task": "trade_queue.promotion", "schedule": 5.0},
    # Equity snapshots for Performance: each tick snapshots the accounts that are due (every
    # EQUITY_SNAPSHOT_SECONDS, or a new UTC day), so a day's open is taken within a minute.
    "equity": {"task": "performance.equity", "schedule": 60.0},
}
# /readyz reports a loop as stale when its last tick is older than this.
LOOP_STALE_SECONDS = env.int("LOOP_STALE_SECONDS", default=60)

# --- Display --------------------------------------------------------------------------------
# Places shown for quote values (equity, PnL, cost): 2 reads as money; prices and amounts
# follow their market's tick and step instead.
QUOTE_PLACES = env.int("QUOTE_PLACES", default=2)

# --- Auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses locked-out logins
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "tickets:desk"
LOGOUT_REDIRECT_URL = "login"
# Login throttling: after AXES_FAILURE_LIMIT failures for one username from one address, that
# pair is locked out for AXES_COOLOFF_MINUTES.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False

# --- Security headers -----------------------------------------------------------------------
# HTTPS=true when the desk is served over TLS (directly or behind a proxy that sets
# X-Forwarded-Proto): secure cookies, HSTS and the HTTP→HTTPS redirect.
HTTPS = env.bool("HTTPS", default=False)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
# The preload directive only consents to the browsers' preload list; submitting is manual.
SECURE_HSTS_PRELOAD = env.bool("HSTS_PRELOAD", default=HTTPS)
BEHIND_PROXY = env.bool("BEHIND_PROXY", default=False)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Behind a proxy (and only then), the header that carries the real client address: webhook IP
# allowlists check it instead of the proxy's own address. X-Forwarded-For is read from its last
# entry, the one our proxy appended; anything before it is whatever the client claimed.
CLIENT_IP_HEADER = env.str("CLIENT_IP_HEADER", default="X-Forwarded-For")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True  # the token reaches htmx through hx-headers, not the cookie
# Strict CSP: everything from our own origin, no inline script or style, no eval. htmx is told
# not to inject its indicator style (see base.html), and 'self' covers the same-origin ws://.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- I18N, static ---------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# WhiteNoise serves static files from daphne in every mode (there is no separate web server to
# configure); with finders on, `collectstatic` is an optimisation, not a requirement.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- Email (notifications) ------------------------------------------------------------------
# EMAIL_URL, e.g. smtp+tls://user:password@smtp.example.com:587 (django-environ's documented
# pattern sets EMAIL_BACKEND, EMAIL_HOST, ...). The embedded default prints mail to the console.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="TradeDesk <tradedesk@localhost>")
# The desk's public address, for links in notifications.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
# Discord webhook calls: a short timeout (delivery runs in a worker, never in a request).
DISCORD_TIMEOUT_SECONDS = env.float("DISCORD_TIMEOUT_SECONDS", default=5.0)

# --- Logging --------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "apps": {"level": LOG_LEVEL},
        "tradedesk": {"level": LOG_LEVEL},
        "django.request": {"level": "ERROR"},
        # httpx logs every request URL at INFO, and a Discord webhook URL is a credential.
        "httpx": {"level": "WARNING"},
    },
}
