"""The Logs page filtered over 1 000 000 events: server time per request. Prints a table.

    .venv/bin/python benchmarks/logs_filter.py [--events 1000000] [--runs 30] [--reuse]

What it runs, all real: Django's test Client requesting `/logs/` (the view, its selector, the
template, every middleware) and `/logs/csv` on PostgreSQL, in its own database
`tradedesk_bench_logs`, dropped and rebuilt each run (`--reuse` keeps one that already holds
the requested number of events: the build takes minutes). The events are written by one
`INSERT ... SELECT generate_series` per 100 000 rows: three users (the measured one owns 60 %
of the events, on two accounts), 15 kinds in 13 categories, 4 levels, 5 symbols (and none),
subjects of about 50 events each, two events per timestamp (ties the keyset must order),
messages with a rare phrase in one event of 10 007. Each case is requested once to warm up,
then `--runs` times; p50 / p95 / max in milliseconds and the database queries per request
(two of them are the session and the user, as for any page). Target: every row under
150 ms, with the same number of queries whatever the table holds. Needs PostgreSQL on
localhost (or DATABASE_URL).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tradedesk_bench_logs")
os.environ["REDIS_URL"] = ""  # in-memory cache and channel layer: measure the page, not Redis
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradedesk.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

from apps.accounts.services import ensure_user  # noqa: E402
from apps.core.event_csv import CHUNK_SIZE  # noqa: E402
from apps.core.keyset import Cursor  # noqa: E402
from apps.core.models import Event  # noqa: E402
from apps.exchanges.models import ExchangeAccount  # noqa: E402
from benchmarks._common import drop_bench_database  # noqa: E402

PASSWORD = "bench-password-not-secret"  # noqa: S105 (a throwaway bench login)
BATCH = 100_000
KINDS = [
    ("trade.activated", "trade"),
    ("trade.entry_filled", "trade"),
    ("group.opened", "position"),
    ("group.sold", "position"),
    ("position.closed", "position"),
    ("signal.executed", "signal"),
    ("signal.rejected", "signal"),
    ("queue.queued", "queue"),
    ("risk.action", "risk"),
    ("guard.breached", "guard"),
    ("account.updated", "account"),
    ("markets.loaded", "markets"),
    ("exchange.error", "exchange"),
    ("notification.destination_failing", "notification"),
    ("loop.item_failed", "loop"),
]
SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "DOGE/USDT", ""]
PHRASES = [
    "filled at market",
    "stop moved up",
    "take profit hit",
    "rejected: stale webhook",
    "queued at rank 2",
    "pool full, waiting",
    "timed out, will retry",
]
# One INSERT per batch: row g of the whole set, with a well-mixed hash h of g choosing its
# kind, level, symbol and phrase. The measured user is slots 0-2 of every 5.
INSERT = """
INSERT INTO core_event (created_at, user_id, account_id, kind, category, level,
                        subject_type, subject_id, message, data, symbol)
SELECT %(end)s - (%(total)s - g) / 2 * interval '2 seconds',
       (%(users)s::bigint[])[1 + g %% 5],
       (%(accounts)s::bigint[])[1 + g %% 5],
       (%(kinds)s::text[])[1 + h %% 15],
       (%(categories)s::text[])[1 + h %% 15],
       CASE WHEN h / 15 %% 100 < 5 THEN 'error' WHEN h / 15 %% 100 < 15 THEN 'warning'
            WHEN h / 15 %% 100 < 30 THEN 'success' ELSE 'info' END,
       'positions.positiongroup',
       ((g %% 5) * 1000000 + g / 250)::text,
       format('%%s %%s: %%s%%s', (%(kinds)s::text[])[1 + h %% 15], s,
              (%(phrases)s::text[])[1 + h / 7 %% 7],
              CASE WHEN h %% 10007 = 0 THEN ' - liquidation warning' ELSE '' END),
       jsonb_build_object('symbol', s, 'price', (60000 + h %% 1000)::text || '.25',
                          'reason', (%(phrases)s::text[])[1 + h / 7 %% 7]),
       s
