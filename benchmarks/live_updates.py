"""Live-update and HTTP latency of the stack, measured end to end. Prints a table.

    .venv/bin/python benchmarks/live_updates.py [--messages 300] [--requests 300]

What it runs, all real: daphne (the stack's web process) on PostgreSQL and Redis, a logged-in
Chromium page on the desk, and this process playing a Celery worker that calls
`broadcast_fragment`. Each fragment carries its send time; the page records when htmx has
swapped it in, so a latency covers render, Redis channel layer, daphne, WebSocket and the swap.

Needs PostgreSQL and Redis on localhost (or DATABASE_URL / REDIS_URL) and Chromium. It uses its
own database (`tradedesk_bench`) and Redis database 3.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tradedesk_bench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/3")
os.environ.setdefault("CHANNEL_PREFIX", "tradedesk-bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradedesk.settings")
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's loop, as in the tests

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from apps.accounts.services import ensure_user  # noqa: E402
from apps.core.broadcast import broadcast_fragment  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, log_in  # noqa: E402
from tests.servers import PYTHON, free_port, serve  # noqa: E402

USERNAME, PASSWORD = "bench", "bench-password-not-secret"
RECORD_SWAPS = """() => {
  window.latencies = [];
  document.addEventListener("htmx:wsAfterMessage", (event) => {
    const sent = /data-sent="([0-9.]+)"/.exec(event.detail.message);
    if (sent) window.latencies.push(performance.timeOrigin + performance.now() - Number(sent[1]));
  });
}"""


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return statistics.median(ordered), p95, ordered[-1]


def push_probes(user_id: int, count: int, pause: float) -> float:
    """Send `count` fragments as a worker would; returns the seconds the sending took."""

    def send() -> float:
        started = time.perf_counter()
        for number in range(count):
            broadcast_fragment(
                user_ids=[user_id],
                template="benchmarks/probe.html",
                context={"sent": f"{time.time() * 1000:.3f}", "number": number},
            )
            if pause:
                time.sleep(pause)
        return time.perf_counter() - started

    # In a thread of its own: Playwright's event loop occupies this one (see tests/browser).
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(send).result()


def http_latencies(url: str, count: int, cookie: str = "") -> list[float]:
    headers = {"Cookie": cookie} if cookie else {}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (loopback)
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
            response.read()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()

    call_command("createdb")
    call_command("migrate", "--noinput", verbosity=0)
    user = ensure_user(username=USERNAME, password=PASSWORD)
    port = free_port()
    daphne = [PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
    rows = []
    with (
        serve([*daphne, "tradedesk.asgi:application"], port=port, env={}) as server,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        log_in(page, server.base_url, USERNAME, PASSWORD)
        page.wait_for_selector("#live-indicator[data-state=open]")
        page.evaluate(RECORD_SWAPS)

        for label, pause in [("live update, paced 20 ms", 0.02), ("live update, burst", 0.0)]:
            page.evaluate("window.latencies = []")
            elapsed = push_probes(user.pk, args.messages, pause)
            page.wait_for_function(f"window.latencies.length >= {args.messages}", timeout=60_000)
            samples = page.evaluate("window.latencies")
            rate = f"{args.messages / elapsed:.0f} sent/s" if not pause else ""
            rows.append((label, len(samples), *percentiles(samples), rate))

        cookie = "; ".join(f"{c['name']}={c['value']}" for c in page.context.cookies())
        browser.close()
        for path, needs_login in [("/healthz", False), ("/readyz", False), ("/", True)]:
            samples = http_latencies(
                f"{server.base_url}{path}", args.requests, cookie if needs_login else ""
            )
            rows.append((f"GET {path}", len(samples), *percentiles(samples), ""))

    print(f"\nTradeDesk live updates and HTTP, stack on {os.cpu_count()} CPUs (milliseconds)\n")
    print(f"| {'measurement':<26} | {'n':>5} | {'p50':>7} | {'p95':>7} | {'max':>7} | note |")
    print(f"|{'-' * 28}|{'-' * 7}|{'-' * 9}|{'-' * 9}|{'-' * 9}|------|")
    for label, n, p50, p95, worst, note in rows:
        print(f"| {label:<26} | {n:>5} | {p50:>7.2f} | {p95:>7.2f} | {worst:>7.2f} | {note} |")


if __name__ == "__main__":
    main()
