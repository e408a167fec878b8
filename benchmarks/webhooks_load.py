"""TradingView webhooks under load, end to end on the stack. Prints a table.

    .venv/bin/python benchmarks/webhooks_load.py [--senders 100] [--signals 10]
        [--interval 12] [--burst]

What it runs, all real: the stack's processes (daphne, a Celery worker, Celery beat) on
PostgreSQL (`tradedesk_bench`) and Redis (database 3), a fresh paper account, and N concurrent
senders on loopback. Each sender is one TradingView alert: it posts its distinct valid entry
signals (each opens its own position group: a distinct timeframe; senders take the account's
markets in turn), and along the way a repeat of an earlier signal (a duplicate delivery) and a
malformed body. Then it waits for every accepted signal's decision.

The load model: a sender posts one signal every `--interval` seconds, starting at a random
moment within the first interval. The default, 12 s, is the fastest a TradingView strategy
alert can keep firing (more than 15 triggers in 3 minutes stops it). `--burst` starts every
sender at the same moment (alerts on the same bar close), and `--interval 0` posts as fast as
answers come back: the desk's saturation, a load TradingView cannot produce.

Reported: the webhook's answer latency, signal-to-order latency (the signal's received time to
the paper exchange's acknowledgement of its order, both database timestamps), throughput, and
the counts that must be zero: lost signals (accepted, never decided), duplicate orders and 5xx
answers. Targets at 100 senders x 10 signals: answer p99 < 100 ms, signal-to-order p99 < 500 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tradedesk_bench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/3")
os.environ.setdefault("CHANNEL_PREFIX", "tradedesk-bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradedesk.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.utils import timezone  # noqa: E402

from apps.accounts.services import ensure_user  # noqa: E402
from apps.exchanges.models import ExchangeAccount, Market, PaperOrder  # noqa: E402
from apps.exchanges.paper.services import open_paper_account  # noqa: E402
from apps.exchanges.services import refresh_balances, refresh_markets  # noqa: E402
from apps.positions.models import Order  # noqa: E402
from apps.strategies.models import Strategy  # noqa: E402
from apps.webhooks.models import Signal, WebhookRoute  # noqa: E402
from apps.webhooks.services.routes import create_route  # noqa: E402
from benchmarks._common import drop_bench_database  # noqa: E402
from tests.servers import PYTHON, free_port, serve  # noqa: E402

USERNAME, PASSWORD = "bench-webhooks", "bench-password-not-secret"
RUN = str(int(time.time()))
DECIDED_WAIT_SECONDS = 180


def setup(total: int, *, rate_limit_per_minute: int | None = None) -> WebhookRoute:
    # Each run starts empty, so no run pays for an earlier one's open groups in its loops.
    drop_bench_database()
    call_command("createdb")
    call_command("migrate", "--noinput", verbosity=0)
    user = ensure_user(username=USERNAME, password=PASSWORD)
    # A fresh account each run: no groups, orders or spent funds of earlier runs.
    account = ExchangeAccount.objects.create(owner=user, label=f"Bench paper {RUN}", kind="paper")
    # Every signal opens its own group: the cap and the funds must not be what is measured.
    ExchangeAccount.objects.filter(pk=account.pk).update(max_open_groups=30_000)
    open_paper_account(account, initial_balance=Decimal(total * 100))
    now = timezone.now()
    refresh_markets(account=account, now=now)
    refresh_balances(account=account, now=now)
    strategy, _ = Strategy.objects.update_or_create(
        owner=user,
        name="Bench: 20 USDT at market",
        defaults={"side": "long", "sizing_kind": "quote", "sizing_value": Decimal(20)},
    )
    return create_route(
        owner=user,
        label=f"Bench {RUN}",
        account=account,
        strategy=strategy,
        ip_allowlist="",
        max_lag_seconds=300,
        rate_limit_per_minute=total * 10
        if rate_limit_per_minute is None
        else rate_limit_per_minute,
    )


def post(url: str, body: bytes) -> tuple[int, float]:
    return post_raw(url, body, "application/json")


def post_raw(url: str, body: bytes, content_type: str) -> tuple[int, float]:
    """POST `body` as it is; (status, milliseconds), status 599 when no answer came."""
    headers = {"Content-Type": content_type} if content_type else {}
    request = urllib.request.Request(  # noqa: S310 (loopback)
        url, data=body, method="POST", headers=headers
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except OSError:
        status = 599  # no answer at all
    return status, (time.perf_counter() - started) * 1000


def sender(
    url: str, index: int, args, symbols: list[str], start: float
) -> list[tuple[str, int, float]]:
    """`args.signals` distinct entries, one every `args.interval` seconds from a random phase
    (or from `start` at once with --burst), with one repeat of the first and one malformed
    body half way."""
    count = args.signals
    phase = random.Random(index).uniform(0, args.interval)  # noqa: S311 (not a secret)
    first = start + (0 if args.burst else phase)
    symbol = "BINANCE:" + symbols[index % len(symbols)].replace("/", "")
    results = []
    for n in range(count):
        time.sleep(max(0.0, first + n * args.interval - time.monotonic()))
        body = {
            "id": f"{RUN}-{index}-{n}",
            "action": "entry",
            "symbol": symbol,
            "timeframe": f"{index * count + n + 1}",  # a group of its own
        }
        results.append(("valid", *post(url, json.dumps(body).encode())))
        if n == count // 2:
            repeat = {**body, "id": f"{RUN}-{index}-0", "timeframe": f"{index * count + 1}"}
            results.append(("duplicate", *post(url, json.dumps(repeat).encode())))
            results.append(("malformed", *post(url, b"{not json at all")))
    return results


@contextmanager
def start_stack(logs: Path, *, concurrency: int) -> Iterator[str]:
    """daphne, a Celery worker and Celery beat, as the stack runs them; yields daphne's URL
    once the worker has had time to connect, and stops all three after."""
    port = free_port()
    daphne = [PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
    celery = [PYTHON, "-m", "celery", "--app", "tradedesk"]
    workers = [
        subprocess.Popen(
            [*celery, *command],
            cwd=ROOT,
            stdout=(logs / f"{name}.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        for name, command in (
            ("worker", ["worker", "--loglevel", "WARNING", "--concurrency", str(concurrency)]),
            ("beat", ["beat"]),
        )
    ]
    try:
        with serve([*daphne, "tradedesk.asgi:application"], port=port, env={}) as server:
            time.sleep(3)  # the worker connects to the broker
            yield server.base_url
    finally:
        for process in workers:
            process.terminate()
        for process in workers:
            process.wait(timeout=30)


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--senders", type=int, default=100)
    parser.add_argument("--signals", type=int, default=10)
    parser.add_argument(
        "--interval", type=float, default=12.0, help="seconds between a sender's signals"
    )
    parser.add_argument("--burst", action="store_true", help="every sender starts at once")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=int(os.environ.get("WORKER_CONCURRENCY", 4)),
        help="Celery worker processes (as WORKER_CONCURRENCY sets them for the stack)",
    )
    args = parser.parse_args()
    route = setup(args.senders * args.signals)
    symbols = sorted(
        Market.objects.filter(account=route.account, active=True).values_list("symbol", flat=True)
    )

    logs = Path(tempfile.mkdtemp(prefix="tradedesk-bench-"))
    with start_stack(logs, concurrency=args.concurrency) as base_url:
        url = f"{base_url}/webhooks/tv/{route.token}/"
        started = time.perf_counter()
        start = time.monotonic()
        with ThreadPoolExecutor(max_workers=args.senders) as pool:
            batches = list(
                pool.map(lambda i: sender(url, i, args, symbols, start), range(args.senders))
            )
        sending = time.perf_counter() - started
        deadline = time.monotonic() + DECIDED_WAIT_SECONDS
        pending = Signal.objects.filter(route=route, status__in=["received", "processing"])
        unsent = Order.objects.filter(signal__route=route, status__in=["pending", "unknown"])
        while (pending.exists() or unsent.exists()) and time.monotonic() < deadline:
            time.sleep(0.5)
        total_time = time.perf_counter() - started
    print(f"Worker and beat logs: {logs}")
    report(route, [row for batch in batches for row in batch], sending, total_time, args)


def report(route, answers, sending: float, total_time: float, args) -> None:
    signals = Signal.objects.filter(route=route)
    accepted = signals.exclude(status__in=["duplicate"]).exclude(status="rejected", action="")
    lost = accepted.filter(status__in=["received", "processing"]).count()
    orders = Order.objects.filter(signal__route=route)
    acks = dict(
        PaperOrder.objects.filter(client_order_id__in=orders.values("client_order_id")).values_list(
            "client_order_id", "created_at"
        )
    )
    to_order = [
        (acks[order.client_order_id] - order.signal.received_at).total_seconds() * 1000
        for order in orders.select_related("signal")
        if order.client_order_id in acks
    ]
    duplicate_orders = (
        orders.values("signal_id", "purpose")
        .annotate(n=Count("pk"))
        .filter(n__gt=1, purpose="dca_leg")
        .count()
        + PaperOrder.objects.values("client_order_id")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count()
    )
    by_kind: dict[str, list[float]] = {}
    for kind, _, latency in answers:
        by_kind.setdefault(kind, []).append(latency)
    server_errors = sum(1 for _, status, _ in answers if status >= 500)
    statuses = dict(signals.values_list("status").annotate(n=Count("pk")))

    pace = (
        "as fast as answers come back (saturation)"
        if not args.interval
        else f"one signal every {args.interval:g} s per sender, "
        + ("all starting at once (burst)" if args.burst else "from random phases")
    )
    print(
        f"\nTradingView webhooks on the stack: {args.senders} senders x {args.signals} signals "
        f"(+1 duplicate and +1 malformed each), {pace}; {os.cpu_count()} CPUs, "
        f"{args.concurrency} worker processes\n"
    )
    print(f"| {'measurement':<36} | {'n':>5} | {'p50 ms':>8} | {'p99 ms':>8} |")
    print(f"|{'-' * 38}|{'-' * 7}|{'-' * 10}|{'-' * 10}|")
    for label, samples in (
        ("answer, every request", [latency for _, _, latency in answers]),
        ("answer, valid signal", by_kind.get("valid", [])),
        ("answer, duplicate delivery", by_kind.get("duplicate", [])),
        ("answer, malformed body", by_kind.get("malformed", [])),
        ("signal received -> paper order acked", to_order),
    ):
        if samples:
            p50, p99 = percentiles(samples)
            print(f"| {label:<36} | {len(samples):>5} | {p50:>8.1f} | {p99:>8.1f} |")
    print(
        f"\nSent {len(answers)} requests in {sending:.1f} s ({len(answers) / sending:.0f}/s); "
        f"all decided after {total_time:.1f} s. Decisions: {statuses}."
    )
    refused = orders.filter(status=Order.Status.REJECTED).count()
    print(f"Lost: {lost}. Duplicate orders: {duplicate_orders}. 5xx answers: {server_errors}.")
    print(f"Orders refused by the exchange: {refused} (the bench account is funded for all).")


if __name__ == "__main__":
    main()