FROM (
  SELECT g, h, (%(symbols)s::text[])[1 + h / 1500 %% 6] AS s
  FROM (SELECT g, hashint8(g) & 2147483647 AS h FROM generate_series(%(start)s, %(stop)s) g) x
) y
"""


def build(total: int, reuse: bool):
    """The users and accounts, and `total` events (kept if `reuse` and already there)."""
    if reuse:
        call_command("createdb")
        call_command("migrate", "--noinput", verbosity=0)
        if Event.objects.count() == total:
            return _people()
    drop_bench_database()  # each run starts empty
    call_command("createdb")
    call_command("migrate", "--noinput", verbosity=0)
    trader, users, accounts = _people()
    started = time.perf_counter()
    end = timezone.now()
    with connection.cursor() as cursor:
        for start in range(1, total + 1, BATCH):
            stop = min(start + BATCH - 1, total)
            cursor.execute(
                INSERT,
                {
                    "end": end,
                    "total": total,
                    "start": start,
                    "stop": stop,
                    "users": users,
                    "accounts": accounts,
                    "kinds": [kind for kind, _ in KINDS],
                    "categories": [category for _, category in KINDS],
                    "phrases": PHRASES,
                    "symbols": SYMBOLS,
                },
            )
            print(f"  {stop:>9} events ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
        cursor.execute("VACUUM ANALYZE core_event")
    return trader, users, accounts


def _people():
    alice = ensure_user(username="bench-logs-alice", password=PASSWORD)
    bob = ensure_user(username="bench-logs-bob", password=PASSWORD)
    carol = ensure_user(username="bench-logs-carol", password=PASSWORD)
    main, spare, bobs, carols = (
        ExchangeAccount.objects.get_or_create(
            owner=owner, label=label, defaults={"kind": "paper", "quote_currency": "USDT"}
        )[0]
        for owner, label in [(alice, "Main"), (alice, "Spare"), (bob, "Bob"), (carol, "Carol")]
    )
    users = [alice.pk, alice.pk, alice.pk, bob.pk, carol.pk]
    accounts = [main.pk, spare.pk, main.pk, bobs.pk, carols.pk]
    return alice, users, accounts


def cases(trader) -> list[tuple[str, str, dict]]:
    main = ExchangeAccount.objects.get(owner=trader, label="Main")
    mine = Event.objects.filter(user=trader).order_by("-created_at", "-id")
    deep = mine[mine.count() * 2 // 3]  # two thirds of the way back: page ~8 000
    middle = mine[mine.count() // 2].created_at.date()
    subject = mine[1000].subject_id
    logs, csv = "/logs/", "/logs/csv"
    return [
        ("no filter", logs, {}),
        ("level = error", logs, {"level": "error"}),
        ("category = risk", logs, {"category": "risk"}),
        ("account = Main", logs, {"account": main.pk}),
        ("symbol = SOL/USDT", logs, {"symbol": "SOL/USDT"}),
        ("object = one position", logs, {"object": f"positions.positiongroup:{subject}"}),
        ("date range (one day)", logs, {"from": middle, "to": middle}),
        ("text, common (“stop moved”)", logs, {"q": "stop moved"}),
        ("text, rare (“liquidation”)", logs, {"q": "liquidation"}),
        ("text, absent (“zzzz”)", logs, {"q": "zzzz"}),
        (
            "combined: level+account+symbol+text",
            logs,
            {"level": "warning", "account": main.pk, "symbol": "BTC/USDT", "q": "stale"},
        ),
        ("combined: category+date range", logs, {"category": "signal", "from": middle}),
        ("deep page (2/3 back, keyset)", logs, {"before": Cursor.of(deep)}),
        ("deep page, newer direction", logs, {"after": Cursor.of(deep)}),
        ("deep page + level = error", logs, {"before": Cursor.of(deep), "level": "error"}),
        (f"CSV: first chunk ({CHUNK_SIZE} rows)", csv, {}),
        ("CSV: first chunk, account filter", csv, {"account": main.pk}),
    ]


def first_chunk(response) -> int:
    """Read a streamed CSV up to its first chunk of rows (what the trader waits for)."""
    lines = 0
    for _line in response.streaming_content:
        lines += 1
        if lines > CHUNK_SIZE:  # the header and one chunk
            break
    response.close()
    return lines


def measure(client: Client, path: str, params: dict, runs: int) -> tuple[list[float], set[int]]:
    times, queries = [], set()
    for run in range(runs + 1):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(path, params)
            if response.streaming:
                first_chunk(response)
            elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, (path, params, response.status_code)
        if run:  # the first request warms caches and is not counted
            times.append(elapsed)
            queries.add(len(captured))
    return times, queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--reuse", action="store_true", help="keep a database already built")
    args = parser.parse_args()

    trader, *_ = build(args.events, args.reuse)
    setup_test_environment()
    client = Client()
    client.force_login(trader)
    rows = []
    for label, path, params in cases(trader):
        times, queries = measure(client, path, params, args.runs)
        times.sort()
        p95 = times[min(len(times) - 1, round(len(times) * 0.95) - 1)]
        rows.append((label, statistics.median(times), p95, times[-1], queries))

    mine = Event.objects.filter(user=trader).count()
    print(
        f"\nLogs over {args.events:,} events ({mine:,} of them the trader's), "
        f"{args.runs} runs each, server time in ms (test Client, PostgreSQL):\n"
    )
    print(f"| {'request':<38} | {'p50':>7} | {'p95':>7} | {'max':>7} | {'queries':>7} |")
    print(f"|{'-' * 40}|{'-' * 9}|{'-' * 9}|{'-' * 9}|{'-' * 9}|")
    for label, p50, p95, worst, queries in rows:
        counts = "–".join(str(n) for n in sorted({min(queries), max(queries)}))
        print(f"| {label:<38} | {p50:>7.1f} | {p95:>7.1f} | {worst:>7.1f} | {counts:>7} |")
    slowest = max(row[2] for row in rows)
    verdict = "met" if slowest < 150 else "NOT met"
    print(f"\nTarget: every p95 under 150 ms: {verdict} (slowest p95 {slowest:.1f} ms).")


if __name__ == "__main__":
    main()
